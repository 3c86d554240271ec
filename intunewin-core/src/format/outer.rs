//! The outer zip: two stored entries, Contents then Detection.xml (FORMAT.md §2).
//!
//! [`OuterZipWriter`] reproduces IntuneWinAppUtil 1.8.7's layout exactly. [`OuterZip::read`]
//! parses any producer's outer zip from its central directory (FORMAT.md §6.1) and checks each
//! local header against it.

use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::dostime::DosDateTime;
use crate::error::ZipCheck;
use crate::zipbits::*;

/// Folder of the encrypted content entry.
pub const CONTENTS_DIR: &str = "IntuneWinPackage/Contents/";
/// Full name of the metadata entry.
pub const DETECTION_ENTRY: &str = "IntuneWinPackage/Metadata/Detection.xml";

/// The 28-byte local extra field of System.IO.Packaging (FORMAT.md §2.3): id 0xA220, size 24,
/// signature 0xA028, padding value 20, then 20 zero bytes.
const GROWTH_HINT: [u8; 28] = {
    let mut b = [0u8; 28];
    b[0] = 0x20;
    b[1] = 0xA2;
    b[2] = 0x18;
    b[4] = 0x28;
    b[5] = 0xA0;
    b[6] = 0x14;
    b
};
const MADE_BY: u16 = 0x002D;
const NEEDED: u16 = 10;
const LFH_LEN: u64 = 30;

struct WrittenEntry {
    name: String,
    crc: u32,
    size: u64,
    offset: u64,
}

/// Writes the outer zip to a seekable output.
///
/// Use [`begin_entry`](Self::begin_entry), write the data through [`output`](Self::output), then
/// [`end_entry`](Self::end_entry) with its CRC and size; the local header is patched in place, so
/// the data is written once. [`finish`](Self::finish) writes the central directory.
pub struct OuterZipWriter<W: Write + Seek> {
    out: W,
    time: DosDateTime,
    entries: Vec<WrittenEntry>,
    open: Option<(String, u64)>,
    pos: u64,
}

impl<W: Write + Seek> OuterZipWriter<W> {
    /// Starts an outer zip at the current position of `out`, stamping every entry with `time`.
    pub fn new(mut out: W, time: DosDateTime) -> io::Result<Self> {
        let pos = out.stream_position()?;
        Ok(OuterZipWriter {
            out,
            time,
            entries: Vec::new(),
            open: None,
            pos,
        })
    }

    /// Writes a local header with placeholder CRC and sizes; returns the data offset.
    pub fn begin_entry(&mut self, name: &str) -> io::Result<u64> {
        let offset = self.pos;
        let header = self.local_header(name, 0, 0);
        self.out.write_all(&header)?;
        self.pos += header.len() as u64;
        self.open = Some((name.to_string(), offset));
        Ok(self.pos)
    }

    /// The underlying output, for writing an open entry's data. Keep track of what is written:
    /// [`end_entry`](Self::end_entry) takes its size.
    pub fn output(&mut self) -> &mut W {
        &mut self.out
    }

    /// Closes the open entry: patches its local header with the real CRC and size.
    pub fn end_entry(&mut self, crc: u32, size: u64) -> io::Result<()> {
        let (name, offset) = self
            .open
            .take()
            .ok_or_else(|| io::Error::other("no open outer entry"))?;
        let header = self.local_header(&name, crc, size);
        self.out.seek(SeekFrom::Start(offset))?;
        self.out.write_all(&header)?;
        self.pos = self.out.seek(SeekFrom::End(0))?;
        self.entries.push(WrittenEntry {
            name,
            crc,
            size,
            offset,
        });
        Ok(())
    }

    /// Writes a whole small stored entry.
    pub fn add_entry(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        self.begin_entry(name)?;
        self.out.write_all(data)?;
        self.pos += data.len() as u64;
        self.end_entry(crc32fast::hash(data), data.len() as u64)
    }

    /// Records that `n` bytes of entry data were written through [`output`](Self::output).
    pub fn advance(&mut self, n: u64) {
        self.pos += n;
    }

