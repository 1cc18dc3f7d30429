//! The CLI's progress bar (indicatif) on stderr: label, bar, percentage, rate and time left,
//! shown only when stderr is a terminal (nothing at all otherwise).

use std::io::IsTerminal;

use imkit::progress::Progress;
use indicatif::{ProgressDrawTarget, ProgressStyle};

/// A progress bar for one long operation; silent when stderr is not a terminal.
pub struct ProgressBar {
    bar: Option<indicatif::ProgressBar>,
}

impl ProgressBar {
    /// A bar labelled `label` (the total comes with the first update).
    pub fn new(label: &str) -> ProgressBar {
        if !std::io::stderr().is_terminal() {
            return ProgressBar { bar: None };
        }
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(0),
            ProgressDrawTarget::stderr_with_hz(10),
        );
        let style =
            ProgressStyle::with_template("{msg} [{bar:30}] {percent:>3}% {per_sec} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("#>.");
        bar.set_style(style);
        bar.set_message(label.to_string());
        ProgressBar { bar: Some(bar) }
    }

    /// Updates the bar with `done` of `total` units; returns false (cancel) once the user
    /// interrupted the command (SIGINT / SIGTERM).
    pub fn update(&mut self, done: u64, total: u64) -> bool {
        if crate::interrupt::interrupted() {
            return false;
        }
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done.min(total));
        }
        true
    }
}

/// Runs `work` with a progress bar labelled `label` as its progress (cancelled by SIGINT /
/// SIGTERM); the bar is gone from the terminal before this returns.
pub fn with_bar<T, E>(
    label: &str,
    work: impl FnOnce(&mut Progress<'_>) -> Result<T, E>,
) -> Result<T, E> {
    let mut bar = ProgressBar::new(label);
    let mut report = |d, t| bar.update(d, t);
    work(&mut Progress::new(&mut report))
}

impl Drop for ProgressBar {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.abandon();
        }
    }
}
