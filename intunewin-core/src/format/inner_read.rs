//! Reads the inner zip as a stream, in one pass over the decrypted content (FORMAT.md §6.3, §7 step 8).
//!
//! Local headers are parsed in order and each entry's data is handed to an [`EntryVisitor`]
//! through a reader that checks its CRC-32 and size; the central directory that follows is then
//! checked against what was seen. Nothing is buffered beyond one read buffer, so memory stays
//! flat whatever the content size. Tolerates what other producers write: either separator,
//! data descriptors (with or without signature, 32- or 64-bit), zip64, any flags or extras.

use std::hash::{BuildHasher, RandomState};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::base::chunked::ChunkedVec;
use crate::dostime::DosDateTime;
use crate::error::{Error, Result, ZipCheck};
use crate::paths::EntryKind;
use crate::zipbits::*;

/// Resource limits applied to untrusted inner zips.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Most entries accepted.
    pub max_entries: u64,
    /// Largest ratio of declared uncompressed to compressed size (deflate cannot exceed ~1032).
    pub max_ratio: u64,
    /// Largest total of uncompressed bytes, if any.
    pub max_total_size: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 1_000_000,
            max_ratio: 1100,
            max_total_size: None,
        }
    }
}

/// One inner zip entry as its local header (and data descriptor) describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryInfo {
    /// Name decoded to text (UTF-8, or code page 437 without the UTF-8 flag when not valid UTF-8).
    pub name: String,
    /// Whether the name ends with `/` or `\`.
    pub is_dir: bool,
    /// Compression method.
    pub method: u16,
    /// General purpose flags.
    pub flags: u16,
    /// CRC-32 (from the data descriptor when there is one).
    pub crc: u32,
    /// Compressed size.
    pub compressed_size: u64,
    /// Uncompressed size.
    pub size: u64,
    /// DOS modification time.
    pub time: DosDateTime,
    /// Offset of the local header in the inner zip.
    pub offset: u64,
    /// The Unix file mode from the central directory's external attributes, when the entry was
    /// made on Unix and records one (`None` until the central directory is read).
    pub unix_mode: Option<u32>,
}

/// `S_IFMT`: the file-type bits of a Unix mode.
const S_IFMT: u32 = 0o170_000;
/// `S_IFREG` and `S_IFDIR`: a regular file, a folder.
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
/// `S_IFLNK`: a symbolic link (its data is the link's target).
const S_IFLNK: u32 = 0o120_000;
/// "Made by" host 3: Unix, whose external attributes carry the mode in their high 16 bits.
const HOST_UNIX: u16 = 3;

impl EntryInfo {
    /// What the entry is: a folder (trailing separator or folder mode), a symbolic link or a
    /// special file (by its Unix mode), else a file. Windows extracts links and special files
    /// as small plain files, so the classifier refuses them.
    pub fn kind(&self) -> EntryKind {
        kind_of(self.is_dir, self.unix_mode)
    }
}

/// What an entry is from its trailing separator and its Unix mode (see [`EntryInfo::kind`]).
fn kind_of(is_dir: bool, unix_mode: Option<u32>) -> EntryKind {
    let file_type = unix_mode.map_or(S_IFREG, |m| m & S_IFMT);
    match file_type {
        _ if is_dir => EntryKind::Dir,
        S_IFDIR => EntryKind::Dir,
        S_IFLNK => EntryKind::Symlink,
        0 | S_IFREG => EntryKind::File,
        _ => EntryKind::Special,
    }
}

/// Receives each entry and a reader of its uncompressed data.
pub trait EntryVisitor {
    /// Called once per entry in stored order. Unread data is drained (and checked) afterwards.
    fn entry(&mut self, info: &EntryInfo, data: &mut dyn Read) -> Result<()>;

    /// Called after an entry's data was read and checked, with its final sizes and CRC (those
    /// of a data descriptor, which [`entry`](Self::entry) cannot know yet).
    fn entry_end(&mut self, _info: &EntryInfo) -> Result<()> {
        Ok(())
    }
}

/// What one read of the inner zip found besides what the visitor saw: counts and totals, the
/// entries that are links or special files, and every entry when asked to keep them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InnerSummary {
    /// Every entry in stored order when kept (see [`read_inner_zip_summary`]), else empty.
    pub entries: Vec<EntryInfo>,
    /// Number of entries.
    pub count: u64,
    /// Number of entries that are not folders (by their name's trailing separator).
    pub files: u64,
    /// Sum of the uncompressed sizes.
    pub total_size: u64,
    /// Sum of the uncompressed sizes of the entries that are not folders.
    pub file_bytes: u64,
    /// Entries the central directory marks as symbolic links or special files, in stored
    /// order, with what they are.
    pub special: Vec<(String, EntryKind)>,
}

