//! Ctrl-C and SIGTERM as cancellation: the first signal sets a flag that the progress
//! callbacks poll (the running operation stops at its next report, removes its temporary
//! files and the command exits with 130); a second signal exits at once.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Exit status of an interrupted command (128 + SIGINT, the shell convention).
pub const EXIT_CODE: u8 = 130;

extern "C" fn on_signal(_signal: libc::c_int) {
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        // Second signal: the user insists. `_exit` is async-signal-safe.
        unsafe { libc::_exit(EXIT_CODE as libc::c_int) };
    }
}

/// Installs the handler for SIGINT and SIGTERM.
pub fn install() {
    // SAFETY: `action` is fully initialised before use; the handler only touches an atomic
    // and calls `_exit`, both async-signal-safe.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        for signal in [libc::SIGINT, libc::SIGTERM] {
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// True once SIGINT or SIGTERM arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
