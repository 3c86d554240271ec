//! Table-driven vectors of `testdata/vectors/` (made by `vectors_gen.rs`, listed in its README):
//! each `.intunewin` has a `.expect` sidecar naming its outcome. `verify` must give exactly that
//! outcome; `extract` into `<tmp>/parent/dest` must give its outcome, write nothing outside the
//! destination, and leave the parent exactly as it was when it fails.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use intunewin_core::Limits;
use intunewin_core::Severity;
use intunewin_core::{Error, ExtractOptions, Package, ReadOptions};
use sha2::{Digest, Sha256};

use crate::vectors_gen::vectors_dir;

/// What a vector's `.expect` file says.
struct Expected {
    name: String,
    package: PathBuf,
    /// `ok` or an `Error` variant name, for open + verify.
    verify: String,
    /// The same for extract.
    extract: String,
    /// Rule ids of the error-severity findings of a successful verify, sorted.
    findings: Vec<String>,
}

fn load() -> Vec<Expected> {
    let dir = vectors_dir();
    let mut out = Vec::new();
    for entry in fs::read_dir(&dir).expect("testdata/vectors exists") {
        let package = entry.expect("dir entry").path();
        if package.extension().is_none_or(|e| e != "intunewin") {
            continue;
        }
        let sidecar = package.with_extension("expect");
        let text = fs::read_to_string(&sidecar)
            .unwrap_or_else(|e| panic!("{} has no .expect file: {e}", package.display()));
        out.push(parse_expect(&text, package));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn parse_expect(text: &str, package: PathBuf) -> Expected {
    let fields: BTreeMap<&str, &str> = text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let name = package
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("UTF-8 vector name")
        .to_string();
    let verify = fields
        .get("expect")
        .unwrap_or_else(|| panic!("{name}.expect has no `expect:` line"))
        .to_string();
    let extract = fields
        .get("extract")
        .map_or(verify.clone(), |s| s.to_string());
    let mut findings: Vec<String> = fields
        .get("findings")
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    findings.sort();
    Expected {
        name,
        package,
        verify,
        extract,
        findings,
    }
}

/// Whether `err` is the variant named `variant` (as written in `.expect` files).
fn is_variant(err: &Error, variant: &str) -> bool {
    match variant {
        "Io" => matches!(err, Error::Io { .. }),
        "OuterZip" => matches!(err, Error::OuterZip { .. }),
        "MissingEntry" => matches!(err, Error::MissingEntry { .. }),
        "Detection" => matches!(err, Error::Detection { .. }),
        "BlobLength" => matches!(err, Error::BlobLength { .. }),
        "MacFieldMismatch" => matches!(err, Error::MacFieldMismatch { .. }),
        "IvMismatch" => matches!(err, Error::IvMismatch { .. }),
        "HmacMismatch" => matches!(err, Error::HmacMismatch { .. }),
        "BadPadding" => matches!(err, Error::BadPadding { .. }),
        "DigestMismatch" => matches!(err, Error::DigestMismatch { .. }),
        "ContentSizeMismatch" => matches!(err, Error::ContentSizeMismatch { .. }),
        "InnerZip" => matches!(err, Error::InnerZip { .. }),
        "CrcMismatch" => matches!(err, Error::CrcMismatch { .. }),
        "OuterCrcMismatch" => matches!(err, Error::OuterCrcMismatch { .. }),
        "UnsafePath" => matches!(err, Error::UnsafePath { .. }),
        "LimitExceeded" => matches!(err, Error::LimitExceeded { .. }),
        other => panic!("unknown variant `{other}` in an .expect file"),
    }
}

/// `None` when `result` is the expected outcome, else a description of the difference.
fn mismatch<T>(result: &Result<T, Error>, expected: &str) -> Option<String> {
    match (result, expected) {
        (Ok(_), "ok") => None,
        (Ok(_), want) => Some(format!("succeeded, expected {want}")),
        (Err(e), "ok") => Some(format!("failed with {e:?}, expected ok")),
        (Err(e), want) if is_variant(e, want) => None,
        (Err(e), want) => Some(format!("failed with {e:?}, expected {want}")),
    }
}

fn verify(path: &Path) -> Result<Vec<String>, Error> {
    let report = Package::open(path)?.verify(&ReadOptions::default())?;
    let mut errors: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.rule.id().to_string())
        .collect();
    errors.sort();
    Ok(errors)
}

fn extract(path: &Path, dest: &Path) -> Result<(), Error> {
    Package::open(path)?.extract(dest, &ExtractOptions::default())?;
    Ok(())
}

/// Every file and folder under `root` (relative path → size, `None` for a folder).
type Snapshot = BTreeMap<PathBuf, Option<u64>>;

fn snapshot(root: &Path) -> Snapshot {
    let mut out = Snapshot::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read folder") {
            let path = entry.expect("dir entry").path();
            let meta = fs::symlink_metadata(&path).expect("metadata");
            let rel = path.strip_prefix(root).expect("under root").to_path_buf();
            if meta.is_dir() {
                stack.push(path);
                out.insert(rel, None);
            } else {
                out.insert(rel, Some(meta.len()));
            }
        }
    }
    out
}