impl InnerSummary {
    /// The links and special files found, by name, as the verdict takes them.
    pub(crate) fn special_kinds(&self) -> impl Iterator<Item = (&str, crate::paths::EntryKind)> {
        self.special
            .iter()
            .map(|(name, kind)| (name.as_str(), *kind))
    }
}

/// Parses the inner zip from `reader`, calling `visitor` for each entry. `origin` names the
/// package in errors. Returns the entries in stored order.
pub fn read_inner_zip<R: Read>(
    reader: R,
    limits: &Limits,
    origin: &Path,
    visitor: &mut dyn EntryVisitor,
) -> Result<Vec<EntryInfo>> {
    read_inner_zip_summary(reader, limits, origin, visitor, true).map(|s| s.entries)
}

/// [`read_inner_zip`] that keeps the entries only when `keep` is true: without them, the
/// memory a read needs does not grow with the entry count beyond a few bytes per entry (what
/// checking the central directory against the local headers takes).
pub fn read_inner_zip_summary<R: Read>(
    reader: R,
    limits: &Limits,
    origin: &Path,
    visitor: &mut dyn EntryVisitor,
    keep: bool,
) -> Result<InnerSummary> {
    let buffered = BufReader::with_capacity(256 * 1024, reader);
    read_inner_zip_buffered(buffered, limits, origin, visitor, keep)
}

/// [`read_inner_zip`] over a reader that is already buffered; see
/// [`read_inner_zip_summary`] for `keep`.
pub(crate) fn read_inner_zip_buffered<R: BufRead>(
    reader: R,
    limits: &Limits,
    origin: &Path,
    visitor: &mut dyn EntryVisitor,
    keep: bool,
) -> Result<InnerSummary> {
    let mut ctx = Parser {
        input: CountingReader {
            inner: reader,
            pos: 0,
        },
        origin: origin.to_path_buf(),
        limits: limits.clone(),
        keep,
        summary: InnerSummary::default(),
        ledger: HeaderLedger::new(),
    };
    loop {
        let at = ctx.input.pos;
        let sig = ctx.u32_or_eof()?;
        match sig {
            Some(LFH_SIG) => ctx.entry(at, visitor)?,
            Some(CDH_SIG) => {
                ctx.central_directory(at)?;
                return Ok(ctx.summary);
            }
            Some(EOCD_SIG) if ctx.summary.count == 0 => {
                ctx.end_records(at, 0, Some(EOCD_SIG))?;
                return Ok(ctx.summary);
            }
            Some(other) => {
                return Err(ctx.bad(
                    ZipCheck::Structure,
                    format!("unexpected signature {other:08x} at offset {at}"),
                ));
            }
            None => {
                return Err(ctx.bad(
                    ZipCheck::Truncated,
                    "truncated: no central directory".into(),
                ));
            }
        }
    }
}

struct CountingReader<R: BufRead> {
    inner: R,
    pos: u64,
}

impl<R: BufRead> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for CountingReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.pos += amt as u64;
        self.inner.consume(amt);
    }
}

struct Parser<R: BufRead> {
    input: CountingReader<R>,
    origin: PathBuf,
    limits: Limits,
    /// Whether every entry is kept in the summary.
    keep: bool,
    summary: InnerSummary,
    ledger: HeaderLedger,
}

/// What the parser keeps of each local header to check the central directory against, in
/// place of the entries themselves: a 32-bit keyed tag per entry, which finds the first
/// central header that disagrees as it is read, and a SHA-256 over every header's fields in
/// order on each side, which catches at the end any disagreement a tag missed (one chance in
/// 2^32 per entry, with a key no package can know). Four bytes per entry in all.
struct HeaderLedger {
    key: RandomState,
    tags: ChunkedVec<u32>,
    local: Sha256,
    central: Sha256,
}

/// The fields a central header must repeat from its local header, as compared.
struct HeaderFields<'a> {
    name: &'a str,
    method: u16,
    crc: u32,
    compressed_size: u64,
    size: u64,
    offset: u64,
}

impl HeaderFields<'_> {
    /// An unambiguous encoding: the name's length, the name, then each field.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.name.len() + 34);
        out.extend_from_slice(&(self.name.len() as u64).to_le_bytes());
        out.extend_from_slice(self.name.as_bytes());
        out.extend_from_slice(&self.method.to_le_bytes());
        out.extend_from_slice(&self.crc.to_le_bytes());
        out.extend_from_slice(&self.compressed_size.to_le_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out
    }
}

