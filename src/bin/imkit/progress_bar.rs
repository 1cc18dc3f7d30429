//! A one-line progress bar on stderr, shown only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Draws `label [#####.....] 42%` on stderr, at most ten times a second.
pub struct ProgressBar {
    label: String,
    enabled: bool,
    last: Option<Instant>,
    drawn: bool,
}

impl ProgressBar {
    /// A bar labelled `label`; silent when stderr is not a terminal.
    pub fn new(label: &str) -> ProgressBar {
        ProgressBar {
            label: label.to_string(),
            enabled: std::io::stderr().is_terminal(),
            last: None,
            drawn: false,
        }
    }

    /// Updates the bar; returns false (cancel) once the user interrupted the command.
    pub fn update(&mut self, done: u64, total: u64) -> bool {
        if crate::interrupt::interrupted() {
            return false;
        }
        if !self.enabled || total == 0 {
            return true;
        }
        let now = Instant::now();
        if done < total
            && self
                .last
                .is_some_and(|t| now - t < Duration::from_millis(100))
        {
            return true;
        }
        self.last = Some(now);
        let width = 30;
        let filled = (done.min(total) * width / total) as usize;
        let percent = done.min(total) * 100 / total;
        eprint!(
            "\r{} [{}{}] {percent:3}%",
            self.label,
            "#".repeat(filled),
            ".".repeat(width as usize - filled)
        );
        let _ = std::io::stderr().flush();
        self.drawn = true;
        true
    }
}

impl Drop for ProgressBar {
    fn drop(&mut self) {
        if self.drawn {
            eprintln!();
        }
    }
}
