//! Reading a package: [`Package::open`] parses the outer zip and Detection.xml without
//! decrypting. [`Package::verify`] and [`Package::list`] write nothing, so they read the content
//! once, MACing, decrypting and parsing it together, and return nothing unless the MAC matches;
//! [`Package::extract`] and [`Package::decrypt_to`] authenticate the content first (FORMAT.md
//! §7), then decrypt it as a stream.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::crypto::{self, DecryptingReader, HEADER_LEN, MAC_LEN, MacReader};
use crate::detection::{Detection, blob_len_for};
use crate::error::{Error, Result};
use crate::inner_read::{EntryInfo, EntryVisitor, Limits, read_inner_zip_buffered};
use crate::outer::{CONTENTS_DIR, DETECTION_ENTRY, OuterEntry, OuterZip};
use crate::paths::{EntryKind, Finding, PathChecker, PathRules, Rule, Severity, split_entry_name};
use crate::pipeline::read_on_thread;
use crate::progress::{CancelFlag, NoProgress, Progress, Stage};
use crate::staging::{Metered, StagedFolder, map_read_error};

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
    /// Replace an existing destination folder.
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

/// The result of a successful verification.
#[derive(Clone, Debug)]
pub struct VerifyReport {
    /// Inner entries in stored order.
    pub entries: Vec<EntryInfo>,
    /// Device-side findings about the entry names (FORMAT.md §12); warnings do not fail verify.
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
    detection: Detection,
    detection_xml: Vec<u8>,
    warnings: Vec<String>,
}

