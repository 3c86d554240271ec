//! The Intune Management Extension (IME) side: keys for content it downloaded, read from its
//! logs and opened with the device certificate, and the error codes it reports.

#[cfg(feature = "cert")]
mod cert;
pub mod cmtrace;
pub mod diagnose;
pub mod explain;
mod keys;
pub mod logset;
pub mod redact;
pub mod timeline;

#[cfg(feature = "cert")]
pub use cert::DeviceKey;
pub use keys::*;
