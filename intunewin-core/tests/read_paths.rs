//! How verify, list and extract read the content (issue 6): verify and list in one read, extract
//! authenticating before it writes and again while it writes.

use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use intunewin_core::Error;
use intunewin_core::PackOptions;
use intunewin_core::{ExtractOptions, Package, ReadOptions};
use intunewin_core::{Progress, Stage};

use crate::util::{large_package, testdata};

/// Packs the sample app into `dir` and returns the package's path.
fn sample_package(dir: &Path) -> PathBuf {
    let out = dir.join("sample.intunewin");
    PackOptions::new(testdata().join("sample-app"), "Install.ps1")
        .pack_to_file(&out, intunewin_core::Overwrite::Refuse)
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
