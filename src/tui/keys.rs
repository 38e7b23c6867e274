//! What each key does. Pure: a key and the latest snapshot in, the screen's
//! state changed and at most one command out for the driver to carry out.
//! Faults become [`Action`]s, the same values a scenario's timeline holds, so
//! what a key injects is recorded and replayed like a scripted action.

use super::state::{Pick, Ui, faster, slower, speed_label};
use crate::scenario::Action;
use crate::snapshot::Snapshot;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What the driver must do after a key.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Leave the dashboard; the report follows.
    Quit,
    /// Ctrl-C: leave without a report.
    Abort,
    /// Speed or pause changed: re-anchor virtual time to the wall clock.
    Retime,
    /// Inject this action into every run on screen.
    Inject(Action),
    /// Tour: go on (start the step, or the next one).
    Next,
}

/// The help overlay's lines: (keys, what they do).
pub const HELP: &[(&str, &str)] = &[
    (
        "q, Esc",
        "quit; the rest runs at full speed, then the report",
    ),
    ("?", "this help (any key closes it)"),
    ("space", "pause / resume (a simulation)"),
    ("+ / -", "speed ×2 / ÷2, ×1 to ×10000 (a simulation)"),
    ("k then 1-9 or a-i", "kill an AZ (pick which)"),
    ("r then 1-9 or a-i", "restore an AZ"),
    ("s / o", "scale in / out (desired −1 / +1)"),
    ("d", "rolling deploy (replace every node)"),
    ("f", "fail over the session store (kill its primary)"),
    ("Enter", "tour: start the step / next step"),
    ("Ctrl-C", "leave at once, no report"),
];

/// What a fault key asks for. Both dashboards (`run --tui`, `compare --tui`
/// and `serve --tui`) read their fault keys here, so one key means one
/// action everywhere; [`HELP`] lists them.
#[derive(Clone, Debug, PartialEq)]
pub enum Ask {
    /// Wait for an AZ key (1-9 or a-i), then act on that AZ ([`picked`]).
    Pick(Pick),
    /// Send this action.
    Act(Action),
    /// Nothing to send: say why.
    Say(String),
}

/// The fault keys, given the group's desired capacity and its bounds.
pub fn fault_key(ch: char, desired: u32, min: u32, max: u32) -> Option<Ask> {
    Some(match ch {
        'k' => Ask::Pick(Pick::Kill),
        'r' => Ask::Pick(Pick::Restore),
        's' if desired <= min => Ask::Say(format!("desired is already at fleet.min ({min})")),
        's' => Ask::Act(Action::SetDesired { value: desired - 1 }),
        'o' if desired >= max => Ask::Say(format!("desired is already at fleet.max ({max})")),
        'o' => Ask::Act(Action::SetDesired { value: desired + 1 }),
        'd' => Ask::Act(Action::RollingDeploy { batch: None }),
        'f' => Ask::Act(Action::KillStorePrimary),
        _ => return None,
    })
}

/// The action a pick asks for once its AZ key is pressed (None: no such AZ).
pub fn picked(pick: Pick, key: char, azs: usize) -> Option<Action> {
    let az = az_key(key, azs)?;
    Some(match pick {
        Pick::Kill => Action::KillAz { az },
        Pick::Restore => Action::RestoreAz { az },
    })
}

/// The AZ a pick key names: 1-9 or a-i, if the region has it.
fn az_key(c: char, azs: usize) -> Option<usize> {
    let i = match c {
        '1'..='9' => c as usize - '1' as usize,
        'a'..='i' => c as usize - 'a' as usize,
        _ => return None,
    };
    (i < azs).then_some(i)
}

