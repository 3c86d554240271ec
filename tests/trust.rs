//! Issue 14, "nothing lost": `--force` writes into an existing folder, replacing only the files
//! the package contains; files it does not contain, the package itself and the working folder
//! are never touched, and a package that fails a check changes nothing at all.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use tempfile::TempDir;

use crate::util::{intunewin, testdata};

/// Every path under `root` (folders as `None`) with its bytes, for before/after comparisons.
fn tree(root: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read folder") {
            let path = entry.expect("entry").path();
            let rel = path.strip_prefix(root).expect("under root");
            let rel = rel.to_string_lossy().replace('\\', "/");
            if path.is_dir() {
                out.insert(rel, None);
                stack.push(path);
            } else {
                out.insert(rel, Some(fs::read(&path).expect("read file")));
            }
        }
    }
    out
}

/// The sample app's files as the package holds them.
fn sample_tree() -> BTreeMap<String, Option<Vec<u8>>> {
    tree(&testdata().join("sample-app"))
}

fn run(cwd: &Path, args: &[&str]) -> Output {
    intunewin()
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("intunewin runs")
}

fn code(out: &Output) -> i32 {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    out.status.code().unwrap_or(-1)
}

/// A scratch folder holding `work/app.intunewin` (the sample app) and the folder layout of the
/// issue's reproduction: `dir/keep.txt`, `dir/sub/app.intunewin`.
struct Scene {
    tmp: TempDir,
}

impl Scene {
    fn new() -> Scene {
        let tmp = TempDir::new().expect("temp dir");
        let work = tmp.path().join("work");
        fs::create_dir(&work).expect("mkdir");
        let out = intunewin()
            .arg("pack")
            .arg(testdata().join("sample-app"))
            .args(["--setup", "Install.ps1", "-o"])
            .arg(work.join("app.intunewin"))
            .args(["--quiet"])
            .output()
            .expect("pack runs");
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        let dir = tmp.path().join("dir");
        fs::create_dir_all(dir.join("sub")).expect("mkdir");
        fs::write(dir.join("keep.txt"), "the user's own file").expect("write");
        fs::copy(work.join("app.intunewin"), dir.join("sub/app.intunewin")).expect("copy");
        Scene { tmp }
    }

    fn root(&self) -> &Path {
        self.tmp.path()
    }

    fn dir(&self) -> PathBuf {
        self.root().join("dir")
    }

    fn package(&self) -> PathBuf {
        self.root().join("work/app.intunewin")
    }

    /// A copy of the package with one ciphertext byte flipped (the MAC no longer matches).
    fn tampered(&self) -> PathBuf {
        let mut bytes = fs::read(self.package()).expect("read");
        let at = bytes.len() - 200;
        bytes[at] ^= 0x01;
        let path = self.root().join("work/tampered.intunewin");
        fs::write(&path, bytes).expect("write");
        path
    }

    /// The content blob and the package to take its keys from.
    fn blob(&self) -> PathBuf {
        let blob = self.root().join("work/content.bin");
        let out = intunewin()
            .arg("extract-content")
            .arg(self.package())
            .arg("-o")
            .arg(&blob)
            .output()
            .expect("runs");
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        blob
    }
}

/// `before` with the sample app's files written over it.
fn merged(before: &BTreeMap<String, Option<Vec<u8>>>) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut expected = before.clone();
    expected.extend(sample_tree());
    expected
}

/// Nothing named `.intunewin-…` (staging, backups) is left in `dir`.
fn no_debris(dir: &Path) {
    let debris: Vec<String> = fs::read_dir(dir)
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".intunewin-"))
        .collect();
    assert!(
        debris.is_empty(),
        "left behind in {}: {debris:?}",
        dir.display()
    );
}