impl<'a> From<&'a EntryInfo> for HeaderFields<'a> {
    fn from(info: &'a EntryInfo) -> Self {
        HeaderFields {
            name: &info.name,
            method: info.method,
            crc: info.crc,
            compressed_size: info.compressed_size,
            size: info.size,
            offset: info.offset,
        }
    }
}

impl HeaderLedger {
    fn new() -> Self {
        HeaderLedger {
            key: RandomState::new(),
            tags: ChunkedVec::new(),
            local: Sha256::new(),
            central: Sha256::new(),
        }
    }

    fn tag(&self, encoded: &[u8]) -> u32 {
        // The low half of a keyed 64-bit hash.
        self.key.hash_one(encoded) as u32
    }

    /// Records a local header, in stored order.
    fn local(&mut self, fields: &HeaderFields<'_>) {
        let encoded = fields.encode();
        self.tags.push(self.tag(&encoded));
        self.local.update(&encoded);
    }

    /// Records the central header of entry `index`; false when it disagrees with the local
    /// header recorded there (or there is none).
    fn central(&mut self, index: usize, fields: &HeaderFields<'_>) -> bool {
        let encoded = fields.encode();
        self.central.update(&encoded);
        self.tags.get(index) == Some(self.tag(&encoded))
    }

    /// Whether every central header matched its local header, after all were recorded.
    fn all_match(&self) -> bool {
        self.local.clone().finalize() == self.central.clone().finalize()
    }
}

impl<R: BufRead> Parser<R> {
    fn bad(&self, check: ZipCheck, reason: String) -> Error {
        Error::InnerZip {
            path: self.origin.clone(),
            check,
            reason,
        }
    }

