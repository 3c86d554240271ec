//! Walks the source folder in the order IntuneWinAppUtil writes the inner zip (FORMAT.md §5.2).
//!
//! Depth-first pre-order: a folder's children are sorted by upper-cased name (NTFS order);
//! its files and empty subfolders come first, then the non-empty subfolders are entered.
//!
//! Symbolic links are entries of their own unless the walk follows them
//! ([`walk_following`]): a link to a file then becomes that file under the link's name, a link
//! to a folder that folder. A followed link must resolve inside the source folder and must not
//! lead back to a folder that contains it; a dangling one is an error too.

pub use crate::identity::FileIdentity;
use std::cell::Cell;
use std::cmp::Ordering;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
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
    /// Full path on disk; for a followed link, the canonical path of the file it points to
    /// (the file the walk checked is the one read when packing).
    pub path: PathBuf,
    /// What it is.
    pub kind: SourceKind,
    /// Size in bytes (0 for folders).
    pub size: u64,
    /// Last modification time.
    pub mtime: SystemTime,
    /// What the walk saw of a file (device, inode, size, times): packing reads that file,
    /// unchanged, or fails.
    pub(crate) identity: FileIdentity,
}

/// Decides whether a relative path (`/`-separated) is left out; `is_dir` tells folders apart.
pub type ExcludeFn<'a> = &'a (dyn Fn(&str, bool) -> bool + Sync);

pub use crate::error::SymlinkProblem;

/// Lists the source folder in packing order, leaving out what `exclude` says; symbolic links
/// are [`SourceKind::Symlink`] entries.
pub fn walk(root: &Path, exclude: Option<ExcludeFn<'_>>) -> Result<Vec<SourceEntry>> {
    Walker {
        exclude,
        follow: false,
        root,
        folder_links: Cell::new(0),
    }
    .run()
}

/// Like [`walk`], reading through symbolic links: a link to a file gives that file's content,
/// size and time under the link's name, a link to a folder that folder's content. `root` must
/// be canonical. A link that dangles, resolves outside `root` or leads back to a folder that
/// contains it is an [`Error::Symlink`] naming the link and its target.
pub fn walk_following(root: &Path, exclude: Option<ExcludeFn<'_>>) -> Result<Vec<SourceEntry>> {
    Walker {
        exclude,
        follow: true,
        root,
        folder_links: Cell::new(0),
    }
    .run()
}

/// The folders the walk is inside, as canonical paths, to detect loops through links. Between
/// two followed links the folders are nested on disk, so each stretch is kept as its first and
/// last folder: `dir` is inside the walk iff it lies between the two ends of one stretch.
#[derive(Clone, Debug, Default)]
struct Chain {
    /// Stretches already left through a link: (first folder, folder holding the link).
    done: Vec<(PathBuf, PathBuf)>,
    /// First folder of the current stretch (the root or the last followed link's target).
    start: PathBuf,
}

impl Chain {
    /// True when `target` is the folder `current` or one the walk came through to reach it.
    fn contains(&self, target: &Path, current: &Path) -> bool {
        let between =
            |start: &Path, end: &Path| target.starts_with(start) && end.starts_with(target);
        between(&self.start, current) || self.done.iter().any(|(s, e)| between(s, e))
    }

    /// The chain inside the folder `target`, reached through a link in `current`.
    fn enter(&self, current: &Path, target: PathBuf) -> Chain {
        let mut done = self.done.clone();
        done.push((self.start.clone(), current.to_path_buf()));
        Chain {
            done,
            start: target,
        }
    }
}

/// A folder still to enter: full path, relative path, and the folders around it.
struct Pending {
    dir: PathBuf,
    rel: String,
    chain: Arc<Chain>,
}

/// Most folder links one walk follows. Without loops, links can still multiply a tree: ten
/// folders each linking twice to the next would be walked 2^10 times. Real sources share a
/// few folders through links; more than this is a link bomb, refused before it fills the disk.
pub const MAX_FOLDER_LINKS: usize = 1000;