    /// A local header. Past 4 GiB the 28-byte growth hint is replaced in place by a zip64 extra
    /// (20 bytes) plus an 8-byte 0xA220 field, so the header keeps its length (FORMAT.md §2.6).
    fn local_header(&self, name: &str, crc: u32, size: u64) -> Vec<u8> {
        let zip64 = size >= u64::from(U32_MAX);
        let mut h = Vec::with_capacity(30 + name.len() + 28);
        h.put_u32(LFH_SIG);
        h.put_u16(if zip64 { ZIP64_VERSION } else { NEEDED });
        h.put_u16(0); // flags: ASCII names, no data descriptor
        h.put_u16(0); // stored
        h.put_u16(self.time.time);
        h.put_u16(self.time.date);
        h.put_u32(crc);
        let small = if zip64 { U32_MAX } else { size as u32 };
        h.put_u32(small);
        h.put_u32(small);
        h.put_u16(name.len() as u16);
        h.put_u16(GROWTH_HINT.len() as u16);
        h.extend_from_slice(name.as_bytes());
        if zip64 {
            h.put_u16(ZIP64_EXTRA_ID);
            h.put_u16(16);
            h.put_u64(size);
            h.put_u64(size);
            h.extend_from_slice(&[0x20, 0xA2, 0x04, 0x00, 0x28, 0xA0, 0x00, 0x00]);
        } else {
            h.extend_from_slice(&GROWTH_HINT);
        }
        h
    }

    /// Writes the central directory and end records; returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        let cd_start = self.pos;
        let mut cd = Vec::new();
        for e in &self.entries {
            central_header(&mut cd, e, self.time);
        }
        let cd_len = cd.len() as u64;
        let needs_zip64 = cd_start >= u64::from(U32_MAX)
            || self
                .entries
                .iter()
                .any(|e| e.size >= u64::from(U32_MAX) || e.offset >= u64::from(U32_MAX));
        put_end_records(
            &mut cd,
            self.entries.len() as u64,
            cd_start,
            cd_len,
            needs_zip64,
        );
        self.out.write_all(&cd)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn central_header(cd: &mut Vec<u8>, e: &WrittenEntry, time: DosDateTime) {
    // Stored: both sizes are the entry's size.
    CentralHeader {
        made_by: MADE_BY,
        needed: NEEDED,
        flags: 0,
        method: 0,
        time,
        crc: e.crc,
        csize: e.size,
        usize: e.size,
        offset: e.offset,
        name: e.name.as_bytes(),
    }
    .put(cd);
}

/// One entry of a parsed outer zip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OuterEntry {
    /// Entry name as stored (lossy UTF-8).
    pub name: String,
    /// Compression method (0 stored, 8 deflate).
    pub method: u16,
    /// General purpose flags.
    pub flags: u16,
    /// Version made by.
    pub made_by: u16,
    /// CRC-32 from the central directory.
    pub crc: u32,
    /// Compressed size.
    pub compressed_size: u64,
    /// Uncompressed size.
    pub size: u64,
    /// Offset of the local header.
    pub header_offset: u64,
    /// Offset of the entry's data.
    pub data_offset: u64,
    /// Whether the local header carries the 0xA220 growth hint.
    pub has_growth_hint: bool,
}

/// A parsed outer zip: its entries in central-directory order.
#[derive(Clone, Debug)]
pub struct OuterZip {
    /// The entries.
    pub entries: Vec<OuterEntry>,
}

/// Most entries an outer zip may have (real ones have 2).
const MAX_OUTER_ENTRIES: u64 = 64;
const MAX_EOCD_SEARCH: u64 = 22 + 0xFFFF;