/// Applies `key` to `ui`; returns what the driver must do, if anything.
pub fn on_key(ui: &mut Ui, key: KeyEvent, snap: &Snapshot) -> Option<Command> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Command::Abort);
    }
    if ui.help {
        ui.help = false;
        return None;
    }
    if let Some(pick) = ui.pick.take() {
        let action = match key.code {
            KeyCode::Char(c) => picked(pick, c, snap.azs.len()),
            _ => None,
        };
        let Some(action) = action else {
            ui.status = Some("cancelled".into());
            return None;
        };
        return Some(Command::Inject(action));
    }
    if let Some(c) = &mut ui.caption
        && c.intro
    {
        // The lesson is on screen: Enter or space starts the step.
        return match key.code {
            KeyCode::Enter | KeyCode::Char(' ') | KeyCode::Char('n') => {
                c.intro = false;
                Some(Command::Next)
            }
            KeyCode::Char('q') | KeyCode::Esc => Some(Command::Quit),
            _ => None,
        };
    }
    let KeyCode::Char(ch) = key.code else {
        return match key.code {
            KeyCode::Esc => Some(Command::Quit),
            KeyCode::Enter if ui.finished && ui.caption.is_some() => Some(Command::Next),
            _ => None,
        };
    };
    let f = &snap.fleet;
    match ch {
        'q' => Some(Command::Quit),
        'n' if ui.finished && ui.caption.is_some() => Some(Command::Next),
        '?' => {
            ui.help = true;
            None
        }
        ' ' => {
            ui.paused = !ui.paused;
            Some(Command::Retime)
        }
        '+' | '=' => {
            ui.speed = faster(ui.speed);
            ui.status = Some(format!("speed {}", speed_label(ui.speed)));
            Some(Command::Retime)
        }
        '-' | '_' => {
            ui.speed = slower(ui.speed);
            ui.status = Some(format!("speed {}", speed_label(ui.speed)));
            Some(Command::Retime)
        }
        _ => match fault_key(ch, f.desired, f.min, f.max)? {
            Ask::Pick(p) => {
                ui.pick = Some(p);
                None
            }
            Ask::Act(a) => Some(Command::Inject(a)),
            Ask::Say(m) => {
                ui.status = Some(m);
                None
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Scenario, Strategy};
    use crate::sim::Sim;
    use crate::snapshot::Cursor;
    use crate::time::Dur;
    use crate::tui::state::{MAX_SPEED, MIN_SPEED};

    fn snap() -> Snapshot {
        let sc = Scenario::new("k", Dur::from_secs(60));
        Sim::new(&sc, Strategy::Sticky, 1).snapshot(&mut Cursor::default())
    }

    fn key(c: char) -> KeyEvent {
        KeyEvent::from(KeyCode::Char(c))
    }

    #[test]
    fn kill_then_pick_an_az_by_digit_or_letter() {
        let s = snap();
        let mut ui = Ui::new(30.0, false);
        assert_eq!(on_key(&mut ui, key('k'), &s), None);
        assert_eq!(ui.pick, Some(Pick::Kill));
        assert_eq!(
            on_key(&mut ui, key('2'), &s),
            Some(Command::Inject(Action::KillAz { az: 1 }))
        );
        assert_eq!(ui.pick, None);
        on_key(&mut ui, key('r'), &s);
        assert_eq!(
            on_key(&mut ui, key('c'), &s),
            Some(Command::Inject(Action::RestoreAz { az: 2 }))
        );
        // An AZ the region does not have cancels.
        on_key(&mut ui, key('k'), &s);
        assert_eq!(on_key(&mut ui, key('4'), &s), None);
        assert_eq!(ui.status.as_deref(), Some("cancelled"));
    }

    #[test]
    fn speed_doubles_and_halves_within_bounds() {
        let s = snap();
        let mut ui = Ui::new(30.0, false);
        on_key(&mut ui, key('+'), &s);
        assert_eq!(ui.speed, 60.0);
        for _ in 0..20 {
            on_key(&mut ui, key('+'), &s);
        }
        assert_eq!(ui.speed, MAX_SPEED);
        for _ in 0..40 {
            on_key(&mut ui, key('-'), &s);
        }
        assert_eq!(ui.speed, MIN_SPEED);
        assert_eq!(on_key(&mut ui, key(' '), &s), Some(Command::Retime));
        assert!(ui.paused);
    }

    #[test]
    fn scaling_respects_the_group_bounds() {
        let mut s = snap();
        let mut ui = Ui::new(30.0, false);
        assert_eq!(
            on_key(&mut ui, key('o'), &s),
            Some(Command::Inject(Action::SetDesired { value: 7 }))
        );
        s.fleet.desired = s.fleet.min;
        assert_eq!(on_key(&mut ui, key('s'), &s), None);
        assert!(ui.status.as_deref().unwrap().contains("fleet.min"));
    }

    #[test]
    fn help_opens_and_any_key_closes_it() {
        let s = snap();
        let mut ui = Ui::new(30.0, false);
        on_key(&mut ui, key('?'), &s);
        assert!(ui.help);
        // 'q' closes the overlay rather than quitting.
        assert_eq!(on_key(&mut ui, key('q'), &s), None);
        assert!(!ui.help);
        assert_eq!(on_key(&mut ui, key('q'), &s), Some(Command::Quit));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(on_key(&mut ui, ctrl_c, &s), Some(Command::Abort));
    }
}
