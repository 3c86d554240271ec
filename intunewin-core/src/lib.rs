//! Read and write Microsoft Intune `.intunewin` packages (the "Win32 app" format).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod blob;
pub mod check;
pub mod crypto;
pub mod detection;
pub mod diff;
pub mod dostime;
pub mod error;
pub mod explain;
pub mod graph;
pub mod ime;
pub mod inner_read;
pub mod inner_write;
pub mod msi;
pub mod outer;
pub mod pack;
pub mod package;
pub mod paths;
mod pipeline;
pub mod progress;
pub mod source;
pub mod staging;
mod zipbits;

pub use detection::{Detection, EncryptionInfo, MsiInfo};
pub use error::{Error, Result};
pub use pack::{PackOptions, PackReport};
pub use package::{ExtractOptions, Package, ReadOptions};
pub use progress::{CancelFlag, Progress, Stage};
