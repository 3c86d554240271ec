//! Reading a package: [`Package::open`] parses the outer zip and Detection.xml without
//! decrypting. [`Package::verify`] and [`Package::list`] write nothing, so they read the content
//! once, MACing, decrypting and parsing it together, and return nothing unless the MAC matches;
//! [`Package::extract`] and [`Package::decrypt_to`] authenticate the content first (FORMAT.md
//! §7), then decrypt it as a stream.

use std::io::{Read, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::content::BlobKeys;
use crate::content::reader::{ContentReader, FirstPass};
use crate::content::source::{ContentSource, ReadSeek, Storage};
use crate::detection::Detection;
use crate::error::{Error, Result};
use crate::inner_read::{EntryInfo, EntryVisitor, Limits};
use crate::outer::{CONTENTS_DIR, DETECTION_ENTRY, OuterEntry, OuterZip};
use crate::paths::{Finding, PathRules};
use crate::progress::{CancelFlag, NoProgress, Progress, Stage};
use crate::verdict::{EntryGate, Ignore};

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
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            limits: Limits::default(),
            progress: Arc::new(NoProgress),
            cancel: CancelFlag::new(),
            path_rules: PathRules::default(),
        }
    }
}

impl ReadOptions {
    /// Reports progress to `progress`.
    pub fn progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// Stops (with [`Error::Cancelled`]) once `flag` is set.
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
}

/// Options for [`Package::extract`].
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

/// One inner entry as `list` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedEntry {
    /// The entry as stored.
    pub info: EntryInfo,
    /// SHA-256 of the uncompressed data.
    pub sha256: [u8; 32],
}

/// What `list` returns: every entry with its hash, and the same findings and warnings as
/// [`VerifyReport`].
#[derive(Clone, Debug)]
pub struct ListReport {
    /// Inner entries in stored order, with the SHA-256 of each.
    pub entries: Vec<ListedEntry>,
    /// Device-side findings about the entry names (FORMAT.md §12), refusing ones included.
    pub findings: Vec<Finding>,
    /// Tolerated deviations from Microsoft's layout and other warnings.
    pub warnings: Vec<String>,
}

/// The result of a successful verification (or extraction, which checks the same).
#[derive(Clone, Debug)]
pub struct VerifyReport {
    /// Inner entries in stored order.
    pub entries: Vec<EntryInfo>,
    /// Device-side findings about the entry names (FORMAT.md §12); none of them refuses the
    /// package (those fail the read instead), e.g. a path over the device's length budget.
    pub findings: Vec<Finding>,
    /// Tolerated deviations from Microsoft's layout and other warnings.
    pub warnings: Vec<String>,
}

/// An opened `.intunewin` package.
#[derive(Debug)]
pub struct Package {
    path: PathBuf,
    len: u64,
    outer: OuterZip,
    content: OuterEntry,
    /// The content entry, read by position through the handle (or buffer) opened first.
    source: ContentSource,
    /// Detection.xml's keys and expected values, which every read is checked against.
    keys: BlobKeys,
    detection: Detection,
    detection_xml: Vec<u8>,
    warnings: Vec<String>,
}

impl Package {
    /// Opens a package: parses the outer zip and Detection.xml, locates the content (FORMAT.md §6.1).
    /// A bare encrypted blob given instead is [`Error::BareBlob`]; a folder, FIFO or device an
    /// [`Error::Io`].
    pub fn open(path: impl AsRef<Path>) -> Result<Package> {
        let path = path.as_ref().to_path_buf();
        let (storage, len) = Storage::open(&path)?;
        Self::from_storage(storage, len, path)
    }

    /// Opens a package held in memory, as [`open`](Self::open) opens a file; `name` stands for
    /// the package in errors and reports.
    pub fn from_bytes(bytes: impl Into<Arc<[u8]>>, name: impl Into<PathBuf>) -> Result<Package> {
        let (storage, len) = Storage::memory(bytes.into());
        Self::from_storage(storage, len, name.into())
    }

    fn from_storage(storage: Storage, len: u64, path: PathBuf) -> Result<Package> {
        let opened = storage.seekable(|file| open_outer(file, len, &path))?;
        let (outer, content, detection, detection_xml, warnings) = opened;
        let source = ContentSource::new(
            storage,
            content.data_offset,
            content.compressed_size,
            content.method,
            content.size,
        );
        Ok(Package {
            keys: BlobKeys::from_detection(&detection),
            path,
            len,
            outer,
            content,
            source,
            detection,
            detection_xml,
            warnings,
        })
    }

