//! Progress reporting for long operations, with cancellation.

use crate::error::{Error, Result};

/// A progress sink: called with (units done, units total); returning `false` cancels the work.
pub struct Progress<'a> {
    callback: Option<&'a mut dyn FnMut(u64, u64) -> bool>,
}

impl<'a> Progress<'a> {
    /// Reports nowhere and never cancels.
    pub fn none() -> Progress<'static> {
        Progress { callback: None }
    }

    /// Reports to `callback`.
    pub fn new(callback: &'a mut dyn FnMut(u64, u64) -> bool) -> Progress<'a> {
        Progress {
            callback: Some(callback),
        }
    }

    /// Reports progress; returns [`Error::Cancelled`] when the callback asks to stop.
    pub fn report(&mut self, done: u64, total: u64) -> Result<()> {
        match self.callback.as_mut() {
            Some(cb) => {
                if cb(done, total) {
                    Ok(())
                } else {
                    Err(Error::Cancelled)
                }
            }
            None => Ok(()),
        }
    }
}
