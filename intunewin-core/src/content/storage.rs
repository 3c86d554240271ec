//! Where encrypted content is read from: a range of a file opened once, or bytes in memory.

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek};
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::range::RangeReader;

/// Bytes of a package or blob: an open file (read by position, so every read goes through the
/// handle opened first) or a buffer in memory.
#[derive(Clone, Debug)]
pub(crate) enum Storage {
    /// A file, opened once.
    File(Arc<File>),
    /// Bytes in memory.
    Memory(Arc<[u8]>),
}

/// A seekable reader, for the parsers that look around (the outer zip's central directory).
pub(crate) trait ReadSeek: Read + Seek {}

impl<T: Read + Seek> ReadSeek for T {}

impl Storage {
    /// Opens the regular file at `path` (never a folder, FIFO or device) and returns its length.
    pub(crate) fn open(path: &Path) -> Result<(Storage, u64)> {
        let file = crate::identity::open_regular(path).map_err(|e| Error::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("read metadata of", path, e))?
            .len();
        Ok((Storage::File(Arc::new(file)), len))
    }

    /// The bytes in memory and their length.
    pub(crate) fn memory(bytes: Arc<[u8]>) -> (Storage, u64) {
        let len = bytes.len() as u64;
        (Storage::Memory(bytes), len)
    }

    /// A reader of `len` bytes from `start` (buffered when it reads a file).
    pub(crate) fn range(&self, start: u64, len: u64) -> Box<dyn Read + Send> {
        match self {
            Storage::File(file) => Box::new(BufReader::with_capacity(
                1 << 20,
                RangeReader::new(file.clone(), start, len),
            )),
            Storage::Memory(bytes) => Box::new(MemoryRange {
                bytes: bytes.clone(),
                pos: start,
                end: start.saturating_add(len),
            }),
        }
    }

    /// Runs `f` over the whole storage as a seekable reader.
    pub(crate) fn seekable<T>(&self, f: impl FnOnce(&mut dyn ReadSeek) -> T) -> T {
        match self {
            Storage::File(file) => f(&mut &**file),
            Storage::Memory(bytes) => f(&mut Cursor::new(&bytes[..])),
        }
    }
}

/// Reads `bytes[pos..end]` (clamped to the buffer).
struct MemoryRange {
    bytes: Arc<[u8]>,
    pos: u64,
    end: u64,
}

impl Read for MemoryRange {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = self.bytes.len() as u64;
        let (from, to) = (self.pos.min(len), self.end.min(len));
        // Both bounds are at most the buffer's length, so they fit a usize.
        let available = &self.bytes[from as usize..to as usize];
        let n = buf.len().min(available.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.pos = from + n as u64;
        Ok(n)
    }
}

/// The encrypted content, MAC ‖ IV ‖ ciphertext, within its storage: a package's content entry
/// (stored, or deflated by a producer other than Microsoft's tool) or a whole blob file.
#[derive(Clone, Debug)]
pub(crate) struct ContentSource {
    storage: Storage,
    start: u64,
    stored_len: u64,
    method: u16,
    len: u64,
}

impl ContentSource {
    /// The content stored at `storage[start..start + stored_len]` with zip `method` (0 or 8;
    /// another is refused when read), `len` bytes once inflated.
    pub(crate) fn new(
        storage: Storage,
        start: u64,
        stored_len: u64,
        method: u16,
        len: u64,
    ) -> Self {
        ContentSource {
            storage,
            start,
            stored_len,
            method,
            len,
        }
    }

    /// The whole of `storage` as stored content of `len` bytes (a bare blob).
    pub(crate) fn whole(storage: Storage, len: u64) -> Self {
        Self::new(storage, 0, len, 0, len)
    }

    /// Length of the content: MAC ‖ IV ‖ ciphertext.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// A reader of the content from its first byte, inflated when stored deflated; `origin`
    /// names the package when the compression method is unknown.
    pub(crate) fn open(&self, origin: &Path) -> Result<Box<dyn Read + Send>> {
        let raw = self.storage.range(self.start, self.stored_len);
        match self.method {
            0 => Ok(raw),
            8 => Ok(Box::new(
                flate2::read::DeflateDecoder::new(raw).take(self.len),
            )),
            m => Err(Error::OuterZip {
                path: origin.to_path_buf(),
                check: crate::ZipCheck::Unsupported,
                reason: format!("content entry uses compression method {m}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memory_range_reads_exactly_its_bytes_and_stops_at_the_buffer() {
        let (storage, len) = Storage::memory(Arc::from(&b"0123456789"[..]));
        assert_eq!(len, 10);
        let mut out = String::new();
        storage.range(2, 5).read_to_string(&mut out).unwrap();
        assert_eq!(out, "23456");
        let mut tail = Vec::new();
        storage.range(8, 100).read_to_end(&mut tail).unwrap();
        assert_eq!(tail, b"89");
        let mut none = Vec::new();
        storage.range(20, 5).read_to_end(&mut none).unwrap();
        assert!(none.is_empty());
    }
}
