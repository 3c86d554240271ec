//! Reading ahead: a source read to its end on its own thread while the caller consumes the
//! same bytes through a bounded channel, and filling a buffer from a reader. Used by reading
//! (decryption and hashing beside parsing) and by the output writers.

use std::io;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Size of the chunks [`read_on_thread`] passes on.
const READ_CHUNK: usize = 256 * 1024;
/// Chunks that may wait in a [`read_on_thread`] channel.
const READ_DEPTH: usize = 8;

/// Reads `source` to its end on another thread while `consume` reads the same bytes here,
/// through a bounded channel (as a `BufRead` over the chunks themselves, so nothing is copied
/// into a second buffer): decryption and hashing run beside parsing and inflating.
/// Whatever `consume` leaves unread is drained, so `source` is always read to its end; it is
/// returned with the first error it met, if any.
pub(crate) fn read_on_thread<R, T>(
    source: R,
    consume: impl FnOnce(&mut (dyn io::BufRead + Send)) -> T,
) -> (T, R, io::Result<()>)
where
    R: io::Read + Send,
{
    let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(READ_DEPTH);
    // Spent chunks go back to the producer: no fresh (zeroed, faulted-in) buffer per chunk.
    let (spent_tx, spent_rx) = sync_channel::<Vec<u8>>(READ_DEPTH + 2);
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || {
            let mut source = source;
            let status = pump(&mut source, &tx, &spent_rx);
            (source, status)
        });
        let mut reader = ChannelReader {
            rx,
            spent: spent_tx,
            chunk: Vec::new(),
            pos: 0,
            done: false,
        };
        let value = consume(&mut reader);
        let _ = io::copy(&mut reader, &mut io::sink());
        drop(reader);
        match producer.join() {
            Ok((source, status)) => (value, source, status),
            Err(payload) => std::panic::resume_unwind(payload),
        }
    })
}

/// Sends `source` in chunks until its end or its first error (which is sent too), reusing the
/// chunks that come back through `spent`.
fn pump<R: io::Read>(
    source: &mut R,
    tx: &SyncSender<io::Result<Vec<u8>>>,
    spent: &Receiver<Vec<u8>>,
) -> io::Result<()> {
    loop {
        let mut chunk = spent.try_recv().unwrap_or_default();
        chunk.resize(READ_CHUNK, 0); // zeroes only what a short last chunk left out
        let filled = match read_full(source, &mut chunk) {
            Ok(n) => n,
            Err(e) => {
                let _ = tx.send(Err(duplicate(&e)));
                return Err(e);
            }
        };
        if filled == 0 {
            return Ok(());
        }
        chunk.truncate(filled);
        if tx.send(Ok(chunk)).is_err() {
            return Ok(()); // the reader went away
        }
    }
}

/// Reads until `buf` is full or `source` ends; returns the bytes read (fewer only at the end).
pub(crate) fn read_full<R: io::Read + ?Sized>(source: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A copy of a read error for the other side of the channel, which only needs to stop: the
/// caller reports the original, returned by [`read_on_thread`], before what `consume` made of
/// the copy.
fn duplicate(e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), e.to_string())
}

/// The receiving end of [`read_on_thread`].
struct ChannelReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    spent: SyncSender<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
    done: bool,
}

impl io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = io::BufRead::fill_buf(self)?;
        let n = buf.len().min(available.len());
        buf[..n].copy_from_slice(&available[..n]);
        io::BufRead::consume(self, n);
        Ok(n)
    }
}

impl io::BufRead for ChannelReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.chunk.len() {
            if self.done {
                return Ok(&[]);
            }
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    let spent = std::mem::replace(&mut self.chunk, chunk);
                    let _ = self.spent.try_send(spent);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => self.done = true,
            }
        }
        Ok(&self.chunk[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.chunk.len());
    }
}
