//! Writing outputs so that nothing partial is ever left behind: files through a temporary
//! name renamed on success, extractions through a temporary folder moved into place, and
//! missing parent folders removed again when the operation fails.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::dostime::DosDateTime;
use crate::error::{Error, Result};
use crate::inner_read::{EntryInfo, EntryVisitor};
use crate::landing::{self, refuse_read_only};
use crate::paths::{Rule, split_entry_name};
use crate::writers::{FileWriters, NAME_TAKEN};

/// Threads writing extracted files.
const WRITER_LANES: usize = 2;
/// The folder a path lives in (`.` for a bare name).
pub fn parent_or_dot(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Folders created for an output, removed again by [`undo`](Self::undo) if it fails.
#[derive(Debug, Default)]
pub struct CreatedDirs {
    topmost: Option<PathBuf>,
}

impl CreatedDirs {
    /// Creates `dir` and any missing parents, remembering the topmost one created.
    pub fn create(dir: &Path) -> Result<CreatedDirs> {
        let mut missing = None;
        let mut probe = Some(dir);
        while let Some(p) = probe.filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
            missing = Some(p.to_path_buf());
            probe = p.parent();
        }
        fs::create_dir_all(dir).map_err(|e| Error::write("create the folder", dir, e))?;
        Ok(CreatedDirs { topmost: missing })
    }

    /// Removes the folders this created (they hold nothing of value: the operation failed).
    pub fn undo(self) {
        if let Some(top) = self.topmost {
            let _ = fs::remove_dir_all(top);
        }
    }
}

/// Resolves `path` to an absolute path through its nearest existing ancestor, so that a
/// folder that does not exist yet can still be compared with another canonical path.
pub fn resolve_lexically(path: &Path) -> Result<PathBuf> {
    let absolute = std::path::absolute(path).map_err(|e| Error::io("resolve", path, e))?;
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => break,
        }
    }
    let mut out =
        crate::canonical::canonicalize(existing).map_err(|e| Error::io("resolve", existing, e))?;
    out.extend(rest.iter().rev());
    Ok(out)
}

/// Refuses an output that is the file being read (by any name, hard links included):
/// replacing it would lose the original, `--force` or not.
pub fn refuse_input_as_output(output: &Path, input: &Path) -> Result<()> {
    if same_file(output, input) {
        return Err(Error::OutputConflict {
            path: output.to_path_buf(),
            reason: "it is the file being read".into(),
        });
    }
    Ok(())
}

/// Whether two paths name one existing file: the same device and inode on Unix (hard links
/// included), else the same canonical path.
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    if let (Ok(ma), Ok(mb)) = (fs::metadata(a), fs::metadata(b)) {
        use std::os::unix::fs::MetadataExt;
        return (ma.dev(), ma.ino()) == (mb.dev(), mb.ino());
    }
    use crate::canonical::canonicalize;
    matches!((canonicalize(a), canonicalize(b)), (Ok(x), Ok(y)) if x == y)
}

/// Writes `output` through a temporary file in the same folder, renamed only when `write`
/// succeeds (refusing to replace an existing file unless `overwrite`). A missing output
/// folder is created, and removed again on failure.
pub fn write_atomically<T>(
    output: &Path,
    overwrite: bool,
    write: impl FnOnce(&mut File) -> Result<T>,
) -> Result<T> {
    if !overwrite && output.exists() {
        return Err(Error::OutputExists {
            path: output.to_path_buf(),
        });
    }
    refuse_read_only(output)?;
    let parent = parent_or_dot(output);
    let created = CreatedDirs::create(parent)?;
    let result = write_through_temp(output, parent, overwrite, write);
    if result.is_err() {
        created.undo();
    }
    result
}