/// A temporary folder holding `parent/` (created when `with_parent`) with a bystander file.
fn workspace(with_parent: bool) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    fs::write(tmp.path().join("outside.txt"), b"do not touch").expect("write");
    let parent = tmp.path().join("parent");
    if with_parent {
        fs::create_dir(&parent).expect("create parent");
        fs::write(parent.join("sibling.txt"), b"keep me").expect("write");
    }
    (tmp, parent.join("dest"))
}

/// Extracts `v` and checks the outcome and the file system around it; `None` when all is well.
fn check_extract(v: &Expected, with_parent: bool) -> Option<String> {
    let (tmp, dest) = workspace(with_parent);
    let before = snapshot(tmp.path());
    let result = extract(&v.package, &dest);
    let after = snapshot(tmp.path());
    if let Some(m) = mismatch(&result, &v.extract) {
        return Some(format!("extract {m}"));
    }
    if result.is_err() {
        return (before != after).then(|| {
            format!("failed extract changed the folder: before {before:?}, after {after:?}")
        });
    }
    let dest_rel = dest.strip_prefix(tmp.path()).expect("under tmp");
    let stray: Vec<&PathBuf> = after
        .keys()
        .filter(|p| !before.contains_key(*p) && !p.starts_with(dest_rel))
        .filter(|p| with_parent || *p != Path::new("parent"))
        .collect();
    let changed: Vec<&PathBuf> = before
        .keys()
        .filter(|p| before.get(*p) != after.get(*p))
        .collect();
    if !stray.is_empty() || !changed.is_empty() {
        return Some(format!(
            "extract wrote outside the destination: new {stray:?}, changed {changed:?}"
        ));
    }
    None
}

/// What `check` makes of a vector, in the terms of `.expect`: the error variant it fails with,
/// or, when it reports error findings (unsafe names are findings there, not a failure),
/// `UnsafePath` with the rule ids; `ok` when it finds no error.
fn check_outcome(path: &Path) -> (String, Vec<String>) {
    let opts = intunewin_core::CheckOptions::new();
    match intunewin_core::check(path, &opts) {
        Err(e) => (crate_error_variant(&e), Vec::new()),
        Ok(report) => {
            let mut rules: Vec<String> = report
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .map(|f| f.rule.id().to_string())
                .collect();
            rules.sort();
            rules.dedup();
            (String::from("findings"), rules)
        }
    }
}

