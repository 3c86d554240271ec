//! Reading a package: [`Package::open`] parses the outer zip and Detection.xml without
//! decrypting. [`Package::verify`] and [`Package::list`] write nothing, so they read the content
//! once, MACing, decrypting and parsing it together, and return nothing unless the MAC matches;
//! [`Package::extract`] and [`Package::decrypt_to`] authenticate the content first (FORMAT.md
//! §7), then decrypt it as a stream.

use std::io::{Read, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::content::storage::{ContentSource, ReadSeek, Storage};
use crate::detection::Detection;
use crate::error::{Error, Result};
use crate::inner_read::{EntryInfo, EntryVisitor, InnerSummary};
use crate::outer::{CONTENTS_DIR, DETECTION_ENTRY, OuterEntry, OuterZip};
use crate::paths::Finding;
use crate::progress::Stage;
use crate::read::reader::BlobKeys;
use crate::read::reader::{ContentReader, FirstPass, Pass};
use crate::staging::StagedFolder;
use crate::verdict::{EntryGate, Gated, Ignore};

pub use super::options::{ExtractOptions, ReadOptions};

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
    /// Inner entries in stored order, with the SHA-256 of each (empty from
    /// [`list_to`](Package::list_to), which streams them).
    pub entries: Vec<ListedEntry>,
    /// Number of entries.
    pub entry_count: usize,
    /// Sum of the entries' uncompressed sizes.
    pub total_size: u64,
    /// Device-side findings about the entry names (FORMAT.md §12), refusing ones included.
    pub findings: Vec<Finding>,
    /// Tolerated deviations from Microsoft's layout and other warnings.
    pub warnings: Vec<String>,
}

/// The result of a successful verification (or extraction, which checks the same).
#[derive(Clone, Debug)]
pub struct VerifyReport {
    /// Inner entries in stored order (empty unless [`ReadOptions::keep_entries`]).
    pub entries: Vec<EntryInfo>,
    /// Number of entries.
    pub entry_count: usize,
    /// Number of entries that are not folders.
    pub file_count: usize,
    /// Sum of the entries' uncompressed sizes.
    pub total_size: u64,
    /// Sum of the uncompressed sizes of the entries that are not folders.
    pub file_bytes: u64,
    /// Size of the file Detection.xml's SetupFile names (case-insensitively, either
    /// separator), when the content holds it.
    pub setup_size: Option<u64>,
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

    /// The outer zip's entries (not part of the API: the project's layout tests read them).
    #[doc(hidden)]
    pub fn outer(&self) -> &OuterZip {
        &self.outer
    }

