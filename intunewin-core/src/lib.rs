//! Read and write Microsoft Intune `.intunewin` packages (the "Win32 app" format).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod crypto;
pub mod detection;
pub mod dostime;
pub mod error;
pub mod explain;
pub mod msi;
pub mod outer;
pub mod paths;
mod zipbits;

pub use detection::{Detection, EncryptionInfo, MsiInfo};
pub use error::{Error, Result};
