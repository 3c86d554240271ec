//! Reading a range of an open file by position, so that every read of a package or blob goes
//! through the one handle opened first (a file swapped under the same name is never read) and
//! readers on several threads do not share a file offset.

use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;

/// Reads `len` bytes of `file` from `start`, by position (`pread` on Unix).
pub(crate) struct RangeReader {
    file: Arc<File>,
    pos: u64,
    end: u64,
}

impl RangeReader {
    /// A reader of `file[start..start + len]`.
    pub(crate) fn new(file: Arc<File>, start: u64, len: u64) -> Self {
        RangeReader {
            file,
            pos: start,
            end: start.saturating_add(len),
        }
    }
}

impl Read for RangeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = read_at(&self.file, &mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, at)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_exactly_the_range_and_survives_a_rename_of_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut f = File::create(&path).unwrap();
        f.write_all(b"0123456789").unwrap();
        let file = Arc::new(File::open(&path).unwrap());
        // Swapping another file in under the same name changes nothing for the open handle.
        std::fs::write(dir.path().join("g"), b"abcdefghij").unwrap();
        std::fs::rename(dir.path().join("g"), &path).unwrap();
        let mut out = String::new();
        RangeReader::new(file.clone(), 2, 5)
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "23456");
        let mut tail = Vec::new();
        RangeReader::new(file, 8, 100)
            .read_to_end(&mut tail)
            .unwrap();
        assert_eq!(tail, b"89");
    }
}
