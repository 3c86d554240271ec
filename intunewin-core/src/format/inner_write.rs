//! Writes the inner zip as IntuneWinAppUtil 1.7–1.8.7 does (FORMAT.md §5.1, §5.3).
//!
//! Every entry: UTF-8 flag, made-by 0x0014, needed 20, no extra fields, attributes 0, CRC and
//! sizes in the local header. Deliberate differences (FORMAT.md §5.3): `/` separators, standard
//! zip64 where sizes or counts need it, and a data descriptor for files too large to compress
//! in memory, since the zip is encrypted as it is written and cannot be patched afterwards.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use flate2::Compression;
use flate2::write::DeflateEncoder;

use crate::dostime::DosDateTime;
use crate::zipbits::*;

const FLAG_UTF8: u16 = 0x0800;
const FLAG_DESCRIPTOR: u16 = 0x0008;
const MADE_BY: u16 = 0x0014;
const NEEDED: u16 = 20;
/// Compression method: stored.
pub const STORED: u16 = 0;
/// Compression method: deflate.
pub const DEFLATED: u16 = 8;
/// Streamed files at least this large get zip64 data descriptors (deflate may grow data slightly).
const ZIP64_STREAM_THRESHOLD: u64 = 0xF000_0000;

/// How file data is compressed.
#[derive(Clone, Copy, Debug)]
pub struct Compressor {
    /// Deflate level 0–9 (0 stores every file; the real tool uses 1).
    pub level: u32,
    /// Store files whose first block does not compress (FORMAT.md §5.3; the real tool deflates all).
    pub store_incompressible: bool,
}

/// Bytes of a file trial-compressed to decide whether to store it.
const SAMPLE_LEN: usize = 64 * 1024;
/// A sample that shrinks by less than this fraction (1/32 ≈ 3%) is treated as incompressible.
const MIN_SAVING_DIV: usize = 32;
/// Smaller files are always deflated, as the real tool does: storing them saves no time.
const MIN_STORE_CANDIDATE: usize = 16 * 1024;

impl Compressor {
    /// Chooses the method for data beginning with `sample` (empty files are always stored).
    pub fn method_for(&self, sample: &[u8]) -> u16 {
        if sample.is_empty() || self.level == 0 {
            return STORED;
        }
        if !self.store_incompressible || sample.len() < MIN_STORE_CANDIDATE {
            return DEFLATED;
        }
        let mut enc = DeflateEncoder::new(
            Vec::with_capacity(sample.len()),
            Compression::new(self.level),
        );
        let compressed = enc
            .write_all(sample)
            .and_then(|_| enc.finish())
            .map(|v| v.len());
        match compressed {
            Ok(n) if n + sample.len() / MIN_SAVING_DIV < sample.len() => DEFLATED,
            _ => STORED,
        }
    }

    fn encoder<W: Write>(&self, out: W) -> DeflateEncoder<W> {
        DeflateEncoder::new(out, Compression::new(self.level.max(1)))
    }
}

/// A file compressed in memory, ready to be written with its exact local header.
pub struct Compressed {
    /// Compression method.
    pub method: u16,
    /// CRC-32 of the uncompressed data.
    pub crc: u32,
    /// Uncompressed size.
    pub size: u64,
    /// The entry data (compressed or stored bytes).
    pub data: Vec<u8>,
}

/// Reads a whole file of known `size` and compresses it in memory, holding only the output
/// (the raw data streams through the encoder).
pub fn compress_file(path: &Path, size: u64, c: &Compressor) -> io::Result<Compressed> {
    compress_open(&mut File::open(path)?, size, c, Vec::new())
}