    /// The package file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size of the package file.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the package file is empty (never true for an opened package).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The parsed Detection.xml.
    pub fn detection(&self) -> &Detection {
        &self.detection
    }

    /// Detection.xml as stored.
    pub fn detection_xml(&self) -> &[u8] {
        &self.detection_xml
    }

    /// The outer zip's entries.
    pub fn outer(&self) -> &OuterZip {
        &self.outer
    }

    /// The encrypted content entry.
    pub fn content_entry(&self) -> &OuterEntry {
        &self.content
    }

    /// Length of the encrypted content (MAC ‖ IV ‖ ciphertext).
    pub fn encrypted_size(&self) -> u64 {
        self.content.size
    }

    /// Tolerated deviations found while opening.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// A reader of the encrypted content blob (inflated if the outer entry is deflated).
    pub fn content_reader(&self) -> Result<Box<dyn Read + Send>> {
        self.source.open(&self.path)
    }

    /// The reader of the content, checked against Detection.xml and the content entry.
    pub(crate) fn reader(&self) -> ContentReader<'_> {
        ContentReader {
            source: &self.source,
            origin: &self.path,
            keys: &self.keys,
            entry: Some(&self.content),
            first_pass: FirstPass::MacAndDigest,
        }
    }

    /// Checks sizes, the MAC and IV fields, and the HMAC over IV ‖ ciphertext in constant time,
    /// plus the content entry's CRC-32 (FORMAT.md §7 steps 3–5 and 9). Decrypts nothing.
    pub fn authenticate(&self, opts: &ReadOptions) -> Result<()> {
        self.reader().authenticate(opts, None).map(|_| ())
    }

    /// Authenticates (MAC and FileDigest), then decrypts and parses the inner zip, handing each
    /// entry to `visitor`; the second read is authenticated again (its MAC is checked before
    /// this returns), so what `visitor` saw is what the first read authenticated.
    pub fn read_entries(
        &self,
        opts: &ReadOptions,
        stage: Stage,
        visitor: &mut dyn EntryVisitor,
    ) -> Result<Vec<EntryInfo>> {
        let reader = self.reader();
        let (_, pass) = reader.before_writing(opts)?;
        let (entries, _) = reader.read_entries(opts, stage, pass, visitor)?;
        Ok(entries)
    }

    /// Verifies everything FORMAT.md §7 lists in one read of the content; writes nothing.
    /// Fails with [`Error::UnsafePath`] on the first entry the classifier refuses
    /// ([`refuses`](crate::verdict::refuses)), exactly as [`extract`](Self::extract) does;
    /// [`list`](Self::list) reports the same findings.
    pub fn verify(&self, opts: &ReadOptions) -> Result<VerifyReport> {
        self.read_report(opts, EntryGate::refusing(&opts.path_rules, &self.path))
    }

    /// Like [`verify`](Self::verify), but refuses nothing: every finding is reported (what
    /// `check` shows). Fails only when the content itself is invalid.
    pub(crate) fn inspect(&self, opts: &ReadOptions) -> Result<VerifyReport> {
        self.read_report(opts, EntryGate::collecting(&opts.path_rules, &self.path))
    }

    /// Reads the content once through `gate`, writing nothing, and reports.
    fn read_report(&self, opts: &ReadOptions, gate: EntryGate) -> Result<VerifyReport> {
        let found = self.reader().inspect(opts, gate, &mut Ignore)?;
        Ok(self.report(found.entries, found.findings))
    }

    /// The report of a read: the entries, the classifier's findings, and the warnings (layout
    /// deviations, a SetupFile missing from the content).
    fn report(&self, entries: Vec<EntryInfo>, findings: Vec<Finding>) -> VerifyReport {
        let mut warnings = self.warnings.clone();
        if !setup_present(&entries, &self.detection.setup_file) {
            warnings.push(format!(
                "SetupFile '{}' is not in the content",
                self.detection.setup_file
            ));
        }
        VerifyReport {
            entries,
            findings,
            warnings,
        }
    }

    /// Lists the inner entries with the SHA-256 of each, in one read of the content (nothing is
    /// returned unless the MAC and digest match); writes nothing. Lists every entry, even of a
    /// package [`verify`](Self::verify) refuses: the findings are the same as verify's, and
    /// [`verdict::refusal`](crate::verdict::refusal) tells whether one refuses the package.
    pub fn list(&self, opts: &ReadOptions) -> Result<ListReport> {
        let gate = EntryGate::collecting(&opts.path_rules, &self.path);
        let mut hashing = Hashing {
            origin: &self.path,
            hashes: Vec::new(),
        };
        let found = self.reader().inspect(opts, gate, &mut hashing)?;
        let report = self.report(found.entries, found.findings);
        let entries = report
            .entries
            .into_iter()
            .zip(hashing.hashes)
            .map(|(info, sha256)| ListedEntry { info, sha256 })
            .collect();
        Ok(ListReport {
            entries,
            findings: report.findings,
            warnings: report.warnings,
        })
    }

    /// Writes the decrypted inner zip to `out` after authenticating it (MAC and FileDigest);
    /// the second read is tied to the first as for [`extract`](Self::extract). A failure of
    /// `out` (a full disk, ...) is an [`Error::Write`], never a read error of the package.
    pub fn decrypt_to<W: Write>(&self, out: W, opts: &ReadOptions) -> Result<u64> {
        let reader = self.reader();
        let (_, pass) = reader.before_writing(opts)?;
        let plaintext = reader.decrypt_pass(out, None, opts, pass)?;
        Ok(plaintext.len)
    }

    /// Extracts the content into `dest`: a new folder, or with
    /// [`overwrite`](ExtractOptions::overwrite) an existing one, where the package's files
    /// replace those of the same name and every other file is left as it is.
    ///
    /// Nothing is written before the MAC and FileDigest are verified; files go into a
    /// temporary folder beside `dest` that lands only when everything (the second read's MAC
    /// included) checked out, so a failure leaves nothing behind and changes nothing in an
    /// existing `dest`. No entry can land outside the destination.
    ///
    /// Refuses what [`verify`](Self::verify) refuses, and returns the same report.
    pub fn extract(&self, dest: &Path, opts: &ExtractOptions) -> Result<VerifyReport> {
        let (found, _) = self.reader().extract(dest, opts)?;
        Ok(self.report(found.entries, found.findings))
    }
}

