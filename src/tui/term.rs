//! Borrowing the terminal and always giving it back: raw mode and the
//! alternate screen on entry; on exit, on an error and on a panic, the
//! terminal as it was (a panic hook restores it before the message prints).

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{Stdout, stdout};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Whether we changed the terminal and have not yet put it back.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Puts the terminal back as it was; safe to call any number of times.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = crossterm::terminal::disable_raw_mode();
        let _ = crossterm::execute!(
            stdout(),
            crossterm::terminal::LeaveAlternateScreen,
            crossterm::cursor::Show
        );
    }
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Restore first, or the message lands on the alternate screen and vanishes.
            restore();
            previous(info);
        }));
    });
}

/// The terminal while the dashboard has it; dropping it restores it.
pub struct Guard {
    pub term: Term,
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Takes over the terminal: raw mode, alternate screen, hidden cursor.
pub fn enter() -> std::io::Result<Guard> {
    install_panic_hook();
    ACTIVE.store(true, Ordering::SeqCst);
    let setup = || -> std::io::Result<Term> {
        crossterm::terminal::enable_raw_mode()?;
        crossterm::execute!(
            stdout(),
            crossterm::terminal::EnterAlternateScreen,
            crossterm::cursor::Hide
        )?;
        Terminal::new(CrosstermBackend::new(stdout()))
    };
    match setup() {
        Ok(term) => Ok(Guard { term }),
        Err(e) => {
            restore();
            Err(e)
        }
    }
}
