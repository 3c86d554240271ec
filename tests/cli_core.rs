//! The CLI through the real binary (issue 2): the pack → info/verify/list/extract round trip,
//! `info --json` against each corpus package's Detection.xml, bad input (clear error naming the
//! file, the right exit code, never a panic, nothing partial left), and snapshots of the human
//! output so that a change of wording shows in review.
//!
//! Everything here runs `intunewin` and reads what it prints or writes; expected values come
//! from the fixtures, FORMAT.md or an independent reading of the package (the `zip` crate and a
//! string search in Detection.xml), never from the library.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::Output;

use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::util::{Fixture, corpus_packages, intunewin};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Runs `intunewin` with `args` in `cwd`.
fn run(cwd: &Path, args: &[&str]) -> Output {
    intunewin()
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("intunewin runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Parses stdout as JSON, failing with both streams shown.
fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(out),
            stderr(out)
        )
    })
}

/// Asserts a success (exit 0) without a panic.
fn assert_ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "expected success\nstdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
    assert!(!stderr(out).contains("panicked"), "{}", stderr(out));
}

/// Asserts a clean failure of `args`, run by `run` with and without `--json`: exit `code` both
/// times, no panic, nothing else on stdout; under `--json` one error of `kind` naming `path`.
/// Returns the plain run and the JSON error.
fn failed_both_ways(
    run: impl Fn(&[&str]) -> Output,
    args: &[&str],
    code: i32,
    kind: &str,
    path: &str,
) -> (Output, Value) {
    let out = run(args);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: expected exit {code}\nstdout:\n{}\nstderr:\n{err}",
        stdout(&out)
    );
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(!err.contains("stack backtrace"), "backtrace: {err}");
    assert!(
        stdout(&out).is_empty(),
        "stdout not empty: {}",
        stdout(&out)
    );
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let json_out = run(&with_json);
    assert_eq!(json_out.status.code(), Some(code), "{with_json:?}");
    let report = json(&json_out);
    assert_eq!(report["error"]["kind"], kind, "{args:?}: {report}");
    crate::util::assert_names_path(&report["error"]["path"], path);
    (out, report["error"].clone())
}

/// [`failed_both_ways`], and stderr is the JSON error's message and hint. Returns the command
/// line and stderr, whose wording the callers pin in snapshots (see [`pin`]).
fn assert_failed(
    run: impl Fn(&[&str]) -> Output,
    args: &[&str],
    code: i32,
    kind: &str,
    path: &str,
) -> String {
    let (out, error) = failed_both_ways(run, args, code, kind, path);
    crate::util::assert_stderr_says(&out, &error);
    format!("$ intunewin {}\n{}", args.join(" "), stderr(&out))
}

/// [`assert_failed`] for `args` run in `fx`.
fn assert_error(fx: &Fixture, args: &[&str], code: i32, kind: &str, path: &str) -> String {
    assert_failed(|a| fx.run(a), args, code, kind, path)
}

/// `path` inside `fx`, as the binary prints it when given a path relative to `fx`.
fn inside(fx: &Fixture, path: &str) -> String {
    fx.path().join(path).to_string_lossy().into_owned()
}

/// Pins `text` (messages, the folder masked) in the snapshot `name`; the paths in it are
/// spelled the Unix way, so not for a Windows binary.
fn pin(fx: &Fixture, name: &str, text: &str) {
    if !crate::util::windows_binary() {
        fx.snapshot_settings()
            .bind(|| insta::assert_snapshot!(name, text));
    }
}

/// Size and SHA-256 (hex) of a file.
type FileSum = (u64, String);

/// A folder's whole content: relative path → size and SHA-256 (`None` for folders).
fn tree(dir: &Path) -> BTreeMap<String, Option<FileSum>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Option<FileSum>>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for entry in rd {
            let path = entry.expect("dir entry").path();
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .replace('\\', "/");
            if path.is_dir() {
                out.insert(rel, None);
                walk(root, &path, out);
            } else {
                let data = fs::read(&path).unwrap_or_default();
                out.insert(rel, Some((data.len() as u64, sha256_hex(&data))));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn b64_len(value: &Value) -> (usize, usize) {
    let text = value.as_str().expect("base64 string");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("standard base64");
    (text.len(), bytes.len())
}

// ---------------------------------------------------------------------------------------------
// An independent reading of a package: the `zip` crate and a string search in Detection.xml
// ---------------------------------------------------------------------------------------------

/// The outer entries of a package, names normalised to `/`.
fn outer_entries(package: &Path) -> BTreeMap<String, Vec<u8>> {
    use std::io::Read as _;
    let file = fs::File::open(package).expect("open package");
    let mut archive = zip::ZipArchive::new(file).expect("outer zip readable by the zip crate");
    let mut out = BTreeMap::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).expect("outer entry");
        let name = String::from_utf8_lossy(entry.name_raw()).replace('\\', "/");
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("read outer entry");
        out.insert(name, data);
    }
    out
}

/// The text of `<tag>…</tag>`, XML entities decoded; `None` when absent.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(unescape(xml[start..end].trim()))
}

