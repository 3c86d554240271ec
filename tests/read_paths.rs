//! How verify, list and extract read the content (issue 6): verify and list in one read, extract
//! authenticating before it writes and again while it writes.

use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use intunewin_core::Error;
use intunewin_core::PackOptions;
use intunewin_core::package::{ExtractOptions, Package, ReadOptions};
use intunewin_core::progress::{Progress, Stage};

use crate::util::testdata;

/// Packs the sample app into `dir` and returns the package's path.
fn sample_package(dir: &Path) -> PathBuf {
    let out = dir.join("sample.intunewin");
    PackOptions::new(testdata().join("sample-app"), "Install.ps1")
        .pack_to_file(&out, false)
        .expect("sample packs");
    out
}

/// The sample package with its last ciphertext byte flipped (which also breaks the padding).
fn tampered_sample(dir: &Path) -> PathBuf {
    let package = sample_package(dir);
    flip_byte(&package, last_ciphertext_byte(&package));
    package
}

/// Offset of the last ciphertext byte in the package file.
fn last_ciphertext_byte(package: &Path) -> u64 {
    let pkg = Package::open(package).expect("opens");
    pkg.content_entry().data_offset + pkg.encrypted_size() - 1
}

fn flip_byte(path: &Path, offset: u64) {
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("package opens for writing");
    let mut b = [0u8; 1];
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.read_exact(&mut b).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.write_all(&[b[0] ^ 0x01]).unwrap();
}

/// Changes the package in place when a given stage begins, and records the stages seen.
struct Tamper {
    package: PathBuf,
    offset: u64,
    when: Stage,
    stages: Mutex<Vec<Stage>>,
}

impl Progress for Tamper {
    fn begin(&self, stage: Stage, _total: u64) {
        if stage == self.when {
            flip_byte(&self.package, self.offset);
        }
        self.stages.lock().unwrap().push(stage);
    }
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Packs a source larger than the reader's buffer, so that a change made once reading has
/// started is seen by the rest of the read.
fn large_package(dir: &Path) -> PathBuf {
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("setup.cmd"), b"@echo off\r\n").unwrap();
    let mut state = 0x2545_f491_u32;
    let noise: Vec<u8> = (0..3 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    fs::write(src.join("payload.bin"), noise).unwrap();
    let out = dir.join("large.intunewin");
    PackOptions::new(&src, "setup.cmd")
        .pack_to_file(&out, false)
        .expect("packs");
    fs::remove_dir_all(&src).unwrap();
    out
}

#[test]
fn extract_refuses_content_changed_after_it_was_authenticated() {
    let dir = tempfile::tempdir().unwrap();
    let package = large_package(dir.path());
    let tamper = Arc::new(Tamper {
        offset: last_ciphertext_byte(&package),
        package: package.clone(),
        when: Stage::Extract,
        stages: Mutex::new(Vec::new()),
    });
    let pkg = Package::open(&package).unwrap();
    let read = ReadOptions::default().progress(tamper.clone());
    let dest = dir.path().join("out");
    let err = pkg
        .extract(&dest, &ExtractOptions::default().read_options(read))
        .expect_err("the second read is MACed again");
    assert!(matches!(err, Error::HmacMismatch { .. }), "{err:?}");
    assert_eq!(
        *tamper.stages.lock().unwrap(),
        [Stage::Authenticate, Stage::Extract]
    );
    // Nothing is left: no destination, no temporary folder.
    assert_eq!(names_in(dir.path()), ["large.intunewin"]);
}

#[test]
fn extract_writes_nothing_when_the_first_read_fails() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = Package::open(tampered_sample(dir.path())).unwrap();
    let dest = dir.path().join("missing-parent").join("out");
    let err = pkg
        .extract(&dest, &ExtractOptions::default())
        .expect_err("tampered");
    assert!(matches!(err, Error::HmacMismatch { .. }), "{err:?}");
    assert_eq!(names_in(dir.path()), ["sample.intunewin"]);
}

