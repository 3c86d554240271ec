//! Landing a finished extraction in an existing folder (`extract --force`), as `unzip -o` and
//! `tar -x` do: the files the package contains replace the ones of the same name, and nothing
//! else in the folder is touched.
//!
//! The staged tree is compared with the destination first; a folder where the package has a
//! file (or a file, link or special file where it has a folder) is refused before anything
//! moves, since replacing it would delete what the package does not contain. Then each new
//! path is renamed into place and each replaced file is first moved aside into a backup
//! folder. If a rename fails midway, everything done so far is undone in reverse order and the
//! old files are put back; they are deleted only once every rename succeeded.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One rename of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// A path the destination lacks (a file, or a whole folder): moved in.
    Add { staged: PathBuf, dest: PathBuf },
    /// A file (or link) the destination has: moved aside, then replaced.
    Replace { staged: PathBuf, dest: PathBuf },
}

/// A rename done, remembered so that it can be undone.
enum Done {
    Added {
        staged: PathBuf,
        dest: PathBuf,
    },
    Replaced {
        staged: PathBuf,
        dest: PathBuf,
        old: PathBuf,
    },
}

/// Moves the tree at `staged` into the existing folder `dest`, replacing only the files it
/// contains. `backup_parent` receives a temporary folder for the replaced files (it must be
/// on `dest`'s file system).
pub(crate) fn merge_into(staged: &Path, dest: &Path, backup_parent: &Path) -> Result<()> {
    let mut steps = Vec::new();
    plan(staged, dest, &mut steps)?;
    if steps.is_empty() {
        return Ok(());
    }
    let backup = tempfile::Builder::new()
        .prefix(".intunewin-old-")
        .tempdir_in(backup_parent)
        .map_err(|e| Error::write("create a temporary folder in", backup_parent, e))?;
    let result = apply(&steps, backup.path(), &mut |from, to| fs::rename(from, to));
    if matches!(result, Err(Error::RestoreFailed { .. })) {
        // Old files that could not be put back stay where the error says they are.
        let _ = backup.keep();
    }
    // Otherwise `backup` drops here: the replaced files go only once everything is in place.
    result
}

/// Compares the staged folder `staged` with the destination folder `dest`, adding the renames
/// that land it; refuses (changing nothing) where a rename would delete something.
fn plan(staged: &Path, dest: &Path, steps: &mut Vec<Step>) -> Result<()> {
    for child in sorted_children(staged)? {
        let name = child.file_name();
        let (from, to) = (staged.join(&name), dest.join(&name));
        let new_is_dir = child
            .file_type()
            .map_err(|e| Error::io("read", &from, e))?
            .is_dir();
        let existing = match fs::symlink_metadata(&to) {
            Ok(meta) => meta.file_type(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                steps.push(Step::Add {
                    staged: from,
                    dest: to,
                });
                continue;
            }
            Err(e) => return Err(Error::io("read", &to, e)),
        };
        match (
            new_is_dir,
            existing.is_dir(),
            existing.is_file() || existing.is_symlink(),
        ) {
            (true, true, _) => plan(&from, &to, steps)?,
            (false, false, true) => {
                refuse_read_only(&to)?;
                steps.push(Step::Replace {
                    staged: from,
                    dest: to,
                });
            }
            (true, _, _) => return Err(conflict(&to, "the package has a folder there")),
            (false, true, _) => return Err(conflict(&to, "the package has a file there")),
            (false, false, false) => {
                return Err(conflict(&to, "it is a special file, not a regular file"));
            }
        }
    }
    Ok(())
}

fn conflict(path: &Path, why: &str) -> Error {
    Error::OutputConflict {
        path: path.to_path_buf(),
        reason: why.to_owned(),
    }
}

/// The entries of a staged folder in name order (the plan is the same on every run).
fn sorted_children(dir: &Path) -> Result<Vec<fs::DirEntry>> {
    let read = fs::read_dir(dir).map_err(|e| Error::io("read the folder", dir, e))?;
    let mut children = read
        .collect::<io::Result<Vec<_>>>()
        .map_err(|e| Error::io("read the folder", dir, e))?;
    children.sort_by_key(|c| c.file_name());
    Ok(children)
}

/// Runs the renames; on the first failure undoes the ones done, newest first.
fn apply(
    steps: &[Step],
    backup: &Path,
    rename: &mut dyn FnMut(&Path, &Path) -> io::Result<()>,
) -> Result<()> {
    let mut done = Vec::with_capacity(steps.len());
    for (index, step) in steps.iter().enumerate() {
        if let Err(error) = run_step(step, index, backup, rename, &mut done) {
            return Err(match undo(done, rename) {
                Ok(()) => error,
                Err(unrestored) => Error::RestoreFailed {
                    path: unrestored,
                    backup: backup.to_path_buf(),
                    cause: error.to_string(),
                },
            });
        }
    }
    Ok(())
}

