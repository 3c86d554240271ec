//! The Intune Management Extension (IME) side: why an app did or did not install, read from
//! the IME's logs; the error codes it reports; and keys for content it downloaded.
//!
//! - **Diagnosis**: [`LogSet::from_paths`] collects the logs (a folder, single files, or the
//!   zip of Intune's "Collect diagnostics", read in place), [`diagnose`] turns them into a
//!   [`Diagnosis`]: one [`AppStory`] per app with its verdict, phases, downloads, error history
//!   and retry schedule. [`Redactor`] replaces user names, UPNs, device names and SIDs in it
//!   consistently, so that it can be shared.
//! - **Raw records**: [`RecordReader`] streams the CMTrace [`Record`]s of any one log.
//! - **Error codes**: [`explain`] gives everything known about a code (an [`Explanation`]):
//!   the [`table`] entry with its [`Phase`]s and [`Source`], the HRESULT fields, and the
//!   installer exit code it is or was made from; [`parse_code`] reads the forms people paste.
//! - **Keys**: [`ImeLog::read`] finds each app's content info in `IntuneManagementExtension.log`;
#![cfg_attr(
    feature = "cert",
    doc = "  with the `cert` feature, [`DeviceKey`] opens its encrypted [`DecryptInfo`]."
)]
#![cfg_attr(
    not(feature = "cert"),
    doc = "  with the `cert` feature, `DeviceKey` opens its encrypted [`DecryptInfo`]."
)]
//!
//! ```no_run
//! use intunewin_core::ime::{LogSet, Verdict, diagnose};
//!
//! # fn main() -> Result<(), intunewin_core::ime::LogSetError> {
//! let logs = LogSet::from_paths(&["IntuneManagementExtension/Logs"])?;
//! let diagnosis = diagnose(&logs)?;
//! for app in &diagnosis.apps {
//!     if let Verdict::Failed { .. } = app.verdict {
//!         println!("{}: {}", app.id, app.verdict_reason);
//!     }
//! }
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "cert")]
mod cert;
pub(crate) mod cmtrace;
pub(crate) mod diagnose;
pub(crate) mod explain;
mod keys;
pub(crate) mod logset;
pub(crate) mod redact;
pub(crate) mod story;
pub(crate) mod timeline;

#[cfg(feature = "cert")]
pub use cert::DeviceKey;
pub use cmtrace::{LocalTime, Record, RecordReader};
pub use diagnose::diagnose;
pub use explain::{
    CodeInfo, Decoded, ExitAction, Explanation, InstallerExit, Phase, Source, Win32Error, explain,
    parse_code, table,
};
pub use keys::{DecryptInfo, ImeApp, ImeLog};
pub use logset::{FileStats, Ignored, LogFile, LogSet, LogSetError};
pub use redact::Redactor;
pub use story::{
    AppPolicy, AppStory, Diagnosis, Download, FileSummary, Intent, Outcome, PastError, PhaseStep,
    Relation, RelationKind, Resume, Retry, Verdict, Via,
};
