//! Options for reading the content of a package or a blob, and for extracting it.

use std::sync::Arc;

use crate::inner_read::Limits;
use crate::paths::PathRules;
use crate::progress::{CancelFlag, NoProgress, Progress};

/// Options for reading the content of a package.
#[derive(Clone)]
pub struct ReadOptions {
    /// Limits against hostile inner zips.
    pub limits: Limits,
    /// Progress sink.
    pub progress: Arc<dyn Progress>,
    /// Cancellation flag.
    pub cancel: CancelFlag,
    /// Rules for the device-side path findings reported by verify.
    pub path_rules: PathRules,
    /// Whether reports list every entry (default true); without, they carry only counts and
    /// totals, and memory does not grow with the entry count beyond a few bytes per entry.
    pub keep_entries: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            limits: Limits::default(),
            progress: Arc::new(NoProgress),
            cancel: CancelFlag::new(),
            path_rules: PathRules::default(),
            keep_entries: true,
        }
    }
}

impl ReadOptions {
    /// Reports progress to `progress`.
    pub fn progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// Stops (with [`Error::Cancelled`](crate::Error::Cancelled)) once `flag` is set.
    pub fn cancel_flag(mut self, flag: CancelFlag) -> Self {
        self.cancel = flag;
        self
    }

    /// Sets the resource limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the path rules used for findings.
    pub fn path_rules(mut self, rules: PathRules) -> Self {
        self.path_rules = rules;
        self
    }

    /// Whether reports list every entry (see [`keep_entries`](Self::keep_entries)).
    pub fn keep_entries(mut self, keep: bool) -> Self {
        self.keep_entries = keep;
        self
    }
}

/// Options for [`Package::extract`](crate::Package::extract) and
/// [`Blob::extract`](crate::Blob::extract).
#[derive(Clone, Default)]
pub struct ExtractOptions {
    /// Reading options.
    pub read: ReadOptions,
    /// Write into an existing destination folder, replacing the files the package contains and
    /// leaving every other file as it is (as `unzip -o` does).
    pub overwrite: bool,
}

impl ExtractOptions {
    /// Whether an existing destination is replaced (default false).
    pub fn overwrite(mut self, yes: bool) -> Self {
        self.overwrite = yes;
        self
    }

    /// Sets the reading options.
    pub fn read_options(mut self, read: ReadOptions) -> Self {
        self.read = read;
        self
    }
}
