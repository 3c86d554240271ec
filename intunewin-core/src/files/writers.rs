//! Background threads that create, fill and close extracted files (issue 6), so the file
//! system's work (allocating, copying into the page cache) runs beside decryption and
//! inflation instead of after them. Each file goes to one lane, the least busy, and is written
//! in order; lanes run side by side. The first failure in entry order is kept and reported, as
//! if the files had been written one after another.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};
use crate::paths::Rule;
use crate::readahead::read_full;

/// Why an entry whose name is already taken is refused (by staging, and by the writer
/// lanes' `create_new` backstop).
pub(crate) const NAME_TAKEN: &str = "duplicate entry, or a name that collides with another";

/// Bytes handed to a lane at a time.
const CHUNK: usize = 1024 * 1024;
/// Chunks in flight across all lanes: what bounds the memory the writers hold.
const BUFFERS: usize = 8;
/// Jobs that may wait in each lane. Creating and closing a file are small jobs, so a lane can
/// hold many small files while the other writes a large one; data is bounded by [`BUFFERS`].
const LANE_JOBS: usize = 64;
/// What a file's creation counts for when choosing the least busy lane, in bytes.
const CREATE_COST: usize = 32 * 1024;

enum Job {
    Create {
        index: usize,
        path: PathBuf,
        entry: String,
    },
    /// A chunk and how many of its bytes to write.
    Data(Vec<u8>, usize),
    Close(Option<SystemTime>),
}

/// The first failure, by entry index.
type Failure = Arc<Mutex<Option<(usize, Error)>>>;

/// One lane as the feeding thread sees it.
struct LaneHandle {
    jobs: SyncSender<Job>,
    thread: JoinHandle<()>,
    /// Bytes (and [`CREATE_COST`] per file) sent to the lane and not yet written.
    pending: Arc<AtomicUsize>,
}

/// The lanes and what they share with the thread feeding them.
pub(crate) struct FileWriters {
    lanes: Vec<LaneHandle>,
    failure: Failure,
    buffers: Arc<ChunkPool>,
}

impl FileWriters {
    /// Starts `lanes` writer threads; `origin` names the package in errors.
    pub(crate) fn start(lanes: usize, origin: &Path) -> Result<Self> {
        let failure: Failure = Arc::new(Mutex::new(None));
        let buffers = Arc::new(ChunkPool::default());
        let mut started = Vec::new();
        for k in 0..lanes.max(1) {
            let (jobs, rx) = sync_channel::<Job>(LANE_JOBS);
            let pending = Arc::new(AtomicUsize::new(0));
            let lane = Lane {
                origin: origin.to_path_buf(),
                failure: failure.clone(),
                buffers: buffers.clone(),
                pending: pending.clone(),
                current: None,
            };
            let thread = std::thread::Builder::new()
                .name(format!("intunewin-write-{k}"))
                .spawn(move || lane.run(rx))
                .map_err(|e| Error::io("start a writer thread for", origin, e))?;
            started.push(LaneHandle {
                jobs,
                thread,
                pending,
            });
        }
        Ok(FileWriters {
            lanes: started,
            failure,
            buffers,
        })
    }

    /// Fails if a lane has failed: waits for all of them, so that the failure reported is the
    /// first in entry order.
    pub(crate) fn check(&mut self) -> Result<()> {
        let failed = self.failure.lock().map_or(true, |f| f.is_some());
        if failed { self.finish() } else { Ok(()) }
    }

    /// Creates `path` (which must not exist) for entry number `index` named `entry`, fills it
    /// with all of `data` and sets its modification time, on the least busy lane. Errors
    /// reading `data` are returned; errors writing are kept for [`finish`](Self::finish).
    pub(crate) fn write_file(
        &mut self,
        index: usize,
        path: &Path,
        entry: &str,
        data: &mut dyn Read,
        time: Option<SystemTime>,
    ) -> io::Result<()> {
        let lane = self.least_busy_lane();
        let create = Job::Create {
            index,
            path: path.to_path_buf(),
            entry: entry.to_string(),
        };
        self.send(lane, create, CREATE_COST)?;
        loop {
            let mut buf = self.take_buffer()?;
            let n = read_full(data, &mut buf)?;
            if n == 0 {
                self.buffers.give(buf);
                break;
            }
            self.send(lane, Job::Data(buf, n), n)?;
            if n < CHUNK {
                break;
            }
        }
        self.send(lane, Job::Close(time), 0)
    }

    fn least_busy_lane(&self) -> usize {
        let load = |k: &usize| self.lanes[*k].pending.load(Ordering::Relaxed);
        (0..self.lanes.len()).min_by_key(load).unwrap_or(0)
    }

