//! Issue 14, "nothing lost": `--force` writes into an existing folder, replacing only the files
//! the package contains; files it does not contain, the package itself and the working folder
//! are never touched, and a package that fails a check changes nothing at all.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use tempfile::TempDir;

use crate::util::{intunewin, json_error, testdata};

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
        &[
            "extract",
            package.to_str().unwrap(),
            "-o",
            "dir",
            "--force",
            "--json",
        ],
    );
    assert_eq!(code(&out), 2);
    let (kind, path, _) = json_error(&out);
    assert_eq!(kind, "output-conflict", "{path}");
    assert!(path.ends_with("Install.ps1"), "{path}");
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
    if crate::util::not_for_windows_binary(
        "it makes a Unix symbolic link, which a Windows program under Wine sees as the file it points to",
    ) {
        return;
    }
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
        with_force.extend(["--force", "--json"]);
        let out = run(scene.root(), &with_force);
        assert_eq!(
            code(&out),
            2,
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(json_error(&out).0, "output-conflict", "{args:?}");
        assert_eq!(tree(scene.root()), before_link);
    }
}

// ---------------------------------------------------------------------------------------------
// One verdict: verify, list, extract, decrypt --extract, check and diff agree on every input.

/// An inner zip made by the `zip` crate (an independent writer): `setup.exe`, then `entries`
/// as (name, data, unix mode) — a mode with `S_IFLNK` makes a symbolic link to `data`.
fn crafted_inner(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("setup.exe", stored).expect("zip");
    zip.write_all(b"MZ stands in for setup.exe").expect("zip");
    for (name, data, mode) in entries {
        if mode & 0o170_000 == 0o120_000 {
            let target = std::str::from_utf8(data).expect("UTF-8 link target");
            zip.add_symlink(*name, target, stored).expect("zip");
        } else {
            zip.start_file(*name, stored.unix_permissions(*mode))
                .expect("zip");
            zip.write_all(data).expect("zip");
        }
    }
    let mut bytes = zip.finish().expect("zip").into_inner();
    // The zip crate keeps only permission bits and the file types it knows: write the others'
    // modes into their central headers by hand.
    for (name, _, mode) in entries {
        if !matches!(mode & 0o170_000, 0 | 0o100_000 | 0o120_000 | 0o040_000) {
            set_unix_mode(&mut bytes, name, *mode);
        }
    }
    bytes
}

/// Sets the Unix mode (and "made by Unix") of `name`'s central header in a zip.
fn set_unix_mode(zip: &mut [u8], name: &str, mode: u32) {
    let at = (0..zip.len() - 46)
        .find(|&i| {
            zip[i..i + 4] == [0x50, 0x4b, 0x01, 0x02] && zip[i + 46..].starts_with(name.as_bytes())
        })
        .expect("central header of the entry");
    zip[at + 5] = 3; // made by: Unix
    zip[at + 38..at + 42].copy_from_slice(&(mode << 16).to_le_bytes());
}

/// What each command said about one package.
#[derive(Debug)]
struct Verdicts {
    verify: (i32, String),
    list: (i32, String),
    extract: (i32, String),
    decrypt_extract: (i32, String),
    check: (i32, String),
    diff: (i32, String),
    /// Whether extract or decrypt --extract left anything in their destinations' folder.
    wrote: bool,
}