/// What opening a package reads: the outer zip, the content entry, Detection.xml parsed and as
/// stored, and the layout warnings.
type Opened = (OuterZip, OuterEntry, Detection, Vec<u8>, Vec<String>);

/// Parses the outer zip of `len` bytes and Detection.xml, and locates the content.
fn open_outer(file: &mut dyn ReadSeek, len: u64, path: &Path) -> Result<Opened> {
    let outer = match OuterZip::read(&mut &mut *file, len) {
        Ok(outer) => outer,
        // Not a zip: say so plainly when it is the encrypted content itself (the package's
        // inner IntunePackage.intunewin, or an IME download), which `decrypt` reads.
        Err(_) if crate::blob::has_blob_shape(file, len) => {
            return Err(Error::BareBlob {
                path: path.to_path_buf(),
            });
        }
        Err(reason) => {
            return Err(Error::OuterZip {
                path: path.to_path_buf(),
                reason,
            });
        }
    };
    let xml_entry = outer
        .find(DETECTION_ENTRY)
        .ok_or_else(|| Error::MissingEntry {
            path: path.to_path_buf(),
            entry: DETECTION_ENTRY.into(),
        })?;
    check_detection_sizes(xml_entry, path)?;
    let detection_xml = read_small_entry(file, xml_entry, path)?;
    let detection = Detection::parse(&detection_xml, path)?;
    let mut warnings = layout_warnings(&outer);
    let content = locate_content(&outer, &detection, path, &mut warnings)?;
    Ok((outer, content, detection, detection_xml, warnings))
}

/// Checks the sizes Detection.xml's entry declares, compressed and not, against the limits
/// before anything is allocated or read for it.
fn check_detection_sizes(entry: &OuterEntry, path: &Path) -> Result<()> {
    use crate::detection::{MAX_DETECTION_XML_LEN, MAX_DETECTION_XML_STORED_LEN};
    let limit = |what: &str, size: u64, max: u64| Error::LimitExceeded {
        path: path.to_path_buf(),
        reason: format!(
            "{} declares {size} {what} bytes, over the {max} accepted",
            entry.name
        ),
    };
    if entry.size > MAX_DETECTION_XML_LEN as u64 {
        return Err(limit(
            "uncompressed",
            entry.size,
            MAX_DETECTION_XML_LEN as u64,
        ));
    }
    if entry.compressed_size > MAX_DETECTION_XML_STORED_LEN {
        return Err(limit(
            "compressed",
            entry.compressed_size,
            MAX_DETECTION_XML_STORED_LEN,
        ));
    }
    Ok(())
}

