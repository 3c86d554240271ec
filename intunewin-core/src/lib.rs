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
//! use intunewin_core::{Overwrite, PackOptions};
//!
//! # let dir = tempfile::tempdir().unwrap();
//! # let source = dir.path().join("app");
//! # std::fs::create_dir(&source).unwrap();
//! # std::fs::write(source.join("setup.exe"), b"MZ...").unwrap();
//! # let output = dir.path().join("setup.intunewin");
//! let report = PackOptions::new(&source, "setup.exe")
//!     .level(2) // the default: the size IntuneWinAppUtil's zlib level 1 gives
//!     .pack_to_file(&output, Overwrite::Refuse)?;
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
//! use intunewin_core::{ExtractOptions, Package, ReadOptions};
//! # use intunewin_core::{Overwrite, PackOptions};
//!
//! # let dir = tempfile::tempdir().unwrap();
//! # let source = dir.path().join("app");
//! # std::fs::create_dir_all(source.join("Files")).unwrap();
//! # std::fs::write(source.join("setup.exe"), b"MZ...").unwrap();
//! # std::fs::write(source.join("Files/readme.txt"), b"hello").unwrap();
//! # let path = dir.path().join("setup.intunewin");
//! # PackOptions::new(&source, "setup.exe").pack_to_file(&path, Overwrite::Refuse)?;
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
//! # Where to start
//!
//! Everything public is at the crate root, by job:
//!
//! - **Packing**: [`PackOptions`] (with [`Keys`] and [`DosDateTime`] for reproducible output,
//!   [`PathRules`] for the device-side path checks, an [`ExcludeFilter`]); [`PackOptions::plan`]
//!   gives a [`PackPlan`] to show before writing, [`PackOptions::pack_to_file`] a
//!   [`PackReport`]. [`Overwrite`] says whether an existing output is replaced, in every
//!   function that writes a file; [`write_atomically`] writes a tool's own outputs the same way.
//! - **Reading**: [`Package`] (verify, list, decrypt, extract; [`ReadOptions`] with its
//!   [`Limits`], [`ExtractOptions`]), returning [`VerifyReport`] and [`ListReport`]; a bare
//!   encrypted blob as uploaded to Azure Storage is a [`Blob`] opened with [`BlobKeys`], and
//!   [`Package::save_content`] writes one from a package. [`Detection`] is the parsed
//!   Detection.xml.
//! - **Safety**: [`check`] (of a source folder or a package) gives a [`CheckReport`] of
//!   [`Finding`]s (each a [`Rule`] with a [`Severity`]); [`refusal_error`] is the verdict every
//!   reading command gives on them ([`Rule::refuses`]).
//! - **Describing**: [`GraphMetadata`] (what a Microsoft Graph upload needs) and
//!   [`Package::diff`] (a [`PackageDiff`]).
//! - **The device side**: [`ime`] diagnoses why an app did or did not install from the IME's
//!   logs ([`ime::diagnose`]), explains the error codes it reports ([`ime::explain`]), and reads
//!   keys from its log and opens DecryptInfo with the device certificate (feature `cert`).
//! - Every operation reports to a [`Progress`], stops on a [`CancelFlag`], and fails with a
//!   typed [`Error`].
//!
//! The public surface is listed in `public-api.txt` beside this crate's manifest, checked by a
//! test, so a change of it shows in review. The format primitives underneath (zip records,
//! crypto streams) are not part of it.
//!
//! # Layers
//!
//! The code is in one folder per layer under `src/`, plus the root files `error.rs` and
//! `progress.rs`. A layer uses only the layers on lines above its own, never one on its own
//! line or below, so there is no dependency cycle between them; `lib.rs` re-exports from any.
//!
//! 1. `base`: the path classifier (FORMAT.md §12) and a chunked vector; it uses nothing.
//! 2. `error`, `progress`: the typed errors (an unsafe path names its rule) and progress.
//! 3. `format`: zip records, the outer and inner zips, Detection.xml, DOS times, MSI metadata.
//! 4. `files`: files on disk: reads of exactly the file checked, positional reads, reading
//!    ahead on a thread, canonical paths, the source walk and finding the setup file in it,
//!    and outputs written so that nothing is lost.
//! 5. `content`: the encrypted content, MAC ‖ IV ‖ ciphertext: its crypto, sealing, and where
//!    it is stored (a range of a file, or memory).
//! 6. `read`: the one content reader (every check made once), packages and blobs verified,
//!    listed, decrypted and extracted through it, and the verdict every reading command gives
//!    on the classifier's findings.
//! 7. `safety`: `check`, of a source folder (walked) or of a package (read).
//! 8. `pack`: packing, planned with `check`'s source findings.
//! 9. `describe`, `ime`: Graph metadata and diffs; the device side (keys, certificates, logs).
//!
//! `python3 ci/module-cycles.py --folders` checks this list against the code (CI runs it).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod base;
mod content;
mod describe;
mod error;
mod files;
mod format;
pub mod ime;
mod pack;
mod progress;
mod read;
mod safety;

// The layers are folders; these keep the modules' old paths (`crate::package`, ...) inside the
// crate. None of them is public: the surface is the re-exports below.
pub(crate) use base::paths;
pub(crate) use content::crypto;
pub(crate) use files::{
    canonical, identity, landing, range, readahead, setup, source, staging, writers,
};
pub(crate) use format::{detection, dostime, inner_read, inner_write, msi, outer, zipbits};
pub(crate) use pack::pipeline;
pub(crate) use read::{blob, package, verdict};
pub(crate) use safety::check;

// Packing.
pub use content::crypto::Keys;
pub use error::SymlinkProblem;
pub use files::source::{SourceEntry, SourceKind};
pub use format::dostime::DosDateTime;
pub use pack::{ExcludeFilter, PackOptions, PackPlan, PackReport, output_file_name};

// Reading.
pub use format::inner_read::{EntryInfo, EntryVisitor, Limits};
pub use read::blob::{Blob, BlobKeys, BlobReport};
pub use read::package::{
    ExtractOptions, ListReport, ListSink, ListedEntry, Package, ReadOptions, VerifyReport,
};

// Detection.xml.
pub use format::detection::{Detection, EncryptionInfo, MsiInfo};

// Safety: the path classifier's findings, `check`, and the verdict every reading command gives.
pub use base::paths::{EntryKind, Finding, PathRules, Rule, Severity, shown};
pub use read::verdict::refusal_error;
pub use safety::check::{CheckKind, CheckOptions, CheckReport, check};

// Describing packages: Microsoft Graph metadata and differences.
pub use describe::diff::{ChangedFile, DiffEntry, MetadataChange, PackageDiff};
pub use describe::graph::{
    ContentFile, FileEncryptionInfo, GraphMetadata, MsiInformation, MsiPackageType,
};

// Outputs, progress, cancellation and errors.
pub use error::{Error, ErrorKind, Limit, Result, ZipCheck};
pub use files::output::{Overwrite, write_atomically};
pub use progress::{CancelFlag, Progress, Stage};

/// Not part of the API: the format primitives the project's own tests, vector generator and
/// fuzz targets build packages and hostile inputs from. No stability promise of any kind.
#[doc(hidden)]
pub mod __private {
    pub use crate::base::paths;
    pub use crate::content::crypto;
    pub use crate::content::{SealedContent, seal_bytes};
    pub use crate::format::{detection, dostime, inner_read, inner_write, msi, outer};
    pub use crate::ime::timeline::Timeline;
    pub use crate::pack::IN_MEMORY_LIMIT;
}