struct Walker<'a, 'r> {
    exclude: Option<ExcludeFn<'a>>,
    follow: bool,
    root: &'r Path,
    /// Folder links followed so far (see [`MAX_FOLDER_LINKS`]).
    folder_links: Cell<usize>,
}

impl Walker<'_, '_> {
    fn run(&self) -> Result<Vec<SourceEntry>> {
        let mut out = Vec::new();
        let chain = Arc::new(Chain {
            done: Vec::new(),
            start: self.root.to_path_buf(),
        });
        let mut stack = vec![Pending {
            dir: self.root.to_path_buf(),
            rel: String::new(),
            chain,
        }];
        while let Some(pending) = stack.pop() {
            let children = self.list_sorted(&pending)?;
            let mut subdirs = Vec::new();
            for child in children {
                match child {
                    Child::Entry(entry) => out.push(entry),
                    Child::Dir(next) => subdirs.push(next),
                }
            }
            stack.extend(subdirs.into_iter().rev());
        }
        Ok(out)
    }

    /// The children of one folder, sorted, with empty folders resolved to entries.
    fn list_sorted(&self, at: &Pending) -> Result<Vec<Child>> {
        let (dir, rel) = (&at.dir, at.rel.as_str());
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
            // A followed link is excluded (or not) as what it points to.
            let is_dir = if self.follow && meta.file_type().is_symlink() {
                fs::metadata(item.path()).is_ok_and(|m| m.is_dir())
            } else {
                meta.is_dir()
            };
            if self.exclude.is_some_and(|f| f(&child_rel, is_dir)) {
                continue;
            }
            named.push((name, child_rel, item.path(), meta));
        }
        named.sort_by(|a, b| ntfs_order(&a.0, &b.0));
        let mut out = Vec::with_capacity(named.len());
        for (_, child_rel, path, meta) in named {
            let child = if self.follow && meta.file_type().is_symlink() {
                self.follow_link(at, child_rel, path)?
            } else {
                self.child(at, child_rel, path, &meta)?
            };
            out.push(child);
        }
        Ok(out)
    }

    /// One child, from its metadata (a link's own when not following).
    fn child(
        &self,
        at: &Pending,
        rel: String,
        path: PathBuf,
        meta: &fs::Metadata,
    ) -> Result<Child> {
        let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let ft = meta.file_type();
        let (kind, size) = if ft.is_dir() {
            if !is_empty_dir(&path, &rel, self.exclude)? {
                return Ok(Child::Dir(Pending {
                    dir: path,
                    rel,
                    chain: at.chain.clone(),
                }));
            }
            (SourceKind::EmptyDir, 0)
        } else if ft.is_file() {
            (SourceKind::File, meta.len())
        } else if ft.is_symlink() {
            (SourceKind::Symlink, 0)
        } else {
            (SourceKind::Special, 0)
        };
        Ok(Child::Entry(SourceEntry {
            rel,
            path,
            kind,
            size,
            mtime,
            identity: FileIdentity::of(meta),
        }))
    }

    /// A link read through: checked, then the file or folder it resolves to, under its name.
    fn follow_link(&self, at: &Pending, rel: String, link: PathBuf) -> Result<Child> {
        let problem = |problem, target: PathBuf| Error::Symlink {
            link: link.clone(),
            target,
            problem,
        };
        let written = fs::read_link(&link).map_err(|e| Error::io("read the link", &link, e))?;
        let target = match crate::canonical::canonicalize(&link) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(problem(SymlinkProblem::Dangling, written));
            }
            Err(e) => return Err(Error::io("resolve the link", &link, e)),
        };
        if !target.starts_with(self.root) {
            return Err(problem(SymlinkProblem::OutsideSource, target));
        }
        let meta = fs::metadata(&target).map_err(|e| Error::io("read metadata of", &target, e))?;
        if meta.is_dir() {
            if at.chain.contains(&target, &at.dir) {
                return Err(problem(SymlinkProblem::Loop, target));
            }
            self.folder_links.set(self.folder_links.get() + 1);
            if self.folder_links.get() > MAX_FOLDER_LINKS {
                return Err(Error::LimitExceeded {
                    path: self.root.to_path_buf(),
                    limit: crate::Limit::FolderLinks,
                    at: Some(format!("{} -> {}", link.display(), target.display())),
                    actual: self.folder_links.get() as u64,
                    max: MAX_FOLDER_LINKS as u64,
                });
            }
            let chain = Arc::new(at.chain.enter(&at.dir, target.clone()));
            let inside = Pending {
                dir: target,
                rel,
                chain,
            };
            return self.child_dir(inside, &meta);
        }
        self.child(at, rel, target, &meta)
    }

    /// A followed folder: an empty-folder entry, or a folder to enter.
    fn child_dir(&self, inside: Pending, meta: &fs::Metadata) -> Result<Child> {
        if !is_empty_dir(&inside.dir, &inside.rel, self.exclude)? {
            return Ok(Child::Dir(inside));
        }
        Ok(Child::Entry(SourceEntry {
            rel: inside.rel,
            path: inside.dir,
            kind: SourceKind::EmptyDir,
            size: 0,
            mtime: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            identity: FileIdentity::of(meta),
        }))
    }
}