    fn io(&self, e: io::Error) -> Error {
        match crate::error::recover(e, &self.origin) {
            Ok(carried) => carried,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                self.bad(ZipCheck::Truncated, "truncated".into())
            }
            Err(e) => Error::io("read", &self.origin, e),
        }
    }

    fn read_exact(&mut self, n: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; n];
        self.input.read_exact(&mut buf).map_err(|e| self.io(e))?;
        Ok(buf)
    }

    fn u32_or_eof(&mut self) -> Result<Option<u32>> {
        let mut buf = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            let n = self.input.read(&mut buf[got..]).map_err(|e| self.io(e))?;
            if n == 0 {
                return if got == 0 {
                    Ok(None)
                } else {
                    Err(self.bad(ZipCheck::Truncated, "truncated".into()))
                };
            }
            got += n;
        }
        Ok(Some(u32::from_le_bytes(buf)))
    }

    /// Parses one local header and its data (after the signature).
    fn entry(&mut self, offset: u64, visitor: &mut dyn EntryVisitor) -> Result<()> {
        if self.summary.count >= self.limits.max_entries {
            return Err(Error::LimitExceeded {
                path: self.origin.clone(),
                limit: crate::Limit::EntryCount,
                at: None,
                actual: self.summary.count + 1,
                max: self.limits.max_entries,
            });
        }
        let fixed = self.read_exact(26)?;
        let mut r = LeReader::new(&fixed);
        let field = |v: Option<u16>| v.unwrap_or(0);
        let _needed = field(r.u16());
        let flags = field(r.u16());
        let method = field(r.u16());
        let time = DosDateTime {
            time: field(r.u16()),
            date: field(r.u16()),
        };
        let crc = r.u32().unwrap_or(0);
        let csize = r.u32().unwrap_or(0);
        let usize = r.u32().unwrap_or(0);
        let name_len = usize::from(field(r.u16()));
        let extra_len = usize::from(field(r.u16()));
        let raw_name = self.read_exact(name_len)?;
        let extra = self.read_exact(extra_len)?;
        let name = decode_name(&raw_name, flags).ok_or_else(|| {
            self.bad(
                ZipCheck::Structure,
                format!("entry at offset {offset} has a name that is not valid UTF-8"),
            )
        })?;
        if flags & 1 != 0 {
            return Err(self.bad(
                ZipCheck::Unsupported,
                format!("entry '{name}' uses zip encryption"),
            ));
        }
        if method != 0 && method != 8 {
            return Err(self.bad(
                ZipCheck::Unsupported,
                format!("entry '{name}' uses unsupported compression method {method}"),
            ));
        }
        let has_zip64 = extra_fields(&extra).any(|(id, _)| id == ZIP64_EXTRA_ID);
        let v = Zip64Values {
            usize: u64::from(usize),
            csize: u64::from(csize),
            offset: 0,
        };
        let v =
            apply_zip64(&extra, v, usize == U32_MAX, csize == U32_MAX, false).ok_or_else(|| {
                self.bad(
                    ZipCheck::Structure,
                    format!("entry '{name}' lacks its zip64 sizes"),
                )
            })?;
        let descriptor = flags & 0x0008 != 0;
        let mut info = EntryInfo {
            is_dir: name.ends_with('/') || name.ends_with('\\'),
            name,
            method,
            flags,
            crc,
            compressed_size: v.csize,
            size: v.usize,
            time,
            offset,
            unix_mode: None,
        };
        if !descriptor {
            self.check_ratio(&info)?;
        }
        self.entry_data(&mut info, descriptor, visitor)?;
        if descriptor {
            self.data_descriptor(&mut info, has_zip64)?;
        }
        if info.crc != 0 && info.size == 0 && info.method == 0 {
            return Err(self.crc_error(&info));
        }
        self.summary.total_size = self.summary.total_size.saturating_add(info.size);
        if let Some(max) = self.limits.max_total_size
            && self.summary.total_size > max
        {
            return Err(Error::LimitExceeded {
                path: self.origin.clone(),
                limit: crate::Limit::TotalSize,
                at: None,
                actual: self.summary.total_size,
                max,
            });
        }
        visitor.entry_end(&info)?;
        self.record(info);
        Ok(())
    }

    /// Counts an entry read in full and keeps what the central directory is checked against.
    fn record(&mut self, info: EntryInfo) {
        self.ledger.local(&HeaderFields::from(&info));
        self.summary.count += 1;
        if !info.is_dir {
            self.summary.files += 1;
            self.summary.file_bytes = self.summary.file_bytes.saturating_add(info.size);
        }
        if self.keep {
            self.summary.entries.push(info);
        }
    }

    fn check_ratio(&self, info: &EntryInfo) -> Result<()> {
        let bound = info
            .compressed_size
            .saturating_mul(self.limits.max_ratio)
            .saturating_add(1 << 16);
        if info.method == 8 && info.size > bound {
            return Err(Error::LimitExceeded {
                path: self.origin.clone(),
                limit: crate::Limit::CompressionRatio,
                at: Some(info.name.clone()),
                actual: info.size,
                max: bound,
            });
        }
        if info.method == 0 && info.size != info.compressed_size {
            return Err(self.bad(
                ZipCheck::EntrySize,
                format!(
                    "stored entry '{}' has different compressed and uncompressed sizes",
                    info.name
                ),
            ));
        }
        Ok(())
    }

    fn crc_error(&self, info: &EntryInfo) -> Error {
        Error::CrcMismatch {
            path: self.origin.clone(),
            entry: info.name.clone(),
        }
    }

    /// Streams an entry's data through the visitor, then checks CRC and sizes.
    fn entry_data(
        &mut self,
        info: &mut EntryInfo,
        descriptor: bool,
        visitor: &mut dyn EntryVisitor,
    ) -> Result<()> {
        if descriptor && info.method == 0 {
            return Err(self.bad(
                ZipCheck::Unsupported,
                format!(
                    "stored entry '{}' has a data descriptor, which cannot be read as a stream",
                    info.name
                ),
            ));
        }
        // Without a descriptor the declared size bounds the output; with one, the ratio bound does.
        let limit = if descriptor { None } else { Some(info.size) };
        let start = self.input.pos;
        let origin = self.origin.clone();
        let (crc, produced, leftover) = {
            let compressed = (&mut self.input).take(if descriptor {
                u64::MAX
            } else {
                info.compressed_size
            });
            let mut body = EntryBody::new(compressed, info.method);
            let mut reader = CheckedReader {
                body: &mut body,
                crc: crc32fast::Hasher::new(),
                produced: 0,
                limit,
                failure: None,
                origin: origin.clone(),
                name: info.name.clone(),
            };
            let visited = visitor.entry(info, &mut reader);
            if let Some(err) = reader.failure.take() {
                return Err(err);
            }
            visited?;
            // Drain what the visitor left; the error the reader recorded (a limit, a bad
            // stream) explains a failure better than the io::Error that reported it.
            let drained = io::copy(&mut reader, &mut io::sink());
            if let Some(err) = reader.failure.take() {
                return Err(err);
            }
            drained.map_err(|e| self_io(&origin, e))?;
            (reader.crc.finalize(), reader.produced, body.leftover())
        };
        let consumed = self.input.pos - start;
        if descriptor {
            info.compressed_size = consumed;
            info.size = produced;
            let bound = consumed
                .saturating_mul(self.limits.max_ratio)
                .saturating_add(1 << 16);
            if produced > bound {
                return Err(Error::LimitExceeded {
                    path: self.origin.clone(),
                    limit: crate::Limit::CompressionRatio,
                    at: Some(info.name.clone()),
                    actual: produced,
                    max: bound,
                });
            }
            info.crc = crc; // checked against the descriptor next
            return Ok(());
        }
        if leftover > 0 || consumed != info.compressed_size {
            return Err(self.bad(
                ZipCheck::EntrySize,
                format!(
                    "entry '{}': compressed data does not match its declared size",
                    info.name
                ),
            ));
        }
        if produced != info.size {
            return Err(self.bad(
                ZipCheck::EntrySize,
                format!(
                    "entry '{}' is {produced} bytes, its header says {}",
                    info.name, info.size
                ),
            ));
        }
        if crc != info.crc {
            return Err(self.crc_error(info));
        }
        Ok(())
    }

    /// Reads a data descriptor and checks it against what the data produced.
    fn data_descriptor(&mut self, info: &mut EntryInfo, zip64: bool) -> Result<()> {
        let first = self.read_exact(4)?;
        let mut word = u32::from_le_bytes([first[0], first[1], first[2], first[3]]);
        if word == DESCRIPTOR_SIG {
            let next = self.read_exact(4)?;
            word = u32::from_le_bytes([next[0], next[1], next[2], next[3]]);
        }
        let sizes = self.read_exact(if zip64 { 16 } else { 8 })?;
        let mut r = LeReader::new(&sizes);
        let (csize, usize) = if zip64 {
            (r.u64().unwrap_or(0), r.u64().unwrap_or(0))
        } else {
            (
                u64::from(r.u32().unwrap_or(0)),
                u64::from(r.u32().unwrap_or(0)),
            )
        };
        if word != info.crc {
            return Err(self.crc_error(info));
        }
        if csize != info.compressed_size || usize != info.size {
            return Err(self.bad(
                ZipCheck::EntrySize,
                format!(
                    "entry '{}': data descriptor sizes disagree with its data",
                    info.name
                ),
            ));
        }
        Ok(())
    }

    /// Checks the central directory (signature already read) against the entries seen.
    fn central_directory(&mut self, first_at: u64) -> Result<()> {
        let mut index = 0usize;
        let mut sig = Some(CDH_SIG);
        while sig == Some(CDH_SIG) {
            self.central_header(index)?;
            index += 1;
            sig = self.u32_or_eof()?;
        }
        if index as u64 != self.summary.count {
            return Err(self.bad(
                ZipCheck::Structure,
                format!(
                    "the central directory lists {index} entries, the archive holds {}",
                    self.summary.count
                ),
            ));
        }
        if !self.ledger.all_match() {
            return Err(self.bad(
                ZipCheck::HeaderMismatch,
                "the central directory disagrees with the local headers".into(),
            ));
        }
        let at = self.input.pos - 4;
        self.end_records(at, first_at, sig)
    }

    fn central_header(&mut self, index: usize) -> Result<()> {
        let fixed = self.read_exact(42)?;
        let mut r = LeReader::new(&fixed);
        let made_by = r.u16().unwrap_or(0);
        r.bytes(4); // needed, flags
        let method = r.u16().unwrap_or(0);
        r.bytes(4); // time, date
        let crc = r.u32().unwrap_or(0);
        let csize = r.u32().unwrap_or(0);
        let usize = r.u32().unwrap_or(0);
        let name_len = usize::from(r.u16().unwrap_or(0));
        let extra_len = usize::from(r.u16().unwrap_or(0));
        let comment_len = usize::from(r.u16().unwrap_or(0));
        r.bytes(4); // disk, internal attributes
        let external = r.u32().unwrap_or(0);
        let offset = r.u32().unwrap_or(0);
        let raw_name = self.read_exact(name_len)?;
        let extra = self.read_exact(extra_len)?;
        self.read_exact(comment_len)?;
        let v = Zip64Values {
            usize: u64::from(usize),
            csize: u64::from(csize),
            offset: u64::from(offset),
        };
        let v = apply_zip64(
            &extra,
            v,
            usize == U32_MAX,
            csize == U32_MAX,
            offset == U32_MAX,
        )
        .ok_or_else(|| {
            self.bad(
                ZipCheck::Structure,
                "a central header lacks its zip64 values".into(),
            )
        })?;
        if index as u64 >= self.summary.count {
            return Err(self.bad(
                ZipCheck::Structure,
                "the central directory lists more entries than the archive holds".into(),
            ));
        }
        // Without the UTF-8 flag a name decodes the same when it is valid UTF-8, and as code
        // page 437 otherwise, which a local header flagged UTF-8 could not have held.
        let name = decode_name(&raw_name, 0).unwrap_or_default();
        let fields = HeaderFields {
            name: &name,
            method,
            crc,
            compressed_size: v.csize,
            size: v.usize,
            offset: v.offset,
        };
        if !self.ledger.central(index, &fields) {
            return Err(self.disagreement(index, &name));
        }
        let mode = external >> 16;
        let unix_mode = (made_by >> 8 == HOST_UNIX && mode != 0).then_some(mode);
        let is_dir = name.ends_with('/') || name.ends_with('\\');
        let kind = kind_of(is_dir, unix_mode);
        if matches!(kind, EntryKind::Symlink | EntryKind::Special) {
            self.summary.special.push((name, kind));
        }
        if let Some(entry) = self.summary.entries.get_mut(index) {
            entry.unix_mode = unix_mode;
        }
        Ok(())
    }

    /// The error for central header `index` (named `central`) disagreeing with its local
    /// header, named by the local header's name when the entries are kept.
    fn disagreement(&self, index: usize, central: &str) -> Error {
        match self.summary.entries.get(index) {
            Some(seen) => self.bad(
                ZipCheck::HeaderMismatch,
                format!(
                    "central directory entry {index} disagrees with local header of '{}'",
                    seen.name
                ),
            ),
            None => self.bad(
                ZipCheck::HeaderMismatch,
                format!(
                    "central directory entry {index} ('{central}') disagrees with its local header"
                ),
            ),
        }
    }

    /// Parses zip64 end record, locator and end record (the first signature at `at` already read).
    fn end_records(&mut self, _at: u64, _cd_start: u64, mut sig: Option<u32>) -> Result<()> {
        if sig == Some(ZIP64_EOCD_SIG) {
            let size = self.read_exact(8)?;
            let size = u64::from_le_bytes(size.try_into().unwrap_or([0; 8]));
            if !(44..=1 << 16).contains(&size) {
                return Err(self.bad(ZipCheck::Structure, "bad zip64 end record size".into()));
            }
            let rest = self.read_exact(size as usize)?;
            let mut r = LeReader::new(&rest);
            r.bytes(12);
            let count = r.u64().unwrap_or(0);
            if count != self.summary.count {
                return Err(self.bad(
                    ZipCheck::Structure,
                    "the zip64 end record miscounts the entries".into(),
                ));
            }
            sig = self.u32_or_eof()?;
        }
        if sig == Some(ZIP64_LOCATOR_SIG) {
            self.read_exact(16)?;
            sig = self.u32_or_eof()?;
        }
        if sig != Some(EOCD_SIG) {
            return Err(self.bad(
                ZipCheck::Structure,
                "no end-of-central-directory record".into(),
            ));
        }
        let fixed = self.read_exact(18)?;
        let mut r = LeReader::new(&fixed);
        r.bytes(6);
        let count = r.u16().unwrap_or(0);
        r.bytes(8);
        let comment_len = usize::from(r.u16().unwrap_or(0));
        self.read_exact(comment_len)?;
        if count != 0xFFFF && u64::from(count) != self.summary.count % 0x1_0000 {
            return Err(self.bad(
                ZipCheck::Structure,
                "the end record miscounts the entries".into(),
            ));
        }
        if self.u32_or_eof()?.is_some() {
            return Err(self.bad(
                ZipCheck::Structure,
                "data follows the end of the zip".into(),
            ));
        }
        Ok(())
    }
}