impl OuterZip {
    /// Parses the central directory of `file` (of length `len`) and checks every local header.
    /// Errors say which check failed and what it found; the caller names the file.
    pub fn read<R: Read + Seek>(file: &mut R, len: u64) -> Result<OuterZip, ZipFault> {
        let (cd_offset, cd_len, count) = find_central_directory(file, len)?;
        if count > MAX_OUTER_ENTRIES {
            return Err(format!("{count} entries, expected 2").into());
        }
        if cd_offset.checked_add(cd_len).is_none_or(|end| end > len) || cd_len > 1 << 20 {
            return Err("the central directory lies outside the file".into());
        }
        let cd = read_at(file, cd_offset, cd_len as usize)?;
        let mut r = LeReader::new(&cd);
        let mut entries = Vec::new();
        for _ in 0..count {
            let mut entry = parse_central_header(&mut r)?;
            check_local_header(file, len, &mut entry)?;
            entries.push(entry);
        }
        Ok(OuterZip { entries })
    }

    /// The entry with exactly this name, else one matching it case-insensitively.
    pub fn find(&self, name: &str) -> Option<&OuterEntry> {
        self.entries.iter().find(|e| e.name == name).or_else(|| {
            self.entries
                .iter()
                .find(|e| e.name.eq_ignore_ascii_case(name))
        })
    }
}

/// Why [`OuterZip::read`] failed: which check, and what it found.
#[derive(Debug)]
pub struct ZipFault {
    /// Which check failed.
    pub check: ZipCheck,
    /// What it found, as part of a sentence.
    pub reason: String,
}

impl ZipFault {
    fn new(check: ZipCheck, reason: String) -> Self {
        ZipFault { check, reason }
    }
}

/// A fault of the records themselves ([`ZipCheck::Structure`]), the most common kind.
impl From<String> for ZipFault {
    fn from(reason: String) -> Self {
        ZipFault::new(ZipCheck::Structure, reason)
    }
}

impl From<&str> for ZipFault {
    fn from(reason: &str) -> Self {
        ZipFault::new(ZipCheck::Structure, reason.into())
    }
}

fn read_at<R: Read + Seek>(file: &mut R, at: u64, n: usize) -> Result<Vec<u8>, ZipFault> {
    let mut buf = vec![0u8; n];
    file.seek(SeekFrom::Start(at))
        .and_then(|_| file.read_exact(&mut buf))
        .map_err(|e| {
            ZipFault::new(
                ZipCheck::Truncated,
                format!("cannot read {n} bytes at offset {at}: {e}"),
            )
        })?;
    Ok(buf)
}

/// Locates the EOCD (and zip64 records): returns (CD offset, CD length, entry count).
fn find_central_directory<R: Read + Seek>(
    file: &mut R,
    len: u64,
) -> Result<(u64, u64, u64), ZipFault> {
    if len < 22 {
        return Err(format!(
            "{len} byte{} is too short for a zip",
            if len == 1 { "" } else { "s" }
        )
        .into());
    }
    let tail_len = len.min(MAX_EOCD_SEARCH);
    let tail = read_at(file, len - tail_len, tail_len as usize)?;
    let sig = EOCD_SIG.to_le_bytes();
    let at = (0..=tail.len() - 22)
        .rev()
        .find(|&i| {
            tail[i..i + 4] == sig
                && usize::from(u16::from_le_bytes([tail[i + 20], tail[i + 21]]))
                    == tail.len() - i - 22
        })
        .ok_or("no end-of-central-directory record (not a zip, or truncated)")?;
    let mut r = LeReader::new(&tail[at + 4..]);
    let (disk, cd_disk) = (r.u16().unwrap_or(1), r.u16().unwrap_or(1));
    let _count_disk = r.u16();
    let count = r.u16().unwrap_or(0);
    let cd_len = r.u32().unwrap_or(0);
    let cd_offset = r.u32().unwrap_or(0);
    if disk != 0 || cd_disk != 0 {
        return Err(ZipFault::new(
            ZipCheck::Unsupported,
            "multi-disk archives are not supported".into(),
        ));
    }
    let eocd_pos = len - tail_len + at as u64;
    if count == 0xFFFF || cd_len == U32_MAX || cd_offset == U32_MAX {
        return read_zip64_end(file, eocd_pos);
    }
    Ok((u64::from(cd_offset), u64::from(cd_len), u64::from(count)))
}