#[test]
fn extract_force_from_inside_the_folder_keeps_other_files_and_the_package() {
    let scene = Scene::new();
    let before = tree(&scene.dir());
    let out = run(
        &scene.dir().join("sub"),
        &["extract", "app.intunewin", "-o", "..", "--force", "--quiet"],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(tree(&scene.dir()), merged(&before));
    no_debris(scene.root());
    no_debris(&scene.dir());
}

#[test]
fn extract_force_into_the_working_folder() {
    let scene = Scene::new();
    let before = tree(&scene.dir());
    let out = run(
        &scene.dir(),
        &[
            "extract",
            "sub/app.intunewin",
            "-o",
            ".",
            "--force",
            "--quiet",
        ],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(tree(&scene.dir()), merged(&before));
    no_debris(scene.root());
}

#[test]
fn extract_force_replaces_the_files_the_package_contains() {
    let scene = Scene::new();
    fs::write(scene.dir().join("Install.ps1"), "an older script").expect("write");
    fs::create_dir_all(scene.dir().join("Files")).expect("mkdir");
    fs::write(scene.dir().join("Files/mine.txt"), "mine").expect("write");
    let before = tree(&scene.dir());
    let package = scene.package();
    let out = run(
        scene.root(),
        &["extract", package.to_str().unwrap(), "-o", "dir", "--force"],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let after = tree(&scene.dir());
    assert_eq!(after, merged(&before));
    assert_eq!(
        after["Install.ps1"],
        sample_tree()["Install.ps1"],
        "the package's file replaced the older one"
    );
    assert_eq!(after["Files/mine.txt"].as_deref(), Some(&b"mine"[..]));
}

#[test]
fn a_tampered_package_with_force_changes_nothing() {
    let scene = Scene::new();
    let tampered = scene.tampered();
    let before = tree(scene.root());
    let out = run(
        &scene.dir().join("sub"),
        &["extract", tampered.to_str().unwrap(), "-o", "..", "--force"],
    );
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(tree(scene.root()), before);
}

#[test]
fn a_folder_where_the_package_has_a_file_is_refused_and_nothing_changes() {
    let scene = Scene::new();
    // The package has a file Install.ps1; the user has a folder of that name.
    fs::create_dir(scene.dir().join("Install.ps1")).expect("mkdir");
    fs::write(scene.dir().join("Install.ps1/notes.txt"), "mine").expect("write");
    let before = tree(scene.root());
    let package = scene.package();
    let out = run(
        scene.root(),
        &["extract", package.to_str().unwrap(), "-o", "dir", "--force"],
    );
    assert_eq!(code(&out), 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Install.ps1"), "{stderr}");
    assert_eq!(tree(scene.root()), before);
}

#[test]
fn force_never_replaces_a_file_with_a_folder() {
    let scene = Scene::new();
    let before = tree(scene.root());
    let package = scene.package();
    let out = run(
        scene.root(),
        &[
            "extract",
            package.to_str().unwrap(),
            "-o",
            "dir/keep.txt",
            "--force",
        ],
    );
    assert_eq!(code(&out), 2);
    assert_eq!(tree(scene.root()), before);
}

#[test]
fn decrypt_extract_force_keeps_other_files() {
    let scene = Scene::new();
    let blob = scene.blob();
    let before = tree(&scene.dir());
    let out = intunewin()
        .current_dir(scene.dir().join("sub"))
        .arg("decrypt")
        .arg(&blob)
        .arg("--package")
        .arg(scene.package())
        .args(["--extract", "..", "--force", "--quiet"])
        .output()
        .expect("runs");
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(tree(&scene.dir()), merged(&before));
    no_debris(scene.root());
}

#[test]
fn decrypt_extract_force_with_a_tampered_blob_changes_nothing() {
    let scene = Scene::new();
    let blob = scene.blob();
    let mut bytes = fs::read(&blob).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    fs::write(&blob, bytes).expect("write");
    let before = tree(scene.root());
    let out = intunewin()
        .current_dir(scene.dir().join("sub"))
        .arg("decrypt")
        .arg(&blob)
        .arg("--package")
        .arg(scene.package())
        .args(["--extract", "..", "--force"])
        .output()
        .expect("runs");
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(tree(scene.root()), before);
}

#[test]
fn force_never_writes_over_the_file_being_read() {
    let scene = Scene::new();
    let blob = scene.blob();
    let package = scene.package();
    // extract-content onto the package itself, decrypt onto the blob itself (a hard link too).
    let link = scene.root().join("work/link.bin");
    fs::hard_link(&blob, &link).expect("hard link");
    let before_link = tree(scene.root());
    for args in [
        vec![
            "extract-content",
            package.to_str().unwrap(),
            "-o",
            package.to_str().unwrap(),
        ],
        vec![
            "decrypt",
            blob.to_str().unwrap(),
            "--package",
            package.to_str().unwrap(),
            "-o",
            blob.to_str().unwrap(),
        ],
        vec![
            "decrypt",
            blob.to_str().unwrap(),
            "--package",
            package.to_str().unwrap(),
            "-o",
            link.to_str().unwrap(),
        ],
    ] {
        let mut with_force = args.clone();
        with_force.push("--force");
        let out = run(scene.root(), &with_force);
        assert_eq!(
            code(&out),
            2,
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("the file being read"), "{stderr}");
        assert_eq!(tree(scene.root()), before_link);
    }
}
