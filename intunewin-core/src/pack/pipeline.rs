//! The packing pipeline's threads (issue 6): files are compressed by a pool of workers while
//! the inner zip is written in order, and encryption runs on its own thread behind a bounded
//! channel. Memory stays bounded: workers never run more than a window of files or a byte
//! budget ahead of the writer, and the channel holds a few fixed-size chunks.

use std::collections::HashMap;
use std::io::{self, Seek, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Condvar, Mutex};

use sha2::{Digest, Sha256};

use crate::content::seal::{ContentWriter, SealedContent};
use crate::crypto::Keys;
use crate::error::{Error, Result};
use crate::identity::FileIdentity;
use crate::inner_write::{Compressed, Compressor, compress_open, deflate_open};
use crate::progress::CancelFlag;

/// Files up to this size are compressed (or, when they do not compress, kept) whole in memory
/// so their local header carries the exact CRC and sizes, as the real tool writes them. Larger
/// files are deflated in pieces of this size, read once, with a data descriptor (FORMAT.md
/// §5.3): holding multi-MiB files whole would cost memory without saving a read.
pub const IN_MEMORY_LIMIT: u64 = 2 * 1024 * 1024;

/// Size of the plaintext chunks sent to the encryption thread.
const CHUNK: usize = 1024 * 1024;
/// Chunks that may wait in the channel.
const CHANNEL_DEPTH: usize = 4;
/// Source bytes the workers may hold compressed ahead of the writer.
const AHEAD_BUDGET: u64 = 12 * 1024 * 1024;
/// Capacity of the compression pool's buffers: a whole in-memory file or piece, stored or
/// deflated (deflate adds at most a few bytes per 16 KiB), with room to spare.
const BUFFER_CAPACITY: usize = IN_MEMORY_LIMIT as usize + IN_MEMORY_LIMIT as usize / 1024 + 8192;

/// A `Write` that hands fixed-size chunks to another thread. Call [`close`](Self::close).
pub(crate) struct ChannelWriter {
    tx: Option<SyncSender<Vec<u8>>>,
    /// Chunks the encryption thread is done with, for reuse.
    spent: Receiver<Vec<u8>>,
    buf: Vec<u8>,
    /// SHA-256 of everything sent, computed here to spread the work over two threads.
    digest: Sha256,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        let next = self
            .spent
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let chunk = std::mem::replace(&mut self.buf, next);
        self.digest.update(&chunk);
        let tx = self.tx.as_ref().ok_or_else(stopped)?;
        tx.send(chunk).map_err(|_| stopped())
    }

    /// Sends what is buffered and ends the stream; returns the SHA-256 of all it sent.
    pub(crate) fn close(mut self) -> io::Result<[u8; 32]> {
        if !self.buf.is_empty() {
            self.send()?;
        }
        self.tx = None;
        Ok(std::mem::take(&mut self.digest).finalize().into())
    }
}

fn stopped() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the encryption thread stopped")
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `produce` with a writer whose bytes are sealed on another thread into `out` (MAC ‖ IV ‖
/// ciphertext, from `out`'s position). `produce` must [`close`](ChannelWriter::close) the writer
/// and return its digest with its value. Returns that value and what was sealed; the first
/// error of either side wins, preferring the encryption side's (a full disk shows up there),
/// which `out_err` names.
pub(crate) fn with_encryption_thread<W, T>(
    out: &mut W,
    keys: &Keys,
    out_err: impl Fn(io::Error) -> Error,
    produce: impl FnOnce(ChannelWriter) -> Result<(T, [u8; 32])>,
) -> Result<(T, SealedContent)>
where
    W: Write + Seek + Send,
{
    let (tx, rx) = sync_channel::<Vec<u8>>(CHANNEL_DEPTH);
    let (spent_tx, spent) = sync_channel::<Vec<u8>>(CHANNEL_DEPTH + 2);
    std::thread::scope(|scope| {
        let crypto = scope.spawn(move || -> io::Result<SealedContent> {
            let mut content = ContentWriter::new_unhashed(out, keys)?;
            for mut chunk in rx {
                content.write_all(&chunk)?;
                chunk.clear();
                let _ = spent_tx.try_send(chunk); // freed here only if the pool is full
            }
            Ok(content.finish()?.1)
        });
        let writer = ChannelWriter {
            tx: Some(tx),
            spent,
            buf: Vec::with_capacity(CHUNK),
            digest: Sha256::new(),
        };
        let produced = produce(writer);
        let sealed = crypto
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the encryption thread panicked")));
        match (produced, sealed) {
            (_, Err(e)) => Err(out_err(e)),
            (Err(e), Ok(_)) => Err(e),
            (Ok((t, digest)), Ok(s)) => Ok((t, s.file_digest(digest))),
        }
    })
}

/// One file, or one piece of a large file, for the compression pool.
pub(crate) struct Job<'a> {
    /// File to read, borrowed from the pack plan (a copy per job cost ~64 bytes per file).
    pub path: &'a Path,
    /// What the walk saw there: the file read must be that one, unchanged.
    pub identity: &'a FileIdentity,
    /// Bytes to compress: the whole file's size, or the piece's length.
    pub size: u64,
    /// For a piece of a large file: its offset and whether it is the last one.
    pub piece: Option<(u64, bool)>,
}