    /// The encrypted content entry (not part of the API: the project's tests locate the
    /// content with it).
    #[doc(hidden)]
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
        let opts = opts.clone().keep_entries(true);
        let (summary, _) = reader.read_entries(&opts, stage, pass, visitor)?;
        Ok(summary.entries)
    }

    /// Parses the inner zip in one read of the content ([`ContentReader::read`]), handing each
    /// entry to `visitor`; the entries are kept when [`ReadOptions::keep_entries`].
    fn read_once(
        &self,
        opts: &ReadOptions,
        stage: Stage,
        visitor: &mut dyn EntryVisitor,
        pass: Pass,
    ) -> Result<InnerSummary> {
        let (summary, _) = self.reader().read_entries(opts, stage, pass, visitor)?;
        Ok(summary)
    }

    /// [`read_once`](Self::read_once) that also looks for the SetupFile among the entries.
    fn read_watched(
        &self,
        opts: &ReadOptions,
        stage: Stage,
        visitor: &mut dyn EntryVisitor,
        pass: Pass,
    ) -> Result<(InnerSummary, SetupSeen)> {
        let mut watch = SetupWatch::new(&self.detection.setup_file, visitor);
        let summary = self.read_once(opts, stage, &mut watch, pass)?;
        Ok((summary, watch.seen))
    }

    /// Verifies everything FORMAT.md §7 lists in one read of the content; writes nothing.
    /// Fails with [`Error::UnsafePath`] on the first entry the classifier refuses
    /// ([`Rule::refuses`](crate::Rule::refuses)), exactly as [`extract`](Self::extract) does;
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
    fn read_report(&self, opts: &ReadOptions, mut gate: EntryGate) -> Result<VerifyReport> {
        let mut visitor = Gated {
            gate: &mut gate,
            inner: &mut Ignore,
        };
        let (summary, setup) = self.read_watched(opts, Stage::Decrypt, &mut visitor, Pass::Only)?;
        let findings = gate.finish_kinds(summary.special_kinds())?;
        Ok(self.report(summary, setup, findings))
    }

    /// The report of a read: the entries (when kept) and counts, the classifier's findings,
    /// and the warnings (layout deviations, a SetupFile missing from the content).
    fn report(
        &self,
        summary: InnerSummary,
        setup: SetupSeen,
        findings: Vec<Finding>,
    ) -> VerifyReport {
        let mut warnings = self.warnings.clone();
        if !setup.present {
            warnings.push(format!(
                "SetupFile '{}' is not in the content",
                self.detection.setup_file
            ));
        }
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        VerifyReport {
            entries: summary.entries,
            entry_count: count(summary.count),
            file_count: count(summary.files),
            total_size: summary.total_size,
            file_bytes: summary.file_bytes,
            setup_size: setup.size,
            findings,
            warnings,
        }
    }

    /// Lists the inner entries with the SHA-256 of each, in one read of the content (nothing is
    /// returned unless the MAC and digest match); writes nothing. Lists every entry, even of a
    /// package [`verify`](Self::verify) refuses: the findings are the same as verify's, and
    /// [`refusal_error`](crate::refusal_error) tells whether one refuses the package.
    /// The entries are kept whatever [`ReadOptions::keep_entries`] says; [`list_to`](Self::list_to)
    /// streams them instead.
    pub fn list(&self, opts: &ReadOptions) -> Result<ListReport> {
        let opts = opts.clone().keep_entries(true);
        let mut gate = EntryGate::collecting(&opts.path_rules, &self.path);
        let mut hashing = Hashing::new(&self.path);
        let mut visitor = Gated {
            gate: &mut gate,
            inner: &mut hashing,
        };
        let (summary, setup) =
            self.read_watched(&opts, Stage::Decrypt, &mut visitor, Pass::Only)?;
        let findings = gate.finish_kinds(summary.special_kinds())?;
        let report = self.report(summary, setup, findings);
        let entries = report
            .entries
            .into_iter()
            .zip(hashing.hashes)
            .map(|(info, sha256)| ListedEntry { info, sha256 })
            .collect();
        Ok(ListReport {
            entries,
            entry_count: report.entry_count,
            total_size: report.total_size,
            findings: report.findings,
            warnings: report.warnings,
        })
    }

    /// [`list`](Self::list) in two reads, keeping no entry: the first authenticates the content
    /// (MAC and FileDigest) and classifies the names, showing each name to
    /// [`ListSink::name`] as it passes, then hands the findings and warnings to
    /// [`ListSink::report`]; the second, MACed again, hands each entry with its SHA-256 to
    /// [`ListSink::row`] as it is read. Rows shown before the second read's MAC is known are
    /// only trusted once this returns `Ok` (an [`Error::HmacMismatch`] otherwise, as when the
    /// file changed between the reads). Returns the first read's report, without entries.
    pub fn list_to(&self, opts: &ReadOptions, sink: &mut dyn ListSink) -> Result<ListReport> {
        let opts = opts.clone().keep_entries(false);
        let mut gate = EntryGate::collecting(&opts.path_rules, &self.path);
        let mut names = NameSink(&mut *sink);
        let mut visitor = Gated {
            gate: &mut gate,
            inner: &mut names,
        };
        let (summary, setup) =
            self.read_watched(&opts, Stage::Authenticate, &mut visitor, Pass::Only)?;
        let findings = gate.finish_kinds(summary.special_kinds())?;
        let report = self.report(summary, setup, findings);
        let report = ListReport {
            entries: Vec::new(),
            entry_count: report.entry_count,
            total_size: report.total_size,
            findings: report.findings,
            warnings: report.warnings,
        };
        sink.report(&report)?;
        let mut rows = RowSink {
            hashing: Hashing::new(&self.path),
            sink,
        };
        self.read_once(&opts, Stage::Decrypt, &mut rows, Pass::Second)?;
        Ok(report)
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
        if dest.exists() && !opts.overwrite {
            return Err(Error::OutputExists {
                path: dest.to_path_buf(),
            });
        }
        let (_, pass) = self.reader().before_writing(&opts.read)?;
        let mut staged = StagedFolder::new(dest, opts.overwrite, &self.path)?;
        let mut gate = EntryGate::refusing(&opts.read.path_rules, &self.path);
        let mut visitor = Gated {
            gate: &mut gate,
            inner: &mut staged,
        };
        let read = self.read_watched(&opts.read, Stage::Extract, &mut visitor, pass);
        // A file that failed to be written comes before anything the stream showed later.
        staged.finish_writes()?;
        let (summary, setup) = read?;
        let findings = gate.finish_kinds(summary.special_kinds())?;
        staged.commit()?;
        Ok(self.report(summary, setup, findings))
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
        Err(_) if crate::content::shape::has_blob_shape(file, len) => {
            return Err(Error::BareBlob {
                path: path.to_path_buf(),
            });
        }
        Err(fault) => {
            return Err(Error::OuterZip {
                path: path.to_path_buf(),
                check: fault.check,
                reason: fault.reason,
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
    let limit = |limit, actual, max| Error::LimitExceeded {
        path: path.to_path_buf(),
        limit,
        at: Some(entry.name.clone()),
        actual,
        max,
    };
    if entry.size > MAX_DETECTION_XML_LEN as u64 {
        return Err(limit(
            crate::Limit::DetectionXmlSize,
            entry.size,
            MAX_DETECTION_XML_LEN as u64,
        ));
    }
    if entry.compressed_size > MAX_DETECTION_XML_STORED_LEN {
        return Err(limit(
            crate::Limit::DetectionXmlStoredSize,
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
                    check: crate::ZipCheck::EntryData,
                    reason: format!("cannot inflate {}: {e}", entry.name),
                })?;
            out
        }
        m => {
            return Err(Error::OuterZip {
                path: path.to_path_buf(),
                check: crate::ZipCheck::Unsupported,
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

/// Whether the SetupFile is among the entries (any entry, compared case-insensitively with
/// either separator), and the size of the first file that is it.
#[derive(Default)]
struct SetupSeen {
    present: bool,
    size: Option<u64>,
}

/// Passes entries to `inner`, looking for the SetupFile as they go by.
struct SetupWatch<'a> {
    want: String,
    seen: SetupSeen,
    inner: &'a mut dyn EntryVisitor,
}

impl<'a> SetupWatch<'a> {
    fn new(setup: &str, inner: &'a mut dyn EntryVisitor) -> Self {
        SetupWatch {
            want: setup_form(setup),
            seen: SetupSeen::default(),
            inner,
        }
    }
}

fn setup_form(name: &str) -> String {
    name.replace('\\', "/").to_lowercase()
}

impl EntryVisitor for SetupWatch<'_> {
    fn entry(&mut self, info: &EntryInfo, data: &mut dyn Read) -> Result<()> {
        self.inner.entry(info, data)
    }

    fn entry_end(&mut self, info: &EntryInfo) -> Result<()> {
        // Sizes are final here (a data descriptor's included).
        let wanted = || setup_form(&info.name) == self.want;
        if !(self.seen.present && self.seen.size.is_some()) && wanted() {
            self.seen.present = true;
            if !info.is_dir && self.seen.size.is_none() {
                self.seen.size = Some(info.size);
            }
        }
        self.inner.entry_end(info)
    }
}

/// Receives a listing as [`Package::list_to`] streams it.
pub trait ListSink {
    /// Each entry's name during the first read, before anything is authenticated (to size
    /// columns, say); nothing it shows is trusted yet.
    fn name(&mut self, _name: &str) {}

    /// The first read's report, once it authenticated the content: the findings, warnings
    /// and counts (no entries). Called before the first row.
    fn report(&mut self, report: &ListReport) -> Result<()>;

    /// One entry with its SHA-256, in stored order, as the second read passes it.
    fn row(&mut self, entry: &ListedEntry) -> Result<()>;
}

/// Shows each name to a [`ListSink`] and reads no data.
struct NameSink<'a>(&'a mut dyn ListSink);

impl EntryVisitor for NameSink<'_> {
    fn entry(&mut self, info: &EntryInfo, _data: &mut dyn Read) -> Result<()> {
        self.0.name(&info.name);
        Ok(())
    }
}

/// Hashes each entry and hands it to a [`ListSink`] once its sizes and CRC are final.
struct RowSink<'a, 'p> {
    hashing: Hashing<'p>,
    sink: &'a mut dyn ListSink,
}

impl EntryVisitor for RowSink<'_, '_> {
    fn entry(&mut self, info: &EntryInfo, data: &mut dyn Read) -> Result<()> {
        self.hashing.entry(info, data)
    }

    fn entry_end(&mut self, info: &EntryInfo) -> Result<()> {
        let sha256 = self.hashing.hashes.pop().unwrap_or_default();
        self.sink.row(&ListedEntry {
            info: info.clone(),
            sha256,
        })
    }
}

struct Hashing<'a> {
    origin: &'a Path,
    hashes: Vec<[u8; 32]>,
    buf: Vec<u8>,
}

impl<'a> Hashing<'a> {
    fn new(origin: &'a Path) -> Self {
        Hashing {
            origin,
            hashes: Vec::new(),
            buf: vec![0u8; 64 * 1024],
        }
    }
}

impl EntryVisitor for Hashing<'_> {
    fn entry(&mut self, _info: &EntryInfo, data: &mut dyn Read) -> Result<()> {
        let mut hasher = Sha256::new();
        loop {
            let n = data.read(&mut self.buf).map_err(|e| Error::InnerZip {
                path: self.origin.to_path_buf(),
                check: crate::ZipCheck::EntryData,
                reason: e.to_string(),
            })?;
            if n == 0 {
                break;
            }
            hasher.update(&self.buf[..n]);
        }
        self.hashes.push(hasher.finalize().into());
        Ok(())
    }
}