fn self_io(origin: &Path, e: io::Error) -> Error {
    crate::error::recover(e, origin).unwrap_or_else(|e| Error::InnerZip {
        path: origin.to_path_buf(),
        check: ZipCheck::EntryData,
        reason: format!("cannot read entry data ({e})"),
    })
}

/// An entry's raw data, inflated when deflated.
enum EntryBody<R: BufRead> {
    Stored(R),
    Deflated(flate2::bufread::DeflateDecoder<R>),
}

impl<R: BufRead> EntryBody<R> {
    fn new(compressed: R, method: u16) -> Self {
        if method == 8 {
            EntryBody::Deflated(flate2::bufread::DeflateDecoder::new(compressed))
        } else {
            EntryBody::Stored(compressed)
        }
    }

    /// Compressed bytes left unread after the deflate stream ended (0 when well-formed).
    fn leftover(&mut self) -> usize {
        let rest = match self {
            EntryBody::Stored(r) => r.fill_buf(),
            EntryBody::Deflated(d) => d.get_mut().fill_buf(),
        };
        rest.map(|b| b.len()).unwrap_or(0)
    }
}

impl<R: BufRead> Read for EntryBody<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            EntryBody::Stored(r) => r.read(buf),
            EntryBody::Deflated(d) => d.read(buf),
        }
    }
}