fn run_step(
    step: &Step,
    index: usize,
    backup: &Path,
    rename: &mut dyn FnMut(&Path, &Path) -> io::Result<()>,
    done: &mut Vec<Done>,
) -> Result<()> {
    match step {
        Step::Add { staged, dest } => {
            rename(staged, dest)
                .map_err(|e| Error::write("move the new file into place", dest, e))?;
            done.push(Done::Added {
                staged: staged.clone(),
                dest: dest.clone(),
            });
        }
        Step::Replace { staged, dest } => {
            let old = backup.join(index.to_string());
            rename(dest, &old).map_err(|e| Error::write("move the old file aside", dest, e))?;
            if let Err(e) = rename(staged, dest) {
                // Put this one back before the earlier steps are undone.
                rename(&old, dest).map_err(|_| Error::RestoreFailed {
                    path: dest.clone(),
                    backup: backup.to_path_buf(),
                    cause: e.to_string(),
                })?;
                return Err(Error::write("replace", dest, e));
            }
            done.push(Done::Replaced {
                staged: staged.clone(),
                dest: dest.clone(),
                old,
            });
        }
    }
    Ok(())
}

/// Undoes renames newest first; returns the first path that could not be restored.
fn undo(
    done: Vec<Done>,
    rename: &mut dyn FnMut(&Path, &Path) -> io::Result<()>,
) -> std::result::Result<(), PathBuf> {
    let mut first_failure = None;
    for step in done.into_iter().rev() {
        let restored = match &step {
            Done::Added { staged, dest } => rename(dest, staged),
            Done::Replaced { staged, dest, old } => {
                rename(dest, staged).and_then(|()| rename(old, dest))
            }
        };
        if restored.is_err() && first_failure.is_none() {
            first_failure = Some(match step {
                Done::Added { dest, .. } | Done::Replaced { dest, .. } => dest,
            });
        }
    }
    first_failure.map_or(Ok(()), Err)
}