    /// A free chunk, waiting while all are in flight; fails if a lane thread has died (it
    /// would never give its chunks back).
    fn take_buffer(&self) -> io::Result<Vec<u8>> {
        loop {
            if let Some(buf) = self.buffers.take(Duration::from_millis(100)) {
                return Ok(buf);
            }
            if self.lanes.iter().any(|l| l.thread.is_finished()) {
                return Err(stopped());
            }
        }
    }

    fn send(&self, lane: usize, job: Job, cost: usize) -> io::Result<()> {
        let lane = &self.lanes[lane];
        lane.pending.fetch_add(cost, Ordering::Relaxed);
        lane.jobs.send(job).map_err(|_| stopped())
    }

    /// Waits for every lane to finish; returns the first failure in entry order.
    pub(crate) fn finish(&mut self) -> Result<()> {
        for lane in self.lanes.drain(..) {
            drop(lane.jobs);
            if lane.thread.join().is_err() {
                return Err(Error::io(
                    "write",
                    Path::new("extracted files"),
                    io::Error::other("a writer thread panicked"),
                ));
            }
        }
        match self.failure.lock().ok().and_then(|mut f| f.take()) {
            Some((_, error)) => Err(error),
            None => Ok(()),
        }
    }
}

impl Drop for FileWriters {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

fn stopped() -> io::Error {
    io::Error::other("a writer thread stopped")
}

/// At most [`BUFFERS`] chunks of [`CHUNK`] bytes, made on first use and recycled: every chunk
/// comes back, so no chunk is zeroed or faulted in twice, and none is freed on another thread
/// (which fragments the heap and lets the resident size creep up).
#[derive(Default)]
struct ChunkPool {
    state: Mutex<PoolState>,
    returned: Condvar,
}

#[derive(Default)]
struct PoolState {
    free: Vec<Vec<u8>>,
    made: usize,
}

impl ChunkPool {
    /// A chunk of length [`CHUNK`], or `None` if none came back within `wait`.
    fn take(&self, wait: Duration) -> Option<Vec<u8>> {
        let mut state = self.state.lock().ok()?;
        loop {
            if let Some(buf) = state.free.pop() {
                return Some(buf);
            }
            if state.made < BUFFERS {
                state.made += 1;
                return Some(vec![0; CHUNK]);
            }
            let (next, timeout) = self.returned.wait_timeout(state, wait).ok()?;
            state = next;
            if timeout.timed_out() && state.free.is_empty() {
                return None;
            }
        }
    }

    fn give(&self, buf: Vec<u8>) {
        if let Ok(mut state) = self.state.lock() {
            state.free.push(buf);
            self.returned.notify_one();
        }
    }
}

/// One writer thread's state.
struct Lane {
    origin: PathBuf,
    failure: Failure,
    buffers: Arc<ChunkPool>,
    pending: Arc<AtomicUsize>,
    /// The file being written: its entry index, handle and path.
    current: Option<(usize, File, PathBuf)>,
}

impl Lane {
    fn run(mut self, jobs: Receiver<Job>) {
        for job in jobs {
            let cost = match job {
                Job::Create { index, path, entry } => {
                    self.create(index, path, &entry);
                    CREATE_COST
                }
                Job::Data(buf, n) => {
                    self.write(&buf[..n]);
                    self.buffers.give(buf);
                    n
                }
                Job::Close(time) => {
                    if let (Some((_, file, _)), Some(t)) = (self.current.take(), time) {
                        // Best effort: a time that cannot be set does not make the content wrong.
                        let _ = file.set_modified(t);
                    }
                    0
                }
            };
            self.pending.fetch_sub(cost, Ordering::Relaxed);
        }
    }

    fn create(&mut self, index: usize, path: PathBuf, entry: &str) {
        // create_new: a duplicate or case-colliding name fails instead of overwriting.
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => self.current = Some((index, file, path)),
            Err(e) => {
                self.current = None;
                let error = match e.kind() {
                    io::ErrorKind::AlreadyExists => Error::UnsafePath {
                        path: self.origin.clone(),
                        entry: entry.to_string(),
                        rule: Some(Rule::NameCollision),
                        reason: NAME_TAKEN.into(),
                    },
                    _ => Error::write("create", &path, e),
                };
                self.fail(index, error);
            }
        }
    }

    fn write(&mut self, buf: &[u8]) {
        let Some((index, file, path)) = &mut self.current else {
            return; // the file could not be created; that failure is recorded
        };
        if let Err(e) = file.write_all(buf) {
            let error = Error::write("write", path.as_path(), e);
            let index = *index;
            self.current = None;
            self.fail(index, error);
        }
    }

