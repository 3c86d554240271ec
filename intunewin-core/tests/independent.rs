//! An independent check (issue 2, "must show"): packages made by the library are decrypted and
//! extracted by `independent_check.py`, which uses only Python's `zipfile`, `hmac`, `hashlib`,
//! `xml.etree` and the `cryptography` package. Without python3 or `cryptography` the tests skip
//! locally and fail in CI (`util::require`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use intunewin_core::__private::IN_MEMORY_LIMIT;
use intunewin_core::{PackOptions, Package};
use serde_json::Value;

use crate::roundtrip::{
    assert_same_tree, compressible_bytes, pack, random_bytes, set_mtime, unix_seconds,
};
use crate::util::require;

/// python3 from PATH when it can import `cryptography`; otherwise `None`: the test is skipped,
/// or fails in CI (`util::require`).
fn python() -> Option<PathBuf> {
    require(
        "python3 with cryptography",
        "install python3 and `python3 -m pip install cryptography`",
        find_python(),
    )
}

/// python3 from PATH, or why it cannot be used.
fn find_python() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let python = std::env::split_paths(&path)
        .map(|d| d.join("python3"))
        .find(|p| p.is_file())
        .ok_or("python3 is not in PATH")?;
    let out = Command::new(&python)
        .args(["-c", "import cryptography"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} cannot import cryptography: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ));
    }
    Ok(python)
}

/// Runs the script on `package`, extracting into `dest`; returns its JSON summary.
fn independent_check(python: &Path, package: &Path, dest: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/independent_check.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(package)
        .arg(dest)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "independent check failed on {}: {}",
        package.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON summary")
}

/// Packs `src` with `opts`, runs the independent check and compares its extraction with the
/// source (paths, bytes, empty folders, mtimes). Returns the summary.
fn check(python: &Path, src: &Path, opts: PackOptions) -> Value {
    let (out, path) = pack(&opts, "setup.intunewin");
    let dest = out.path().join("independent");
    let summary = independent_check(python, &path, &dest);
    assert_same_tree(src, &dest, true);
    let pkg = Package::open(&path).unwrap();
    let d = pkg.detection();
    assert_eq!(summary["toolVersion"], "1.8.7.0");
    assert_eq!(summary["setupFile"], d.setup_file.as_str());
    assert_eq!(
        summary["unencryptedContentSize"],
        d.unencrypted_content_size
    );
    assert_eq!(summary["encryptedContentSize"], pkg.encrypted_size());
    assert_eq!(summary["outerMethods"], serde_json::json!([0, 0]));
    assert_eq!(
        summary["outerEntries"],
        serde_json::json!([
            "IntuneWinPackage/Contents/IntunePackage.intunewin",
            "IntuneWinPackage/Metadata/Detection.xml"
        ])
    );
    summary
}

/// Empty files and folders, non-ASCII and non-BMP names, nesting five levels deep.
fn varied_tree(root: &Path) {
    let files: [(&str, Vec<u8>); 8] = [
        ("setup.exe", compressible_bytes(1, 30_000)),
        ("empty.txt", Vec::new()),
        ("שם המחשב שלי.exe", random_bytes(2, 20_000)),
        ("Données/résumé 😀.txt", compressible_bytes(3, 4000)),
        ("Données/𝄞/leer.dat", Vec::new()),
        ("a/b/c/d/e/deep-中文.ps1", compressible_bytes(4, 900)),
        ("a/b/Ω.bin", random_bytes(5, 70_000)),
        ("a/README", b"x".to_vec()),
    ];
    let dirs = ["Empty", "a/b/c/Empty Ж", "Données/𝄞/空"];
    for (i, (rel, data)) in files.iter().enumerate() {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, data).unwrap();
        set_mtime(&path, unix_seconds(2012, 6, 1 + i as i64, 13, 7, 9));
    }
    for (i, rel) in dirs.iter().enumerate() {
        fs::create_dir_all(root.join(rel)).unwrap();
        set_mtime(&root.join(rel), unix_seconds(2044, 8, 20, 12, i as i64, 31));
    }
}

#[test]
fn python_reads_varied_trees() {
    let Some(python) = python() else { return };
    let src = tempfile::tempdir().unwrap();
    varied_tree(src.path());
    let summary = check(
        &python,
        src.path(),
        PackOptions::new(src.path(), "setup.exe"),
    );
    let entries = summary["entries"].as_array().unwrap();
    // 8 files and 3 empty folders; zipfile sees the UTF-8 names.
    assert_eq!(entries.len(), 11);
    let names: Vec<&str> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Données/𝄞/空/"), "{names:?}");
    assert!(
        entries.iter().all(|e| e["flags"] == 0x0800),
        "UTF-8 flag on every entry"
    );
    for opts in [
        PackOptions::new(src.path(), "setup.exe").level(0),
        PackOptions::new(src.path(), "setup.exe")
            .level(9)
            .store_incompressible(false),
    ] {
        check(&python, src.path(), opts);
    }
}

#[test]
fn python_reads_streamed_entries_with_data_descriptors() {
    let Some(python) = python() else { return };
    let src = tempfile::tempdir().unwrap();
    let big = IN_MEMORY_LIMIT as usize + 777_777;
    fs::write(src.path().join("setup.exe"), b"MZ").unwrap();
    fs::write(src.path().join("big.log"), compressible_bytes(9, big)).unwrap();
    fs::create_dir(src.path().join("bin")).unwrap();
    fs::write(src.path().join("bin/big.bin"), random_bytes(10, big)).unwrap();
    for rel in ["setup.exe", "big.log", "bin/big.bin"] {
        set_mtime(&src.path().join(rel), unix_seconds(2020, 7, 4, 12, 0, 0));
    }
    // Both are deflated in pieces with a data descriptor: the text compressed, the random file
    // as deflate's stored blocks (read once). Then with storing turned off.
    let methods = |summary: &Value| -> Vec<(u64, u64)> {
        let entries = summary["entries"].as_array().unwrap();
        ["big.log", "bin/big.bin"]
            .iter()
            .map(|name| {
                let e = entries.iter().find(|e| e["name"] == *name).unwrap();
                assert_eq!(e["size"], big, "{name}");
                (e["method"].as_u64().unwrap(), e["flags"].as_u64().unwrap())
            })
            .collect()
    };
    let default = check(
        &python,
        src.path(),
        PackOptions::new(src.path(), "setup.exe"),
    );
    assert_eq!(methods(&default), [(8, 0x0808), (8, 0x0808)]);
    let deflated = check(
        &python,
        src.path(),
        PackOptions::new(src.path(), "setup.exe").store_incompressible(false),
    );
    assert_eq!(methods(&deflated), [(8, 0x0808), (8, 0x0808)]);
}
