//! The one error type of the library.
//!
//! Every failure has its own variant so that callers (and tests) can match on what went
//! wrong instead of parsing messages, and a stable name ([`Error::kind`]) for machine-readable
//! output. Messages read as `<what>, <which file>`, one sentence each; they hold no advice
//! that depends on the caller (command-line switches and the like): the caller adds that.

use std::io;
use std::path::{Path, PathBuf};

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while packing or reading a package.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O operation on an input failed (or on a file not written by the operation).
    #[error("cannot {action}: {}, {}", os_reason(source), path.display())]
    Io {
        /// What was being done ("read", "create", ...).
        action: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Writing an output failed: no space left, permission denied, a read-only disk, ...
    /// Kept apart from [`Error::Io`] so that a failing output is never blamed on the input.
    #[error("{}", write_message(action, path.as_deref(), source))]
    Write {
        /// What was being done ("write", "create", "create the folder", ...).
        action: &'static str,
        /// The output as the caller named it (not a temporary file); `None` when the caller
        /// gave a writer rather than a path.
        path: Option<PathBuf>,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The outer zip is malformed or not a zip at all.
    #[error("not a valid .intunewin package ({reason}), {}", path.display())]
    OuterZip {
        /// The package.
        path: PathBuf,
        /// Which check failed.
        check: ZipCheck,
        /// What it found.
        reason: String,
    },
    /// An entry the package must have is missing.
    #[error("the package has no {entry} entry, {}", path.display())]
    MissingEntry {
        /// The package.
        path: PathBuf,
        /// The missing entry's name.
        entry: String,
    },
    /// Detection.xml is malformed or lacks a required value.
    #[error("Detection.xml is invalid ({reason}), {}", path.display())]
    Detection {
        /// The package (or Detection.xml file).
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The encrypted content's length does not fit the format or `UnencryptedContentSize`.
    #[error("the encrypted content is {actual} bytes where {expected} were expected, {}", path.display())]
    BlobLength {
        /// The package.
        path: PathBuf,
        /// The length the metadata implies.
        expected: u64,
        /// The actual length.
        actual: u64,
    },
    /// The MAC stored in the content differs from Detection.xml's `Mac`.
    #[error("the MAC at the start of the content differs from Detection.xml's Mac, {}", path.display())]
    MacFieldMismatch {
        /// The package.
        path: PathBuf,
    },
    /// The IV stored in the content differs from Detection.xml's `InitializationVector`.
    #[error("the IV in the content differs from Detection.xml's InitializationVector, {}", path.display())]
    IvMismatch {
        /// The package.
        path: PathBuf,
    },
    /// HMAC-SHA256 over IV‖ciphertext does not match: the content was altered or the key is wrong.
    #[error("HMAC mismatch: the content was altered or the MAC key is wrong, {}", path.display())]
    HmacMismatch {
        /// The package.
        path: PathBuf,
    },
    /// PKCS#7 padding is invalid after decryption (wrong key or broken producer).
    #[error("bad PKCS#7 padding after decryption (wrong key or corrupt content), {}", path.display())]
    BadPadding {
        /// The package.
        path: PathBuf,
    },
    /// SHA-256 of the decrypted inner zip differs from `FileDigest`.
    #[error("SHA-256 of the decrypted content differs from FileDigest, {}", path.display())]
    DigestMismatch {
        /// The package.
        path: PathBuf,
    },
    /// The decrypted content's size differs from `UnencryptedContentSize`.
    #[error("the decrypted content is {actual} bytes, UnencryptedContentSize says {expected}, {}", path.display())]
    ContentSizeMismatch {
        /// The package.
        path: PathBuf,
        /// UnencryptedContentSize.
        expected: u64,
        /// Actual decrypted length.
        actual: u64,
    },
    /// The decrypted inner zip is malformed.
    #[error("the inner zip is invalid ({reason}), {}", path.display())]
    InnerZip {
        /// The package.
        path: PathBuf,
        /// Which check failed.
        check: ZipCheck,
        /// What it found.
        reason: String,
    },
    /// An inner entry's CRC-32 does not match its data.
    #[error("CRC-32 mismatch in entry '{entry}', {}", path.display())]
    CrcMismatch {
        /// The package.
        path: PathBuf,
        /// The entry name.
        entry: String,
    },
    /// An outer entry's CRC-32 does not match its data.
    #[error("CRC-32 mismatch in outer entry '{entry}', {}", path.display())]
    OuterCrcMismatch {
        /// The package.
        path: PathBuf,
        /// The outer entry name.
        entry: String,
    },
    /// An inner entry would land outside the destination or cannot be created safely.
    #[error("unsafe entry '{entry}' ({reason}), {}", path.display())]
    UnsafePath {
        /// The package.
        path: PathBuf,
        /// The entry name, as stored.
        entry: String,
        /// The path rule it breaks (FORMAT.md §12.2); `None` when this system alone cannot
        /// create it (a path too long for the file system here).
        rule: Option<crate::paths::Rule>,
        /// Why it is unsafe.
        reason: String,
    },
    /// A resource limit was exceeded: which one is [`Limit`], with the value met and the
    /// most accepted.
    #[error("limit exceeded ({}), {}", limit_message(*limit, at.as_deref(), *actual, *max), path.display())]
    LimitExceeded {
        /// The package (or the input, or the source folder).
        path: PathBuf,
        /// Which limit.
        limit: Limit,
        /// Where it was met, when that is narrower than `path`: an entry's name, a link.
        at: Option<String>,
        /// The value met (a count or a size in bytes); at least `max + 1`.
        actual: u64,
        /// The most accepted.
        max: u64,
    },
    /// The setup file does not exist in the source folder.
    #[error("the setup file '{setup}' was not found in the source folder{}, {}", similar(suggestions), source_dir.display())]
    SetupNotFound {
        /// The setup file as given.
        setup: String,
        /// The source folder.
        source_dir: PathBuf,
        /// Up to 3 files of the source folder with the closest names (relative, `/`-separated).
        suggestions: Vec<String>,
    },
    /// The setup file lies outside the source folder.
    #[error("the setup file must be inside the source folder, {}", setup.display())]
    SetupOutsideSource {
        /// The setup file.
        setup: PathBuf,
    },
    /// The setup file's name has no stem to name the output after.
    #[error("the setup file name has no stem to name the package after, {}", setup.display())]
    EmptySetupStem {
        /// The setup file.
        setup: PathBuf,
    },
    /// The source folder is missing, not a folder, or empty.
    #[error("{reason}, {}", path.display())]
    BadSource {
        /// The source folder.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The output exists and overwriting was not allowed.
    #[error("the output already exists, {}", path.display())]
    OutputExists {
        /// The output path.
        path: PathBuf,
    },
    /// Something in an existing destination stands where the output needs the other kind of
    /// entry (a folder where a file goes, or the reverse, or a link or special file where a
    /// folder goes); replacing it would delete what the output does not contain, so nothing
    /// was changed.
    #[error("cannot replace '{}': {reason}; nothing was changed", path.display())]
    OutputConflict {
        /// The path in the destination.
        path: PathBuf,
        /// What the output has there.
        reason: String,
    },
    /// Replacing files in an existing destination failed midway and a file could not be put
    /// back; the files it replaced are kept in `backup`.
    #[error("replacing files failed ({cause}) and '{}' could not be restored; the previous files are kept in '{}'", path.display(), backup.display())]
    RestoreFailed {
        /// The first path that could not be restored.
        path: PathBuf,
        /// The folder holding the replaced files.
        backup: PathBuf,
        /// The failure that started the rollback.
        cause: String,
    },
    /// The output would be written inside the folder being packed.
    #[error("the output must not be inside the source folder, {}", path.display())]
    OutputInsideSource {
        /// The output path.
        path: PathBuf,
    },
    /// A value cannot be written to Detection.xml (XML 1.0 forbids its characters).
    #[error("{what} contains a character XML cannot carry, {}", path.display())]
    InvalidXmlValue {
        /// Which value.
        what: String,
        /// The file it came from.
        path: PathBuf,
    },
    /// An MSI database could not be read.
    #[error("cannot read the MSI database ({reason}), {}", path.display())]
    Msi {
        /// The .msi file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The device certificate or its private key cannot be read or used.
    #[error("cannot use the certificate ({reason}), {}", path.display())]
    Certificate {
        /// The certificate file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A DecryptInfo CMS EnvelopedData message cannot be opened.
    #[error("cannot open DecryptInfo ({reason}), {}", path.display())]
    Cms {
        /// The file the message came from (the IME log).
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Decrypted DecryptInfo JSON (or a key file) lacks usable keys.
    #[error("DecryptInfo is invalid ({reason}), {}", path.display())]
    DecryptInfo {
        /// The file it came from.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The OS random generator failed.
    #[error("the OS random generator failed: {source}")]
    Random {
        /// The generator's error.
        #[source]
        source: io::Error,
    },
    /// The operation was cancelled by the caller.
    #[error("cancelled")]
    Cancelled,
    /// A symbolic link in the source folder cannot be packed.
    #[error("the symbolic link {problem}, {} -> {}", link.display(), target.display())]
    Symlink {
        /// The link.
        link: PathBuf,
        /// Where it points (resolved when it could be).
        target: PathBuf,
        /// What is wrong.
        problem: SymlinkProblem,
    },
    /// The setup file name matches several files when case is ignored, and none exactly.
    #[error("the setup file '{setup}' matches several files when case is ignored ({}), {}", matches.join(", "), source_dir.display())]
    SetupAmbiguous {
        /// The setup file as given.
        setup: String,
        /// The source folder.
        source_dir: PathBuf,
        /// The matching files, relative to the source folder, `/`-separated.
        matches: Vec<String>,
    },
    /// The file is a bare encrypted content (MAC ‖ IV ‖ ciphertext), not a package.
    #[error("this looks like the encrypted content of a package (MAC, IV and ciphertext, as in IntunePackage.intunewin inside a package or a file the IME downloaded), not a package, {}", path.display())]
    BareBlob {
        /// The file.
        path: PathBuf,
    },
    /// The catalog folder is missing, not a folder, empty or overlaps the source folder.
    #[error("{reason}, {}", path.display())]
    BadCatalog {
        /// The catalog folder as given.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The kind of an [`Error`]: one per variant, without the details, so that a caller can
/// classify every failure with an exhaustive `match` (this enum is deliberately not
/// `#[non_exhaustive]`: a new kind must be classified by every caller that matches on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// [`Error::Io`].
    Io,
    /// [`Error::Write`].
    Write,
    /// [`Error::OuterZip`].
    OuterZip,
    /// [`Error::MissingEntry`].
    MissingEntry,
    /// [`Error::Detection`].
    Detection,
    /// [`Error::BlobLength`].
    BlobLength,
    /// [`Error::MacFieldMismatch`].
    MacFieldMismatch,
    /// [`Error::IvMismatch`].
    IvMismatch,
    /// [`Error::HmacMismatch`].
    HmacMismatch,
    /// [`Error::BadPadding`].
    BadPadding,
    /// [`Error::DigestMismatch`].
    DigestMismatch,
    /// [`Error::ContentSizeMismatch`].
    ContentSizeMismatch,
    /// [`Error::InnerZip`].
    InnerZip,
    /// [`Error::CrcMismatch`].
    CrcMismatch,
    /// [`Error::OuterCrcMismatch`].
    OuterCrcMismatch,
    /// [`Error::UnsafePath`].
    UnsafePath,
    /// [`Error::LimitExceeded`].
    LimitExceeded,
    /// [`Error::SetupNotFound`].
    SetupNotFound,
    /// [`Error::SetupOutsideSource`].
    SetupOutsideSource,
    /// [`Error::EmptySetupStem`].
    EmptySetupStem,
    /// [`Error::BadSource`].
    BadSource,
    /// [`Error::OutputExists`].
    OutputExists,
    /// [`Error::OutputConflict`].
    OutputConflict,
    /// [`Error::RestoreFailed`].
    RestoreFailed,
    /// [`Error::OutputInsideSource`].
    OutputInsideSource,
    /// [`Error::InvalidXmlValue`].
    InvalidXmlValue,
    /// [`Error::Msi`].
    Msi,
    /// [`Error::Certificate`].
    Certificate,
    /// [`Error::Cms`].
    Cms,
    /// [`Error::DecryptInfo`].
    DecryptInfo,
    /// [`Error::Random`].
    Random,
    /// [`Error::Cancelled`].
    Cancelled,
    /// [`Error::Symlink`].
    Symlink,
    /// [`Error::SetupAmbiguous`].
    SetupAmbiguous,
    /// [`Error::BareBlob`].
    BareBlob,
    /// [`Error::BadCatalog`].
    BadCatalog,
}

impl ErrorKind {
    /// The stable, kebab-case name of the kind ([`Error::kind`]).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Io => "io",
            ErrorKind::Write => "write",
            ErrorKind::OuterZip => "outer-zip",
            ErrorKind::MissingEntry => "missing-entry",
            ErrorKind::Detection => "detection",
            ErrorKind::BlobLength => "blob-length",
            ErrorKind::MacFieldMismatch => "mac-field-mismatch",
            ErrorKind::IvMismatch => "iv-mismatch",
            ErrorKind::HmacMismatch => "hmac-mismatch",
            ErrorKind::BadPadding => "bad-padding",
            ErrorKind::DigestMismatch => "digest-mismatch",
            ErrorKind::ContentSizeMismatch => "content-size-mismatch",
            ErrorKind::InnerZip => "inner-zip",
            ErrorKind::CrcMismatch => "crc-mismatch",
            ErrorKind::OuterCrcMismatch => "outer-crc-mismatch",
            ErrorKind::UnsafePath => "unsafe-path",
            ErrorKind::LimitExceeded => "limit-exceeded",
            ErrorKind::SetupNotFound => "setup-not-found",
            ErrorKind::SetupOutsideSource => "setup-outside-source",
            ErrorKind::EmptySetupStem => "empty-setup-stem",
            ErrorKind::BadSource => "bad-source",
            ErrorKind::OutputExists => "output-exists",
            ErrorKind::OutputConflict => "output-conflict",
            ErrorKind::RestoreFailed => "restore-failed",
            ErrorKind::OutputInsideSource => "output-inside-source",
            ErrorKind::InvalidXmlValue => "invalid-xml-value",
            ErrorKind::Msi => "msi",
            ErrorKind::Certificate => "certificate",
            ErrorKind::Cms => "cms",
            ErrorKind::DecryptInfo => "decrypt-info",
            ErrorKind::Random => "random",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Symlink => "symlink",
            ErrorKind::SetupAmbiguous => "setup-ambiguous",
            ErrorKind::BareBlob => "bare-blob",
            ErrorKind::BadCatalog => "bad-catalog",
        }
    }
}

/// Which check of a zip's structure failed ([`Error::OuterZip`], [`Error::InnerZip`]); the
/// CRC-32 checks have their own variants.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ZipCheck {
    /// The records: a signature where a record must start, the end records, what the central
    /// directory lists (not a zip at all, or a damaged one).
    Structure,
    /// The data ends inside a record or an entry.
    Truncated,
    /// A local header disagrees with the central directory.
    HeaderMismatch,
    /// An entry's data disagrees with the sizes its header or data descriptor declares.
    EntrySize,
    /// An entry's data cannot be decompressed or read.
    EntryData,
    /// Something the format never uses: zip encryption, several disks, a compression method
    /// other than stored and deflate, a stored entry with a data descriptor.
    Unsupported,
}

impl ZipCheck {
    /// A stable, kebab-case name (`header-mismatch`, `truncated`, ...), for machine-readable
    /// output beside [`Error::kind`].
    pub fn name(self) -> &'static str {
        match self {
            ZipCheck::Structure => "structure",
            ZipCheck::Truncated => "truncated",
            ZipCheck::HeaderMismatch => "header-mismatch",
            ZipCheck::EntrySize => "entry-size",
            ZipCheck::EntryData => "entry-data",
            ZipCheck::Unsupported => "unsupported",
        }
    }
}

/// A resource limit of [`Error::LimitExceeded`]. Counts are entries or links; sizes are bytes.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    /// More inner zip entries than `Limits::max_entries`.
    EntryCount,
    /// An inner entry's data goes on past the uncompressed size its header declares.
    EntrySize,
    /// An inner entry expands (or declares it would) beyond `Limits::max_ratio` times its
    /// compressed size; `max` is the size that ratio allows.
    CompressionRatio,
    /// The inner entries together expand beyond `Limits::max_total_size`.
    TotalSize,
    /// Detection.xml's entry declares an uncompressed size over the accepted one.
    DetectionXmlSize,
    /// Detection.xml's entry declares a compressed size over the accepted one.
    DetectionXmlStoredSize,
    /// A small input read whole (a key file, a DecryptInfo file) is too large.
    FileSize,
    /// Walking the source folder followed too many folder links.
    FolderLinks,
}

impl Limit {
    /// A stable, kebab-case name (`entry-count`, `compression-ratio`, ...), for
    /// machine-readable output beside [`Error::kind`].
    pub fn name(self) -> &'static str {
        match self {
            Limit::EntryCount => "entry-count",
            Limit::EntrySize => "entry-size",
            Limit::CompressionRatio => "compression-ratio",
            Limit::TotalSize => "total-size",
            Limit::DetectionXmlSize => "detection-xml-size",
            Limit::DetectionXmlStoredSize => "detection-xml-stored-size",
            Limit::FileSize => "file-size",
            Limit::FolderLinks => "folder-links",
        }
    }
}

/// What [`Error::LimitExceeded`] says inside its parentheses.
fn limit_message(limit: Limit, at: Option<&str>, actual: u64, max: u64) -> String {
    let at = at.unwrap_or("?");
    match limit {
        Limit::EntryCount => format!("more than {max} entries"),
        Limit::EntrySize => {
            format!("entry '{at}' expands beyond its declared size of {max} bytes")
        }
        Limit::CompressionRatio => format!(
            "entry '{at}' is {actual} bytes uncompressed, over the {max} a sane compression \
             ratio allows"
        ),
        Limit::TotalSize => {
            format!("the content expands to {actual} bytes, beyond the allowed total size of {max}")
        }
        Limit::DetectionXmlSize => {
            format!("{at} declares {actual} uncompressed bytes, over the {max} accepted")
        }
        Limit::DetectionXmlStoredSize => {
            format!("{at} declares {actual} compressed bytes, over the {max} accepted")
        }
        Limit::FileSize => format!("the file is {actual} bytes, over the {max} accepted"),
        Limit::FolderLinks => format!(
            "more than {max} folder links followed; links lead to the same folders again and \
             again (last: {at})"
        ),
    }
}

/// ` (similar names: a, b)` for a setup file not found, or nothing.
fn similar(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!(" (similar names: {})", suggestions.join(", "))
    }
}

impl Error {
    /// Wraps an I/O error with the action and file it concerns.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Wraps a failure to write the output `path` (the path the caller asked for, even when
    /// the bytes went to a temporary file beside it).
    pub fn write(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Write {
            action,
            path: Some(path.into()),
            source,
        }
    }

    /// A stable, kebab-case name of the variant (`hmac-mismatch`, `write`, ...), for
    /// machine-readable output such as the CLI's `--json` errors. A name never changes once
    /// published; new variants get new names. The same as `self.error_kind().name()`.
    pub fn kind(&self) -> &'static str {
        self.error_kind().name()
    }

    /// Which kind of failure this is, as a plain value to match on (exit codes, retries, ...).
    pub fn error_kind(&self) -> ErrorKind {
        match self {
            Error::Io { .. } => ErrorKind::Io,
            Error::Write { .. } => ErrorKind::Write,
            Error::OuterZip { .. } => ErrorKind::OuterZip,
            Error::MissingEntry { .. } => ErrorKind::MissingEntry,
            Error::Detection { .. } => ErrorKind::Detection,
            Error::BlobLength { .. } => ErrorKind::BlobLength,
            Error::MacFieldMismatch { .. } => ErrorKind::MacFieldMismatch,
            Error::IvMismatch { .. } => ErrorKind::IvMismatch,
            Error::HmacMismatch { .. } => ErrorKind::HmacMismatch,
            Error::BadPadding { .. } => ErrorKind::BadPadding,
            Error::DigestMismatch { .. } => ErrorKind::DigestMismatch,
            Error::ContentSizeMismatch { .. } => ErrorKind::ContentSizeMismatch,
            Error::InnerZip { .. } => ErrorKind::InnerZip,
            Error::CrcMismatch { .. } => ErrorKind::CrcMismatch,
            Error::OuterCrcMismatch { .. } => ErrorKind::OuterCrcMismatch,
            Error::UnsafePath { .. } => ErrorKind::UnsafePath,
            Error::LimitExceeded { .. } => ErrorKind::LimitExceeded,
            Error::SetupNotFound { .. } => ErrorKind::SetupNotFound,
            Error::SetupOutsideSource { .. } => ErrorKind::SetupOutsideSource,
            Error::EmptySetupStem { .. } => ErrorKind::EmptySetupStem,
            Error::BadSource { .. } => ErrorKind::BadSource,
            Error::OutputExists { .. } => ErrorKind::OutputExists,
            Error::OutputConflict { .. } => ErrorKind::OutputConflict,
            Error::RestoreFailed { .. } => ErrorKind::RestoreFailed,
            Error::OutputInsideSource { .. } => ErrorKind::OutputInsideSource,
            Error::InvalidXmlValue { .. } => ErrorKind::InvalidXmlValue,
            Error::Msi { .. } => ErrorKind::Msi,
            Error::Certificate { .. } => ErrorKind::Certificate,
            Error::Cms { .. } => ErrorKind::Cms,
            Error::DecryptInfo { .. } => ErrorKind::DecryptInfo,
            Error::Random { .. } => ErrorKind::Random,
            Error::Cancelled => ErrorKind::Cancelled,
            Error::Symlink { .. } => ErrorKind::Symlink,
            Error::SetupAmbiguous { .. } => ErrorKind::SetupAmbiguous,
            Error::BareBlob { .. } => ErrorKind::BareBlob,
            Error::BadCatalog { .. } => ErrorKind::BadCatalog,
        }
    }

    /// The file or folder the error is about, when there is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::Io { path, .. }
            | Error::OuterZip { path, .. }
            | Error::MissingEntry { path, .. }
            | Error::Detection { path, .. }
            | Error::BlobLength { path, .. }
            | Error::MacFieldMismatch { path }
            | Error::IvMismatch { path }
            | Error::HmacMismatch { path }
            | Error::BadPadding { path }
            | Error::DigestMismatch { path }
            | Error::ContentSizeMismatch { path, .. }
            | Error::InnerZip { path, .. }
            | Error::CrcMismatch { path, .. }
            | Error::OuterCrcMismatch { path, .. }
            | Error::UnsafePath { path, .. }
            | Error::LimitExceeded { path, .. }
            | Error::BadSource { path, .. }
            | Error::OutputExists { path }
            | Error::OutputConflict { path, .. }
            | Error::RestoreFailed { path, .. }
            | Error::OutputInsideSource { path }
            | Error::InvalidXmlValue { path, .. }
            | Error::Msi { path, .. }
            | Error::Certificate { path, .. }
            | Error::Cms { path, .. }
            | Error::DecryptInfo { path, .. } => Some(path),
            Error::Write { path, .. } => path.as_deref(),
            Error::SetupNotFound { source_dir, .. } => Some(source_dir),
            Error::SetupOutsideSource { setup } | Error::EmptySetupStem { setup } => Some(setup),
            Error::Symlink { link, .. } => Some(link),
            Error::SetupAmbiguous { source_dir, .. } => Some(source_dir),
            Error::BareBlob { path } | Error::BadCatalog { path, .. } => Some(path),
            Error::Random { .. } | Error::Cancelled => None,
        }
    }

    /// The OS error behind an [`Error::Io`] or [`Error::Write`] (to tell a full disk from a
    /// permission problem, for example).
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            Error::Io { source, .. } | Error::Write { source, .. } => Some(source),
            _ => None,
        }
    }

    /// True for failures that mean the package is not valid (as opposed to I/O or usage errors).
    pub fn is_verification_failure(&self) -> bool {
        match self {
            Error::OuterZip { .. }
            | Error::MissingEntry { .. }
            | Error::Detection { .. }
            | Error::BlobLength { .. }
            | Error::MacFieldMismatch { .. }
            | Error::IvMismatch { .. }
            | Error::HmacMismatch { .. }
            | Error::BadPadding { .. }
            | Error::DigestMismatch { .. }
            | Error::ContentSizeMismatch { .. }
            | Error::InnerZip { .. }
            | Error::CrcMismatch { .. }
            | Error::OuterCrcMismatch { .. }
            | Error::UnsafePath { .. }
            | Error::LimitExceeded { .. }
            | Error::InvalidXmlValue { .. } => true,
            Error::Io { .. }
            | Error::Write { .. }
            | Error::SetupNotFound { .. }
            | Error::SetupOutsideSource { .. }
            | Error::EmptySetupStem { .. }
            | Error::BadSource { .. }
            | Error::OutputExists { .. }
            | Error::OutputConflict { .. }
            | Error::RestoreFailed { .. }
            | Error::OutputInsideSource { .. }
            | Error::Msi { .. }
            | Error::Certificate { .. }
            | Error::Cms { .. }
            | Error::DecryptInfo { .. }
            | Error::Random { .. }
            | Error::Cancelled
            | Error::Symlink { .. }
            | Error::SetupAmbiguous { .. }
            | Error::BareBlob { .. }
            | Error::BadCatalog { .. } => false,
        }
    }
}