/// Runs every reading command on `package` (sealed with the vector keys).
fn verdicts(tmp: &Path, package: &[u8]) -> Verdicts {
    let pkg = tmp.join("p.intunewin");
    fs::write(&pkg, package).expect("write");
    let out_dir = tmp.join("out");
    fs::create_dir_all(&out_dir).expect("mkdir");
    let blob = tmp.join("blob.bin");
    let saved = run(
        tmp,
        &[
            "extract-content",
            "p.intunewin",
            "-o",
            "blob.bin",
            "--force",
        ],
    );
    assert_eq!(code(&saved), 0);
    let both = |out: Output| {
        (
            code(&out),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let p = pkg.to_str().unwrap();
    let verdicts = Verdicts {
        verify: both(run(tmp, &["verify", p])),
        list: both(run(tmp, &["list", p])),
        extract: both(run(tmp, &["extract", p, "-o", "out/x"])),
        decrypt_extract: both(run(
            tmp,
            &[
                "decrypt",
                blob.to_str().unwrap(),
                "--package",
                p,
                "--extract",
                "out/y",
            ],
        )),
        check: both(run(tmp, &["check", p])),
        diff: both(run(tmp, &["diff", p, p])),
        wrote: fs::read_dir(&out_dir).expect("read").next().is_some(),
    };
    fs::remove_dir_all(&out_dir).expect("clean");
    verdicts
}

/// The `unsafe entry '…' (…)` part of a refusal, without the file it names.
fn refusal(stderr: &str) -> String {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("intunewin: error: unsafe entry"))
        .unwrap_or_else(|| panic!("no refusal in: {stderr}"));
    line.rsplit_once("), ")
        .map(|(head, _)| head.to_owned())
        .unwrap_or_default()
}

/// Asserts that every command refuses the package over `entry` for `rule`.
fn assert_refused_everywhere(package: &[u8], entry: &str, rule: &str) {
    let tmp = TempDir::new().expect("temp");
    let v = verdicts(tmp.path(), package);
    let expected = refusal(&v.verify.1);
    assert!(expected.contains(&format!("'{entry}'")), "{v:#?}");
    // diff exits 2 when it cannot compare (1 means "they differ"), with the same refusal.
    for (what, want, (code, stderr)) in [
        ("verify", 1, &v.verify),
        ("list", 1, &v.list),
        ("extract", 1, &v.extract),
        ("decrypt --extract", 1, &v.decrypt_extract),
        ("diff", 2, &v.diff),
    ] {
        assert_eq!(*code, want, "{what}: {stderr}");
        assert_eq!(refusal(stderr), expected, "{what}");
    }
    assert!(!v.wrote, "extract wrote something: {v:#?}");
    assert_eq!(v.check.0, 1, "{v:#?}");
    let check_out = run(tmp.path(), &["check", "p.intunewin", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&check_out.stdout).expect("JSON");
    let found = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .any(|f| f["rule"] == rule && f["path"] == entry && f["severity"] == "error");
    assert!(found, "check lacks {rule} on {entry}: {report:#}");
}

#[test]
fn names_equal_but_for_case_are_refused_by_every_command() {
    let inner = crafted_inner(&[
        ("a.txt", b"first", 0o100_644),
        ("A.TXT", b"second", 0o100_644),
    ]);
    let package = crate::vectors_gen::seal(&inner).package();
    assert_refused_everywhere(&package, "A.TXT", "name-collision");
}

#[test]
fn a_symlink_entry_is_refused_by_every_command() {
    let inner = crafted_inner(&[("link", b"setup.exe", 0o120_777)]);
    let package = crate::vectors_gen::seal(&inner).package();
    assert_refused_everywhere(&package, "link", "symlink");
}

#[test]
fn a_fifo_entry_is_refused_by_every_command() {
    let inner = crafted_inner(&[("pipe", b"", 0o010_644)]);
    let package = crate::vectors_gen::seal(&inner).package();
    assert_refused_everywhere(&package, "pipe", "special-file");
}

#[test]
fn a_name_over_255_characters_is_refused_by_every_command() {
    let long = format!("{}.txt", "n".repeat(252));
    let inner = crafted_inner(&[(&long, b"x", 0o100_644)]);
    let package = crate::vectors_gen::seal(&inner).package();
    assert_refused_everywhere(&package, &long, "component-too-long");
}

#[test]
fn a_path_over_the_device_budget_is_the_same_finding_everywhere() {
    // 200 + 1 + 50 characters: over the 259 - 60 a device allows under IMECache, each name
    // well under 255.
    let long = format!("{}/{}.txt", "d".repeat(200), "f".repeat(46));
    let inner = crafted_inner(&[(&long, b"x", 0o100_644)]);
    let package = crate::vectors_gen::seal(&inner).package();
    let tmp = TempDir::new().expect("temp");
    let v = verdicts(tmp.path(), &package);
    // Not a refusal: the package is intact and extracts; the device would fail to unzip it.
    for (what, code) in [
        ("verify", v.verify.0),
        ("list", v.list.0),
        ("extract", v.extract.0),
        ("decrypt --extract", v.decrypt_extract.0),
        ("diff", v.diff.0),
    ] {
        assert_eq!(code, 0, "{what}: {v:#?}");
    }
    assert_eq!(v.check.0, 1, "check reports the error: {v:#?}");
    let line = |stderr: &str| {
        stderr
            .lines()
            .find(|l| l.contains("[path-too-long]"))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no path-too-long finding in: {stderr}"))
    };
    let expected = line(&v.verify.1);
    // The finding as every command prints it: an error of rule path-too-long (pinned whole).
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        &crate::util::regex_escape(&tmp.path().to_string_lossy()),
        "[TMP]",
    );
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!("path_too_long_finding", expected));
    assert_eq!(line(&v.list.1), expected, "list");
    assert_eq!(line(&v.extract.1), expected, "extract");
    assert_eq!(line(&v.decrypt_extract.1), expected, "decrypt --extract");
    let check = run(tmp.path(), &["check", "p.intunewin"]);
    let check_line = String::from_utf8_lossy(&check.stdout)
        .lines()
        .find(|l| l.contains("[path-too-long]"))
        .map(str::to_owned)
        .expect("check shows it");
    assert_eq!(format!("intunewin: {check_line}"), expected, "check");
}