enum Child {
    Entry(SourceEntry),
    Dir(Pending),
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

/// True when two names are the same for Windows: equal after NTFS's upper-case mapping.
pub fn ntfs_eq(a: &str, b: &str) -> bool {
    a.chars().map(upcase).eq(b.chars().map(upcase))
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

    #[cfg(unix)]
    mod links {
        use super::super::*;
        use proptest::prelude::*;
        use std::collections::BTreeSet;
        use std::os::unix::fs::symlink;

        /// A canonical temp root holding `real/a.txt`, `real/sub/b.txt` and `top.txt`.
        fn tree() -> (tempfile::TempDir, PathBuf) {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().canonicalize().unwrap().join("src");
            fs::create_dir_all(root.join("real/sub")).unwrap();
            fs::write(root.join("real/a.txt"), b"aa").unwrap();
            fs::write(root.join("real/sub/b.txt"), b"bbb").unwrap();
            fs::write(root.join("top.txt"), b"t").unwrap();
            (dir, root)
        }

        fn rels(entries: &[SourceEntry]) -> Vec<(&str, SourceKind)> {
            entries.iter().map(|e| (e.rel.as_str(), e.kind)).collect()
        }

        fn problem(root: &Path) -> (SymlinkProblem, PathBuf, PathBuf) {
            match walk_following(root, None) {
                Err(Error::Symlink {
                    problem,
                    link,
                    target,
                }) => (problem, link, target),
                other => panic!("expected a symlink error, got {other:?}"),
            }
        }

        #[test]
        fn without_following_a_link_is_its_own_entry() {
            let (_dir, root) = tree();
            symlink("top.txt", root.join("link.txt")).unwrap();
            let entries = walk(&root, None).unwrap();
            assert!(rels(&entries).contains(&("link.txt", SourceKind::Symlink)));
        }

        #[test]
        fn a_file_link_is_the_target_under_the_link_name() {
            let (_dir, root) = tree();
            symlink("real/sub/b.txt", root.join("b-link.txt")).unwrap();
            let entries = walk_following(&root, None).unwrap();
            let link = entries.iter().find(|e| e.rel == "b-link.txt").unwrap();
            assert_eq!(link.kind, SourceKind::File);
            assert_eq!(link.size, 3);
            // The worker reads the file the walk resolved and checked, not the link.
            assert_eq!(link.path, root.join("real/sub/b.txt"));
        }

        #[test]
        fn a_folder_link_packs_the_folder_under_its_name() {
            let (_dir, root) = tree();
            symlink("real", root.join("alias")).unwrap();
            let entries = walk_following(&root, None).unwrap();
            assert_eq!(
                rels(&entries),
                [
                    ("top.txt", SourceKind::File),
                    ("alias/a.txt", SourceKind::File),
                    ("alias/sub/b.txt", SourceKind::File),
                    ("real/a.txt", SourceKind::File),
                    ("real/sub/b.txt", SourceKind::File),
                ]
            );
        }

        #[test]
        fn a_link_to_an_ancestor_is_a_loop_naming_both() {
            let (_dir, root) = tree();
            symlink("..", root.join("real/sub/up")).unwrap();
            let (p, link, target) = problem(&root);
            assert_eq!(p, SymlinkProblem::Loop);
            assert_eq!(link, root.join("real/sub/up"));
            assert_eq!(target, root.join("real"));
        }

        #[test]
        fn a_loop_through_several_links_is_found() {
            // p -> q, q/r -> s, s/t -> q: no link points at its own ancestor on disk.
            let (_dir, root) = tree();
            for d in ["q", "s"] {
                fs::create_dir(root.join(d)).unwrap();
                fs::write(root.join(d).join("f"), b"f").unwrap();
            }
            symlink("q", root.join("p")).unwrap();
            symlink("../s", root.join("q/r")).unwrap();
            symlink("../q", root.join("s/t")).unwrap();
            let (p, _, target) = problem(&root);
            assert_eq!(p, SymlinkProblem::Loop);
            assert!(target == root.join("q") || target == root.join("s"));
        }

        #[test]
        fn the_same_folder_twice_side_by_side_is_no_loop() {
            let (_dir, root) = tree();
            symlink("real", root.join("one")).unwrap();
            symlink("real/sub", root.join("two")).unwrap();
            let entries = walk_following(&root, None).unwrap();
            assert!(entries.iter().any(|e| e.rel == "one/sub/b.txt"));
            assert!(entries.iter().any(|e| e.rel == "two/b.txt"));
        }

        #[test]
        fn a_link_leaving_the_source_names_both() {
            let (dir, root) = tree();
            let outside = dir.path().canonicalize().unwrap().join("outside.txt");
            fs::write(&outside, b"o").unwrap();
            symlink(&outside, root.join("out.txt")).unwrap();
            let (p, link, target) = problem(&root);
            assert_eq!(p, SymlinkProblem::OutsideSource);
            assert_eq!((link, target), (root.join("out.txt"), outside));
        }

        #[test]
        fn a_dangling_link_names_what_it_points_to() {
            let (_dir, root) = tree();
            symlink("gone.txt", root.join("dangling")).unwrap();
            let (p, link, target) = problem(&root);
            assert_eq!(p, SymlinkProblem::Dangling);
            assert_eq!(
                (link, target),
                (root.join("dangling"), PathBuf::from("gone.txt"))
            );
        }

        /// Real folders of the property test: root, `a`, `a/b`, `c`; each holds one file.
        const DIRS: [&str; 4] = ["", "a", "a/b", "c"];

        /// Real subfolders of each of [`DIRS`], by index.
        fn subdirs(d: usize) -> &'static [usize] {
            match d {
                0 => &[1, 3],
                1 => &[2],
                _ => &[],
            }
        }

        /// A reference walk on the logical tree, keeping the whole list of folders it is in:
        /// the files reached (relative paths), or `None` when a link leads to one of them.
        fn model(links: &[(usize, usize)]) -> Option<BTreeSet<String>> {
            fn visit(
                dir: usize,
                rel: &str,
                inside: &mut Vec<usize>,
                links: &[(usize, usize)],
                out: &mut BTreeSet<String>,
            ) -> bool {
                let join = |name: &str| {
                    if rel.is_empty() {
                        name.to_string()
                    } else {
                        format!("{rel}/{name}")
                    }
                };
                out.insert(join(&format!("f{dir}")));
                let real = subdirs(dir).iter().map(|&s| {
                    let name = DIRS[s].rsplit('/').next().unwrap_or_default().to_string();
                    (name, s)
                });
                let linked = links
                    .iter()
                    .enumerate()
                    .filter(|(_, (at, _))| *at == dir)
                    .map(|(k, (_, to))| (format!("l{k}"), *to));
                for (name, to) in real.chain(linked).collect::<Vec<_>>() {
                    if inside.contains(&to) {
                        return false;
                    }
                    inside.push(to);
                    let ok = visit(to, &join(&name), inside, links, out);
                    inside.pop();
                    if !ok {
                        return false;
                    }
                }
                true
            }
            let mut out = BTreeSet::new();
            visit(0, "", &mut vec![0], links, &mut out).then_some(out)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// Folder links anywhere to anywhere inside: the walk ends, finds a loop exactly
            /// when the reference walk does, and otherwise lists the same files.
            #[test]
            fn folder_links_match_a_reference_walk(
                links in prop::collection::vec((0..DIRS.len(), 0..DIRS.len()), 0..5),
            ) {
                let dir = tempfile::tempdir().unwrap();
                let root = dir.path().canonicalize().unwrap();
                for (i, d) in DIRS.iter().enumerate() {
                    fs::create_dir_all(root.join(d)).unwrap();
                    fs::write(root.join(d).join(format!("f{i}")), b"x").unwrap();
                }
                for (k, (at, to)) in links.iter().enumerate() {
                    symlink(root.join(DIRS[*to]), root.join(DIRS[*at]).join(format!("l{k}"))).unwrap();
                }
                match (walk_following(&root, None), model(&links)) {
                    (Ok(entries), Some(files)) => {
                        let got: BTreeSet<String> = entries.into_iter().map(|e| e.rel).collect();
                        prop_assert_eq!(got, files);
                    }
                    (Err(Error::Symlink { problem: SymlinkProblem::Loop, .. }), None) => {}
                    (got, want) => prop_assert!(false, "walk {:?}, model {:?}", got.map(|e| e.len()), want),
                }
            }
        }

        #[test]
        fn links_multiplying_a_tree_are_a_limit() {
            // d0 -> two links to d1 -> two links to d2 ...: no loop, 2^12 walks of d12.
            let (_dir, root) = tree();
            for i in 0..=12 {
                fs::create_dir(root.join(format!("d{i}"))).unwrap();
                fs::write(root.join(format!("d{i}/f")), b"f").unwrap();
            }
            for i in 0..12 {
                for name in ["x", "y"] {
                    symlink(format!("../d{}", i + 1), root.join(format!("d{i}/{name}"))).unwrap();
                }
            }
            match walk_following(&root, None) {
                Err(Error::LimitExceeded {
                    path,
                    limit: crate::Limit::FolderLinks,
                    at: Some(link),
                    actual,
                    max,
                }) => {
                    assert_eq!(path, root);
                    assert_eq!((actual, max), (MAX_FOLDER_LINKS as u64 + 1, 1000));
                    assert!(link.contains(" -> "), "{link}");
                }
                other => panic!("expected LimitExceeded, got {:?}", other.map(|e| e.len())),
            }
        }

        #[test]
        fn an_excluded_link_is_not_resolved() {
            let (_dir, root) = tree();
            symlink("gone.txt", root.join("dangling")).unwrap();
            let exclude = |rel: &str, _: bool| rel == "dangling";
            let entries = walk_following(&root, Some(&exclude)).unwrap();
            assert!(entries.iter().all(|e| e.rel != "dangling"));
        }
    }

    #[test]
    fn ntfs_eq_ignores_case_only() {
        assert!(ntfs_eq("Setup.EXE", "setup.exe"));
        assert!(ntfs_eq("sub/ÄPP.msi", "Sub/äpp.MSI"));
        assert!(!ntfs_eq("setup.exe", "setup.exe2"));
    }
}