fn read_zip64_end<R: Read + Seek>(
    file: &mut R,
    eocd_pos: u64,
) -> Result<(u64, u64, u64), ZipFault> {
    let loc_pos = eocd_pos.checked_sub(20).ok_or("zip64 locator missing")?;
    let loc = read_at(file, loc_pos, 20)?;
    let mut r = LeReader::new(&loc);
    if r.u32() != Some(ZIP64_LOCATOR_SIG) {
        return Err("zip64 locator missing".into());
    }
    let _disk = r.u32();
    let record_pos = r.u64().ok_or("zip64 locator truncated")?;
    if record_pos >= loc_pos {
        return Err("zip64 end record offset is invalid".into());
    }
    let rec = read_at(file, record_pos, 56)?;
    let mut r = LeReader::new(&rec);
    if r.u32() != Some(ZIP64_EOCD_SIG) {
        return Err("zip64 end record missing".into());
    }
    r.bytes(20).ok_or("zip64 end record truncated")?;
    let _count_disk = r.u64();
    let count = r.u64().ok_or("zip64 end record truncated")?;
    let cd_len = r.u64().ok_or("zip64 end record truncated")?;
    let cd_offset = r.u64().ok_or("zip64 end record truncated")?;
    Ok((cd_offset, cd_len, count))
}

fn parse_central_header(r: &mut LeReader<'_>) -> Result<OuterEntry, ZipFault> {
    let bad = || "truncated central directory".to_string();
    if r.u32().ok_or_else(bad)? != CDH_SIG {
        return Err("bad central directory header signature".into());
    }
    let made_by = r.u16().ok_or_else(bad)?;
    let _needed = r.u16().ok_or_else(bad)?;
    let flags = r.u16().ok_or_else(bad)?;
    let method = r.u16().ok_or_else(bad)?;
    r.bytes(4).ok_or_else(bad)?; // time, date
    let crc = r.u32().ok_or_else(bad)?;
    let csize = r.u32().ok_or_else(bad)?;
    let usize = r.u32().ok_or_else(bad)?;
    let name_len = usize::from(r.u16().ok_or_else(bad)?);
    let extra_len = usize::from(r.u16().ok_or_else(bad)?);
    let comment_len = usize::from(r.u16().ok_or_else(bad)?);
    r.bytes(8).ok_or_else(bad)?; // disk, internal, external attributes
    let offset = r.u32().ok_or_else(bad)?;
    let name = String::from_utf8_lossy(r.bytes(name_len).ok_or_else(bad)?).into_owned();
    let extra = r.bytes(extra_len).ok_or_else(bad)?;
    r.bytes(comment_len).ok_or_else(bad)?;
    let v = Zip64Values {
        usize: u64::from(usize),
        csize: u64::from(csize),
        offset: u64::from(offset),
    };
    let v = apply_zip64(
        extra,
        v,
        usize == U32_MAX,
        csize == U32_MAX,
        offset == U32_MAX,
    )
    .ok_or_else(|| format!("entry '{name}' lacks its zip64 values"))?;
    if flags & 1 != 0 {
        return Err(ZipFault::new(
            ZipCheck::Unsupported,
            format!("entry '{name}' is encrypted with zip encryption"),
        ));
    }
    Ok(OuterEntry {
        name,
        method,
        flags,
        made_by,
        crc,
        compressed_size: v.csize,
        size: v.usize,
        header_offset: v.offset,
        data_offset: 0,
        has_growth_hint: false,
    })
}

