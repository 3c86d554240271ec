//! Reading exactly the file that was checked (issue 18): a source file is opened without
//! following a link and without blocking, its handle's metadata is compared with what the walk
//! saw (device, inode, size, modification and change times), and again once it has been read.
//! A file replaced after the walk (by a link to `/etc/shadow`, a FIFO, another file) or
//! changed while it is read ("file changed as we read it", as tar says) is refused instead of
//! giving a package that matches no version of it.
//!
//! Inputs given by name (a package, a blob) are opened the same way and must be regular
//! files: a FIFO or device would otherwise block `open` or `read` forever.

use std::fs::{self, File};
use std::io;
use std::path::Path;

/// What a regular file was when the walk saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileIdentity {
    size: u64,
    modified: Option<std::time::SystemTime>,
    /// Device, inode and change time (seconds, nanoseconds): Unix only.
    unix: Option<(u64, u64, i64, i64)>,
}

impl FileIdentity {
    /// The identity recorded in `meta` (from the walk, or from an open handle).
    pub fn of(meta: &fs::Metadata) -> Self {
        FileIdentity {
            size: meta.len(),
            modified: meta.modified().ok(),
            unix: unix_fields(meta),
        }
    }

    /// Opens `path` for reading (no link followed, no blocking) and checks that the handle
    /// is the regular file with this identity.
    pub(crate) fn open(&self, path: &Path) -> io::Result<File> {
        let file = open_nonblocking(path).map_err(replaced_if_link)?;
        self.check(&file)?;
        Ok(file)
    }

    /// Checks, once the file was read, that it did not change meanwhile.
    pub(crate) fn check_unchanged(&self, file: &File) -> io::Result<()> {
        let now = FileIdentity::of(&file.metadata()?);
        if now != *self {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the file changed as it was read; pack it again once nothing writes to it",
            ));
        }
        Ok(())
    }

    fn check(&self, file: &File) -> io::Result<()> {
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(replaced(
                "by something that is not a regular file (a FIFO or device)",
            ));
        }
        let now = FileIdentity::of(&meta);
        if now.unix.map(|u| (u.0, u.1)) != self.unix.map(|u| (u.0, u.1)) {
            return Err(replaced("by another file"));
        }
        if now != *self {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the file changed after the source folder was read; pack it again once nothing \
                 writes to it",
            ));
        }
        Ok(())
    }
}

fn replaced(how: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the file was replaced {how} after the source folder was read"),
    )
}

/// `open` refuses a link with ELOOP under O_NOFOLLOW: say what happened.
fn replaced_if_link(e: io::Error) -> io::Error {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return replaced("by a symbolic link");
    }
    e
}

/// Opens a file the tool reads by name (a package, a blob): without blocking on a FIFO or
/// device, and refusing anything that is not a regular file.
pub(crate) fn open_regular(path: &Path) -> io::Result<File> {
    let file = open_nonblocking_following(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "a folder, not a file",
        ));
    }
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, socket or device)",
        ));
    }
    Ok(file)
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

#[cfg(unix)]
fn open_nonblocking_following(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    // Windows: a reparse point is not followed when the walk saw a regular file there, and
    // opening a pipe by a file name does not block; the handle's metadata is checked next.
    File::open(path)
}

#[cfg(not(unix))]
fn open_nonblocking_following(path: &Path) -> io::Result<File> {
    File::open(path)
}

#[cfg(unix)]
fn unix_fields(meta: &fs::Metadata) -> Option<(u64, u64, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino(), meta.ctime(), meta.ctime_nsec()))
}

#[cfg(not(unix))]
fn unix_fields(_meta: &fs::Metadata) -> Option<(u64, u64, i64, i64)> {
    None
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::Read;

    fn identity(path: &Path) -> FileIdentity {
        FileIdentity::of(&fs::symlink_metadata(path).unwrap())
    }

    #[test]
    fn the_file_the_walk_saw_opens_and_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        fs::write(&path, b"abc").unwrap();
        let id = identity(&path);
        let mut file = id.open(&path).unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        id.check_unchanged(&file).unwrap();
        assert_eq!(text, "abc");
    }

    #[test]
    fn a_link_swapped_in_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let (path, secret) = (dir.path().join("a"), dir.path().join("secret"));
        fs::write(&path, b"abc").unwrap();
        fs::write(&secret, b"xyz").unwrap();
        let id = identity(&path);
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&secret, &path).unwrap();
        let err = id.open(&path).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    #[test]
    fn a_fifo_swapped_in_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        fs::write(&path, b"abc").unwrap();
        let id = identity(&path);
        fs::remove_file(&path).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let err = id.open(&path).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let err = open_regular(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn another_file_of_the_same_size_and_time_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (path, other) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&path, b"abc").unwrap();
        fs::write(&other, b"xyz").unwrap();
        let id = identity(&path);
        let mtime = filetime::FileTime::from_last_modification_time(&fs::metadata(&path).unwrap());
        filetime::set_file_mtime(&other, mtime).unwrap();
        fs::rename(&other, &path).unwrap();
        let err = id.open(&path).unwrap_err();
        assert!(err.to_string().contains("another file"), "{err}");
    }

    #[test]
    fn a_change_while_reading_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        fs::write(&path, b"abcdef").unwrap();
        let id = identity(&path);
        let file = id.open(&path).unwrap();
        // Same size, written in place (a new change time even if the mtime were reset).
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"XY"))
            .unwrap();
        let err = id.check_unchanged(&file).unwrap_err();
        assert!(err.to_string().contains("changed as it was read"), "{err}");
    }
}
