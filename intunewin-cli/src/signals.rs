//! Interruption: Ctrl-C, SIGTERM (CI cancellation, `timeout`) and SIGHUP (a closed terminal)
//! on Unix, Ctrl-C, Ctrl-Break and a closed console on Windows, all set one cancellation
//! flag. The running command then stops, removes its temporary outputs and exits with
//! 128 + the signal's number (130, 143, 129), as shells report a process the signal killed.
//!
//! A second signal exits at once (nothing is cleaned up then): a command stuck where it does
//! not look at the flag can always be stopped.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};

use intunewin_core::CancelFlag;

/// SIGINT's number: the exit code's default when no signal was recorded.
const SIGINT: i32 = 2;

/// The signal that cancelled the run (0: none yet).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// The process-wide cancellation flag; the first call installs the handlers.
pub fn cancel_flag() -> CancelFlag {
    static FLAG: OnceLock<CancelFlag> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = CancelFlag::new();
        // If handlers cannot be installed, signals simply end the process as usual.
        install(flag.clone());
        flag
    })
    .clone()
}

/// The exit code of a cancelled run: 128 + the signal that cancelled it.
pub fn exit_code() -> u8 {
    let signal = match RECEIVED.load(Ordering::SeqCst) {
        0 => SIGINT,
        s => s,
    };
    u8::try_from(128 + signal).unwrap_or(crate::EXIT_INTERRUPTED)
}

/// Records `signal` and cancels; a second one ends the process at once.
fn received(signal: i32, flag: &CancelFlag) {
    if RECEIVED
        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        std::process::exit(128 + signal);
    }
    flag.cancel();
}

#[cfg(unix)]
fn install(flag: CancelFlag) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    use signal_hook::iterator::Signals;
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                received(signal, &flag);
            }
        });
}

#[cfg(windows)]
fn install(flag: CancelFlag) {
    // Ctrl-C, Ctrl-Break and a closed console window (the `termination` feature) alike.
    let _ = ctrlc::set_handler(move || received(SIGINT, &flag));
}
