//! Background threads that create, fill and close extracted files (issue 6), so the file
//! system's work (allocating, copying into the page cache) runs beside decryption and
//! inflation instead of after them. Each file goes to one lane and is written in order; lanes
//! run side by side. The first failure in entry order is kept and reported, as if the files
//! had been written one after another.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::pipeline::read_full;

/// Bytes handed to a lane at a time.
const CHUNK: usize = 1024 * 1024;
/// Chunks that may wait in each lane.
const LANE_DEPTH: usize = 3;

enum Job {
    Create {
        index: usize,
        path: PathBuf,
        entry: String,
    },
    Data(Vec<u8>),
    Close(Option<SystemTime>),
}

/// The first failure, by entry index.
type Failure = Arc<Mutex<Option<(usize, Error)>>>;

/// The lanes and what they share with the thread feeding them.
pub(crate) struct FileWriters {
    lanes: Vec<(SyncSender<Job>, JoinHandle<()>)>,
    next_lane: usize,
    failure: Failure,
    spare: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl FileWriters {
    /// Starts `lanes` writer threads; `origin` names the package in errors.
    pub(crate) fn start(lanes: usize, origin: &Path) -> Result<Self> {
        let failure: Failure = Arc::new(Mutex::new(None));
        let spare = Arc::new(Mutex::new(Vec::new()));
        let mut started = Vec::new();
        for k in 0..lanes.max(1) {
            let (tx, rx) = sync_channel::<Job>(LANE_DEPTH);
            let lane = Lane {
                origin: origin.to_path_buf(),
                failure: failure.clone(),
                spare: spare.clone(),
                current: None,
            };
            let handle = std::thread::Builder::new()
                .name(format!("intunewin-write-{k}"))
                .spawn(move || lane.run(rx))
                .map_err(|e| Error::io("start a writer thread for", origin, e))?;
            started.push((tx, handle));
        }
        Ok(FileWriters {
            lanes: started,
            next_lane: 0,
            failure,
            spare,
        })
    }

    /// Fails if a lane has failed: waits for all of them, so that the failure reported is the
    /// first in entry order.
    pub(crate) fn check(&mut self) -> Result<()> {
        let failed = self.failure.lock().map_or(true, |f| f.is_some());
        if failed { self.finish() } else { Ok(()) }
    }

    /// Creates `path` (which must not exist) for entry number `index` named `entry`, fills it
    /// with all of `data` and sets its modification time, on the next lane. Errors reading
    /// `data` are returned; errors writing are kept for [`finish`](Self::finish).
    pub(crate) fn write_file(
        &mut self,
        index: usize,
        path: &Path,
        entry: &str,
        data: &mut dyn Read,
        time: Option<SystemTime>,
    ) -> io::Result<()> {
        let lane = self.next_lane;
        self.next_lane = (lane + 1) % self.lanes.len();
        self.send(
            lane,
            Job::Create {
                index,
                path: path.to_path_buf(),
                entry: entry.to_string(),
            },
        )?;
        loop {
            let mut buf = self.spare_buffer();
            let n = fill(data, &mut buf)?;
            if n == 0 {
                break;
            }
            self.send(lane, Job::Data(buf))?;
            if n < CHUNK {
                break;
            }
        }
        self.send(lane, Job::Close(time))
    }

    fn spare_buffer(&self) -> Vec<u8> {
        let reused = self.spare.lock().ok().and_then(|mut s| s.pop());
        reused.unwrap_or_else(|| Vec::with_capacity(CHUNK))
    }

    fn send(&self, lane: usize, job: Job) -> io::Result<()> {
        self.lanes[lane]
            .0
            .send(job)
            .map_err(|_| io::Error::other("a writer thread stopped"))
    }

    /// Waits for every lane to finish; returns the first failure in entry order.
    pub(crate) fn finish(&mut self) -> Result<()> {
        for (tx, handle) in self.lanes.drain(..) {
            drop(tx);
            if handle.join().is_err() {
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

/// Fills `buf` with up to [`CHUNK`] bytes of `data` (fewer only at its end) without growing
/// it beyond that, so recycled buffers keep their size; returns the count.
fn fill(data: &mut dyn Read, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.resize(CHUNK, 0);
    let filled = read_full(data, buf)?;
    buf.truncate(filled);
    Ok(filled)
}

/// One writer thread's state.
struct Lane {
    origin: PathBuf,
    failure: Failure,
    spare: Arc<Mutex<Vec<Vec<u8>>>>,
    /// The file being written: its entry index, handle and path.
    current: Option<(usize, File, PathBuf)>,
}

impl Lane {
    fn run(mut self, jobs: std::sync::mpsc::Receiver<Job>) {
        for job in jobs {
            match job {
                Job::Create { index, path, entry } => self.create(index, path, &entry),
                Job::Data(buf) => {
                    self.write(&buf);
                    // Every buffer comes back: allocating new ones while others are freed on
                    // another thread fragments the heap and lets the resident size creep up.
                    if let Ok(mut spare) = self.spare.lock() {
                        spare.push(buf);
                    }
                }
                Job::Close(time) => {
                    if let (Some((_, file, _)), Some(t)) = (self.current.take(), time) {
                        // Best effort: a time that cannot be set does not make the content wrong.
                        let _ = file.set_modified(t);
                    }
                }
            }
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
                        reason: "duplicate entry, or a name that collides with another".into(),
                    },
                    _ => Error::io("create", &path, e),
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
            let error = Error::io("write", path.as_path(), e);
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
            Err(Error::Io { path, .. }) => assert_eq!(path, missing1),
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