/// A library error inside an `io::Error`, where a std `Read` or `Write` adapter (progress and
/// cancellation, decryption) can only fail with an `io::Error`: [`carry`] puts it in,
/// [`recover`] takes it out. The only error that travels that way.
#[derive(Debug)]
struct Carried(Error);

impl std::fmt::Display for Carried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Carried {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
    }
}

/// Wraps `err` for a `Read`/`Write` method; [`recover`] gets it back on the other side.
/// Never of kind `Interrupted`, which std's read and write loops retry forever.
pub(crate) fn carry(err: Error) -> io::Error {
    let kind = match &err {
        Error::Io { source, .. } | Error::Write { source, .. }
            if source.kind() != io::ErrorKind::Interrupted =>
        {
            source.kind()
        }
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, Carried(err))
}

/// The library error `e` carries (see [`carry`]), or `e` itself when it is a plain I/O error.
/// `origin` names the file where the carrier could not: bad padding found by a decrypting
/// reader, which never knows the file.
pub(crate) fn recover(e: io::Error, origin: &Path) -> std::result::Result<Error, io::Error> {
    if !e.get_ref().is_some_and(|inner| inner.is::<Carried>()) {
        return Err(e);
    }
    let kind = e.kind();
    match e.into_inner().map(|inner| inner.downcast::<Carried>()) {
        Some(Ok(carried)) => match carried.0 {
            Error::BadPadding { path } if path.as_os_str().is_empty() => Ok(Error::BadPadding {
                path: origin.to_path_buf(),
            }),
            err => Ok(err),
        },
        Some(Err(other)) => Err(io::Error::new(kind, other)),
        None => Err(io::Error::from(kind)),
    }
}

