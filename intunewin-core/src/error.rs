//! The one error type of the library.
//!
//! Every failure has its own variant so that callers (and tests) can match on what went
//! wrong instead of parsing messages. Messages read as `<what>, <which file>`.

use std::io;
use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while packing or reading a package.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O operation on a file failed.
    #[error("cannot {action}: {source}, {}", path.display())]
    Io {
        /// What was being done ("read", "create", ...).
        action: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The outer zip is malformed or not a zip at all.
    #[error("not a valid .intunewin package ({reason}), {}", path.display())]
    OuterZip {
        /// The package.
        path: PathBuf,
        /// What is wrong.
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
        /// What is wrong.
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
        /// Why it is unsafe.
        reason: String,
    },
    /// A resource limit was exceeded (entry count, expansion ratio, declared sizes, ...).
    #[error("limit exceeded ({reason}), {}", path.display())]
    LimitExceeded {
        /// The package.
        path: PathBuf,
        /// Which limit.
        reason: String,
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
    #[error("the output already exists (use --force to overwrite), {}", path.display())]
    OutputExists {
        /// The output path.
        path: PathBuf,
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
    #[error("the OS random generator failed: {0}")]
    Random(String),
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
        problem: crate::source::SymlinkProblem,
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

    /// True for failures that mean the package is not valid (as opposed to I/O or usage errors).
    pub fn is_verification_failure(&self) -> bool {
        !matches!(
            self,
            Error::Io { .. }
                | Error::SetupNotFound { .. }
                | Error::SetupOutsideSource { .. }
                | Error::EmptySetupStem { .. }
                | Error::BadSource { .. }
                | Error::OutputExists { .. }
                | Error::OutputInsideSource { .. }
                | Error::Msi { .. }
                | Error::Certificate { .. }
                | Error::Cms { .. }
                | Error::DecryptInfo { .. }
                | Error::Random(_)
                | Error::Cancelled
                | Error::Symlink { .. }
                | Error::SetupAmbiguous { .. }
                | Error::BareBlob { .. }
                | Error::BadCatalog { .. }
        )
    }
}