/// Refuses to replace a read-only file at `path` (a link is replaced, not followed, so only a
/// regular file counts): its owner protected it, and `--force` replaces what the command
/// writes, not what the user locked. Windows would refuse the rename too, Unix would not.
pub(crate) fn refuse_read_only(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() && meta.permissions().readonly() => Err(Error::OutputConflict {
            path: path.to_path_buf(),
            reason: "it is read-only; make it writable to replace it".into(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Every file under `dir` with its content (folders as `name/`).
    fn snapshot(dir: &Path) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                let rel = p
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                if p.is_dir() {
                    out.insert(format!("{rel}/"), String::new());
                    stack.push(p);
                } else {
                    out.insert(rel, fs::read_to_string(&p).unwrap());
                }
            }
        }
        out
    }

    fn write(root: &Path, files: &[(&str, &str)]) {
        for (name, body) in files {
            let p = root.join(name);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, body).unwrap();
        }
    }

    /// A destination with files of its own and a staged tree overlapping it.
    fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("dest");
        let staged = tmp.path().join("staged");
        write(
            &dest,
            &[
                ("keep.txt", "mine"),
                ("a.txt", "old a"),
                ("sub/b.txt", "old b"),
                ("sub/mine.txt", "mine too"),
            ],
        );
        write(
            &staged,
            &[
                ("a.txt", "new a"),
                ("sub/b.txt", "new b"),
                ("sub/c.txt", "new c"),
                ("new/d.txt", "new d"),
            ],
        );
        (tmp, dest, staged)
    }

    #[test]
    fn replaces_only_the_files_the_package_contains() {
        let (tmp, dest, staged) = setup();
        merge_into(&staged, &dest, tmp.path()).unwrap();
        let after = snapshot(&dest);
        let expect: BTreeMap<String, String> = [
            ("a.txt", "new a"),
            ("keep.txt", "mine"),
            ("new/", ""),
            ("new/d.txt", "new d"),
            ("sub/", ""),
            ("sub/b.txt", "new b"),
            ("sub/c.txt", "new c"),
            ("sub/mine.txt", "mine too"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(after, expect);
        // The backup folder is gone once everything is in place.
        let leftovers: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".intunewin-old-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_failed_rename_at_any_step_puts_everything_back() {
        let (tmp, dest, staged) = setup();
        let mut steps = Vec::new();
        plan(&staged, &dest, &mut steps).unwrap();
        // a.txt (replace: 2 renames), new/ (add: 1), sub/b.txt (replace: 2), sub/c.txt (add: 1)
        assert_eq!(steps.len(), 4);
        let before_dest = snapshot(&dest);
        let before_staged = snapshot(&staged);
        for fail_at in 0..6 {
            let backup = tempfile::tempdir_in(tmp.path()).unwrap();
            let mut calls = 0;
            let mut rename = |from: &Path, to: &Path| {
                calls += 1;
                if calls == fail_at + 1 {
                    return Err(io::Error::other("injected"));
                }
                fs::rename(from, to)
            };
            let err = apply(&steps, backup.path(), &mut rename).unwrap_err();
            assert!(
                matches!(err, Error::Write { .. }),
                "step {fail_at}: {err:?}"
            );
            assert_eq!(
                snapshot(&dest),
                before_dest,
                "dest after failing rename {fail_at}"
            );
            assert_eq!(snapshot(&staged), before_staged, "staged after {fail_at}");
            assert!(snapshot(backup.path()).is_empty(), "backup after {fail_at}");
        }
    }

    #[test]
    fn an_undo_that_fails_names_the_path_and_keeps_the_backup() {
        let (tmp, dest, staged) = setup();
        let mut steps = Vec::new();
        plan(&staged, &dest, &mut steps).unwrap();
        let backup = tempfile::tempdir_in(tmp.path()).unwrap();
        let mut calls = 0;
        // Renames 1-2 replace a.txt, 3 fails (new/), then every undo fails too.
        let mut rename = |from: &Path, to: &Path| {
            calls += 1;
            if calls >= 3 {
                return Err(io::Error::other("injected"));
            }
            fs::rename(from, to)
        };
        let err = apply(&steps, backup.path(), &mut rename).unwrap_err();
        match err {
            Error::RestoreFailed {
                path, backup: kept, ..
            } => {
                assert_eq!(path, dest.join("a.txt"));
                assert_eq!(kept, backup.path());
            }
            other => panic!("{other:?}"),
        }
        // The old a.txt is still there to be recovered by hand.
        assert_eq!(
            fs::read_to_string(backup.path().join("0")).unwrap(),
            "old a"
        );
    }

    #[test]
    fn a_folder_where_the_package_has_a_file_is_refused_before_anything_moves() {
        let (tmp, dest, staged) = setup();
        fs::create_dir(dest.join("x")).unwrap();
        write(&dest, &[("x/inside.txt", "mine")]);
        write(&staged, &[("x", "a file")]);
        let before = snapshot(&dest);
        let err = merge_into(&staged, &dest, tmp.path()).unwrap_err();
        assert!(matches!(err, Error::OutputConflict { ref path, .. } if *path == dest.join("x")));
        assert_eq!(snapshot(&dest), before);
    }

    #[test]
    fn a_file_where_the_package_has_a_folder_is_refused() {
        let (tmp, dest, staged) = setup();
        write(&dest, &[("new", "my file called new")]);
        let before = snapshot(&dest);
        let err = merge_into(&staged, &dest, tmp.path()).unwrap_err();
        assert!(matches!(err, Error::OutputConflict { ref path, .. } if *path == dest.join("new")));
        assert_eq!(snapshot(&dest), before);
    }

    #[test]
    fn a_read_only_file_the_package_contains_is_refused_before_anything_moves() {
        let (tmp, dest, staged) = setup();
        let locked = dest.join("sub/b.txt");
        let mut perms = fs::metadata(&locked).unwrap().permissions();
        perms.set_readonly(true);
        fs::set_permissions(&locked, perms).unwrap();
        let before = snapshot(&dest);
        let err = merge_into(&staged, &dest, tmp.path()).unwrap_err();
        assert!(matches!(err, Error::OutputConflict { ref path, .. } if *path == locked));
        assert_eq!(snapshot(&dest), before);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_a_folder_is_not_written_through() {
        let (tmp, dest, staged) = setup();
        let outside = tmp.path().join("outside");
        fs::create_dir(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, dest.join("new")).unwrap();
        let err = merge_into(&staged, &dest, tmp.path()).unwrap_err();
        assert!(matches!(err, Error::OutputConflict { .. }), "{err:?}");
        assert!(snapshot(&outside).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_link_where_the_package_has_a_file_is_replaced_not_followed() {
        let (tmp, dest, staged) = setup();
        let outside = tmp.path().join("outside.txt");
        fs::write(&outside, "not yours").unwrap();
        fs::remove_file(dest.join("a.txt")).unwrap();
        std::os::unix::fs::symlink(&outside, dest.join("a.txt")).unwrap();
        merge_into(&staged, &dest, tmp.path()).unwrap();
        assert_eq!(fs::read_to_string(&outside).unwrap(), "not yours");
        assert_eq!(fs::read_to_string(dest.join("a.txt")).unwrap(), "new a");
        assert!(
            !fs::symlink_metadata(dest.join("a.txt"))
                .unwrap()
                .is_symlink()
        );
    }
}