/// The value of the root's `ToolVersion="…"` attribute.
fn xml_tool_version(xml: &str) -> Option<String> {
    let start = xml.find("ToolVersion=\"")? + "ToolVersion=\"".len();
    let end = start + xml[start..].find('"')?;
    Some(xml[start..end].to_string())
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Detection.xml of a package, read with the `zip` crate.
fn detection_xml(package: &Path) -> (String, BTreeMap<String, Vec<u8>>) {
    let entries = outer_entries(package);
    let xml = entries
        .iter()
        .find(|(name, _)| name.ends_with("Metadata/Detection.xml"))
        .map(|(_, data)| data.clone())
        .expect("a Detection.xml entry");
    let text = String::from_utf8_lossy(&xml)
        .trim_start_matches('\u{feff}')
        .to_string();
    (text, entries)
}

/// MsiInfo element → `info --json` key (FORMAT.md §8.2; camelCase, ODBC kept upper case).
const MSI_KEYS: [(&str, &str); 14] = [
    ("MsiProductCode", "productCode"),
    ("MsiProductVersion", "productVersion"),
    ("MsiPackageCode", "packageCode"),
    ("MsiUpgradeCode", "upgradeCode"),
    ("MsiExecutionContext", "executionContext"),
    ("MsiRequiresLogon", "requiresLogon"),
    ("MsiRequiresReboot", "requiresReboot"),
    ("MsiIsMachineInstall", "isMachineInstall"),
    ("MsiIsUserInstall", "isUserInstall"),
    ("MsiIncludesServices", "includesServices"),
    ("MsiIncludesODBCDataSource", "includesODBCDataSource"),
    (
        "MsiContainsSystemRegistryKeys",
        "containsSystemRegistryKeys",
    ),
    ("MsiContainsSystemFolders", "containsSystemFolders"),
    ("MsiPublisher", "publisher"),
];

/// Asserts that `info --json` of `package` states what its Detection.xml and outer zip hold.
fn assert_info_matches_package(info: &Value, package: &Path) {
    let (xml, entries) = detection_xml(package);
    let label = package.display();
    let text = |tag: &str| xml_text(&xml, tag).unwrap_or_else(|| panic!("{label}: no <{tag}>"));
    assert_eq!(
        info["toolVersion"].as_str(),
        xml_tool_version(&xml).as_deref(),
        "{label}"
    );
    for (tag, key) in [
        ("Name", "name"),
        ("SetupFile", "setupFile"),
        ("FileName", "fileName"),
        ("EncryptionKey", "encryptionKey"),
        ("MacKey", "macKey"),
        ("InitializationVector", "initializationVector"),
        ("Mac", "mac"),
        ("ProfileIdentifier", "profileIdentifier"),
        ("FileDigest", "fileDigest"),
        ("FileDigestAlgorithm", "fileDigestAlgorithm"),
    ] {
        assert_eq!(
            info[key].as_str(),
            Some(text(tag).as_str()),
            "{label}: {key}"
        );
    }
    let size: u64 = text("UnencryptedContentSize")
        .parse()
        .expect("decimal size");
    assert_eq!(
        info["unencryptedContentSize"].as_u64(),
        Some(size),
        "{label}"
    );
    let content = entries
        .iter()
        .find(|(name, _)| name.ends_with(&format!("Contents/{}", text("FileName"))))
        .map(|(_, data)| data.len() as u64)
        .expect("the content entry FileName names");
    assert_eq!(
        info["encryptedContentSize"].as_u64(),
        Some(content),
        "{label}"
    );
    assert_msi_matches(&info["msiInfo"], &xml, &label.to_string());
}

fn assert_msi_matches(msi: &Value, xml: &str, label: &str) {
    if !xml.contains("<MsiInfo>") {
        assert!(msi.is_null(), "{label}: msiInfo should be null: {msi}");
        return;
    }
    for (tag, key) in MSI_KEYS {
        let expected = xml_text(xml, tag);
        let actual = match &msi[key] {
            Value::Null => None,
            Value::Bool(b) => Some(b.to_string()),
            Value::String(s) => Some(s.clone()),
            other => panic!("{label}: msiInfo.{key} is {other}"),
        };
        // Booleans are written lower case by the tool (FORMAT.md §4.2); compare them so.
        let expected = expected.map(|e| match e.as_str() {
            "True" | "False" => e.to_lowercase(),
            _ => e,
        });
        assert_eq!(actual, expected, "{label}: msiInfo.{key}");
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Round trip on the sample app
// ---------------------------------------------------------------------------------------------

/// The keys `info --json` prints: the issue's list (Graph's names where Graph has one) plus the
/// package path, its size and reader warnings.
const INFO_KEYS: [&str; 17] = [
    "toolVersion",
    "name",
    "setupFile",
    "fileName",
    "unencryptedContentSize",
    "encryptedContentSize",
    "encryptionKey",
    "macKey",
    "initializationVector",
    "mac",
    "profileIdentifier",
    "fileDigest",
    "fileDigestAlgorithm",
    "msiInfo",
    "package",
    "packageSize",
    "warnings",
];

#[test]
fn pack_json_reports_output_setup_sizes_digest_count_and_time() {
    if crate::util::not_for_windows_binary(
        "it expects out/Install.intunewin; Windows joins the folder it was given as out\\Install.intunewin (compared separator-blind by ci/windows.sh)",
    ) {
        return;
    }
    let fx = Fixture::sample_app();
    let started = std::time::Instant::now();
    let out = fx.run(&[
        "pack",
        "src",
        "--setup",
        "Install.ps1",
        "--output",
        "out",
        "--json",
    ]);
    let wall = started.elapsed().as_secs_f64();
    assert_ok(&out);
    let pack = json(&out);
    assert_eq!(
        pack["output"].as_str(),
        Some(
            Path::new("out")
                .join("Install.intunewin")
                .display()
                .to_string()
                .as_str()
        )
    );
    assert_eq!(pack["setupFile"], "Install.ps1");
    assert_eq!(pack["name"], "Install.ps1");
    // testdata/sample-app: Install.ps1, Uninstall.ps1, Files/readme.txt, Files/Config/settings.json.
    assert_eq!(pack["fileCount"], 4);
    assert_eq!(pack["emptyFolderCount"], 0);
    let source_size: u64 = tree(&fx.path().join("src"))
        .values()
        .flatten()
        .map(|(len, _)| len)
        .sum();
    assert_eq!(pack["sourceSize"].as_u64(), Some(source_size));
    let package = fx.path().join("out/Install.intunewin");
    assert_eq!(
        pack["packageSize"].as_u64(),
        Some(fs::metadata(&package).expect("package written").len())
    );
    let n = pack["unencryptedContentSize"].as_u64().expect("size");
    // FORMAT.md §3.2: blob = MAC + IV + PKCS#7-padded ciphertext.
    assert_eq!(
        pack["encryptedContentSize"].as_u64(),
        Some(48 + 16 * (n / 16 + 1))
    );
    // The time the tool measured lies within the time the test measured around it.
    let elapsed = pack["elapsedSeconds"]
        .as_f64()
        .expect("elapsedSeconds is a number");
    assert!(
        elapsed.is_finite() && elapsed >= 0.0 && elapsed <= wall,
        "elapsedSeconds {elapsed} outside [0, {wall}]"
    );
    assert_eq!(b64_len(&pack["fileDigest"]), (44, 32));

    let info = json(&fx.run(&["info", "out/Install.intunewin", "--json"]));
    assert_eq!(pack["fileDigest"], info["fileDigest"]);
    assert_eq!(
        pack["unencryptedContentSize"],
        info["unencryptedContentSize"]
    );
    assert_eq!(pack["encryptedContentSize"], info["encryptedContentSize"]);
    // Nothing but the package in the output folder: the temporary file was renamed.
    let names: Vec<String> = tree(&fx.path().join("out")).into_keys().collect();
    assert_eq!(names, ["Install.intunewin"]);
}

#[test]
fn info_json_has_the_issue_keys_and_values() {
    let fx = Fixture::sample_app();
    let package = fx.pack();
    let out = fx.run(&["info", "out/Install.intunewin", "--json"]);
    assert_ok(&out);
    let info = json(&out);
    let keys: BTreeSet<&str> = info
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, INFO_KEYS.into_iter().collect::<BTreeSet<_>>());

    assert_eq!(info["toolVersion"], "1.8.7.0");
    assert_eq!(info["name"], "Install.ps1");
    assert_eq!(info["setupFile"], "Install.ps1");
    assert_eq!(info["fileName"], "IntunePackage.intunewin");
    assert_eq!(info["profileIdentifier"], "ProfileVersion1");
    assert_eq!(info["fileDigestAlgorithm"], "SHA256");
    assert!(info["msiInfo"].is_null());
    // FORMAT.md §3.3: 44 base64 characters for 32 bytes, 24 for 16.
    for (key, expected) in [
        ("encryptionKey", (44, 32)),
        ("macKey", (44, 32)),
        ("initializationVector", (24, 16)),
        ("mac", (44, 32)),
        ("fileDigest", (44, 32)),
    ] {
        assert_eq!(b64_len(&info[key]), expected, "{key}");
    }
    assert_eq!(
        info["packageSize"].as_u64(),
        Some(fs::metadata(&package).expect("package").len())
    );
    assert_info_matches_package(&info, &package);
}

#[test]
fn verify_accepts_a_fresh_package() {
    let fx = Fixture::sample_app();
    fx.pack();
    let out = fx.run(&["verify", "out/Install.intunewin", "--json"]);
    assert_ok(&out);
    let report = json(&out);
    assert_eq!(report["valid"], true);
    assert!(report["error"].is_null());
    assert_eq!(report["fileCount"], 4);
}

#[test]
fn list_json_hashes_equal_the_source_files() {
    let fx = Fixture::sample_app();
    fx.pack();
    let out = fx.run(&["list", "out/Install.intunewin", "--json"]);
    assert_ok(&out);
    let listed: BTreeMap<String, (String, u64)> = json(&out)
        .as_array()
        .expect("array")
        .iter()
        .filter(|e| e["isDirectory"] == false)
        .map(|e| {
            (
                e["name"].as_str().expect("name").to_string(),
                (
                    e["sha256"].as_str().expect("sha256").to_string(),
                    e["size"].as_u64().expect("size"),
                ),
            )
        })
        .collect();
    let source: BTreeMap<String, (String, u64)> = tree(&fx.path().join("src"))
        .into_iter()
        .filter_map(|(name, sum)| sum.map(|(len, sha)| (name, (sha, len))))
        .collect();
    assert_eq!(listed, source);
}

#[test]
fn extract_reproduces_the_tree_and_mtimes() {
    let fx = Fixture::sample_app();
    fx.pack();
    let out = fx.run(&["extract", "out/Install.intunewin", "--output", "restored"]);
    assert_ok(&out);
    let src = fx.path().join("src");
    let restored = fx.path().join("restored");
    assert_eq!(tree(&restored), tree(&src));
    // FORMAT.md §5.3: DOS times keep even seconds.
    for (name, data) in tree(&src) {
        if data.is_none() {
            continue;
        }
        let mtime = |root: &Path| {
            let meta = fs::metadata(root.join(&name)).expect("metadata");
            filetime::FileTime::from_last_modification_time(&meta).unix_seconds()
        };
        let (a, b) = (mtime(&src), mtime(&restored));
        assert!((a - b).abs() <= 2, "{name}: mtime {b} vs source {a}");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. info --json against the corpus
// ---------------------------------------------------------------------------------------------

#[test]
fn info_json_matches_detection_xml_of_every_corpus_package() {
    let packages = corpus_packages();
    if packages.is_empty() {
        eprintln!("corpus absent: info --json vs Detection.xml not checked");
        return;
    }
    let cwd = std::env::temp_dir();
    for package in &packages {
        let out = run(&cwd, &["info", "--json", &package.to_string_lossy()]);
        assert_ok(&out);
        assert_info_matches_package(&json(&out), package);
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Bad input: pack
// ---------------------------------------------------------------------------------------------

/// Runs `pack` that must fail with `code`, an error of `kind` about `path` (see
/// [`assert_failed`]), and checks that neither `src` nor `out` changed. Returns what it said.
fn assert_pack_fails(fx: &Fixture, args: &[&str], code: i32, kind: &str, path: &str) -> String {
    let before = tree(fx.path());
    let said = assert_error(fx, args, code, kind, path);
    assert_eq!(
        tree(fx.path()),
        before,
        "the failed pack left something behind"
    );
    said
}

#[test]
fn pack_missing_setup_file() {
    let fx = Fixture::sample_app();
    assert_pack_fails(
        &fx,
        &["pack", "src", "--setup", "Nope.ps1", "--output", "out"],
        2,
        "setup-not-found",
        &inside(&fx, "src"),
    );
    // Its message (naming Nope.ps1 and the source folder) is pinned in the errors snapshot.
}

#[test]
fn pack_setup_file_outside_the_source() {
    let fx = Fixture::sample_app();
    fs::write(fx.path().join("outside.ps1"), "Write-Host outside").expect("write");
    let relative = assert_pack_fails(
        &fx,
        &[
            "pack",
            "src",
            "--setup",
            "../outside.ps1",
            "--output",
            "out",
        ],
        2,
        "setup-outside-source",
        &inside(&fx, "src/../outside.ps1"),
    );
    let absolute = fx.path().join("outside.ps1");
    let full = assert_pack_fails(
        &fx,
        &[
            "pack",
            "src",
            "--setup",
            &absolute.to_string_lossy(),
            "--output",
            "out",
        ],
        2,
        "setup-outside-source",
        &absolute.to_string_lossy(),
    );
    pin(&fx, "pack_setup_outside_the_source", &(relative + &full));
}

#[test]
fn pack_nonexistent_source() {
    let fx = Fixture::sample_app();
    let said = assert_pack_fails(
        &fx,
        &[
            "pack",
            "missing-src",
            "--setup",
            "Install.ps1",
            "--output",
            "out",
        ],
        2,
        "bad-source",
        "missing-src",
    );
    pin(&fx, "pack_nonexistent_source", &said);
}

#[test]
fn pack_empty_source() {
    let fx = Fixture::sample_app();
    fs::create_dir(fx.path().join("empty")).expect("mkdir");
    let said = assert_pack_fails(
        &fx,
        &["pack", "empty", "--setup", "Install.ps1", "--output", "out"],
        2,
        "setup-not-found",
        &inside(&fx, "empty"),
    );
    pin(&fx, "pack_empty_source", &said);
}

#[test]
fn pack_output_file_inside_the_source() {
    let fx = Fixture::sample_app();
    let said = assert_pack_fails(
        &fx,
        &[
            "pack",
            "src",
            "--setup",
            "Install.ps1",
            "--output",
            "src/Install.intunewin",
        ],
        2,
        "output-inside-source",
        "src/Install.intunewin",
    );
    pin(&fx, "pack_output_file_inside_the_source", &said);
}

#[test]
fn pack_output_folder_inside_the_source() {
    let fx = Fixture::sample_app();
    let said = assert_pack_fails(
        &fx,
        &[
            "pack",
            "src",
            "--setup",
            "Install.ps1",
            "--output",
            "src/out",
        ],
        2,
        "output-inside-source",
        "src/out/Install.intunewin",
    );
    pin(&fx, "pack_output_folder_inside_the_source", &said);
}

#[test]
fn pack_with_unsafe_paths_exits_1_and_writes_nothing() {
    if crate::util::not_for_windows_binary(
        "its fixture holds a reserved device name (CON), which Windows cannot hold",
    ) {
        return;
    }
    let fx = Fixture::sample_app();
    // A reserved device name is an error finding (FORMAT.md §12.2): the pack stops with exit 1.
    fs::write(fx.path().join("src/CON.txt"), "x").expect("write");
    let before = tree(fx.path());
    let args = ["pack", "src", "--setup", "Install.ps1", "--output", "out"];
    let run = |a: &[&str]| fx.run(a);
    let (out, _) = failed_both_ways(run, &args, 1, "unsafe-paths", &inside(&fx, "src"));
    assert_eq!(tree(fx.path()), before);
    // The finding and the remedy (--allow-unsafe-paths) are pinned here (the findings come
    // before the error, which is worded otherwise than the JSON message).
    fx.snapshot_settings()
        .bind(|| insta::assert_snapshot!(stderr(&out)));
}

#[test]
fn pack_failure_leaves_no_new_output_folder() {
    if crate::util::not_for_windows_binary(
        "its fixture holds a reserved device name (CON), which Windows cannot hold",
    ) {
        return;
    }
    let fx = Fixture::sample_app();
    // A reserved device name is an error finding (FORMAT.md §12.2): the pack stops with exit 1.
    fs::write(fx.path().join("src/CON.txt"), "x").expect("write");
    let before = tree(fx.path());
    let args = [
        "pack",
        "src",
        "--setup",
        "Install.ps1",
        "--output",
        "new-out",
    ];
    let (out, _) = failed_both_ways(|a| fx.run(a), &args, 1, "unsafe-paths", &inside(&fx, "src"));
    assert_eq!(
        tree(fx.path()),
        before,
        "the failed pack left something behind"
    );
    // What it says is pinned in pack_with_unsafe_paths_exits_1_and_writes_nothing.
    let pinned = fx.run(&["pack", "src", "--setup", "Install.ps1", "--output", "out"]);
    assert_eq!(stderr(&out), stderr(&pinned));
}

#[test]
fn pack_existing_output_needs_force() {
    let fx = Fixture::sample_app();
    let package = fx.pack();
    let first = fs::read(&package).expect("package");
    assert_pack_fails(
        &fx,
        &["pack", "src", "--setup", "Install.ps1", "--output", "out"],
        2,
        "output-exists",
        "out/Install.intunewin",
    );
    // Its message and hint (pass --force) are pinned in the errors snapshot.
    assert_eq!(fs::read(&package).expect("package"), first);

    let out = fx.run(&[
        "pack",
        "src",
        "--setup",
        "Install.ps1",
        "--output",
        "out",
        "--force",
    ]);
    assert_ok(&out);
    let second = fs::read(&package).expect("package");
    // Fresh keys and IV for every package (FORMAT.md §3.1): the file was really replaced.
    assert_ne!(second, first);
    assert_ok(&fx.run(&["verify", "out/Install.intunewin"]));
    let names: Vec<String> = tree(&fx.path().join("out")).into_keys().collect();
    assert_eq!(names, ["Install.intunewin"]);
}

/// Runs the command as an unprivileged user when we are root (root reads a mode-000 file);
/// `None` when that is not possible.
#[cfg(unix)]
fn unprivileged(fx: &Fixture, probe: &Path, args: &[&str]) -> Option<Output> {
    if fs::read(probe).is_err() {
        return Some(fx.run(args));
    }
    let setpriv = Path::new("/usr/bin/setpriv");
    if !setpriv.exists() {
        return None;
    }
    // The temp dir is private to its owner; let the unprivileged user in and write to out/.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(fx.path(), fs::Permissions::from_mode(0o755)).ok()?;
        fs::set_permissions(fx.path().join("out"), fs::Permissions::from_mode(0o777)).ok()?;
    }
    let bin = assert_cmd::cargo::cargo_bin("intunewin");
    let out = std::process::Command::new(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin)
        .args(args)
        .current_dir(fx.path())
        .output()
        .ok()?;
    // setpriv itself may be refused (no CAP_SETUID in a container); then skip.
    (!String::from_utf8_lossy(&out.stderr).starts_with("setpriv:")).then_some(out)
}

#[cfg(unix)]
#[test]
fn pack_unreadable_source_file() {
    use std::os::unix::fs::PermissionsExt as _;
    let fx = Fixture::sample_app();
    let locked = fx.path().join("src/Uninstall.ps1");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).expect("chmod");
    let before = tree(&fx.path().join("out"));
    let args = ["pack", "src", "--setup", "Install.ps1", "--output", "out"];
    if crate::util::require(
        "an unprivileged user",
        "run the tests as a non-root user, or where util-linux's setpriv may change the user id",
        unprivileged(&fx, &locked, &args)
            .ok_or_else(|| "running as root without a usable setpriv".to_string()),
    )
    .is_none()
    {
        return;
    }
    let run = |a: &[&str]| unprivileged(&fx, &locked, a).expect("ran unprivileged before");
    let said = assert_failed(run, &args, 2, "io", &inside(&fx, "src/Uninstall.ps1"));
    assert_eq!(tree(&fx.path().join("out")), before);
    pin(&fx, "pack_unreadable_source_file", &said);
}

// ---------------------------------------------------------------------------------------------
// 3. Bad input: packages
// ---------------------------------------------------------------------------------------------

/// Offset of the Contents entry's data: the first local header is at 0 (FORMAT.md §2.1), its
/// data follows the 30-byte header, the name and the extra field.
fn content_offset(bytes: &[u8]) -> usize {
    let le16 = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]) as usize;
    30 + le16(26) + le16(28)
}

/// Rebuilds the outer zip with the `zip` crate (stored entries, Contents first) after `edit`
/// changed Detection.xml: a corrupt value with a valid outer CRC.
fn rebuild_with_detection(fx: &Fixture, name: &str, edit: impl FnOnce(&str) -> String) -> String {
    use std::io::Write as _;
    let package = fx.package();
    let entries = outer_entries(&package);
    let file = fs::File::create(fx.path().join(name)).expect("create");
    let mut writer = zip::ZipWriter::new(file);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut ordered: Vec<(&String, &Vec<u8>)> = entries.iter().collect();
    ordered.sort_by_key(|(n, _)| n.ends_with("Detection.xml"));
    let (xml, _) = detection_xml(&package);
    let edited = edit(&xml);
    assert_ne!(edited, xml, "the edit changed nothing");
    for (entry, data) in ordered {
        writer.start_file(entry.as_str(), options).expect("start");
        let data = if entry.ends_with("Detection.xml") {
            edited.as_bytes()
        } else {
            data.as_slice()
        };
        writer.write_all(data).expect("write");
    }
    writer.finish().expect("finish");
    name.to_string()
}

/// Replaces one base64 character of `<tag>` (keeping the length, so the value still decodes to
/// the same number of bytes).
fn change_b64(xml: &str, tag: &str) -> String {
    let start = xml.find(&format!("<{tag}>")).expect("tag") + tag.len() + 2;
    let mut bytes = xml.as_bytes().to_vec();
    bytes[start + 3] = if bytes[start + 3] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("ascii edit")
}

/// Every decrypting command on a bad package exits `code` with the error `verify --json`
/// reports (of one kind, naming the package; see [`assert_failed`]), and extract writes nothing;
/// `info` (which reads Detection.xml only) exits `info_code`. Returns the kind and what verify
/// said, for the callers to pin.
fn assert_package_rejected(
    fx: &Fixture,
    package: &str,
    code: i32,
    info_code: i32,
) -> (String, String) {
    let report = json(&fx.run(&["verify", "--json", package]));
    let kind = report["error"]["kind"]
        .as_str()
        .expect("verify --json names the kind")
        .to_string();
    let info = ["info", package];
    if info_code == 0 {
        assert_ok(&fx.run(&info));
    } else {
        assert_error(fx, &info, info_code, &kind, package);
    }
    let said = assert_error(fx, &["verify", package], code, &kind, package);
    assert_error(fx, &["list", package], code, &kind, package);
    let before = tree(fx.path());
    let extract = ["extract", package, "--output", "extracted"];
    assert_error(fx, &extract, code, &kind, package);
    assert_eq!(tree(fx.path()), before, "extract left something behind");
    (kind, said)
}

#[test]
fn truncated_package_at_several_cut_points() {
    let fx = Fixture::sample_app();
    let full = fs::read(fx.pack()).expect("package");
    let start = content_offset(&full);
    let cuts = [
        0,
        1,
        29,              // inside the first local header
        start + 40,      // inside the MAC/IV
        start + 200,     // inside the ciphertext
        full.len() / 2,  //
        full.len() - 22, // just before the end-of-central-directory record
        full.len() - 1,  // one byte short
    ];
    let mut said = String::new();
    for cut in cuts {
        let name = format!("cut-{cut}.intunewin");
        fs::write(fx.path().join(&name), &full[..cut]).expect("write");
        said.push_str(&assert_package_rejected(&fx, &name, 1, 1).1);
    }
    pin(&fx, "truncated_packages", &said);
}

#[test]
fn flipped_ciphertext_byte_is_an_hmac_mismatch() {
    let fx = Fixture::sample_app();
    let name = fx.variant("flipped.intunewin", |b| {
        let at = content_offset(b) + 48 + 100;
        b[at] ^= 0x01;
    });
    let (kind, _) = assert_package_rejected(&fx, &name, 1, 0);
    assert_eq!(kind, "hmac-mismatch");
    // What it says is pinned in the errors snapshot (the same flip, the same name).
}

#[test]
fn flipped_byte_in_detection_mac_without_fixing_the_crc() {
    let fx = Fixture::sample_app();
    let name = fx.variant("crc.intunewin", |b| {
        let at = b
            .windows(5)
            .position(|w| w == b"<Mac>")
            .expect("Mac element")
            + 5;
        b[at + 3] = if b[at + 3] == b'A' { b'B' } else { b'A' };
    });
    let (kind, said) = assert_package_rejected(&fx, &name, 1, 1);
    assert_eq!(kind, "outer-crc-mismatch");
    pin(&fx, "outer_crc_mismatch", &said);
}

#[test]
fn changed_detection_mac_differs_from_the_content_mac() {
    let fx = Fixture::sample_app();
    let name = rebuild_with_detection(&fx, "mac.intunewin", |xml| change_b64(xml, "Mac"));
    // info reads Detection.xml without touching the content, so it still succeeds.
    let (kind, said) = assert_package_rejected(&fx, &name, 1, 0);
    assert_eq!(kind, "mac-field-mismatch");
    pin(&fx, "mac_field_mismatch", &said);
}

#[test]
fn wrong_encryption_key_fails_on_padding_or_digest() {
    let fx = Fixture::sample_app();
    let name = rebuild_with_detection(&fx, "key.intunewin", |xml| change_b64(xml, "EncryptionKey"));
    let (kind, said) = assert_package_rejected(&fx, &name, 1, 0);
    assert!(kind == "bad-padding" || kind == "digest-mismatch", "{kind}");
    // A wrong key almost always (255 times in 256) leaves bad padding; that message is pinned.
    if kind == "bad-padding" {
        pin(&fx, "wrong_encryption_key", &said);
    }
}

#[test]
fn wrong_mac_key_is_an_hmac_mismatch() {
    let fx = Fixture::sample_app();
    let name = rebuild_with_detection(&fx, "mackey.intunewin", |xml| change_b64(xml, "MacKey"));
    let (kind, said) = assert_package_rejected(&fx, &name, 1, 0);
    assert_eq!(kind, "hmac-mismatch");
    pin(&fx, "wrong_mac_key", &said);
}

#[test]
fn a_file_that_is_not_a_zip() {
    let fx = Fixture::sample_app();
    fs::write(
        fx.path().join("text.intunewin"),
        "this is a text file, not a zip\n".repeat(20),
    )
    .expect("write");
    let (kind, _) = assert_package_rejected(&fx, "text.intunewin", 1, 1);
    assert_eq!(kind, "outer-zip");
    // What it says is pinned in the errors snapshot (another text file, the same name).
}

#[test]
fn a_nonexistent_package() {
    let fx = Fixture::sample_app();
    let (kind, _) = assert_package_rejected(&fx, "absent.intunewin", 2, 2);
    assert_eq!(kind, "io");
    // What it says is pinned in the io_error_names_the_file snapshot.
}

/// An I/O error is kind `io` about the file, and its message ends with the file's name (pinned
/// in a snapshot, the OS's wording being the Linux one); the OS error is said once.
#[test]
fn io_errors_end_with_the_file() {
    let fx = Fixture::sample_app();
    let out = fx.run(&["verify", "absent.intunewin"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let report = json(&fx.run(&["verify", "absent.intunewin", "--json"]));
    assert_eq!(report["error"]["kind"], "io", "{report}");
    assert_eq!(report["error"]["path"], "absent.intunewin", "{report}");
    crate::util::assert_stderr_says(&out, &report["error"]);
    let err = stderr(&out);
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
    if !crate::util::windows_binary() {
        insta::with_settings!({omit_expression => true}, {
            insta::assert_snapshot!("io_error_names_the_file", err);
        });
    }
}

#[test]
fn extract_into_an_existing_folder_needs_force() {
    let fx = Fixture::sample_app();
    fx.pack();
    fs::create_dir(fx.path().join("dest")).expect("mkdir");
    fs::write(fx.path().join("dest/keep.txt"), "mine").expect("write");
    let before = tree(fx.path());
    let args = ["extract", "out/Install.intunewin", "--output", "dest"];
    let mut said = assert_error(&fx, &args, 2, "output-exists", "dest");
    assert_eq!(tree(fx.path()), before);

    // A failing extract with --force leaves the existing folder as it was.
    let bad = fx.variant("flipped.intunewin", |b| {
        let at = content_offset(b) + 48;
        b[at] ^= 0x80;
    });
    let before = tree(&fx.path().join("dest"));
    let args = ["extract", &bad, "--output", "dest", "--force"];
    said.push_str(&assert_error(&fx, &args, 1, "hmac-mismatch", &bad));
    assert_eq!(tree(&fx.path().join("dest")), before);
    pin(&fx, "extract_into_an_existing_folder", &said);

    // With --force the package's files are written into the folder; the user's file stays.
    let out = fx.run(&[
        "extract",
        "out/Install.intunewin",
        "--output",
        "dest",
        "--force",
    ]);
    assert_ok(&out);
    let mut expected = tree(&fx.path().join("src"));
    expected.extend(before);
    assert_eq!(tree(&fx.path().join("dest")), expected);
}

#[test]
fn failed_extract_leaves_no_parent_folders() {
    let fx = Fixture::sample_app();
    let name = rebuild_with_detection(&fx, "key.intunewin", |xml| change_b64(xml, "EncryptionKey"));
    let before = tree(fx.path());
    let args = ["extract", &name, "--output", "deep/nested/dest"];
    let kind = json(&fx.run(&["verify", "--json", &name]))["error"]["kind"].clone();
    assert!(kind == "bad-padding" || kind == "digest-mismatch", "{kind}");
    let said = assert_error(&fx, &args, 1, kind.as_str().expect("a kind"), &name);
    assert_eq!(tree(fx.path()), before);
    // As in wrong_encryption_key_fails_on_padding_or_digest, the usual message is pinned.
    if kind == "bad-padding" {
        pin(&fx, "failed_extract_wrong_key", &said);
    }
}

// ---------------------------------------------------------------------------------------------
// 4. verify --json on a corrupted package
// ---------------------------------------------------------------------------------------------

#[test]
fn verify_json_reports_the_failure_kind() {
    let fx = Fixture::sample_app();
    let name = fx.variant("flipped.intunewin", |b| {
        let at = b.len() / 3;
        b[at] ^= 0x10;
    });
    let out = fx.run(&["verify", "--json", &name]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));
    let report = json(&out);
    assert_eq!(report["valid"], false);
    assert_eq!(report["error"]["kind"], "hmac-mismatch");
    assert_eq!(report["error"]["path"], name.as_str());
    assert_eq!(report["package"], name.as_str());
    // Its wording is pinned in the `errors` snapshot.
    assert!(report["error"]["message"].is_string(), "{report}");
}

// ---------------------------------------------------------------------------------------------
// 5. Snapshots of the human output
// ---------------------------------------------------------------------------------------------

/// Both streams and the exit code, as one text to snapshot.
fn transcript(out: &Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status
            .code()
            .map_or("signal".to_string(), |c| c.to_string()),
        stdout(out),
        stderr(out)
    )
}

#[test]
fn snapshot_human_output() {
    if crate::util::not_for_windows_binary(
        "its snapshots spell paths the Unix way; ci/windows.sh compares the same output to Linux, separator-blind",
    ) {
        return;
    }
    let fx = Fixture::sample_app();
    let pack = fx.run(&["pack", "src", "--setup", "Install.ps1", "--output", "out"]);
    assert_ok(&pack);
    let pkg = "out/Install.intunewin";
    let info = fx.run(&["info", pkg]);
    let verify = fx.run(&["verify", pkg]);
    let list = fx.run(&["list", pkg]);
    let extract = fx.run(&["extract", pkg, "--output", "restored"]);
    for out in [&info, &verify, &list, &extract] {
        assert_ok(out);
    }
    fx.snapshot_settings().bind(|| {
        insta::assert_snapshot!("pack", transcript(&pack));
        insta::assert_snapshot!("info", transcript(&info));
        insta::assert_snapshot!("verify", transcript(&verify));
        insta::assert_snapshot!("list", transcript(&list));
        insta::assert_snapshot!("extract", transcript(&extract));
    });
}

#[test]
fn snapshot_error_messages() {
    if crate::util::not_for_windows_binary(
        "its snapshots spell paths and OS errors the Unix way; ci/windows.sh compares the same output to Linux, separator-blind",
    ) {
        return;
    }
    let fx = Fixture::sample_app();
    fx.pack();
    let flipped = fx.variant("flipped.intunewin", |b| {
        let at = content_offset(b) + 48 + 100;
        b[at] ^= 0x01;
    });
    fs::write(fx.path().join("text.intunewin"), "not a zip\n".repeat(20)).expect("write");
    fs::write(fx.path().join("x.ps1"), "outside").expect("write");
    let cases: [&[&str]; 6] = [
        &["pack", "src", "--setup", "Nope.ps1", "--output", "out"],
        &["pack", "src", "--setup", "../x.ps1", "--output", "out"],
        &["pack", "src", "--setup", "Install.ps1", "--output", "out"],
        &[
            "pack",
            "src",
            "--setup",
            "Install.ps1",
            "-o",
            "src/a.intunewin",
        ],
        &["verify", &flipped],
        &["verify", "text.intunewin"],
    ];
    let text: String = cases
        .iter()
        .map(|args| {
            format!(
                "$ intunewin {}\n{}\n",
                args.join(" "),
                transcript(&fx.run(args))
            )
        })
        .collect();
    fx.snapshot_settings()
        .bind(|| insta::assert_snapshot!("errors", text));
}

#[test]
fn a_closed_stdout_ends_list_quietly() {
    use std::io::Read as _;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("setup.cmd"), b"@echo off").unwrap();
    // More listing than a pipe holds (64 KiB), so the writer meets the closed end.
    for i in 0..1500 {
        fs::write(src.join(format!("file-{i:04}.txt")), format!("{i}")).unwrap();
    }
    let package = dir.path().join("many.intunewin");
    let packed = run(
        dir.path(),
        &[
            "pack",
            "src",
            "--setup",
            "setup.cmd",
            "--output",
            "many.intunewin",
            "-q",
        ],
    );
    assert_ok(&packed);
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("intunewin"))
        .arg("list")
        .arg(&package)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap(); // then dropped: closed
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// The binary allocates through mimalloc (issue 6): with glibc's allocator the pipelines'
/// cross-thread buffers made peak RSS grow with the package (extract 116 MiB at 5 GiB against
/// 24 MiB with mimalloc). A dropped `#[global_allocator]` line compiles silently, so ask the
/// binary: mimalloc announces its start when `MIMALLOC_VERBOSE` is set. A Windows build uses
/// the Windows heap instead (mimalloc's hooks never run on windows-gnu; see main.rs), so there
/// nothing announces itself.
#[test]
fn the_binary_allocates_through_mimalloc_except_on_windows() {
    let out = intunewin()
        .arg("--version")
        .env("MIMALLOC_VERBOSE", "1")
        .output()
        .expect("intunewin runs");
    assert_ok(&out);
    let announced = stderr(&out).contains("mimalloc: "); // e.g. "mimalloc: process init: 0x…"
    assert_eq!(
        announced,
        !crate::util::windows_binary(),
        "mimalloc should be the allocator exactly when the binary is not a Windows build; \
         stderr:\n{}",
        stderr(&out)
    );
}