/// Like [`compress_file`] on an open file, reusing `buf`'s allocation for the output.
pub(crate) fn compress_open(
    file: &mut File,
    size: u64,
    c: &Compressor,
    mut buf: Vec<u8>,
) -> io::Result<Compressed> {
    buf.clear();
    let mut sample = vec![0u8; SAMPLE_LEN.min(size as usize)];
    file.read_exact(&mut sample)?;
    let method = c.method_for(&sample);
    let mut crc = crc32fast::Hasher::new();
    let mut rest = file.take(size + 1 - sample.len() as u64);
    let (data, read) = if method == STORED {
        let mut data = buf;
        data.reserve_exact(size as usize);
        data.extend_from_slice(&sample);
        crc.update(&data);
        let start = data.len();
        rest.read_to_end(&mut data)?;
        crc.update(&data[start..]);
        let n = data.len() as u64;
        (data, n)
    } else {
        buf.reserve_exact((size / 2) as usize);
        let mut enc = c.encoder(buf);
        let n = copy_hashing(&sample, &mut rest, &mut enc, &mut crc)?;
        (enc.finish()?, n)
    };
    if read != size {
        return Err(changed_while_packing());
    }
    Ok(Compressed {
        method,
        crc: crc.finalize(),
        size,
        data,
    })
}

/// Deflates `len` bytes of `path` at `offset` as one piece of a larger deflate stream,
/// reading them into `raw` (reused between calls) and writing the output into `buf`.
///
/// Pieces are compressed independently (no shared history, as pigz's independent mode) and
/// end on a byte boundary with a sync flush; the `last` one ends the stream. Their
/// concatenation is a single valid deflate stream, so large files compress on every core.
/// A piece that does not compress (see [`Compressor::method_for`]) is written as deflate's
/// stored blocks (5 bytes per 64 KiB) and reported with method [`STORED`]: a large installer
/// is copied in one read, its CRC and size following in the entry's data descriptor.
pub fn deflate_chunk(
    path: &Path,
    span: (u64, u64, bool),
    c: &Compressor,
    raw: &mut Vec<u8>,
    buf: Vec<u8>,
) -> io::Result<Compressed> {
    deflate_open(&mut File::open(path)?, span, c, raw, buf)
}

/// Like [`deflate_chunk`] on an open file.
pub(crate) fn deflate_open(
    file: &mut File,
    (offset, len, last): (u64, u64, bool),
    c: &Compressor,
    raw: &mut Vec<u8>,
    mut buf: Vec<u8>,
) -> io::Result<Compressed> {
    use flate2::{Compress, FlushCompress, Status};
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    raw.clear();
    // One byte more than asked for on the last piece reveals a file that grew.
    file.take(len + u64::from(last)).read_to_end(raw)?;
    if raw.len() as u64 != len {
        return Err(changed_while_packing());
    }
    let method = c.method_for(&raw[..SAMPLE_LEN.min(raw.len())]);
    let level = if method == STORED { 0 } else { c.level.max(1) };
    buf.clear();
    // Stored blocks add 5 bytes per 64 KiB; compressed pieces grow the buffer as needed.
    let expected = if level == 0 { raw.len() } else { raw.len() / 2 };
    buf.reserve(expected + raw.len() / 8192 + 4096);
    let mut deflate = Compress::new(Compression::new(level), false);
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    loop {
        if buf.len() == buf.capacity() {
            buf.reserve(buf.capacity() / 2 + 4096);
        }
        let consumed = deflate.total_in() as usize;
        let status = deflate
            .compress_vec(&raw[consumed..], &mut buf, flush)
            .map_err(io::Error::other)?;
        let all_in = deflate.total_in() as usize == raw.len();
        let done = match flush {
            FlushCompress::Finish => status == Status::StreamEnd,
            _ => all_in && buf.len() < buf.capacity(),
        };
        if done {
            break;
        }
    }
    Ok(Compressed {
        method,
        crc: crc32fast::hash(raw),
        size: len,
        data: buf,
    })
}

fn changed_while_packing() -> io::Error {
    io::Error::other("the file changed size while it was being packed")
}

struct CentralRecord {
    name: Vec<u8>,
    flags: u16,
    method: u16,
    time: DosDateTime,
    crc: u32,
    csize: u64,
    usize: u64,
    offset: u64,
}

/// Writes inner zip entries to any `Write` (typically an [`EncryptingWriter`](crate::crypto::EncryptingWriter)).
/// **Call [`finish`](Self::finish)** to write the central directory.
pub struct InnerZipWriter<W: Write> {
    out: W,
    pos: u64,
    records: Vec<CentralRecord>,
    /// The entry being written in pieces: its record, data start and running CRC.
    pieces: Option<(CentralRecord, u64, crc32fast::Hasher)>,
}

