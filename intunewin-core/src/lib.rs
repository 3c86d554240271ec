//! Read and write Microsoft Intune `.intunewin` packages (the "Win32 app" format).
//!
//! A package is an outer zip holding `Detection.xml` (keys, MAC, digest, setup file, MSI
//! metadata) and the encrypted content: MAC ‖ IV ‖ AES-256-CBC of an inner zip of the source
//! folder. This crate writes packages byte-compatible with IntuneWinAppUtil 1.8.7 and reads
//! every generation of them, streaming throughout: memory stays flat whatever the size, and
//! nothing but the output is written.
//!
//! # Packing
//!
//! [`PackOptions`] is the builder; the package is written to a temporary file and renamed
//! only on success.
//!
//! ```
//! # fn main() -> intunewin_core::Result<()> {
//! use intunewin_core::PackOptions;
//!
//! # let dir = tempfile::tempdir().unwrap();
//! # let source = dir.path().join("app");
//! # std::fs::create_dir(&source).unwrap();
//! # std::fs::write(source.join("setup.exe"), b"MZ...").unwrap();
//! # let output = dir.path().join("setup.intunewin");
//! let report = PackOptions::new(&source, "setup.exe")
//!     .level(2) // the default: the size IntuneWinAppUtil's zlib level 1 gives
//!     .pack_to_file(&output, false)?;
//! assert_eq!(report.detection.setup_file, "setup.exe");
//! assert_eq!(report.file_count, 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Reading
//!
//! [`Package::open`] parses Detection.xml without decrypting; [`Package::verify`],
//! [`Package::list`] and [`Package::extract`] check the MAC in constant time before anything
//! is decrypted, and extraction writes nothing before that, never outside its destination, and
//! nothing at all when a later check fails.
//!
//! ```
//! # fn main() -> intunewin_core::Result<()> {
//! use intunewin_core::{ExtractOptions, Package, PackOptions, ReadOptions};
//!
//! # let dir = tempfile::tempdir().unwrap();
//! # let source = dir.path().join("app");
//! # std::fs::create_dir_all(source.join("Files")).unwrap();
//! # std::fs::write(source.join("setup.exe"), b"MZ...").unwrap();
//! # std::fs::write(source.join("Files/readme.txt"), b"hello").unwrap();
//! # let path = dir.path().join("setup.intunewin");
//! # PackOptions::new(&source, "setup.exe").pack_to_file(&path, false)?;
//! let package = Package::open(&path)?;
//! println!("{} (tool {})", package.detection().name, package.detection().tool_version);
//!
//! let report = package.verify(&ReadOptions::default())?;
//! assert_eq!(report.entries.len(), 2);
//!
//! let dest = dir.path().join("content");
//! package.extract(&dest, &ExtractOptions::default())?;
//! assert_eq!(std::fs::read(dest.join("Files/readme.txt")).unwrap(), b"hello");
//! # Ok(())
//! # }
//! ```
//!
//! Lower layers are public too: [`crypto::EncryptingWriter`] and [`crypto::DecryptingReader`]
//! (streaming `Write`/`Read` adapters with an explicit `finish`), [`inner_write`] and
//! [`inner_read`] (the inner zip), [`outer`], [`detection`], the path classifier in [`paths`],
//! MSI metadata in [`msi`], and the error-code table in [`explain`].
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod content;
mod describe;
pub mod error;
mod files;
mod format;
pub mod ime;
pub mod pack;
pub mod progress;
mod read;
mod safety;

// The layers above are folders; these keep the modules' public paths (`intunewin_core::package`,
// ...) while the public surface is being closed (issue 15).
pub use content::crypto;
pub use describe::{diff, graph};
pub use files::staging;
pub(crate) use files::{canonical, identity, landing, range, writers};
pub(crate) use format::zipbits;
pub use format::{detection, dostime, inner_read, inner_write, msi, outer};
pub use ime::explain;
pub(crate) use pack::pipeline;
pub use pack::source;
pub use read::{blob, package};
pub use safety::{check, paths, verdict};

pub use content::{ContentWriter, SealedContent, seal_bytes};
pub use detection::{Detection, EncryptionInfo, MsiInfo};
pub use error::{Error, Result};
pub use pack::{PackOptions, PackReport};
pub use package::{ExtractOptions, Package, ReadOptions};
pub use progress::{CancelFlag, Progress, Stage};