// ---------------------------------------------------------------------------------------------
// Issue 18 #1: what was authenticated is what gets written.

/// Runs `action` once the authenticating pass has ended, before the second pass opens its
/// reader (as a writer racing the tool would).
struct AfterAuthentication<F: Fn() + Send + Sync> {
    authenticating: std::sync::atomic::AtomicBool,
    action: F,
}

impl<F: Fn() + Send + Sync> intunewin_core::Progress for AfterAuthentication<F> {
    fn begin(&self, stage: intunewin_core::Stage, _total: u64) {
        let now = stage == intunewin_core::Stage::Authenticate;
        self.authenticating
            .store(now, std::sync::atomic::Ordering::SeqCst);
    }

    fn end(&self) {
        if self
            .authenticating
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            (self.action)();
        }
    }
}

/// Flips one ciphertext byte of the package or blob at `path`, in place (same file, same
/// handle), as a writer of its folder or a network file system serving other bytes could.
fn flip_in_place(path: &Path, from_end: u64) {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open");
    let len = f.metadata().expect("metadata").len();
    let mut byte = [0u8; 1];
    f.seek(SeekFrom::Start(len - from_end)).expect("seek");
    f.read_exact(&mut byte).expect("read");
    byte[0] ^= 0x20;
    f.seek(SeekFrom::Start(len - from_end)).expect("seek");
    f.write_all(&byte).expect("write");
}

/// ReadOptions that run `action` between the authenticating pass and the second one.
fn second_pass_runs(action: impl Fn() + Send + Sync + 'static) -> intunewin_core::ReadOptions {
    intunewin_core::ReadOptions::default().progress(std::sync::Arc::new(AfterAuthentication {
        authenticating: std::sync::atomic::AtomicBool::new(false),
        action,
    }))
}

#[test]
fn extract_writes_what_it_authenticated_even_if_the_file_is_swapped() {
    let scene = Scene::new();
    let package = scene.package();
    let pkg = intunewin_core::Package::open(&package).expect("open");
    // Another valid package (other content, other keys) renamed over the path mid-way.
    let other = scene.root().join("other.intunewin");
    let src = scene.root().join("other-src");
    fs::create_dir(&src).expect("mkdir");
    fs::write(
        src.join("Install.ps1"),
        "Write-Host 'not what was authenticated'",
    )
    .expect("w");
    let out = intunewin()
        .arg("pack")
        .arg(&src)
        .args(["-s", "Install.ps1", "-q", "-o"])
        .arg(&other)
        .output()
        .expect("runs");
    assert_eq!(code(&out), 0);
    let (from, to) = (other.clone(), package.clone());
    let read = second_pass_runs(move || fs::rename(&from, &to).expect("swap"));
    let dest = scene.root().join("dest");
    let opts = intunewin_core::ExtractOptions::default().read_options(read);
    pkg.extract(&dest, &opts)
        .expect("extracts the authenticated content");
    assert_eq!(tree(&dest), sample_tree());
}