/// Reads a small outer entry whole (its sizes checked by the caller), inflating it if needed,
/// and checks its size and CRC-32.
fn read_small_entry(file: &mut dyn ReadSeek, entry: &OuterEntry, path: &Path) -> Result<Vec<u8>> {
    file.seek(SeekFrom::Start(entry.data_offset))
        .map_err(|e| Error::io("read", path, e))?;
    let mut raw = Vec::new();
    // The cap holds even if a caller forgot the size check.
    let cap = entry
        .compressed_size
        .min(crate::detection::MAX_DETECTION_XML_STORED_LEN);
    file.take(cap)
        .read_to_end(&mut raw)
        .map_err(|e| Error::io("read", path, e))?;
    let data = match entry.method {
        0 => raw,
        8 => {
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(&raw[..])
                .take(crate::detection::MAX_DETECTION_XML_LEN as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| Error::OuterZip {
                    path: path.to_path_buf(),
                    reason: format!("cannot inflate {}: {e}", entry.name),
                })?;
            out
        }
        m => {
            return Err(Error::OuterZip {
                path: path.to_path_buf(),
                reason: format!("{} uses compression method {m}", entry.name),
            });
        }
    };
    if data.len() as u64 != entry.size || crc32fast::hash(&data) != entry.crc {
        return Err(Error::OuterCrcMismatch {
            path: path.to_path_buf(),
            entry: entry.name.clone(),
        });
    }
    Ok(data)
}

/// Notes where the outer zip departs from Microsoft's layout (tolerated, FORMAT.md §6.1).
fn layout_warnings(outer: &OuterZip) -> Vec<String> {
    let mut out = Vec::new();
    if outer.entries.len() != 2 {
        out.push(format!(
            "the outer zip has {} entries, Microsoft's tool writes 2",
            outer.entries.len()
        ));
    }
    for e in &outer.entries {
        if e.method != 0 {
            out.push(format!(
                "outer entry '{}' is compressed; the portal expects stored entries",
                e.name
            ));
        }
        if !e.has_growth_hint {
            out.push(format!(
                "outer entry '{}' lacks the 0xA220 extra field Microsoft's tool writes",
                e.name
            ));
        }
    }
    out
}

/// Finds the content entry through `FileName`, else the only entry under Contents/.
fn locate_content(
    outer: &OuterZip,
    detection: &Detection,
    path: &Path,
    warnings: &mut Vec<String>,
) -> Result<OuterEntry> {
    let by_name = format!("{CONTENTS_DIR}{}", detection.file_name);
    if let Some(e) = outer.find(&by_name) {
        return Ok(e.clone());
    }
    let under: Vec<&OuterEntry> = outer
        .entries
        .iter()
        .filter(|e| {
            e.name
                .to_ascii_lowercase()
                .starts_with(&CONTENTS_DIR.to_ascii_lowercase())
                && !e.name.ends_with('/')
        })
        .collect();
    match under.as_slice() {
        [only] => {
            warnings.push(format!(
                "no entry named after FileName '{}'; using '{}'",
                detection.file_name, only.name
            ));
            Ok((*only).clone())
        }
        _ => Err(Error::MissingEntry {
            path: path.to_path_buf(),
            entry: by_name,
        }),
    }
}

fn setup_present(entries: &[EntryInfo], setup: &str) -> bool {
    let norm = |s: &str| s.replace('\\', "/").to_lowercase();
    let want = norm(setup);
    entries.iter().any(|e| norm(&e.name) == want)
}

struct Hashing<'a> {
    origin: &'a Path,
    hashes: Vec<[u8; 32]>,
}

impl EntryVisitor for Hashing<'_> {
    fn entry(&mut self, _info: &EntryInfo, data: &mut dyn Read) -> Result<()> {
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = data.read(&mut buf).map_err(|e| Error::InnerZip {
                path: self.origin.to_path_buf(),
                reason: e.to_string(),
            })?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        self.hashes.push(hasher.finalize().into());
        Ok(())
    }
}