impl<W: Write> InnerZipWriter<W> {
    /// Starts an inner zip.
    pub fn new(out: W) -> Self {
        InnerZipWriter {
            out,
            pos: 0,
            records: Vec::new(),
            pieces: None,
        }
    }

    /// Bytes written so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    /// Adds an empty directory entry; `name` must end with `/`.
    pub fn add_directory(&mut self, name: &str, time: DosDateTime) -> io::Result<()> {
        self.add_compressed(
            name,
            time,
            &Compressed {
                method: STORED,
                crc: 0,
                size: 0,
                data: Vec::new(),
            },
        )
    }

    /// Adds a file compressed in memory, with CRC and sizes in its local header.
    pub fn add_compressed(
        &mut self,
        name: &str,
        time: DosDateTime,
        file: &Compressed,
    ) -> io::Result<()> {
        let rec = CentralRecord {
            name: name.as_bytes().to_vec(),
            flags: FLAG_UTF8,
            method: file.method,
            time,
            crc: file.crc,
            csize: file.data.len() as u64,
            usize: file.size,
            offset: self.pos,
        };
        let zip64 = rec.csize >= u64::from(U32_MAX) || rec.usize >= u64::from(U32_MAX);
        let header = local_header(&rec, zip64);
        self.put(&header)?;
        self.put(&file.data)?;
        self.records.push(rec);
        Ok(())
    }

    /// Starts a deflated entry whose data follows in pieces ([`write_piece`](Self::write_piece))
    /// and ends with a data descriptor ([`end_pieces`](Self::end_pieces)). `size` is the
    /// file's size, which decides whether the descriptor needs zip64 sizes.
    pub fn begin_pieces(&mut self, name: &str, time: DosDateTime, size: u64) -> io::Result<()> {
        let rec = CentralRecord {
            name: name.as_bytes().to_vec(),
            flags: FLAG_UTF8 | FLAG_DESCRIPTOR,
            method: DEFLATED,
            time,
            crc: 0,
            csize: 0,
            usize: 0,
            offset: self.pos,
        };
        let header = local_header(&rec, size >= ZIP64_STREAM_THRESHOLD);
        self.put(&header)?;
        self.pieces = Some((rec, self.pos, crc32fast::Hasher::new()));
        Ok(())
    }

    /// Writes one compressed piece of the open entry.
    pub fn write_piece(&mut self, piece: &Compressed) -> io::Result<()> {
        let Some((rec, _, crc)) = self.pieces.as_mut() else {
            return Err(io::Error::other("no entry open for pieces"));
        };
        crc.combine(&crc32fast::Hasher::new_with_initial_len(
            piece.crc, piece.size,
        ));
        rec.usize += piece.size;
        self.out.write_all(&piece.data)?;
        self.pos += piece.data.len() as u64;
        Ok(())
    }

    /// Ends the open entry with its data descriptor.
    pub fn end_pieces(&mut self) -> io::Result<()> {
        let (mut rec, data_start, crc) = self
            .pieces
            .take()
            .ok_or_else(|| io::Error::other("no entry open for pieces"))?;
        rec.crc = crc.finalize();
        rec.csize = self.pos - data_start;
        let zip64 = rec.usize >= ZIP64_STREAM_THRESHOLD;
        let mut desc = Vec::with_capacity(24);
        put_descriptor(&mut desc, rec.crc, rec.csize, rec.usize, zip64);
        self.put(&desc)?;
        self.records.push(rec);
        Ok(())
    }

    /// Writes the central directory and end records; returns the output.
    ///
    /// The directory goes out in blocks of about 64 KiB, each record freed once written: with
    /// many files, a directory built whole in memory beside the records doubled their cost
    /// at the end of the pack (about 10 MB per 100,000 files).
    pub fn finish(mut self) -> io::Result<W> {
        const BLOCK: usize = 64 * 1024;
        let cd_start = self.pos;
        let count = self.records.len() as u64;
        let mut cd = Vec::with_capacity(BLOCK + 512);
        for rec in std::mem::take(&mut self.records) {
            central_header(&mut cd, &rec);
            if cd.len() >= BLOCK {
                self.put(&cd)?;
                cd.clear();
            }
        }
        let cd_len = self.pos - cd_start + cd.len() as u64;
        put_end_records(&mut cd, count, cd_start, cd_len, false);
        self.put(&cd)?;
        Ok(self.out)
    }
}