/// The OS's reason as part of a sentence: `permission denied (os error 13)`.
pub(crate) fn os_reason(e: &io::Error) -> String {
    let mut text = e.to_string();
    // tempfile appends ` at path "<temporary file>"`: a name the reader never asked for (the
    // error names the output instead), and noise in the one sentence.
    if e.raw_os_error().is_none()
        && let Some(at) = text.find(" at path \"")
    {
        text.truncate(at);
    }
    let mut chars = text.chars();
    match chars.next() {
        // Only a capital followed by a lower-case letter: acronyms stay as they are.
        Some(first) if first.is_uppercase() && chars.next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(text.chars().skip(1)).collect()
        }
        _ => text,
    }
}

/// The message of [`Error::Write`]: `cannot write: <reason>, <output>`.
fn write_message(action: &str, path: Option<&Path>, source: &io::Error) -> String {
    let reason = os_reason(source);
    match path {
        Some(path) => format!("cannot {action}: {reason}, {}", path.display()),
        None => format!("cannot {action} the output: {reason}"),
    }
}

/// Why a symbolic link cannot be packed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymlinkProblem {
    /// Links are not followed, and a link cannot be packed as a link.
    NotFollowed,
    /// The link points to nothing.
    Dangling,
    /// The link resolves outside the source folder.
    OutsideSource,
    /// The link points to a folder that contains it: following it would never end.
    Loop,
}