fn write_through_temp<T>(
    output: &Path,
    parent: &Path,
    overwrite: bool,
    write: impl FnOnce(&mut File) -> Result<T>,
) -> Result<T> {
    let mut temp = tempfile::Builder::new()
        .prefix(".intunewin-")
        .suffix(".tmp")
        .tempfile_in(crate::canonical::long_path_safe(parent))
        .map_err(|e| Error::write("create", output, e))?;
    let value = write(temp.as_file_mut())?;
    temp.as_file()
        .sync_all()
        .map_err(|e| Error::write("write", output, e))?;
    // Temporary files are private (0600); the output gets ordinary file permissions.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = temp
            .as_file()
            .set_permissions(fs::Permissions::from_mode(0o644));
    }
    // tempfile renames with the paths as given: past MAX_PATH only verbatim ones work.
    let target = crate::canonical::long_path_safe(output);
    let persisted = if overwrite {
        temp.persist(&target)
    } else {
        temp.persist_noclobber(&target)
    };
    persisted.map_err(|e| match e.error.kind() {
        io::ErrorKind::AlreadyExists => Error::OutputExists {
            path: output.to_path_buf(),
        },
        _ => Error::write("move the finished output into place", output, e.error),
    })?;
    Ok(value)
}

/// An extraction into a temporary folder beside the destination, moved into place by
/// [`commit`](Self::commit); dropped without it, the folder and any parent folders it
/// created are removed.
///
/// It is the [`EntryVisitor`] that writes each entry, refusing unsafe names (FORMAT.md §12)
/// and duplicates, and restoring modification times.
pub struct StagedFolder {
    origin: PathBuf,
    dest: PathBuf,
    overwrite: bool,
    temp: Option<tempfile::TempDir>,
    created: Option<CreatedDirs>,
    dirs: Vec<(PathBuf, DosDateTime)>,
    /// Threads writing the files (finished before the folder is moved or removed).
    writers: FileWriters,
    /// Folders made, keyed by the id of the folder holding them (the staging root is 0) and
    /// their name, so each level of a name is hashed once: an entry costs time in proportion
    /// to its name's length, whatever its depth. Files are not tracked: the readers pass
    /// entries through the classifier first, which refuses duplicates and collisions, and the
    /// file system is the backstop (`create_new` in the writer lanes, `mkdir` here).
    folders: HashMap<(u32, Box<str>), u32>,
    entries_seen: usize,
}

impl StagedFolder {
    /// Creates the temporary folder beside `dest` (inside it when it is a mount point or a
    /// file system root, so that landing is a rename). `origin` names the source in errors.
    /// An existing `dest` must be a folder, and is only written into when `overwrite`.
    pub fn new(dest: &Path, overwrite: bool, origin: &Path) -> Result<Self> {
        let existing = existing_folder(dest, overwrite)?;
        let parent = match &existing {
            Some(canonical) => staging_parent(canonical),
            None => parent_or_dot(dest).to_path_buf(),
        };
        let created = CreatedDirs::create(&parent)?;
        let temp = make_temp_dir(&parent, existing.as_deref());
        let started = temp.and_then(|t| Ok((t, FileWriters::start(WRITER_LANES, origin)?)));
        let (temp, writers) = match started {
            Ok(both) => both,
            Err(e) => {
                created.undo();
                return Err(e);
            }
        };
        Ok(StagedFolder {
            origin: origin.to_path_buf(),
            dest: dest.to_path_buf(),
            overwrite,
            temp: Some(temp),
            created: Some(created),
            dirs: Vec::new(),
            writers,
            folders: HashMap::new(),
            entries_seen: 0,
        })
    }

    fn root(&self) -> Result<&Path> {
        self.temp.as_ref().map(|t| t.path()).ok_or(Error::Cancelled)
    }

    /// Sets folder times, then lands the folder: renamed to a destination that does not exist,
    /// or merged into an existing one (only when overwriting was allowed), replacing only the
    /// files the extraction contains and leaving every other file as it is.
    pub fn commit(mut self) -> Result<()> {
        self.finish_writes()?;
        // Folder times last: creating files inside a folder changes its time.
        for (dir, time) in &self.dirs {
            set_mtime(dir, *time);
        }
        let temp = self.temp.take().ok_or(Error::Cancelled)?;
        let result = land(temp, &self.dest, self.overwrite);
        if result.is_ok() {
            self.created = None; // keep the folders: they now hold the destination
        }
        result
    }