/// Copies `first` then the rest of `src` into `dst`, hashing; returns the bytes copied.
fn copy_hashing(
    first: &[u8],
    src: &mut dyn Read,
    dst: &mut dyn Write,
    crc: &mut crc32fast::Hasher,
) -> io::Result<u64> {
    crc.update(first);
    dst.write_all(first)?;
    let mut total = first.len() as u64;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        crc.update(&buf[..n]);
        dst.write_all(&buf[..n])?;
        total += n as u64;
    }
}

fn local_header(rec: &CentralRecord, zip64: bool) -> Vec<u8> {
    let mut h = Vec::with_capacity(30 + rec.name.len() + 20);
    h.put_u32(LFH_SIG);
    h.put_u16(if zip64 { ZIP64_VERSION } else { NEEDED });
    h.put_u16(rec.flags);
    h.put_u16(rec.method);
    h.put_u16(rec.time.time);
    h.put_u16(rec.time.date);
    h.put_u32(rec.crc);
    if zip64 {
        h.put_u32(U32_MAX);
        h.put_u32(U32_MAX);
    } else {
        h.put_u32(rec.csize as u32);
        h.put_u32(rec.usize as u32);
    }
    h.put_u16(rec.name.len() as u16);
    h.put_u16(if zip64 { 20 } else { 0 });
    h.extend_from_slice(&rec.name);
    if zip64 {
        h.put_u16(ZIP64_EXTRA_ID);
        h.put_u16(16);
        h.put_u64(rec.usize);
        h.put_u64(rec.csize);
    }
    h
}

fn central_header(cd: &mut Vec<u8>, rec: &CentralRecord) {
    CentralHeader {
        made_by: MADE_BY,
        needed: NEEDED,
        flags: rec.flags,
        method: rec.method,
        time: rec.time,
        crc: rec.crc,
        csize: rec.csize,
        usize: rec.usize,
        offset: rec.offset,
        name: &rec.name,
    }
    .put(cd);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The central directory goes out in 64 KiB blocks; with enough entries for several
    /// blocks, the `zip` crate still finds every entry, its data and the end records' offsets.
    #[test]
    fn a_central_directory_of_several_blocks_reads_back() {
        const FILES: usize = 3000; // ~56 bytes of directory each: about 2.6 blocks
        let time = crate::dostime::DOS_EPOCH;
        let mut zip = InnerZipWriter::new(Vec::new());
        for i in 0..FILES {
            let data = format!("file {i}").into_bytes();
            let file = Compressed {
                method: STORED,
                crc: crc32fast::hash(&data),
                size: data.len() as u64,
                data,
            };
            zip.add_compressed(&format!("dir/file-{i:05}.txt"), time, &file)
                .unwrap();
        }
        let data_end = zip.position();
        let bytes = zip.finish().unwrap();
        // The end record: entry count, directory length and start.
        let eocd = &bytes[bytes.len() - 22..];
        assert_eq!(&eocd[..4], b"PK\x05\x06");
        let u16_at = |o: usize| u16::from_le_bytes([eocd[o], eocd[o + 1]]) as usize;
        let u32_at = |o: usize| u32::from_le_bytes(eocd[o..o + 4].try_into().unwrap()) as u64;
        assert_eq!(u16_at(10), FILES);
        assert_eq!(u32_at(16), data_end);
        assert_eq!(u32_at(12), bytes.len() as u64 - 22 - data_end);
        assert!(u32_at(12) > 2 * 64 * 1024, "the test needs several blocks");
        let mut archive = zip::ZipArchive::new(io::Cursor::new(bytes)).unwrap();
        assert_eq!(archive.len(), FILES);
        for i in [0, 1, 1170, 1171, 2340, FILES - 1] {
            let mut entry = archive.by_index(i).unwrap();
            assert_eq!(entry.name().unwrap(), format!("dir/file-{i:05}.txt"));
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            assert_eq!(text, format!("file {i}"));
        }
    }
}