#[test]
fn verify_and_list_read_the_content_once() {
    let dir = tempfile::tempdir().unwrap();
    let package = sample_package(dir.path());
    let stages = Arc::new(Tamper {
        package: package.clone(),
        offset: 0,
        when: Stage::Pack, // never begins here: nothing is changed
        stages: Mutex::new(Vec::new()),
    });
    let pkg = Package::open(&package).unwrap();
    let read = ReadOptions::default().progress(stages.clone());
    pkg.verify(&read).expect("verifies");
    pkg.list(&read).expect("lists");
    assert_eq!(
        *stages.stages.lock().unwrap(),
        [Stage::Decrypt, Stage::Decrypt]
    );
}

#[test]
fn verify_and_list_report_the_mac_before_anything_the_tampered_stream_shows() {
    let dir = tempfile::tempdir().unwrap();
    // The last byte holds the padding: flipping it makes the padding bad too, and the
    // inner zip's end records unreadable; the MAC must still be what is reported.
    let pkg = Package::open(tampered_sample(dir.path())).unwrap();
    let read = ReadOptions::default();
    let err = pkg.verify(&read).expect_err("tampered");
    assert!(matches!(err, Error::HmacMismatch { .. }), "{err:?}");
    let err = pkg.list(&read).expect_err("tampered");
    assert!(matches!(err, Error::HmacMismatch { .. }), "{err:?}");
}

/// Runs the binary under test with `args` while files it writes may not grow past about 32 KiB
/// (`ulimit -f`, with SIGXFSZ ignored so that a write past it fails with EFBIG, as on a full
/// disk), from `dir`. Unix only: the limit is set by `/bin/sh`.
fn run_with_small_file_limit(dir: &Path, args: &[&std::ffi::OsStr]) -> std::process::Output {
    std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 64 || exit 99; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_intunewin"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("runs under /bin/sh")
}

/// The `--json` error of a failed run: its kind, path and message.
fn json_error(out: &std::process::Output) -> (String, String, String) {
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let field = |name: &str| {
        report["error"][name]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    (field("kind"), field("path"), field("message"))
}

#[test]
fn a_failed_write_while_decrypting_is_a_write_error_naming_the_output() {
    if cfg!(windows)
        || crate::util::not_for_windows_binary("it limits the file size with a Unix shell")
        || std::env::var_os("INTUNEWIN_RUNNER").is_some()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let package = large_package(dir.path());
    let blob = dir.path().join("content.bin");
    let saved = crate::util::intunewin()
        .arg("extract-content")
        .arg(&package)
        .arg("-o")
        .arg(&blob)
        .output()
        .expect("runs");
    assert!(saved.status.success(), "{saved:?}");
    let package_bytes = fs::read(&package).unwrap();
    // decrypt (a blob, the content layer's decrypting read) and extract-content (a package, its
    // copying read): the output outgrows the limit while the input reads fine.
    let runs: [(&str, Vec<&std::ffi::OsStr>); 2] = [
        (
            "inner.zip",
            vec![
                "decrypt".as_ref(),
                blob.as_os_str(),
                "--package".as_ref(),
                package.as_os_str(),
                "-o".as_ref(),
                "inner.zip".as_ref(),
                "--json".as_ref(),
            ],
        ),
        (
            "copy.bin",
            vec![
                "extract-content".as_ref(),
                package.as_os_str(),
                "-o".as_ref(),
                "copy.bin".as_ref(),
                "--json".as_ref(),
            ],
        ),
    ];
    for (output, args) in runs {
        let out = run_with_small_file_limit(dir.path(), &args);
        assert_ne!(out.status.code(), Some(0), "{out:?}");
        assert_ne!(out.status.code(), Some(99), "ulimit -f failed: {out:?}");
        let (kind, path, message) = json_error(&out);
        assert_eq!(kind, "write", "{message}");
        assert_eq!(path, output, "{message}");
        assert!(message.contains(output), "{message}");
        assert!(!message.contains("large.intunewin"), "{message}");
        assert!(!message.contains("content.bin"), "{message}");
        // Nothing is left behind, and the inputs are as they were.
        assert_eq!(
            names_in(dir.path()),
            ["content.bin", "large.intunewin"],
            "{output}"
        );
        assert_eq!(fs::read(&package).unwrap(), package_bytes);
    }
}