fn crate_error_variant(e: &Error) -> String {
    format!("{e:?}")
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Issue 14: every hostile vector gets the same verdict from verify, extract and check. A
/// vector verify refuses for an unsafe name is an error finding of `check` (which reports each
/// name instead of stopping); any other failure is the same failure in all three.
#[test]
fn every_vector_gets_one_verdict_from_verify_extract_and_check() {
    let mut failures = Vec::new();
    for v in load().iter().filter(|v| !known_bug(v) && v.verify != "ok") {
        let (outcome, rules) = check_outcome(&v.package);
        let agrees = match v.verify.as_str() {
            "UnsafePath" => outcome == "findings" && !rules.is_empty(),
            want => outcome == want,
        };
        if !agrees || v.extract != v.verify {
            failures.push(format!(
                "{}: verify {}, extract {}, check {outcome} {rules:?}",
                v.name, v.verify, v.extract
            ));
        }
    }
    assert_no_failures(failures);
}

/// Vectors whose `.expect` carries a `bug:` line are skipped here and run by an ignored test.
fn known_bug(v: &Expected) -> bool {
    fs::read_to_string(v.package.with_extension("expect"))
        .is_ok_and(|t| t.lines().any(|l| l.starts_with("bug:")))
}

fn assert_no_failures(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} vector(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn vectors_cover_every_case() {
    let vectors = load();
    assert!(vectors.len() >= 50, "only {} vectors", vectors.len());
    let outcomes: Vec<&str> = vectors.iter().map(|v| v.verify.as_str()).collect();
    for want in [
        "ok",
        "OuterZip",
        "MissingEntry",
        "Detection",
        "BlobLength",
        "MacFieldMismatch",
        "IvMismatch",
        "HmacMismatch",
        "BadPadding",
        "DigestMismatch",
        "ContentSizeMismatch",
        "InnerZip",
        "CrcMismatch",
        "OuterCrcMismatch",
        "UnsafePath",
        "LimitExceeded",
    ] {
        assert!(outcomes.contains(&want), "no vector expects {want}");
    }
    let total: u64 = vectors
        .iter()
        .map(|v| fs::metadata(&v.package).expect("size").len())
        .sum();
    assert!(total < 1 << 20, "vectors total {total} bytes");
}

#[test]
fn every_vector_verifies_as_expected() {
    let mut failures = Vec::new();
    for v in load().iter().filter(|v| !known_bug(v)) {
        let result = verify(&v.package);
        if let Some(m) = mismatch(&result, &v.verify) {
            failures.push(format!("{}: verify {m}", v.name));
        } else if let Ok(findings) = &result
            && *findings != v.findings
        {
            failures.push(format!(
                "{}: verify reported error findings {findings:?}, expected {:?}",
                v.name, v.findings
            ));
        }
    }
    assert_no_failures(failures);
}

#[test]
fn every_vector_extracts_as_expected_and_only_into_the_destination() {
    let mut failures = Vec::new();
    for v in load().iter().filter(|v| !known_bug(v)) {
        if let Some(m) = check_extract(v, true) {
            failures.push(format!("{}: {m}", v.name));
        }
    }
    assert_no_failures(failures);
}

#[test]
fn good_vectors_extract_every_listed_entry() {
    for v in load().iter().filter(|v| v.extract == "ok") {
        let (_tmp, dest) = workspace(true);
        let package = Package::open(&v.package).expect("open");
        let listed = package.list(&ReadOptions::default()).expect("list").entries;
        package
            .extract(&dest, &ExtractOptions::default())
            .expect("extract");
        for entry in listed.iter().filter(|e| !e.info.is_dir) {
            let path = entry
                .info
                .name
                .split(['/', '\\'])
                .fold(dest.clone(), |p, c| p.join(c));
            let data = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let sha: [u8; 32] = Sha256::digest(&data).into();
            assert_eq!(sha, entry.sha256, "{}: {}", v.name, entry.info.name);
        }
    }
}

/// FORMAT.md §7 step 5: nothing is written before the MAC is checked, not even the parent folder.
#[test]
fn hmac_failure_writes_nothing_not_even_the_parent() {
    let vectors = load();
    let hmac: Vec<&Expected> = vectors
        .iter()
        .filter(|v| matches!(v.verify.as_str(), "HmacMismatch" | "MacFieldMismatch"))
        .collect();
    assert!(hmac.len() >= 3);
    for v in hmac {
        assert_eq!(check_extract(v, false), None, "{}", v.name);
    }
}

/// A failure after the MAC check must not leave behind the parent folder extract created.
#[test]
fn failed_extract_into_missing_parent_leaves_nothing() {
    let mut failures = Vec::new();
    for v in load().iter().filter(|v| v.extract != "ok" && !known_bug(v)) {
        if let Some(m) = check_extract(v, false) {
            failures.push(format!("{}: {m}", v.name));
        }
    }
    assert_no_failures(failures);
}

/// The vectors a `bug:` line marks, checked against their expectation (fails until fixed).
#[test]
#[ignore = "runs the vectors marked `bug:` in testdata/vectors; none is marked now"]
fn known_bug_vectors() {
    let mut failures = Vec::new();
    for v in load().iter().filter(|v| known_bug(v)) {
        if let Some(m) = mismatch(&verify(&v.package), &v.verify) {
            failures.push(format!("{}: verify {m}", v.name));
        }
        if let Some(m) = check_extract(v, true) {
            failures.push(format!("{}: {m}", v.name));
        }
    }
    assert_no_failures(failures);
}

/// The entry-count and total-size limits, too large to reach with a small vector at their
/// defaults, lowered on a good vector: verify and extract stop, and extract leaves nothing.
#[test]
fn lowered_limits_stop_a_good_vector() {
    let package = vectors_dir().join("good_nested.intunewin");
    let few_entries = Limits {
        max_entries: 2,
        ..Limits::default()
    };
    let small_total = Limits {
        max_total_size: Some(100),
        ..Limits::default()
    };
    for limits in [few_entries, small_total] {
        let read = ReadOptions::default().limits(limits.clone());
        let opened = Package::open(&package).expect("open");
        let verified = opened.verify(&read);
        assert!(
            matches!(verified, Err(Error::LimitExceeded { .. })),
            "{limits:?}: {verified:?}"
        );
        let (tmp, dest) = workspace(true);
        let before = snapshot(tmp.path());
        let extracted = opened.extract(&dest, &ExtractOptions::default().read_options(read));
        assert!(
            matches!(extracted, Err(Error::LimitExceeded { .. })),
            "{limits:?}: {extracted:?}"
        );
        assert_eq!(snapshot(tmp.path()), before);
    }
}
