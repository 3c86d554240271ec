//! Walks the source folder in the order IntuneWinAppUtil writes the inner zip (FORMAT.md §5.2).
//!
//! Depth-first pre-order: a folder's children are sorted by upper-cased name (NTFS order);
//! its files and empty subfolders come first, then the non-empty subfolders are entered.

use std::cmp::Ordering;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::{Error, Result};

/// What a source entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// A regular file.
    File,
    /// A folder with nothing in it (the only folders that get an entry).
    EmptyDir,
    /// A symbolic link (not followed).
    Symlink,
    /// A device, socket, FIFO or other special file.
    Special,
}

/// One item of the source folder, in packing order.
#[derive(Clone, Debug)]
pub struct SourceEntry {
    /// Path relative to the source folder, `/`-separated (folders without a trailing `/`).
    pub rel: String,
    /// Full path on disk.
    pub path: PathBuf,
    /// What it is.
    pub kind: SourceKind,
    /// Size in bytes (0 for folders).
    pub size: u64,
    /// Last modification time.
    pub mtime: SystemTime,
}

/// Decides whether a relative path (`/`-separated) is left out; `is_dir` tells folders apart.
pub type ExcludeFn<'a> = &'a (dyn Fn(&str, bool) -> bool + Sync);

/// Lists the source folder in packing order, leaving out what `exclude` says.
pub fn walk(root: &Path, exclude: Option<ExcludeFn<'_>>) -> Result<Vec<SourceEntry>> {
    let mut out = Vec::new();
    // Stack of folders still to enter, as (full path, relative path).
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let children = list_sorted(&dir, &rel, exclude)?;
        let mut subdirs = Vec::new();
        for child in children {
            match child {
                Child::Entry(entry) => out.push(entry),
                Child::Dir(path, child_rel) => subdirs.push((path, child_rel)),
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(out)
}

enum Child {
    Entry(SourceEntry),
    Dir(PathBuf, String),
}

/// The children of one folder, sorted, with empty folders resolved to entries.
fn list_sorted(dir: &Path, rel: &str, exclude: Option<ExcludeFn<'_>>) -> Result<Vec<Child>> {
    let mut named = Vec::new();
    let read = fs::read_dir(dir).map_err(|e| Error::io("read the folder", dir, e))?;
    for item in read {
        let item = item.map_err(|e| Error::io("read the folder", dir, e))?;
        let name = item
            .file_name()
            .into_string()
            .map_err(|raw| Error::BadSource {
                path: dir.join(&raw),
                reason: "a file name is not valid Unicode".into(),
            })?;
        let child_rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let meta = fs::symlink_metadata(item.path())
            .map_err(|e| Error::io("read metadata of", item.path(), e))?;
        if exclude.is_some_and(|f| f(&child_rel, meta.is_dir())) {
            continue;
        }
        named.push((name, child_rel, item.path(), meta));
    }
    named.sort_by(|a, b| ntfs_order(&a.0, &b.0));
    let mut out = Vec::with_capacity(named.len());
    for (_, child_rel, path, meta) in named {
        let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let ft = meta.file_type();
        let entry = |kind, size| SourceEntry {
            rel: child_rel.clone(),
            path: path.clone(),
            kind,
            size,
            mtime,
        };
        if ft.is_dir() {
            if is_empty_dir(&path, &child_rel, exclude)? {
                out.push(Child::Entry(entry(SourceKind::EmptyDir, 0)));
            } else {
                out.push(Child::Dir(path, child_rel));
            }
        } else if ft.is_file() {
            out.push(Child::Entry(entry(SourceKind::File, meta.len())));
        } else if ft.is_symlink() {
            out.push(Child::Entry(entry(SourceKind::Symlink, 0)));
        } else {
            out.push(Child::Entry(entry(SourceKind::Special, 0)));
        }
    }
    Ok(out)
}

/// A folder is empty when nothing in it survives the exclusions.
fn is_empty_dir(dir: &Path, rel: &str, exclude: Option<ExcludeFn<'_>>) -> Result<bool> {
    let read = fs::read_dir(dir).map_err(|e| Error::io("read the folder", dir, e))?;
    for item in read {
        let item = item.map_err(|e| Error::io("read the folder", dir, e))?;
        let Some(f) = exclude else { return Ok(false) };
        let name = item.file_name().to_string_lossy().into_owned();
        let is_dir = item.file_type().is_ok_and(|t| t.is_dir());
        if !f(&format!("{rel}/{name}"), is_dir) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// NTFS name order: UTF-16 code units after a per-character upper-case mapping; ties broken by
/// the original names (FORMAT.md §5.2).
pub fn ntfs_order(a: &str, b: &str) -> Ordering {
    let key = |s: &str| -> Vec<u16> {
        let upper: String = s.chars().map(upcase).collect();
        upper.encode_utf16().collect()
    };
    key(a).cmp(&key(b)).then_with(|| a.cmp(b))
}

/// Upper-cases a character when it maps to exactly one character (NTFS's table is 1:1).
fn upcase(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntfs_order_examples_from_format() {
        let mut v = vec!["install.bat", "Install-X.ps1"];
        v.sort_by(|a, b| ntfs_order(a, b));
        assert_eq!(v, ["Install-X.ps1", "install.bat"]);
        let mut v = vec!["install.ps1", "Install.exe", "detector.ps1"];
        v.sort_by(|a, b| ntfs_order(a, b));
        assert_eq!(v, ["detector.ps1", "Install.exe", "install.ps1"]);
        // Upper-casing puts '_' (0x5F) after letters: "AB" < "A_B".
        assert_eq!(ntfs_order("ab", "a_b"), Ordering::Less);
    }

    #[test]
    fn walk_emits_files_and_empty_dirs_before_nested_content() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("AppDeployToolkit/sub")).unwrap();
        fs::write(root.join("AppDeployToolkit/sub/x.txt"), b"x").unwrap();
        fs::write(root.join("AppDeployToolkit/a.ps1"), b"a").unwrap();
        fs::create_dir(root.join("SupportFiles")).unwrap();
        fs::write(root.join("Deploy.exe"), b"d").unwrap();
        let rels: Vec<String> = walk(root, None)
            .unwrap()
            .into_iter()
            .map(|e| e.rel)
            .collect();
        assert_eq!(
            rels,
            [
                "Deploy.exe",
                "SupportFiles",
                "AppDeployToolkit/a.ps1",
                "AppDeployToolkit/sub/x.txt"
            ]
        );
    }
}
