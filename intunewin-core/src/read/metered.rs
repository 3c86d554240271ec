//! Reading encrypted content into an output: a reader that reports progress and stops on
//! cancellation, and a copy that tells a failed read of the input from a failed write of the
//! output.

use std::io::{self, Read, Write};
use std::path::Path;

use crate::error::Error;
use crate::progress::{CancelFlag, Progress};
use crate::read::options::ReadOptions;

/// A reader that reports progress and stops once the cancel flag is set.
pub struct Metered<'a, R: Read> {
    inner: R,
    progress: &'a dyn Progress,
    cancel: &'a CancelFlag,
}

impl<'a, R: Read> Metered<'a, R> {
    /// Meters `inner` with the progress sink and cancel flag of `opts`.
    pub fn new(inner: R, opts: &'a ReadOptions) -> Self {
        Metered {
            inner,
            progress: opts.progress.as_ref(),
            cancel: &opts.cancel,
        }
    }

    /// The metered reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for Metered<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancel.is_cancelled() {
            return Err(crate::error::carry(Error::Cancelled));
        }
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

/// Maps an error met while reading encrypted content: the library error a reader carried
/// (bad padding, named after `path`; cancellation; ...), or I/O on `path`.
pub fn map_read_error(e: io::Error, path: &Path) -> Error {
    crate::error::recover(e, path).unwrap_or_else(|e| Error::io("read", path, e))
}

/// Why a copy stopped: the reader failed, or the writer did.
#[derive(Debug)]
pub(crate) enum CopyError {
    /// Reading (and decrypting) the input failed.
    Read(io::Error),
    /// Writing the output failed.
    Write(io::Error),
}

impl CopyError {
    /// The library error: a read error of `input` (bad padding and cancellation included), or
    /// a write error of `output`.
    pub(crate) fn into_error(self, input: &Path, output: Option<&Path>) -> Error {
        match self {
            CopyError::Read(e) => map_read_error(e, input),
            CopyError::Write(source) => Error::Write {
                action: "write",
                path: output.map(Path::to_path_buf),
                source,
            },
        }
    }
}

/// `io::copy` that tells which side failed, so a full disk is not reported as a damaged input.
pub(crate) fn copy_watched<R: Read + ?Sized, W: Write + ?Sized>(
    reader: &mut R,
    out: &mut W,
) -> std::result::Result<u64, CopyError> {
    let mut watched = WatchedWriter {
        inner: out,
        failed: false,
    };
    io::copy(reader, &mut watched).map_err(|e| {
        if watched.failed {
            CopyError::Write(e)
        } else {
            CopyError::Read(e)
        }
    })
}

/// A writer that remembers whether it failed.
struct WatchedWriter<'a, W: Write + ?Sized> {
    inner: &'a mut W,
    failed: bool,
}

impl<W: Write + ?Sized> Write for WatchedWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf);
        self.failed |= written.is_err();
        written
    }

    fn flush(&mut self) -> io::Result<()> {
        let flushed = self.inner.flush();
        self.failed |= flushed.is_err();
        flushed
    }
}