#[test]
fn decrypt_extract_with_keys_refuses_a_blob_changed_after_it_was_authenticated() {
    let scene = Scene::new();
    let blob_path = scene.blob();
    let detection = intunewin_core::Package::open(scene.package())
        .expect("open")
        .detection()
        .clone();
    // Keys given by hand: encryption key, IV and MAC key, no FileDigest to fall back on.
    let keys =
        intunewin_core::BlobKeys::new(detection.encryption.encryption_key, detection.encryption.iv)
            .mac_key(detection.encryption.mac_key);
    let blob = intunewin_core::Blob::open(&blob_path).expect("open");
    let target = blob_path.clone();
    let read = second_pass_runs(move || flip_in_place(&target, 40));
    let dest = scene.root().join("dest");
    let opts = intunewin_core::ExtractOptions::default().read_options(read);
    let err = blob.extract(&keys, &dest, &opts).expect_err("changed");
    assert!(
        matches!(err, intunewin_core::Error::HmacMismatch { .. }),
        "{err:?}"
    );
    assert!(!dest.exists());
    no_debris(scene.root());
}

// ---------------------------------------------------------------------------------------------
// Issue 18 #5: keys need not be on the command line.

#[test]
fn decrypt_takes_its_keys_from_a_file_standard_input_or_the_environment() {
    use std::io::Write;
    let scene = Scene::new();
    let blob = scene.blob();
    let pkg = intunewin_core::Package::open(scene.package()).expect("open");
    let enc = &pkg.detection().encryption;
    let b64 = |bytes: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let key_file = scene.root().join("key.txt");
    fs::write(&key_file, format!("{}\n", b64(&enc.encryption_key))).expect("write");
    let at_key = format!("@{}", key_file.display());
    let (iv, mac_key) = (b64(&enc.iv), b64(&enc.mac_key));
    let decrypt = |key: &str, mac_key_arg: &str, stdin: &str, out: &str| {
        let mut child = crate::util::binary_command()
            .current_dir(scene.root())
            .env("INTUNEWIN_TEST_MAC_KEY", &mac_key)
            .arg("decrypt")
            .arg(&blob)
            .args([
                "--key",
                key,
                "--iv",
                &iv,
                "--mac-key",
                mac_key_arg,
                "-o",
                out,
                "-q",
            ])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawns");
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin.as_bytes()).expect("write stdin");
        drop(input);
        let out = child.wait_with_output().expect("waits");
        (
            code(&out),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Key from a file, MAC key from the environment: decrypted and MAC-checked.
    let (status, stderr) = decrypt(&at_key, "env:INTUNEWIN_TEST_MAC_KEY", "", "a.zip");
    assert_eq!(status, 0, "{stderr}");
    // Key from standard input.
    let stdin = format!("{}\n", b64(&enc.encryption_key));
    let (status, stderr) = decrypt("@-", "env:INTUNEWIN_TEST_MAC_KEY", &stdin, "b.zip");
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(
        fs::read(scene.root().join("a.zip")).expect("a"),
        fs::read(scene.root().join("b.zip")).expect("b")
    );
    // The file's content is really the key: a wrong one fails the MAC.
    fs::write(&key_file, b64(&[7u8; 32])).expect("write");
    let (status, _) = decrypt(&at_key, "env:INTUNEWIN_TEST_MAC_KEY", "", "c.zip");
    assert_ne!(status, 0);
    // A variable that is not set is named.
    let (status, stderr) = decrypt(&at_key, "env:INTUNEWIN_TEST_UNSET_VARIABLE", "", "d.zip");
    assert_eq!(status, 2);
    insta::with_settings!({ omit_expression => true }, {
        insta::assert_snapshot!("unset_key_variable", stderr);
    });
}

// ---------------------------------------------------------------------------------------------
// Issue 18 #2 and #3: pack reads exactly the files it checked, unchanged.

/// Runs `action` when the pack stage begins (after the walk, before any file is read), or on
/// the first progress step when `on_first_advance`.
struct PackHook<F: Fn() + Send + Sync> {
    on_first_advance: bool,
    fired: std::sync::atomic::AtomicBool,
    action: F,
}

impl<F: Fn() + Send + Sync> intunewin_core::Progress for PackHook<F> {
    fn begin(&self, stage: intunewin_core::Stage, _total: u64) {
        if stage == intunewin_core::Stage::Pack && !self.on_first_advance {
            (self.action)();
        }
    }

    fn advance(&self, _bytes: u64) {
        let first = !self.fired.swap(true, std::sync::atomic::Ordering::SeqCst);
        if self.on_first_advance && first {
            (self.action)();
        }
    }
}

/// Packs `src` (setup `setup.exe`) into `out` with `action` run at the hook; the error.
fn pack_with_hook(
    src: &Path,
    out: &Path,
    on_first_advance: bool,
    action: impl Fn() + Send + Sync + 'static,
) -> intunewin_core::Error {
    let hook = PackHook {
        on_first_advance,
        fired: std::sync::atomic::AtomicBool::new(false),
        action,
    };
    intunewin_core::PackOptions::new(src, "setup.exe")
        .progress(std::sync::Arc::new(hook))
        .pack_to_file(out, intunewin_core::Overwrite::Refuse)
        .expect_err("the file read is not the file checked")
}

/// A source folder with `setup.exe` and `data.bin` of `size` bytes.
fn source_with_data(root: &Path, size: usize) -> PathBuf {
    let src = root.join("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("setup.exe"), b"MZ").expect("write");
    let data: Vec<u8> = (0..size).map(|i| (i * 7 + i / 4096) as u8).collect();
    fs::write(src.join("data.bin"), data).expect("write");
    src
}

/// The error is about `file` (its path); what it says is pinned in the snapshot `name`, the
/// folder masked as `[SRC]`.
fn assert_names_file(err: &intunewin_core::Error, file: &Path, name: &str) {
    assert_eq!(err.path(), Some(file), "{err}");
    let folder = file.parent().expect("a folder").display().to_string();
    insta::with_settings!({ omit_expression => true }, {
        insta::assert_snapshot!(name, err.to_string().replace(&folder, "[SRC]"));
    });
}

#[cfg(unix)]
#[test]
fn pack_refuses_a_file_swapped_for_a_link_after_the_walk() {
    let tmp = TempDir::new().expect("temp");
    let src = source_with_data(tmp.path(), 3);
    let secret = tmp.path().join("shadow");
    fs::write(&secret, b"the secret").expect("write");
    let (data, target) = (src.join("data.bin"), secret.clone());
    let out = tmp.path().join("out.intunewin");
    let err = pack_with_hook(&src, &out, false, move || {
        fs::remove_file(&data).expect("remove");
        std::os::unix::fs::symlink(&target, &data).expect("link");
    });
    assert_names_file(&err, &src.join("data.bin"), "swapped_for_a_link");
    assert!(!out.exists());
    no_debris(tmp.path());
}

#[cfg(unix)]
#[test]
fn pack_refuses_a_file_swapped_for_a_fifo_at_once() {
    let tmp = TempDir::new().expect("temp");
    let src = source_with_data(tmp.path(), 3);
    let data = src.join("data.bin");
    let out = tmp.path().join("out.intunewin");
    let started = std::time::Instant::now();
    let err = pack_with_hook(&src, &out, false, move || {
        fs::remove_file(&data).expect("remove");
        let made = std::process::Command::new("mkfifo").arg(&data).status();
        assert!(made.expect("mkfifo runs").success());
    });
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_names_file(&err, &src.join("data.bin"), "swapped_for_a_fifo");
    assert!(!out.exists());
}

#[test]
fn pack_refuses_a_file_changed_in_place_while_it_is_read() {
    let tmp = TempDir::new().expect("temp");
    // Large enough to be read in several pieces, so reading is under way at the first step.
    let src = source_with_data(tmp.path(), 48 << 20);
    let data = src.join("data.bin");
    let out = tmp.path().join("out.intunewin");
    let err = pack_with_hook(&src, &out, true, move || {
        // Two same-size edits in place, as in the issue.
        for at in [1u64 << 20, 40 << 20] {
            use std::io::{Seek, SeekFrom, Write};
            let mut f = fs::OpenOptions::new()
                .write(true)
                .open(&data)
                .expect("open");
            f.seek(SeekFrom::Start(at)).expect("seek");
            f.write_all(b"edited").expect("write");
        }
    });
    // A read error on the file, which changed: whether the change shows after the walk or
    // during the read depends on timing, so that part of the message is masked as [WHEN].
    assert_eq!(err.path(), Some(src.join("data.bin").as_path()), "{err}");
    assert_eq!(err.error_kind(), intunewin_core::ErrorKind::Io, "{err}");
    match &err {
        intunewin_core::Error::Io { action, source, .. } => {
            assert_eq!(*action, "read", "{err}");
            assert_eq!(source.kind(), std::io::ErrorKind::InvalidData, "{err}");
        }
        other => panic!("expected a read error, got {other:?}"),
    }
    let folder = src.display().to_string();
    insta::with_settings!({
        omit_expression => true,
        filters => vec![(r"changed (as it was read|after the source folder was read)", "changed [WHEN]")],
    }, {
        insta::assert_snapshot!("changed_in_place", err.to_string().replace(&folder, "[SRC]"));
    });
    assert!(!out.exists());
    no_debris(tmp.path());
}

#[cfg(unix)]
#[test]
fn info_verify_and_decrypt_on_a_fifo_return_at_once() {
    if crate::util::not_for_windows_binary(
        "a FIFO made by the test is a Linux FIFO, which Wine does not show as one",
    ) {
        return;
    }
    let tmp = TempDir::new().expect("temp");
    let fifo = tmp.path().join("pkg.intunewin");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.expect("mkfifo runs").success());
    for args in [
        vec!["info", "pkg.intunewin"],
        vec!["verify", "pkg.intunewin"],
        vec![
            "decrypt",
            "pkg.intunewin",
            "--key",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "--iv",
            "AAAAAAAAAAAAAAAAAAAAAA==",
        ],
    ] {
        let out = intunewin()
            .current_dir(tmp.path())
            .args(&args)
            .arg("--json")
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let (kind, path, _) = json_error(&out);
        assert_eq!(kind, "io", "{args:?}");
        assert!(path.ends_with("pkg.intunewin"), "{args:?}: {path}");
    }
}

#[test]
fn many_findings_of_one_rule_are_counted_past_twenty_on_a_terminal() {
    let long: Vec<String> = (0..25)
        .map(|i| format!("{}/{i:02}-{}.txt", "d".repeat(200), "f".repeat(40)))
        .collect();
    let entries: Vec<(&str, &[u8], u32)> = long
        .iter()
        .map(|n| (n.as_str(), &b"x"[..], 0o100_644))
        .collect();
    let package = crate::vectors_gen::seal(&crafted_inner(&entries)).package();
    let tmp = TempDir::new().expect("temp");
    fs::write(tmp.path().join("p.intunewin"), package).expect("write");
    let out = run(tmp.path(), &["verify", "p.intunewin"]);
    assert_eq!(code(&out), 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("[path-too-long] the file path").count(),
        20,
        "{stderr}"
    );
    // Twenty lines, then the count of the rest.
    insta::with_settings!({ omit_expression => true }, {
        insta::assert_snapshot!("many_findings_counted", stderr);
    });
    // JSON and check keep every one.
    let json = run(tmp.path(), &["verify", "p.intunewin", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(report["findings"].as_array().expect("findings").len(), 25);
}

// ---------------------------------------------------------------------------------------------
// Issue 17: --force over a read-only output. Decided: never replaced, on any OS (Windows would
// refuse the rename, Unix would not); the user protected it.

/// Makes `path` read-only.
fn lock(path: &Path) {
    let mut perms = fs::metadata(path).expect("metadata").permissions();
    perms.set_readonly(true);
    fs::set_permissions(path, perms).expect("set read-only");
}

#[test]
fn force_never_replaces_a_read_only_output() {
    let scene = Scene::new();
    let package = scene.package();
    lock(&package);
    let before = tree(scene.root());
    let src = testdata().join("sample-app");
    let out = run(
        scene.root(),
        &[
            "pack",
            src.to_str().unwrap(),
            "-s",
            "Install.ps1",
            "-o",
            package.to_str().unwrap(),
            "--force",
            "--json",
        ],
    );
    assert_eq!(code(&out), 2);
    assert_eq!(json_error(&out).0, "output-conflict");
    assert_eq!(tree(scene.root()), before);

    // extract --force: a read-only file the package contains stops it before anything moves.
    fs::write(scene.dir().join("Install.ps1"), "locked by its owner").expect("write");
    lock(&scene.dir().join("Install.ps1"));
    let before = tree(scene.root());
    let out = run(
        scene.root(),
        &[
            "extract",
            package.to_str().unwrap(),
            "-o",
            "dir",
            "--force",
            "--json",
        ],
    );
    assert_eq!(code(&out), 2);
    let (kind, path, _) = json_error(&out);
    assert_eq!(kind, "output-conflict", "{path}");
    assert!(path.ends_with("Install.ps1"), "{path}");
    assert_eq!(tree(scene.root()), before);
}
