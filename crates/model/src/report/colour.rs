//! Colour for the text report, on a terminal only: losses in red, clean
//! figures in green. Applied after layout, to whole tokens, so the columns
//! line up exactly as in the plain text. `NO_COLOR` and redirection turn it off.

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Whether to colour: stdout is a terminal and `NO_COLOR` is unset or empty.
pub fn wanted(to_terminal: bool, no_color: Option<&str>) -> bool {
    to_terminal && no_color.is_none_or(str::is_empty)
}

fn paint(token: &str, colour: &str) -> String {
    format!("{colour}{token}{RESET}")
}

/// Colours each whitespace-separated token after the first `skip` ones.
fn paint_cells(line: &str, skip: usize) -> String {
    let mut out = String::with_capacity(line.len() + 32);
    let mut seen = 0;
    let mut rest = line;
    while !rest.is_empty() {
        let ws = rest.len() - rest.trim_start().len();
        out.push_str(&rest[..ws]);
        rest = &rest[ws..];
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let token = &rest[..end];
        if token.is_empty() {
            break;
        }
        seen += 1;
        if seen > skip {
            let zero =
                token.trim_start_matches(['0', ',', '.']).is_empty() || token.starts_with("0 ");
            out.push_str(&paint(token, if zero { GREEN } else { RED }));
        } else {
            out.push_str(token);
        }
        rest = &rest[end..];
    }
    out
}

/// The report with its loss figures coloured.
pub fn colourize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    for (i, line) in text.lines().enumerate() {
        let painted = if i == 0 {
            paint(line, BOLD)
        } else if line.starts_with("carts lost") {
            paint_cells(line, 2)
        } else if let Some(rest) = line.strip_prefix("carts       LOST ") {
            let (n, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            let c = if n == "0" { GREEN } else { RED };
            format!("carts       LOST {} {tail}", paint(n, c))
        } else if line.contains(" lost ") && line.ends_with('.') {
            line.split("; ")
                .map(|part| paint(part, if part.contains("no cart") { GREEN } else { RED }))
                .collect::<Vec<_>>()
                .join("; ")
        } else {
            line.to_string()
        };
        out.push_str(&painted);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_on_a_terminal_without_no_color() {
        assert!(wanted(true, None));
        assert!(wanted(true, Some("")));
        assert!(!wanted(true, Some("1")));
        assert!(!wanted(false, None));
    }

    #[test]
    fn colour_keeps_the_columns() {
        let line = "carts lost                             437             0             0";
        let c = paint_cells(line, 2);
        let plain = c.replace(RED, "").replace(GREEN, "").replace(RESET, "");
        assert_eq!(plain, line);
        assert!(c.contains(&format!("{RED}437{RESET}")));
        assert!(c.contains(&format!("{GREEN}0{RESET}")));
    }
}