/// Hands entry data to the visitor while computing its CRC and enforcing its size.
struct CheckedReader<'a, R: BufRead> {
    body: &'a mut EntryBody<R>,
    crc: crc32fast::Hasher,
    produced: u64,
    limit: Option<u64>,
    /// The first error this reader met, kept here for the parser: the visitor only sees an
    /// `io::Error` and may report it as something else, or not at all.
    failure: Option<Error>,
    origin: PathBuf,
    name: String,
}

impl<R: BufRead> Read for CheckedReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.body.read(buf) {
            Ok(n) => n,
            Err(e) => {
                let err =
                    crate::error::recover(e, &self.origin).unwrap_or_else(|e| Error::InnerZip {
                        path: self.origin.clone(),
                        check: ZipCheck::EntryData,
                        reason: format!("entry '{}' cannot be decompressed ({e})", self.name),
                    });
                return Err(self.fail(err));
            }
        };
        self.produced += n as u64;
        if let Some(max) = self.limit
            && self.produced > max
        {
            let err = Error::LimitExceeded {
                path: self.origin.clone(),
                limit: crate::Limit::EntrySize,
                at: Some(self.name.clone()),
                actual: self.produced,
                max,
            };
            return Err(self.fail(err));
        }
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}

impl<R: BufRead> CheckedReader<'_, R> {
    fn fail(&mut self, err: Error) -> io::Error {
        let msg = err.to_string();
        self.failure.get_or_insert(err);
        io::Error::other(msg)
    }
}