    /// Waits until every file is written; returns the first write failure in entry order.
    /// [`commit`](Self::commit) calls it too; call it first to see write failures before
    /// errors found later in the stream, as if files were written one after another.
    pub fn finish_writes(&mut self) -> Result<()> {
        let finished = self.writers.finish();
        finished.map_err(|e| self.at_destination(e))
    }

    /// Creates the folder `dir`, made of the entry's `parts` under the root, and returns its id;
    /// a file already standing where a folder must go means two entries collide, which is the
    /// package's fault, not the disk's. Levels already made are found by (parent id, name), so
    /// no ancestor's path is hashed again, and only the missing levels are made, top down (one
    /// `mkdir` each, where `create_dir_all` would first fail once per missing level).
    fn create_dir(&mut self, info: &EntryInfo, dir: &Path, parts: &[String]) -> Result<u32> {
        let mut id = 0;
        let mut path: Option<PathBuf> = None;
        for (depth, part) in parts.iter().enumerate() {
            let key = (id, Box::<str>::from(part.as_str()));
            if let Some(&next) = self.folders.get(&key) {
                id = next;
                continue;
            }
            let level = path.get_or_insert_with(|| {
                let parent = dir.ancestors().nth(parts.len() - depth).unwrap_or(dir);
                parent.to_path_buf()
            });
            level.push(part);
            fs::create_dir(&*level).map_err(|e| self.dir_error(info, level, e))?;
            // Ids past u32::MAX would need more folders than the entry limit lets through.
            let next = u32::try_from(self.folders.len() + 1).unwrap_or(u32::MAX);
            self.folders.insert(key, next);
            id = next;
        }
        Ok(id)
    }

    fn collision(&self, info: &EntryInfo) -> Error {
        self.unsafe_entry(
            info,
            Some(Rule::NameCollision),
            "a file and a folder of the same name collide".into(),
        )
    }

    /// Why a folder could not be made: a collision, a path too long for this system (named by
    /// the entry, not the temporary folder), or the disk.
    fn dir_error(&self, info: &EntryInfo, dir: &Path, e: io::Error) -> Error {
        match e.kind() {
            io::ErrorKind::AlreadyExists | io::ErrorKind::NotADirectory => self.collision(info),
            io::ErrorKind::InvalidFilename => self.unsafe_entry(
                info,
                None,
                format!("the path is too long to create on this system ({e})"),
            ),
            _ => Error::write("create the folder", dir, e),
        }
    }

    fn unsafe_entry(&self, info: &EntryInfo, rule: Option<Rule>, reason: String) -> Error {
        Error::UnsafePath {
            path: self.origin.clone(),
            entry: info.name.clone(),
            rule,
            reason,
        }
    }
}

impl Drop for StagedFolder {
    fn drop(&mut self) {
        let _ = self.writers.finish();
        drop(self.temp.take());
        if let Some(created) = self.created.take() {
            created.undo();
        }
    }
}

fn set_mtime(path: &Path, time: DosDateTime) {
    if let Some(t) = time.to_system_time() {
        // Best effort: a time that cannot be set does not make the content wrong.
        let _ = filetime::set_file_mtime(path, filetime::FileTime::from_system_time(t));
    }
}

impl StagedFolder {
    /// Writes one entry into the temporary folder (see [`EntryVisitor::entry`]).
    fn stage(&mut self, info: &EntryInfo, data: &mut dyn Read) -> Result<()> {
        self.writers.check()?;
        let index = self.entries_seen;
        self.entries_seen += 1;
        let (parts, is_dir) = split_entry_name(&info.name)
            .map_err(|f| self.unsafe_entry(info, Some(f.rule), f.message))?;
        let mut target = self.root()?.to_path_buf();
        target.extend(&parts);
        if is_dir || info.is_dir {
            self.create_dir(info, &target, &parts)?;
            self.dirs.push((target, info.time));
            return Ok(());
        }
        let Some((file, parents)) = parts.split_last() else {
            return Err(self.unsafe_entry(info, Some(Rule::EmptyComponent), "empty name".into()));
        };
        let parent = match target.parent() {
            Some(dir) => self.create_dir(info, dir, parents)?,
            None => 0,
        };
        let key = (parent, Box::<str>::from(file.as_str()));
        if self.folders.contains_key(&key) {
            return Err(self.unsafe_entry(info, Some(Rule::NameCollision), NAME_TAKEN.into()));
        }
        let time = info.time.to_system_time();
        self.writers
            .write_file(index, &target, &info.name, data, time)
            .map_err(|e| Error::write("write", &target, e))
    }