impl Package {
    /// Opens a package: parses the outer zip and Detection.xml, locates the content (FORMAT.md §6.1).
    pub fn open(path: impl AsRef<Path>) -> Result<Package> {
        let path = path.as_ref().to_path_buf();
        let mut file = File::open(&path).map_err(|e| Error::io("open", &path, e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("read metadata of", &path, e))?
            .len();
        let outer = OuterZip::read(&mut file, len).map_err(|reason| Error::OuterZip {
            path: path.clone(),
            reason,
        })?;
        let xml_entry = outer
            .find(DETECTION_ENTRY)
            .ok_or_else(|| Error::MissingEntry {
                path: path.clone(),
                entry: DETECTION_ENTRY.into(),
            })?;
        check_detection_sizes(xml_entry, &path)?;
        let detection_xml = read_small_entry(&mut file, xml_entry, &path)?;
        let detection = Detection::parse(&detection_xml, &path)?;
        let mut warnings = layout_warnings(&outer);
        let content = locate_content(&outer, &detection, &path, &mut warnings)?;
        Ok(Package {
            path,
            len,
            outer,
            content,
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
        let mut file = File::open(&self.path).map_err(|e| Error::io("open", &self.path, e))?;
        file.seek(SeekFrom::Start(self.content.data_offset))
            .map_err(|e| Error::io("read", &self.path, e))?;
        let raw = BufReader::with_capacity(1 << 20, file).take(self.content.compressed_size);
        Ok(match self.content.method {
            0 => Box::new(raw),
            8 => Box::new(flate2::read::DeflateDecoder::new(raw).take(self.content.size)),
            m => {
                return Err(Error::OuterZip {
                    path: self.path.clone(),
                    reason: format!("content entry uses compression method {m}"),
                });
            }
        })
    }

    /// Checks sizes, the MAC and IV fields, and the HMAC over IV ‖ ciphertext in constant time,
    /// plus the content entry's CRC-32 (FORMAT.md §7 steps 3–5 and 9). Decrypts nothing.
    pub fn authenticate(&self, opts: &ReadOptions) -> Result<()> {
        let actual = self.content.size;
        let tap = self.tapped_ciphertext(true)?;
        opts.progress.begin(Stage::Authenticate, actual);
        let mut metered = Metered::new(tap, opts);
        let copied = io::copy(&mut metered, &mut io::sink());
        opts.progress.end();
        copied.map_err(|e| map_read_error(e, &self.path))?;
        self.check_tap(metered.into_inner())
    }

    /// Authenticates the content and checks its FileDigest before anything sees a byte of it:
    /// the MAC is computed on one thread while another decrypts and hashes (FORMAT.md §7
    /// steps 3–7 and 9). Nothing is kept or written.
    fn authenticate_content(&self, opts: &ReadOptions) -> Result<()> {
        let tap = self.tapped_ciphertext(true)?;
        opts.progress.begin(Stage::Authenticate, self.content.size);
        let enc = &self.detection.encryption;
        let (plain, tap, status) = read_on_thread(Metered::new(tap, opts), |ciphertext| {
            let mut decrypting = DecryptingReader::new(ciphertext, &enc.encryption_key, &enc.iv);
            let copied = io::copy(&mut decrypting, &mut io::sink());
            copied.map(|_| decrypting.finish())
        });
        opts.progress.end();
        status.map_err(|e| map_read_error(e, &self.path))?;
        self.check_tap(tap.into_inner())?;
        let (digest, len) = plain.map_err(|e| map_read_error(e, &self.path))?;
        self.check_plaintext(&digest, len)
    }

    /// Authenticates (MAC and FileDigest), then decrypts and parses the inner zip, handing each
    /// entry to `visitor`; the second read is checked against the first by the CRCs, so a
    /// file changed in between is an error.
    pub fn read_entries(
        &self,
        opts: &ReadOptions,
        stage: Stage,
        visitor: &mut dyn EntryVisitor,
    ) -> Result<Vec<EntryInfo>> {
        self.authenticate_content(opts)?;
        self.read_once(opts, stage, visitor, false)
    }

    /// Parses the inner zip in one read of the content (see
    /// [`read_content`](Self::read_content)), handing each entry to `visitor`.
    fn read_once(
        &self,
        opts: &ReadOptions,
        stage: Stage,
        visitor: &mut dyn EntryVisitor,
        mac: bool,
    ) -> Result<Vec<EntryInfo>> {
        self.read_content(opts, stage, mac, |plain| {
            read_inner_zip_buffered(plain, &opts.limits, &self.path, visitor)
        })?
    }

    /// Reads the content once, in three threads: reading, MAC (when `mac`) and CRC on one;
    /// decryption and (when `mac`) the FileDigest on the next; `consume` on this one.
    /// `consume` sees data before the MAC is known to match, so without a prior
    /// [`authenticate_content`](Self::authenticate_content) it must write nothing; every check
    /// (MAC first) is made before its value is returned. The content is read to its end even
    /// when `consume` stops early, so the MAC is always checked.
    ///
    /// Without `mac`, after `authenticate_content`, the second read is tied to the first by
    /// the content entry's CRC-32 (and, for the inner zip, each entry's CRC): the MAC key
    /// travels in the same file, so the MAC guards against corruption, not against whoever can
    /// rewrite the file, and a change between the two reads is corruption, which the CRCs
    /// catch for far less than a second SHA-256 pass.
    fn read_content<T>(
        &self,
        opts: &ReadOptions,
        stage: Stage,
        mac: bool,
        consume: impl FnOnce(&mut (dyn BufRead + Send)) -> T,
    ) -> Result<T> {
        let tap = self.tapped_ciphertext(mac)?;
        opts.progress
            .begin(stage, self.detection.unencrypted_content_size);
        let enc = &self.detection.encryption;
        let (consumed, tap, status) = read_on_thread(Metered::new(tap, opts), |ciphertext| {
            let decrypting = if mac {
                DecryptingReader::new(ciphertext, &enc.encryption_key, &enc.iv)
            } else {
                DecryptingReader::new_unhashed(ciphertext, &enc.encryption_key, &enc.iv)
            };
            let (value, decrypting, decrypted) = read_on_thread(decrypting, consume);
            (value, decrypting.finish(), decrypted)
        });
        opts.progress.end();
        if opts.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        // A read error means the MAC covers only part of the content: report it. Otherwise
        // every byte went through the MAC, whose verdict comes before padding and the rest.
        status.map_err(|e| map_read_error(e, &self.path))?;
        self.check_tap(tap.into_inner())?;
        let (value, (digest, len), decrypted) = consumed;
        decrypted.map_err(|e| map_read_error(e, &self.path))?;
        if mac {
            self.check_plaintext(&digest, len)?;
        } else {
            self.check_size(len)?;
        }
        Ok(value)
    }

    /// Verifies everything FORMAT.md §7 lists in one read of the content; writes nothing.
    pub fn verify(&self, opts: &ReadOptions) -> Result<VerifyReport> {
        let mut visitor = SafeNames { origin: &self.path };
        let entries = self.read_once(opts, Stage::Decrypt, &mut visitor, true)?;
        let mut warnings = self.warnings.clone();
        if !setup_present(&entries, &self.detection.setup_file) {
            warnings.push(format!(
                "SetupFile '{}' is not in the content",
                self.detection.setup_file
            ));
        }
        let findings = inner_findings(&entries, &opts.path_rules);
        // Two entries for one file (duplicates, or names equal but for case, or a file where a
        // folder must go) mean one silently replaces the other on the device: unsafe content.
        let clash = findings.iter().find(|f| {
            f.severity == Severity::Error
                && matches!(f.rule, Rule::DuplicateEntry | Rule::NameCollision)
        });
        if let Some(f) = clash {
            return Err(Error::UnsafePath {
                path: self.path.clone(),
                entry: f.path.clone(),
                reason: f.reason().to_string(),
            });
        }
        Ok(VerifyReport {
            entries,
            findings,
            warnings,
        })
    }

    /// Lists the inner entries with the SHA-256 of each, in one read of the content (nothing is
    /// returned unless the MAC and digest match); writes nothing.
    pub fn list(&self, opts: &ReadOptions) -> Result<Vec<ListedEntry>> {
        let mut visitor = Hashing {
            origin: &self.path,
            hashes: Vec::new(),
        };
        let entries = self.read_once(opts, Stage::Decrypt, &mut visitor, true)?;
        Ok(entries
            .into_iter()
            .zip(visitor.hashes)
            .map(|(info, sha256)| ListedEntry { info, sha256 })
            .collect())
    }

    /// Writes the decrypted inner zip to `out` after authenticating it (MAC and FileDigest);
    /// the second read is tied to the first as for [`extract`](Self::extract).
    pub fn decrypt_to<W: Write>(&self, mut out: W, opts: &ReadOptions) -> Result<u64> {
        self.authenticate_content(opts)?;
        let copied = self.read_content(opts, Stage::Decrypt, false, |plain| {
            io::copy(plain, &mut out)
        })?;
        copied.map_err(|e| map_read_error(e, &self.path))
    }

    /// Checks what needs no decryption (the blob's length, and its MAC and IV fields against
    /// Detection.xml), then returns the ciphertext behind a tap that MACs and CRCs IV ‖
    /// ciphertext for [`check_tap`](Self::check_tap).
    fn tapped_ciphertext(&self, mac: bool) -> Result<MacReader<Box<dyn Read + Send>>> {
        let n = self.detection.unencrypted_content_size;
        let actual = self.content.size;
        if actual < 64
            || !(actual - HEADER_LEN as u64).is_multiple_of(16)
            || actual != blob_len_for(n)
        {
            return Err(Error::BlobLength {
                path: self.path.clone(),
                expected: blob_len_for(n),
                actual,
            });
        }
        let mut reader = self.content_reader()?;
        let mut header = [0u8; HEADER_LEN];
        reader
            .read_exact(&mut header)
            .map_err(|e| Error::io("read", &self.path, e))?;
        let enc = &self.detection.encryption;
        if !crypto::ct_eq(&header[..MAC_LEN], &enc.mac) {
            return Err(Error::MacFieldMismatch {
                path: self.path.clone(),
            });
        }
        if header[MAC_LEN..] != enc.iv {
            return Err(Error::IvMismatch {
                path: self.path.clone(),
            });
        }
        if !mac {
            return Ok(MacReader::crc_only(reader, &header[MAC_LEN..]));
        }
        MacReader::new(reader, &enc.mac_key, &header[MAC_LEN..])
            .map_err(|e| Error::io("read", &self.path, e))
    }

    /// Compares the tap's HMAC with Detection.xml's Mac (constant time), then the content
    /// entry's CRC-32 (of the MAC field, known equal, and the tapped bytes).
    fn check_tap<R: Read>(&self, tap: MacReader<R>) -> Result<()> {
        let (mac, rest_crc) = tap.finish();
        let enc = &self.detection.encryption;
        if mac.is_some_and(|mac| !crypto::ct_eq(&mac, &enc.mac)) {
            return Err(Error::HmacMismatch {
                path: self.path.clone(),
            });
        }
        let mut crc = crc32fast::Hasher::new();
        crc.update(&enc.mac);
        crc.combine(&rest_crc);
        if crc.finalize() != self.content.crc {
            return Err(Error::OuterCrcMismatch {
                path: self.path.clone(),
                entry: self.content.name.clone(),
            });
        }
        Ok(())
    }

    /// Checks the decrypted length against UnencryptedContentSize.
    fn check_size(&self, len: u64) -> Result<()> {
        if len != self.detection.unencrypted_content_size {
            return Err(Error::ContentSizeMismatch {
                path: self.path.clone(),
                expected: self.detection.unencrypted_content_size,
                actual: len,
            });
        }
        Ok(())
    }

    /// Checks the decrypted length and SHA-256 against Detection.xml (FORMAT.md §7 step 7).
    fn check_plaintext(&self, digest: &[u8; 32], len: u64) -> Result<()> {
        self.check_size(len)?;
        if !crypto::ct_eq(digest, &self.detection.encryption.file_digest) {
            return Err(Error::DigestMismatch {
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    /// Extracts the content into `dest` (a folder that must not exist unless overwriting).
    ///
    /// Nothing is written before the MAC and FileDigest are verified; files go into a
    /// temporary folder beside `dest` that is renamed only when everything (the CRCs of the
    /// second read included) checked out, so a failure leaves nothing behind. No entry can land
    /// outside the destination.
    pub fn extract(&self, dest: &Path, opts: &ExtractOptions) -> Result<Vec<EntryInfo>> {
        if dest.exists() && !opts.overwrite {
            return Err(Error::OutputExists {
                path: dest.to_path_buf(),
            });
        }
        self.authenticate_content(&opts.read)?;
        let mut staged = StagedFolder::new(dest, opts.overwrite, &self.path)?;
        let entries = self.read_once(&opts.read, Stage::Extract, &mut staged, false);
        // A file that failed to be written comes before anything the stream showed later.
        staged.finish_writes()?;
        let entries = entries?;
        staged.commit()?;
        Ok(entries)
    }
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
fn read_small_entry(file: &mut File, entry: &OuterEntry, path: &Path) -> Result<Vec<u8>> {
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

fn inner_findings(entries: &[EntryInfo], rules: &PathRules) -> Vec<Finding> {
    let mut checker = PathChecker::new(rules.clone());
    for e in entries {
        checker.add(
            &e.name,
            if e.is_dir {
                EntryKind::Dir
            } else {
                EntryKind::File
            },
        );
    }
    checker.finish()
}

fn unsafe_entry(origin: &Path, info: &EntryInfo, finding: Finding) -> Error {
    Error::UnsafePath {
        path: origin.to_path_buf(),
        entry: info.name.clone(),
        reason: finding.message,
    }
}

/// Checks that every name is safe to create; reads (and so checks) all data.
struct SafeNames<'a> {
    origin: &'a Path,
}

impl EntryVisitor for SafeNames<'_> {
    fn entry(&mut self, info: &EntryInfo, _data: &mut dyn Read) -> Result<()> {
        split_entry_name(&info.name).map_err(|f| unsafe_entry(self.origin, info, f))?;
        Ok(())
    }
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