/// Decodes an entry name: UTF-8 with the UTF-8 flag; otherwise UTF-8 when valid, else CP437.
pub fn decode_name(raw: &[u8], flags: u16) -> Option<String> {
    if let Ok(s) = std::str::from_utf8(raw) {
        return Some(s.to_string());
    }
    if flags & 0x0800 != 0 {
        return None;
    }
    Some(raw.iter().map(|&b| cp437(b)).collect())
}

fn cp437(b: u8) -> char {
    const HIGH: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{A0}";
    if b < 0x80 {
        char::from(b)
    } else {
        HIGH.chars().nth(usize::from(b - 0x80)).unwrap_or('?')
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inner_write::{Compressed, InnerZipWriter, STORED};

    const NAMES: [&str; 3] = ["a.txt", "b.txt", "c.txt"];

    /// A stored zip of [`NAMES`], each holding its own name.
    fn zip() -> Vec<u8> {
        let mut w = InnerZipWriter::new(Vec::new());
        let time = DosDateTime::from_fields(2024, 5, 17, 10, 30, 0);
        for name in NAMES {
            let file = Compressed {
                method: STORED,
                crc: crc32fast::hash(name.as_bytes()),
                size: name.len() as u64,
                data: name.as_bytes().to_vec(),
            };
            w.add_compressed(name, time, &file).unwrap();
        }
        w.finish().unwrap()
    }

    /// Where the central headers start and where the end record starts.
    fn central_span(zip: &[u8]) -> (usize, usize) {
        let find = |sig: u32| zip.windows(4).position(|w| w == sig.to_le_bytes()).unwrap();
        (find(CDH_SIG), find(EOCD_SIG))
    }

    /// The central headers, each whole.
    fn central_records(zip: &[u8]) -> Vec<Vec<u8>> {
        let (mut at, end) = central_span(zip);
        let mut out = Vec::new();
        while at < end {
            let le = |o: usize| usize::from(u16::from_le_bytes([zip[at + o], zip[at + o + 1]]));
            let len = 46 + le(28) + le(30) + le(32);
            out.push(zip[at..at + len].to_vec());
            at += len;
        }
        out
    }

    /// `zip` with its central directory replaced by `records` (the end record is kept).
    fn with_central(zip: &[u8], records: &[Vec<u8>]) -> Vec<u8> {
        let (start, end) = central_span(zip);
        let mut out = zip[..start].to_vec();
        records.iter().for_each(|r| out.extend_from_slice(r));
        out.extend_from_slice(&zip[end..]);
        out
    }

    fn read(zip: &[u8], keep: bool) -> Result<InnerSummary> {
        read_inner_zip_summary(zip, &Limits::default(), Path::new("p"), &mut NoData, keep)
    }

    struct NoData;

    impl EntryVisitor for NoData {
        fn entry(&mut self, _info: &EntryInfo, _data: &mut dyn Read) -> Result<()> {
            Ok(())
        }
    }

    fn reason(zip: &[u8], keep: bool) -> String {
        match read(zip, keep) {
            Err(Error::InnerZip { reason, .. }) => reason,
            other => panic!("expected an inner zip error, got {other:?}"),
        }
    }

    #[test]
    fn a_summary_without_entries_counts_the_same() {
        let zip = zip();
        let kept = read(&zip, true).unwrap();
        let counted = read(&zip, false).unwrap();
        assert_eq!(kept.entries.len(), 3);
        assert!(counted.entries.is_empty());
        assert_eq!(
            (counted.count, counted.files, counted.total_size),
            (3, 3, 15)
        );
        assert_eq!(
            (kept.count, kept.files, kept.total_size, kept.file_bytes),
            (
                counted.count,
                counted.files,
                counted.total_size,
                counted.file_bytes
            )
        );
    }

    #[test]
    fn a_central_header_differing_in_any_field_is_caught() {
        // Offsets in a central header: method, crc, sizes, local header offset, name.
        for (field, at) in [
            ("method", 10),
            ("crc", 16),
            ("compressed size", 20),
            ("size", 24),
            ("offset", 42),
            ("name", 46),
        ] {
            for keep in [true, false] {
                let zip = zip();
                let mut records = central_records(&zip);
                records[1][at] ^= 0x01;
                let reason = reason(&with_central(&zip, &records), keep);
                assert!(
                    reason.starts_with("central directory entry 1 "),
                    "{field} (keep {keep}): {reason}"
                );
            }
        }
    }

    #[test]
    fn reordered_missing_and_extra_central_headers_are_caught() {
        let zip = zip();
        let records = central_records(&zip);
        for keep in [true, false] {
            let swapped = [records[1].clone(), records[0].clone(), records[2].clone()];
            let swapped = reason(&with_central(&zip, &swapped), keep);
            assert!(
                swapped.starts_with("central directory entry 0 "),
                "{swapped}"
            );

            let missing = &records[..2];
            assert_eq!(
                reason(&with_central(&zip, missing), keep),
                "the central directory lists 2 entries, the archive holds 3"
            );

            let mut extra = records.clone();
            extra.push(records[2].clone());
            assert_eq!(
                reason(&with_central(&zip, &extra), keep),
                "the central directory lists more entries than the archive holds"
            );
        }
    }

    #[test]
    fn the_digest_catches_what_a_tag_would_miss() {
        // Tags are 32 bits: a disagreement they miss must still fail at the end.
        let mut ledger = HeaderLedger::new();
        let fields = |crc| HeaderFields {
            name: "a.txt",
            method: 0,
            crc,
            compressed_size: 5,
            size: 5,
            offset: 0,
        };
        ledger.local(&fields(1));
        assert!(!ledger.all_match(), "a central header is missing");
        // The tag says no; were it to say yes, the digest still differs.
        assert!(!ledger.central(0, &fields(2)));
        assert!(!ledger.all_match());
        let mut ledger = HeaderLedger::new();
        ledger.local(&fields(1));
        assert!(ledger.central(0, &fields(1)));
        assert!(ledger.all_match());
    }

    #[test]
    fn links_and_special_files_are_summarised_by_name() {
        let zip = zip();
        let mut records = central_records(&zip);
        for (record, mode) in records.iter_mut().zip([0o100_644u32, 0o120_777, 0o010_644]) {
            record[5] = HOST_UNIX as u8; // made by Unix
            record[38..42].copy_from_slice(&(mode << 16).to_le_bytes());
        }
        let zip = with_central(&zip, &records);
        let expected = vec![
            ("b.txt".to_string(), EntryKind::Symlink),
            ("c.txt".to_string(), EntryKind::Special),
        ];
        assert_eq!(read(&zip, false).unwrap().special, expected);
        let kept = read(&zip, true).unwrap();
        assert_eq!(kept.special, expected);
        assert_eq!(kept.entries[1].unix_mode, Some(0o120_777));
        assert_eq!(kept.entries[1].kind(), EntryKind::Symlink);
    }
}