    /// A write error names where the file was going, not the temporary folder it was in.
    fn at_destination(&self, e: Error) -> Error {
        let Some(temp) = &self.temp else {
            return e;
        };
        match e {
            Error::Write {
                action,
                path: Some(path),
                source,
            } => {
                let path = match path.strip_prefix(temp.path()) {
                    Ok(rel) => self.dest.join(rel),
                    Err(_) => path,
                };
                Error::write(action, path, source)
            }
            e => e,
        }
    }
}

impl EntryVisitor for StagedFolder {
    fn entry(&mut self, info: &EntryInfo, data: &mut dyn Read) -> Result<()> {
        let staged = self.stage(info, data);
        staged.map_err(|e| self.at_destination(e))
    }
}

/// The canonical path of an existing destination folder, `None` when there is none yet;
/// refuses an existing one unless `overwrite`, and anything that is not a folder.
fn existing_folder(dest: &Path, overwrite: bool) -> Result<Option<PathBuf>> {
    let meta = match fs::metadata(dest) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", dest, e)),
    };
    if !overwrite {
        return Err(Error::OutputExists {
            path: dest.to_path_buf(),
        });
    }
    if !meta.is_dir() {
        return Err(Error::OutputConflict {
            path: dest.to_path_buf(),
            reason: "it is not a folder".into(),
        });
    }
    let canonical =
        crate::canonical::canonicalize(dest).map_err(|e| Error::io("resolve", dest, e))?;
    Ok(Some(canonical))
}

/// Where to stage an extraction into the existing folder `dest` (canonical): beside it, so
/// that the folder itself does not change before everything checked out; inside it when it
/// has no parent or is a mount point (renames cannot cross file systems).
fn staging_parent(dest: &Path) -> PathBuf {
    let Some(parent) = dest.parent() else {
        return dest.to_path_buf();
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let device = |p: &Path| fs::metadata(p).map(|m| m.dev()).ok();
        if device(parent).is_none() || device(parent) != device(dest) {
            return dest.to_path_buf();
        }
    }
    parent.to_path_buf()
}

/// The staging folder in `parent`; when `parent` cannot be written (the parent of an existing
/// destination), inside the destination `existing` itself.
fn make_temp_dir(parent: &Path, existing: Option<&Path>) -> Result<tempfile::TempDir> {
    let make = |dir: &Path| {
        tempfile::Builder::new()
            .prefix(".intunewin-extract-")
            .tempdir_in(dir)
    };
    match (make(parent), existing) {
        (Ok(temp), _) => Ok(temp),
        (Err(e), Some(dest)) if e.kind() == io::ErrorKind::PermissionDenied && dest != parent => {
            make(dest).map_err(|e| Error::write("create a temporary folder in", dest, e))
        }
        (Err(e), _) => Err(Error::write("create a temporary folder in", parent, e)),
    }
}

/// Lands the completed temporary folder: renamed to `dest` when there is none, else merged
/// into it when overwriting was allowed.
fn land(temp: tempfile::TempDir, dest: &Path, overwrite: bool) -> Result<()> {
    if let Some(existing) = existing_folder(dest, overwrite)? {
        // The replaced files' backup goes where the staging folder is: the same file system.
        let backup_parent = parent_or_dot(temp.path()).to_path_buf();
        return landing::merge_into(temp.path(), &existing, &backup_parent);
        // `temp` drops here, removing what was not moved (or was moved back).
    }
    let staged = temp.keep();
    if let Err(e) = fs::rename(&staged, dest) {
        let _ = fs::remove_dir_all(&staged);
        return Err(Error::write("rename the extracted folder to", dest, e));
    }
    Ok(())
}