/// Reads an entry's local header, checks it against the central one and sets its data offset.
fn check_local_header<R: Read + Seek>(
    file: &mut R,
    len: u64,
    e: &mut OuterEntry,
) -> Result<(), ZipFault> {
    if e.header_offset
        .checked_add(LFH_LEN)
        .is_none_or(|end| end > len)
    {
        return Err(ZipFault::new(
            ZipCheck::Truncated,
            format!("entry '{}' has its header outside the file", e.name),
        ));
    }
    let fixed = read_at(file, e.header_offset, LFH_LEN as usize)?;
    let mut r = LeReader::new(&fixed);
    let bad = || {
        ZipFault::new(
            ZipCheck::Truncated,
            format!("entry '{}' has a truncated local header", e.name),
        )
    };
    if r.u32() != Some(LFH_SIG) {
        return Err(format!(
            "entry '{}' has no local header at offset {}",
            e.name, e.header_offset
        )
        .into());
    }
    r.bytes(4).ok_or_else(bad)?; // needed, flags
    let method = r.u16().ok_or_else(bad)?;
    r.bytes(16).ok_or_else(bad)?; // time, date, crc, sizes (may be zero with a data descriptor)
    let name_len = u64::from(r.u16().ok_or_else(bad)?);
    let extra_len = u64::from(r.u16().ok_or_else(bad)?);
    let var = read_at(
        file,
        e.header_offset + LFH_LEN,
        (name_len + extra_len) as usize,
    )?;
    if method != e.method
        || var[..name_len as usize] != *e.name.as_bytes()
            && String::from_utf8_lossy(&var[..name_len as usize]) != e.name
    {
        return Err(ZipFault::new(
            ZipCheck::HeaderMismatch,
            format!(
                "entry '{}': local header disagrees with the central directory",
                e.name
            ),
        ));
    }
    e.has_growth_hint = extra_fields(&var[name_len as usize..]).any(|(id, _)| id == 0xA220);
    e.data_offset = e.header_offset + LFH_LEN + name_len + extra_len;
    if e.data_offset
        .checked_add(e.compressed_size)
        .is_none_or(|end| end > len)
    {
        return Err(ZipFault::new(
            ZipCheck::Truncated,
            format!(
                "entry '{}' extends past the end of the file (truncated?)",
                e.name
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn two_entry_zip(blob: &[u8], xml: &[u8]) -> Vec<u8> {
        let time = DosDateTime::from_fields(2020, 10, 16, 18, 32, 14);
        let mut w = OuterZipWriter::new(Cursor::new(Vec::new()), time).unwrap();
        let name = format!("{CONTENTS_DIR}IntunePackage.intunewin");
        w.begin_entry(&name).unwrap();
        w.output().write_all(blob).unwrap();
        w.advance(blob.len() as u64);
        w.end_entry(crc32fast::hash(blob), blob.len() as u64)
            .unwrap();
        w.add_entry(DETECTION_ENTRY, xml).unwrap();
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn layout_matches_format_2_2() {
        let blob = vec![7u8; 3136];
        let xml = vec![b'x'; 838];
        let zip = two_entry_zip(&blob, &xml);
        assert_eq!(zip.len(), 3136 + 838 + 406); // FORMAT.md §2.4
        assert_eq!(&zip[..4], b"PK\x03\x04");
        assert_eq!(&zip[4..6], &[10, 0]);
        assert_eq!(&zip[26..30], &[49, 0, 28, 0]);
        assert_eq!(
            &zip[30 + 49..30 + 49 + 6],
            &[0x20, 0xA2, 0x18, 0x00, 0x28, 0xA0]
        );
        let eocd = &zip[zip.len() - 22..];
        assert_eq!(&eocd[..4], b"PK\x05\x06");
        assert_eq!(&eocd[8..12], &[2, 0, 2, 0]);
        assert_eq!(&eocd[12..16], &180u32.to_le_bytes());
        let parsed = OuterZip::read(&mut Cursor::new(&zip), zip.len() as u64).unwrap();
        assert_eq!(parsed.entries.len(), 2);
        assert_eq!(parsed.entries[0].data_offset, 107);
        assert_eq!(parsed.entries[0].size, 3136);
        assert!(parsed.entries[0].has_growth_hint);
        assert_eq!(parsed.entries[1].data_offset, 3136 + 107 + 30 + 39 + 28);
    }

    #[test]
    fn truncation_is_an_error() {
        let zip = two_entry_zip(&[1u8; 100], b"<x/>");
        for cut in [0, 10, 50, zip.len() - 23, zip.len() - 1] {
            assert!(
                OuterZip::read(&mut Cursor::new(&zip[..cut]), cut as u64).is_err(),
                "cut {cut}"
            );
        }
    }
}