impl std::fmt::Display for SymlinkProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SymlinkProblem::NotFollowed => "is not followed, and a link cannot be packed as a link",
            SymlinkProblem::Dangling => "points to nothing",
            SymlinkProblem::OutsideSource => "points outside the source folder",
            SymlinkProblem::Loop => "points to a folder that contains it (a loop)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_errors_name_the_output_and_the_reason() {
        let full = io::Error::from(io::ErrorKind::StorageFull);
        let err = Error::write("write", "out/app.zip", full);
        assert_eq!(err.kind(), "write");
        assert_eq!(err.path(), Some(Path::new("out/app.zip")));
        let text = err.to_string();
        assert!(text.starts_with("cannot write: "), "{text}");
        assert!(text.ends_with(", out/app.zip"), "{text}");
        assert!(!err.is_verification_failure());
        let denied = io::Error::from_raw_os_error(13);
        let anonymous = Error::Write {
            action: "write",
            path: None,
            source: denied,
        };
        assert!(
            anonymous
                .to_string()
                .starts_with("cannot write the output: permission denied"),
            "{anonymous}"
        );
    }

    #[test]
    fn read_and_write_errors_have_distinct_kinds() {
        let read = Error::io("read", "pkg.intunewin", io::Error::other("boom"));
        let write = Error::write("write", "out.zip", io::Error::other("boom"));
        assert_ne!(read.kind(), write.kind());
        assert_eq!(read.path(), Some(Path::new("pkg.intunewin")));
    }

    #[test]
    fn a_carried_error_comes_back_whole() {
        let origin = Path::new("pkg.intunewin");
        // Not `Interrupted`: `read_exact`, `io::copy` and the like would retry it forever.
        let cancelled = carry(Error::Cancelled);
        assert_ne!(cancelled.kind(), io::ErrorKind::Interrupted);
        let cancelled = recover(cancelled, origin);
        assert!(matches!(cancelled, Ok(Error::Cancelled)), "{cancelled:?}");
        let eintr = carry(Error::io("read", "x", io::ErrorKind::Interrupted.into()));
        assert_ne!(eintr.kind(), io::ErrorKind::Interrupted);
        let write = carry(Error::write(
            "write",
            "out.zip",
            io::ErrorKind::StorageFull.into(),
        ));
        assert_eq!(write.kind(), io::ErrorKind::StorageFull);
        match recover(write, origin) {
            Ok(err @ Error::Write { .. }) => assert_eq!(err.path(), Some(Path::new("out.zip"))),
            other => panic!("expected the write error, got {other:?}"),
        }
        // The decrypting reader cannot name the file: the reading side does.
        let padding = carry(Error::BadPadding {
            path: PathBuf::new(),
        });
        match recover(padding, origin) {
            Ok(Error::BadPadding { path }) => assert_eq!(path, origin),
            other => panic!("expected bad padding, got {other:?}"),
        }
        let plain = recover(io::Error::other("disk gone"), origin);
        assert!(
            matches!(&plain, Err(e) if e.to_string() == "disk gone"),
            "{plain:?}"
        );
    }

    #[test]
    fn limit_errors_name_the_limit_and_the_numbers() {
        let err = |limit, at: Option<&str>, actual, max| Error::LimitExceeded {
            path: "pkg.intunewin".into(),
            limit,
            at: at.map(str::to_string),
            actual,
            max,
        };
        let ratio = err(
            Limit::CompressionRatio,
            Some("bomb.bin"),
            4_294_967_040,
            1_166_036,
        );
        assert_eq!(ratio.kind(), "limit-exceeded");
        assert_eq!(ratio.error_kind(), ErrorKind::LimitExceeded);
        assert!(ratio.is_verification_failure());
        assert_eq!(
            ratio.to_string(),
            "limit exceeded (entry 'bomb.bin' is 4294967040 bytes uncompressed, over the \
             1166036 a sane compression ratio allows), pkg.intunewin"
        );
        let count = err(Limit::EntryCount, None, 3, 2);
        assert_eq!(
            count.to_string(),
            "limit exceeded (more than 2 entries), pkg.intunewin"
        );
        let names: Vec<&str> = [
            Limit::EntryCount,
            Limit::EntrySize,
            Limit::CompressionRatio,
            Limit::TotalSize,
            Limit::DetectionXmlSize,
            Limit::DetectionXmlStoredSize,
            Limit::FileSize,
            Limit::FolderLinks,
        ]
        .into_iter()
        .map(Limit::name)
        .collect();
        let unique: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        assert!(
            names
                .iter()
                .all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
        );
    }

    #[test]
    fn os_reasons_read_as_part_of_a_sentence() {
        assert_eq!(
            os_reason(&io::Error::from_raw_os_error(2)),
            "no such file or directory (os error 2)"
        );
        assert_eq!(os_reason(&io::Error::other("CRC bad")), "CRC bad");
        let wrapped = io::Error::other("Permission denied (os error 13) at path \"/x/.tmp1\"");
        assert_eq!(os_reason(&wrapped), "permission denied (os error 13)");
    }
}
