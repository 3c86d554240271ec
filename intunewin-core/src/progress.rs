//! Progress reporting: the library calls a [`Progress`] implementation, never a terminal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A long-running step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Reading, compressing and encrypting the source.
    Pack,
    /// Computing the MAC over the encrypted content.
    Authenticate,
    /// Decrypting and checking the inner zip.
    Decrypt,
    /// Decrypting and writing files.
    Extract,
}

/// Receives progress events. All methods have no-op defaults.
pub trait Progress: Send + Sync {
    /// A stage starts; `total` is the number of bytes it will process.
    fn begin(&self, _stage: Stage, _total: u64) {}
    /// `bytes` more bytes were processed in the current stage.
    fn advance(&self, _bytes: u64) {}
    /// The current stage is done.
    fn end(&self) {}
}

/// A progress sink that ignores everything.
pub struct NoProgress;

impl Progress for NoProgress {}

/// A cancellation flag shared with the caller (for example set from a Ctrl-C handler).
#[derive(Clone, Debug, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// A new, unset flag.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests cancellation.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
