//! Colours, or none: with `NO_COLOR` every style is plain and what a colour
//! would say is said by a letter or a marker instead.

use crate::metrics::AzNodes;
use ratatui::style::{Color, Modifier, Style};

/// A node's state as one cell: its letter, and the colour behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    Healthy,
    Launching,
    Unhealthy,
    Draining,
    Dead,
}

impl Cell {
    pub const ALL: [Cell; 5] = [
        Cell::Healthy,
        Cell::Launching,
        Cell::Unhealthy,
        Cell::Draining,
        Cell::Dead,
    ];

    pub fn letter(self) -> char {
        match self {
            Cell::Healthy => 'H',
            Cell::Launching => 'L',
            Cell::Unhealthy => 'U',
            Cell::Draining => 'D',
            Cell::Dead => 'X',
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Cell::Healthy => "healthy",
            Cell::Launching => "launching",
            Cell::Unhealthy => "unhealthy",
            Cell::Draining => "draining",
            Cell::Dead => "dead",
        }
    }

    /// The legend's word where room is short.
    pub fn short_name(self) -> &'static str {
        match self {
            Cell::Healthy => "ok",
            Cell::Launching => "launch",
            Cell::Unhealthy => "unhealthy",
            Cell::Draining => "drain",
            Cell::Dead => "dead",
        }
    }

    fn colour(self) -> Color {
        match self {
            Cell::Healthy => Color::Green,
            Cell::Launching => Color::Yellow,
            Cell::Unhealthy => Color::Magenta,
            Cell::Draining => Color::Blue,
            Cell::Dead => Color::Red,
        }
    }

    /// How many nodes of an AZ are in this state.
    pub fn count(self, n: &AzNodes) -> u16 {
        match self {
            Cell::Healthy => n.healthy,
            Cell::Launching => n.launching,
            Cell::Unhealthy => n.unhealthy,
            Cell::Draining => n.draining,
            Cell::Dead => n.dead,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub colour: bool,
}

impl Theme {
    pub fn fg(self, c: Color) -> Style {
        if self.colour {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn bold(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// A node cell: the letter on its state's colour.
    pub fn cell(self, c: Cell) -> Style {
        if self.colour {
            Style::new().fg(Color::Black).bg(c.colour())
        } else {
            Style::new()
        }
    }

    /// Red when something was lost, green when nothing was.
    pub fn loss(self, n: u64) -> Style {
        self.fg(if n > 0 { Color::Red } else { Color::Green })
            .add_modifier(Modifier::BOLD)
    }

    pub fn bad(self) -> Style {
        self.fg(Color::Red)
    }

    pub fn good(self) -> Style {
        self.fg(Color::Green)
    }

    pub fn dim(self) -> Style {
        if self.colour {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }

    /// The style of a log entry, by its kind.
    pub fn event(self, kind: &str) -> Style {
        match kind {
            "kill_az" | "kill_node" | "node_dead" | "kill_store_primary" | "store_primary_lost"
            | "store_down" | "store_replica_lost" | "target_unhealthy" => self.bad(),
            "restore_az" | "target_healthy" | "node_in_service" | "store_promoted"
            | "deploy_done" => self.good(),
            _ => Style::new(),
        }
    }

    /// Line colours for a chart's series, in order.
    pub fn series(self, i: usize) -> Style {
        const C: [Color; 4] = [Color::Cyan, Color::Red, Color::Yellow, Color::Green];
        self.fg(C[i % C.len()])
    }
}