    fn fail(&self, index: usize, error: Error) {
        if let Ok(mut first) = self.failure.lock()
            && first.as_ref().is_none_or(|(i, _)| index < *i)
        {
            *first = Some((index, error));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn files_get_their_bytes_and_times_across_lanes() {
        let dir = tempfile::tempdir().unwrap();
        let mut writers = FileWriters::start(2, Path::new("pkg")).unwrap();
        let big: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        let time = UNIX_EPOCH + Duration::from_secs(1_600_000_000);
        let files = [("a", &big[..]), ("b", &b"small"[..]), ("c", &[][..])];
        for (i, (name, data)) in files.iter().enumerate() {
            let path = dir.path().join(name);
            writers
                .write_file(i, &path, name, &mut &data[..], Some(time))
                .unwrap();
        }
        writers.finish().unwrap();
        for (name, data) in files {
            let path = dir.path().join(name);
            assert_eq!(std::fs::read(&path).unwrap(), data, "{name}");
            let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
            assert_eq!(modified, time, "{name}");
        }
    }

    #[test]
    fn more_chunks_than_the_pool_holds_all_arrive() {
        // A file of 2.5x the pool's chunks, then many small files: the feeder waits for chunks
        // to come back, the small files go to whichever lane is less busy.
        let dir = tempfile::tempdir().unwrap();
        let mut writers = FileWriters::start(2, Path::new("pkg")).unwrap();
        let big: Vec<u8> = (0..BUFFERS * CHUNK * 5 / 2)
            .map(|i| (i % 253) as u8)
            .collect();
        writers
            .write_file(0, &dir.path().join("big"), "big", &mut &big[..], None)
            .unwrap();
        for i in 1..200 {
            let body = format!("file {i}");
            let path = dir.path().join(format!("f{i}"));
            writers
                .write_file(i, &path, "f", &mut body.as_bytes(), None)
                .unwrap();
        }
        let pending: Vec<_> = writers.lanes.iter().map(|l| l.pending.clone()).collect();
        writers.finish().unwrap();
        assert!(pending.iter().all(|p| p.load(Ordering::Relaxed) == 0));
        assert!(std::fs::read(dir.path().join("big")).unwrap() == big);
        for i in 1..200 {
            let got = std::fs::read_to_string(dir.path().join(format!("f{i}"))).unwrap();
            assert_eq!(got, format!("file {i}"));
        }
        let made = writers.buffers.state.lock().unwrap().made;
        assert!(made <= BUFFERS, "{made} chunks made");
    }

    #[test]
    fn an_existing_name_is_an_unsafe_entry() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("taken"), b"x").unwrap();
        let mut writers = FileWriters::start(1, Path::new("pkg")).unwrap();
        let path = dir.path().join("taken");
        writers
            .write_file(0, &path, "taken", &mut &b"new"[..], None)
            .unwrap();
        match writers.finish() {
            Err(Error::UnsafePath { entry, .. }) => assert_eq!(entry, "taken"),
            other => panic!("{other:?}"),
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"x", "not overwritten");
    }

    #[test]
    fn the_first_failure_in_entry_order_wins() {
        let dir = tempfile::tempdir().unwrap();
        let mut writers = FileWriters::start(2, Path::new("pkg")).unwrap();
        // Entry 0 (lane 0) succeeds, entries 1 and 2 (lanes 1 and 0) cannot be created.
        let ok = dir.path().join("ok");
        let missing1 = dir.path().join("no-such-folder").join("one");
        let missing2 = dir.path().join("no-such-folder").join("two");
        writers
            .write_file(0, &ok, "ok", &mut &b"1"[..], None)
            .unwrap();
        writers
            .write_file(1, &missing1, "one", &mut &b"2"[..], None)
            .unwrap();
        writers
            .write_file(2, &missing2, "two", &mut &b"3"[..], None)
            .unwrap();
        match writers.finish() {
            Err(Error::Write { path, .. }) => assert_eq!(path.as_ref(), Some(&missing1)),
            other => panic!("{other:?}"),
        }
        // Once a lane failed, check() reports it (after waiting for all lanes).
        let mut writers = FileWriters::start(2, Path::new("pkg")).unwrap();
        writers
            .write_file(0, &missing1, "one", &mut &b"2"[..], None)
            .unwrap();
        while writers.failure.lock().unwrap().is_none() {
            std::thread::yield_now();
        }
        assert!(writers.check().is_err());
    }
}