struct Slots {
    ready: HashMap<usize, Result<Compressed>>,
    /// Index of the next result the writer will take.
    consumed: usize,
    /// Source bytes claimed by workers and not yet taken by the writer.
    ahead: u64,
    stop: bool,
}

/// Output buffers handed back by the writer for reuse. Recycling the few multi-MiB buffers in
/// flight keeps peak memory flat: freeing and reallocating them across threads fragments the
/// allocator's heap and lets the resident size creep up.
pub(crate) struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
    keep: usize,
}

impl BufferPool {
    /// A buffer from the pool, or a new one big enough for any job's output, so that buffers
    /// are interchangeable and never reallocated.
    fn take(&self) -> Vec<u8> {
        self.free
            .lock()
            .ok()
            .and_then(|mut f| f.pop())
            .unwrap_or_else(|| Vec::with_capacity(BUFFER_CAPACITY))
    }

    /// Returns a buffer for reuse.
    pub(crate) fn give(&self, mut buf: Vec<u8>) {
        buf.clear();
        if let Ok(mut free) = self.free.lock()
            && free.len() < self.keep
        {
            free.push(buf);
        }
    }
}

/// Compresses `jobs` on `threads` workers while `consume` takes the results in order through
/// the `next` function it is given, handing each output buffer back to the pool when written.
pub(crate) fn with_compression_pool<T>(
    jobs: &[Job<'_>],
    compressor: &Compressor,
    threads: usize,
    cancel: &CancelFlag,
    consume: impl FnOnce(&mut dyn FnMut() -> Result<Compressed>, &BufferPool) -> T,
) -> T {
    let window = threads * 4;
    // Every buffer that can be in flight at once is kept for reuse: freeing multi-MiB buffers
    // and allocating new ones fragments the heap and lets the resident size creep up.
    let pool = BufferPool {
        free: Mutex::new(Vec::new()),
        keep: window + threads,
    };
    let state = (
        Mutex::new(Slots {
            ready: HashMap::new(),
            consumed: 0,
            ahead: 0,
            stop: false,
        }),
        Condvar::new(),
    );
    let claim = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| worker(jobs, compressor, cancel, &state, &claim, window, &pool));
        }
        let mut taken = 0usize;
        let mut next = || -> Result<Compressed> {
            let (lock, cvar) = &state;
            let mut slots = lock.lock().map_err(|_| poisoned(jobs, taken))?;
            loop {
                if let Some(result) = slots.ready.remove(&taken) {
                    slots.consumed = taken + 1;
                    slots.ahead -= jobs[taken].size;
                    taken += 1;
                    cvar.notify_all();
                    return result;
                }
                slots = cvar.wait(slots).map_err(|_| poisoned(jobs, taken))?;
            }
        };
        let out = consume(&mut next, &pool);
        if let Ok(mut slots) = state.0.lock() {
            slots.stop = true;
        }
        state.1.notify_all();
        out
    })
}

/// The error for job `k` when a compression worker panicked.
fn poisoned(jobs: &[Job<'_>], k: usize) -> Error {
    let path = jobs.get(k).map_or(Path::new(""), |job| job.path);
    Error::io(
        "read",
        path,
        io::Error::other("a compression worker panicked"),
    )
}

fn worker(
    jobs: &[Job<'_>],
    compressor: &Compressor,
    cancel: &CancelFlag,
    state: &(Mutex<Slots>, Condvar),
    claim: &AtomicUsize,
    window: usize,
    pool: &BufferPool,
) {
    let (lock, cvar) = state;
    let mut raw = Vec::new(); // a piece's source bytes, reused
    loop {
        let k = claim.fetch_add(1, Ordering::SeqCst);
        let Some(job) = jobs.get(k) else { return };
        {
            let Ok(mut slots) = lock.lock() else { return };
            // Wait while too far ahead; the job the writer needs next always proceeds.
            while !slots.stop
                && k != slots.consumed
                && (k >= slots.consumed + window || slots.ahead + job.size > AHEAD_BUDGET)
            {
                let Ok(s) = cvar.wait(slots) else { return };
                slots = s;
            }
            if slots.stop {
                return;
            }
            slots.ahead += job.size;
        }
        let result = if cancel.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            compress_job(job, compressor, &mut raw, pool.take())
                .map_err(|e| Error::io("read", job.path, e))
        };
        let Ok(mut slots) = lock.lock() else { return };
        slots.ready.insert(k, result);
        cvar.notify_all();
    }
}

/// Compresses a job's file or piece, reading exactly the file the walk saw, unchanged
/// (see [`FileIdentity`]).
fn compress_job(
    job: &Job<'_>,
    compressor: &Compressor,
    raw: &mut Vec<u8>,
    buf: Vec<u8>,
) -> io::Result<Compressed> {
    let mut file = job.identity.open(job.path)?;
    let compressed = match job.piece {
        None => compress_open(&mut file, job.size, compressor, buf)?,
        Some((offset, last)) => {
            deflate_open(&mut file, (offset, job.size, last), compressor, raw, buf)?
        }
    };
    job.identity.check_unchanged(&file)?;
    Ok(compressed)
}
