//! Issue 14, "errors that name the right thing", through the real binary: every `--json`
//! command prints one JSON error object on stdout with the exit code it has without `--json`;
//! a failing output is a `write` error naming the output (never the input); Ctrl-C at the
//! IntuneWinAppUtil prompts exits 130 at once and writes nothing.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;
#[cfg(unix)]
use std::time::Instant;

use intunewin_core::{Error, PackOptions, Package, ReadOptions};
use serde_json::Value;
use tempfile::TempDir;

use crate::util::{Fixture, assert_stderr_says, intunewin, json_error, large_package};

/// A hang must fail the test, not the CI job.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The shared fixture (`src/` from testdata/sample-app) with `out/Install.intunewin` packed
/// from it.
fn packed() -> Fixture {
    let fx = Fixture::sample_app();
    fx.pack();
    fx
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The one JSON object on stdout (the whole of stdout must parse as one value).
fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON value ({e}):\n{}\nstderr:\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

/// Checks the `{"error": {kind, message, path, hint}}` shape and returns the error object.
fn error_object(out: &Output, kind: &str) -> Value {
    let value = json_of(out);
    let obj = value.as_object().expect("an object");
    assert_eq!(obj.len(), 1, "only `error`: {value}");
    let error = value["error"].clone();
    assert_eq!(error["kind"], kind, "{value}");
    let message = error["message"].as_str().expect("a message");
    assert!(!message.is_empty());
    assert!(
        error["path"].is_string() || error["path"].is_null(),
        "{value}"
    );
    assert!(
        error["hint"].is_string() || error["hint"].is_null(),
        "{value}"
    );
    error
}

/// Runs `args` with and without `--json`: same exit code, a JSON error of `kind` on stdout
/// with `--json`, the human message on stderr both times. Returns the error object.
fn assert_json_failure(fx: &Fixture, args: &[&str], code: i32, kind: &str) -> Value {
    let plain = fx.run(args);
    assert_eq!(
        plain.status.code(),
        Some(code),
        "{args:?}: {}",
        text(&plain.stderr)
    );
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let out = fx.run(&with_json);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{with_json:?}: {}",
        text(&out.stderr)
    );
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !text(&out.stderr).is_empty(),
        "the human message stays on stderr"
    );
    error_object(&out, kind)
}

/// A `--json` error as a snapshot shows it: the command line, then the error object.
fn error_block(args: &[&str], error: &Value) -> String {
    format!("$ intunewin {} --json\n{error:#}\n", args.join(" "))
}

// --- One JSON error object from every --json command ---

#[test]
fn every_json_command_prints_one_error_object_with_the_same_exit_code() {
    let fx = packed();
    fs::write(fx.join("text.intunewin"), "not a zip\n".repeat(20)).expect("write");
    fs::write(fx.join("file"), "a file, not a folder").expect("write");
    fs::create_dir(fx.join("dest")).expect("mkdir");
    let pkg = "out/Install.intunewin";
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["pack", "nosrc", "--setup", "a.ps1", "-o", "o2"],
            2,
            "bad-source",
        ),
        (
            &["pack", "src", "--setup", "Nope.ps1", "-o", "o2"],
            2,
            "setup-not-found",
        ),
        (
            &["pack", "src", "--setup", "Install.ps1", "-o", "out"],
            2,
            "output-exists",
        ),
        (&["info", "absent.intunewin"], 2, "io"),
        (&["info", "text.intunewin"], 1, "outer-zip"),
        (&["verify", "absent.intunewin"], 2, "io"),
        (&["list", "text.intunewin"], 1, "outer-zip"),
        (&["check", "absent"], 2, "io"),
        (&["extract", pkg, "-o", "dest"], 2, "output-exists"),
        (&["explain"], 2, "usage"),
        (
            &["decrypt", "x.bin", "--key", "!!", "--iv", "AA=="],
            2,
            "usage",
        ),
        (&["decrypt", "absent.bin", "--package", pkg], 2, "io"),
        (&["extract-content", pkg, "-o", "file/c.bin"], 2, "write"),
        (&["diff", pkg, "absent.intunewin"], 2, "io"),
        (&["diff", pkg, "text.intunewin"], 2, "outer-zip"),
    ];
    for (args, code, kind) in cases {
        assert_json_failure(&fx, args, *code, kind);
    }
    // The path is the file concerned.
    let err = assert_json_failure(&fx, &["info", "absent.intunewin"], 2, "io");
    assert_eq!(err["path"], "absent.intunewin");
    let err = assert_json_failure(&fx, &["extract", pkg, "-o", "dest"], 2, "output-exists");
    assert_eq!(err["path"], "dest");
    assert_eq!(err["hint"], "pass --force to replace it");
    // Nothing was written by any of them.
    assert_eq!(
        names_in(fx.path()),
        ["dest", "file", "out", "src", "text.intunewin"],
        "no output, no temporary file"
    );
    assert_eq!(names_in(&fx.join("dest")), Vec::<String>::new());
}

#[test]
fn command_line_errors_with_json_are_json_too() {
    let fx = packed();
    let cases: &[&[&str]] = &[
        &["info"],
        &["list", "--bogus"],
        &["pack", "src"],
        &["check", "src", "--content-version-digits", "9"],
        &["decrypt", "x.bin", "--key", "AA=="],
    ];
    let mut messages = String::new();
    for args in cases {
        let err = assert_json_failure(&fx, args, 2, "usage");
        assert!(err["path"].is_null(), "{err}");
        let message = err["message"].as_str().expect("message");
        assert!(!message.starts_with("error:"), "{message}");
        assert!(!message.contains('\n'), "{message}");
        messages.push_str(&format!(
            "$ intunewin {} --json\n{message}\n",
            args.join(" ")
        ));
    }
    // What clap says is in the message (the missing argument, the unknown option): pinned here
    // for the Linux binary (a Windows one names itself intunewin.exe).
    if !crate::util::windows_binary() {
        fx.snapshot_settings()
            .bind(|| insta::assert_snapshot!("errors_usage_json", messages));
    }
    // `--json` after `--` is a file name, not the option: clap's plain error only.
    let out = fx.run(&["info", "a", "--", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    // Help stays help (its text is pinned in the every_command_help snapshot).
    let help = fx.run(&["info", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(!help.stdout.is_empty());
    let out = fx.run(&["info", "--help", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), text(&help.stdout));
}

#[test]
fn pack_stopped_by_unsafe_paths_reports_the_findings_as_json() {
    if crate::util::not_for_windows_binary(
        "its fixture holds a reserved device name (CON), which Windows cannot hold",
    ) {
        return;
    }
    let fx = packed();
    fs::write(fx.join("src/CON.txt"), "x").expect("write");
    let err = assert_json_failure(
        &fx,
        &["pack", "src", "--setup", "Install.ps1", "-o", "o2"],
        1,
        "unsafe-paths",
    );
    let findings = err["findings"].as_array().expect("findings");
    assert!(!findings.is_empty());
    assert!(
        findings
            .iter()
            .all(|f| f["severity"] == "error" && f["path"].is_string()),
        "{err}"
    );
    assert!(findings.iter().any(|f| f["path"] == "CON.txt"), "{err}");
    assert!(!fx.join("o2").exists());
}

#[test]
fn verify_json_carries_the_same_error_object() {
    let fx = packed();
    let mut bytes = fs::read(fx.join("out/Install.intunewin")).expect("read");
    let at = bytes.len() / 3;
    bytes[at] ^= 0x10;
    fs::write(fx.join("flipped.intunewin"), bytes).expect("write");
    let out = fx.run(&["verify", "flipped.intunewin", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = json_of(&out);
    assert_eq!(report["valid"], false);
    assert_eq!(report["error"]["kind"], "hmac-mismatch");
    assert_eq!(report["error"]["path"], "flipped.intunewin");
}

// --- Write errors name the output ---

/// A folder no one may create files in, even root (sysfs refuses); `None` where there is none.
fn unwritable_folder() -> Option<PathBuf> {
    let dir = PathBuf::from("/sys/kernel");
    if !dir.is_dir() {
        return None;
    }
    let probe = dir.join("intunewin-probe");
    match fs::File::create(&probe) {
        Ok(_) => {
            let _ = fs::remove_file(&probe);
            None
        }
        Err(_) => Some(dir),
    }
}

#[test]
fn permission_denied_on_the_output_names_it_with_a_hint() {
    if crate::util::not_for_windows_binary("it writes under Linux's /sys") {
        return;
    }
    let Some(locked) = unwritable_folder() else {
        eprintln!("no unwritable folder on this system: test skipped");
        return;
    };
    let fx = packed();
    let pkg = "out/Install.intunewin";
    let blob = fx.run(&["extract-content", pkg, "-o", "app.bin", "-q"]);
    assert_eq!(blob.status.code(), Some(0), "{}", text(&blob.stderr));
    let target = locked.join("app.zip");
    let target = target.to_str().expect("utf-8");
    let package_target = locked.join("app.intunewin");
    let package_target = package_target.to_str().expect("utf-8");
    let pack = [
        "pack",
        "src",
        "--setup",
        "Install.ps1",
        "-o",
        package_target,
    ];
    let err = assert_json_failure(&fx, &pack, 2, "write");
    assert_eq!(err["path"], package_target, "{err}");
    let mut shown = String::new();
    for args in [
        vec!["decrypt", "app.bin", "--package", pkg, "-o", target],
        vec!["extract-content", pkg, "-o", target],
    ] {
        let err = assert_json_failure(&fx, &args, 2, "write");
        assert_eq!(err["path"], target, "{err}");
        assert_stderr_says(&fx.run(&args), &err);
        shown.push_str(&error_block(&args, &err));
    }
    // The message names the output (no temporary name, not the input) and the hint the
    // permissions.
    fx.snapshot_settings()
        .bind(|| insta::assert_snapshot!("errors_permission_json", shown));
}

/// `len` incompressible bytes (xorshift).
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Runs `args` as an unprivileged user (root reads a mode-000 file); `None` when that is
/// not possible here.
#[cfg(unix)]
fn unprivileged(fx: &Fixture, args: &[&str]) -> Option<Output> {
    use std::os::unix::fs::PermissionsExt as _;
    // Root reads what mode 000 forbids: then run as nobody.
    let probe = fx.join("probe");
    fs::write(&probe, "x").ok()?;
    fs::set_permissions(&probe, fs::Permissions::from_mode(0o000)).ok()?;
    if fs::read(&probe).is_err() {
        return Some(fx.run(args));
    }
    let setpriv = Path::new("/usr/bin/setpriv");
    if !setpriv.exists() {
        return None;
    }
    fs::set_permissions(fx.path(), fs::Permissions::from_mode(0o755)).ok()?;
    fs::set_permissions(fx.join("out"), fs::Permissions::from_mode(0o755)).ok()?;
    let out = std::process::Command::new(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(assert_cmd::cargo::cargo_bin("intunewin"))
        .args(args)
        .current_dir(fx.path())
        .output()
        .ok()?;
    // setpriv itself may be refused (no CAP_SETUID in a container).
    (!text(&out.stderr).starts_with("setpriv:")).then_some(out)
}

#[cfg(unix)]
#[test]
fn an_unreadable_package_is_a_read_error_with_a_hint() {
    use std::os::unix::fs::PermissionsExt as _;
    let fx = packed();
    let pkg = fx.join("out/Install.intunewin");
    fs::set_permissions(&pkg, fs::Permissions::from_mode(0o000)).expect("chmod");
    let Some(out) = unprivileged(&fx, &["info", "out/Install.intunewin", "--json"]) else {
        eprintln!("running as root without a usable setpriv: test skipped");
        return;
    };
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = error_object(&out, "io");
    assert_eq!(err["path"], "out/Install.intunewin");
    assert_stderr_says(&out, &err);
    // "cannot open: permission denied", and a hint to run as someone who may read it.
    fx.snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            "errors_unreadable_package",
            error_block(&["info", "out/Install.intunewin"], &err)
        )
    });
}

/// Runs the binary with a 64 KiB file size limit, so writing the output fails half-way with
/// EFBIG as on a full disk (SIGXFSZ ignored, inherited through exec).
#[cfg(unix)]
fn run_with_small_file_limit(dir: &Path, args: &[impl AsRef<std::ffi::OsStr>]) -> Output {
    let bin = assert_cmd::cargo::cargo_bin("intunewin");
    let script = "trap '' XFSZ; ulimit -f 128; exec \"$0\" \"$@\"";
    std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(bin)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("sh runs")
}

#[cfg(unix)]
#[test]
fn an_output_that_fills_up_is_a_write_error_naming_it() {
    let fx = packed();
    // Incompressible content well over the 64 KiB limit.
    fs::write(fx.join("src/Files/noise.bin"), noise(256 * 1024)).expect("write");
    let out = fx.run(&["pack", "src", "--setup", "Install.ps1", "-o", "big", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let pkg = "big/Install.intunewin";
    let out = fx.run(&["extract-content", pkg, "-o", "big/app.bin", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let before = names_in(&fx.join("big"));
    let mut shown = String::new();
    for (args, output) in [
        (
            vec![
                "decrypt",
                "big/app.bin",
                "--package",
                pkg,
                "-o",
                "big/app.zip",
            ],
            "big/app.zip",
        ),
        (
            vec!["extract-content", pkg, "-o", "big/copy.bin"],
            "big/copy.bin",
        ),
        // Extracted files go to a temporary folder first: the error names the destination.
        (
            vec!["extract", pkg, "-o", "big/dest"],
            "big/dest/Files/noise.bin",
        ),
    ] {
        let mut with_json = args.clone();
        with_json.push("--json");
        let out = run_with_small_file_limit(fx.path(), &with_json);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        let err = error_object(&out, "write");
        assert_eq!(err["path"], output, "the real output, not a temporary file");
        assert!(err["hint"].is_string(), "{err}");
        assert_eq!(names_in(&fx.join("big")), before, "nothing left behind");
        shown.push_str(&error_block(&args, &err));
    }
    // "cannot write: file too large", naming the output as given: no temporary name, no
    // placeholder, not the input.
    fx.snapshot_settings()
        .bind(|| insta::assert_snapshot!("errors_file_too_large", shown));
}

#[test]
fn an_output_under_a_file_is_a_write_error_naming_the_folder() {
    let fx = packed();
    fs::write(fx.join("file"), "mine").expect("write");
    let blob = fx.run(&[
        "extract-content",
        "out/Install.intunewin",
        "-o",
        "app.bin",
        "-q",
    ]);
    assert_eq!(blob.status.code(), Some(0), "{}", text(&blob.stderr));
    let err = assert_json_failure(
        &fx,
        &[
            "decrypt",
            "app.bin",
            "--package",
            "out/Install.intunewin",
            "-o",
            "file/app.zip",
        ],
        2,
        "write",
    );
    assert_eq!(err["path"], "file");
    // The hint says that a file stands where the folder goes (the OS error as Linux words it).
    if !crate::util::windows_binary() {
        fx.snapshot_settings().bind(|| {
            insta::assert_snapshot!(
                "errors_output_under_a_file",
                error_block(
                    &[
                        "decrypt",
                        "app.bin",
                        "--package",
                        "out/Install.intunewin",
                        "-o",
                        "file/app.zip"
                    ],
                    &err
                )
            )
        });
    }
    assert_eq!(
        fs::read(fx.join("file")).expect("read"),
        b"mine",
        "the user's file is kept"
    );
}

/// A writer that takes `room` bytes, then fails like a full disk.
struct FullDisk {
    room: usize,
}

impl Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.room == 0 {
            return Err(io::Error::from(io::ErrorKind::StorageFull));
        }
        let n = buf.len().min(self.room);
        self.room -= n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn package_decrypt_to_a_failing_writer_is_a_write_error() {
    let dir = TempDir::new().expect("temp dir");
    let src = dir.path().join("src");
    fs::create_dir(&src).expect("mkdir");
    // Incompressible, so the inner zip is far larger than what the writer takes.
    fs::write(src.join("setup.exe"), noise(300_000)).expect("write");
    let pkg = dir.path().join("app.intunewin");
    PackOptions::new(&src, "setup.exe")
        .pack_to_file(&pkg, intunewin_core::Overwrite::Refuse)
        .expect("packs");
    let pkg = Package::open(&pkg).expect("opens");
    let err = pkg
        .decrypt_to(FullDisk { room: 4096 }, &ReadOptions::default())
        .expect_err("the writer fails");
    match &err {
        Error::Write { source, path, .. } => {
            assert_eq!(source.kind(), io::ErrorKind::StorageFull);
            assert_eq!(path, &None, "a bare writer has no path");
        }
        other => panic!("expected a write error, got {other:?}"),
    }
    assert_eq!(err.kind(), "write");
    // The message names no file (a bare writer has none; never the package).
    insta::with_settings!({ omit_expression => true }, {
        insta::assert_snapshot!("errors_write_to_a_writer", err.to_string());
    });
    // The same package into a writer that works: the failure was the writer's alone.
    let mut ok = Vec::new();
    pkg.decrypt_to(&mut ok, &ReadOptions::default())
        .expect("decrypts");
    assert_eq!(ok.len() as u64, pkg.detection().unencrypted_content_size);
}

// --- Typed failure kinds ---

/// `intunewin verify --json <vector>` run in the vectors folder: exit 1, kind
/// `limit-exceeded`, and the `limit` object.
fn limit_of_vector(vector: &str) -> Value {
    let out = intunewin()
        .current_dir(crate::vectors_gen::vectors_dir())
        .args(["verify", "--json", vector])
        .timeout(TIMEOUT)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = json_of(&out);
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["error"]["kind"], "limit-exceeded", "{report}");
    assert_eq!(report["error"]["path"], vector, "{report}");
    report["error"]["limit"].clone()
}

fn number(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

#[test]
fn a_limit_error_says_which_limit_and_the_numbers_in_json() {
    let beyond = limit_of_vector("inner_beyond_declared_size.intunewin");
    assert_eq!(beyond["name"], "entry-size", "{beyond}");
    assert_eq!(beyond["at"], "data.bin", "{beyond}");
    assert_eq!(number(&beyond["max"]), 1000, "the size the header declares");
    assert!(number(&beyond["actual"]) > 1000, "{beyond}");

    let bomb = limit_of_vector("inner_ratio_bomb.intunewin");
    assert_eq!(bomb["name"], "compression-ratio", "{bomb}");
    assert_eq!(bomb["at"], "bomb.bin", "{bomb}");
    assert_eq!(number(&bomb["actual"]), 0xFFFF_FF00, "the size it claims");
    // A few bytes of deflate at 1100:1, plus the 64 KiB of slack every entry gets.
    let max = number(&bomb["max"]);
    assert!(max > 1 << 16 && max < 1 << 24, "{bomb}");

    let xml = limit_of_vector("xml_oversized.intunewin");
    assert_eq!(xml["name"], "detection-xml-size", "{xml}");
    assert_eq!(
        xml["at"], "IntuneWinPackage/Metadata/Detection.xml",
        "{xml}"
    );
    assert_eq!(
        (number(&xml["actual"]), number(&xml["max"])),
        (100_000, 64 * 1024)
    );
}

#[test]
fn errors_other_than_limits_carry_no_limit_object() {
    let fx = packed();
    fs::write(fx.join("text.intunewin"), "not a zip\n".repeat(20)).expect("write");
    let error = assert_json_failure(&fx, &["info", "text.intunewin"], 1, "outer-zip");
    assert!(error.get("limit").is_none(), "{error}");
}

/// The entry-count and total-size limits, lowered through the library (the CLI keeps the
/// defaults, which a small package cannot reach).
#[test]
fn lowered_entry_count_and_total_size_limits_give_their_numbers() {
    use intunewin_core::Limit;
    use intunewin_core::Limits;
    let package = crate::vectors_gen::vectors_dir().join("good_nested.intunewin");
    let package = Package::open(&package).expect("opens");
    let verify = |limits: Limits| {
        package
            .verify(&ReadOptions::default().limits(limits))
            .expect_err("over the limit")
    };
    match verify(Limits {
        max_entries: 2,
        ..Limits::default()
    }) {
        Error::LimitExceeded {
            limit: Limit::EntryCount,
            at: None,
            actual: 3,
            max: 2,
            ..
        } => {}
        other => panic!("expected the entry-count limit, got {other:?}"),
    }
    match verify(Limits {
        max_total_size: Some(10),
        ..Limits::default()
    }) {
        Error::LimitExceeded {
            limit: Limit::TotalSize,
            actual,
            max: 10,
            ..
        } => assert!(actual > 10),
        other => panic!("expected the total-size limit, got {other:?}"),
    }
}

/// `bytes` with the byte `offset` bytes after the first `signature` XORed with `mask`.
fn patched(mut bytes: Vec<u8>, signature: &[u8; 4], offset: usize, mask: u8) -> Vec<u8> {
    let at = bytes
        .windows(4)
        .position(|w| w == signature)
        .expect("the signature is there");
    bytes[at + offset] ^= mask;
    bytes
}

#[test]
fn a_zip_error_says_which_check_failed() {
    use crate::vectors_gen::{SETUP, inner_zip, seal, stored};
    const LOCAL: &[u8; 4] = b"PK\x03\x04";
    const CENTRAL: &[u8; 4] = b"PK\x01\x02";
    let dir = TempDir::new().expect("temp dir");
    let inner = inner_zip(&[("setup.exe", stored(SETUP))]);
    let cases = [
        // The central header's CRC-32 (offset 16) differs from the local header's.
        (
            "central_crc.intunewin",
            seal(&patched(inner.clone(), CENTRAL, 16, 1)).package(),
            "inner-zip",
            "header-mismatch",
        ),
        // The local header's flags (offset 6) say zip encryption.
        (
            "encrypted.intunewin",
            seal(&patched(inner.clone(), LOCAL, 6, 1)).package(),
            "inner-zip",
            "unsupported",
        ),
        // The outer local header's method (offset 8) says deflate, the central one stored.
        (
            "outer_method.intunewin",
            patched(seal(&inner).package(), LOCAL, 8, 8),
            "outer-zip",
            "header-mismatch",
        ),
        (
            "outer_cut.intunewin",
            seal(&inner).package()[..100].to_vec(),
            "outer-zip",
            "structure",
        ),
    ];
    for (name, bytes, kind, check) in cases {
        fs::write(dir.path().join(name), bytes).expect("write");
        let out = intunewin()
            .current_dir(dir.path())
            .args(["verify", "--json", name])
            .timeout(TIMEOUT)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1), "{name}: {}", text(&out.stderr));
        let error = &json_of(&out)["error"];
        assert_eq!(error["kind"], kind, "{name}: {error}");
        assert_eq!(error["check"], check, "{name}: {error}");
        assert!(error.get("limit").is_none(), "{name}: {error}");
    }
    match Package::open(dir.path().join("outer_method.intunewin")) {
        Err(Error::OuterZip {
            check: intunewin_core::ZipCheck::HeaderMismatch,
            ..
        }) => {}
        other => panic!("expected an outer header mismatch, got {:?}", other.err()),
    }
}

#[test]
fn an_unsafe_path_error_names_the_rule() {
    for (vector, rule) in [
        ("unsafe_dotdot.intunewin", "zip-slip"),
        ("unsafe_name_too_long.intunewin", "name-too-long"),
        ("unsafe_path_too_deep.intunewin", "path-too-deep"),
        ("file_then_dir_same_name.intunewin", "name-collision"),
    ] {
        let out = intunewin()
            .current_dir(crate::vectors_gen::vectors_dir())
            .args(["verify", "--json", vector])
            .timeout(TIMEOUT)
            .output()
            .expect("runs");
        assert_eq!(
            out.status.code(),
            Some(1),
            "{vector}: {}",
            text(&out.stderr)
        );
        let error = &json_of(&out)["error"];
        assert_eq!(error["kind"], "unsafe-path", "{vector}: {error}");
        assert_eq!(error["rule"], rule, "{vector}: {error}");
    }
    let package = crate::vectors_gen::vectors_dir().join("unsafe_dotdot.intunewin");
    let err = Package::open(&package)
        .expect("opens")
        .verify(&ReadOptions::default())
        .expect_err("refused");
    match err {
        Error::UnsafePath {
            rule: Some(intunewin_core::Rule::ZipSlip),
            ..
        } => {}
        other => panic!("expected a zip-slip refusal, got {other:?}"),
    }
}

/// Runs `work` on a thread; fails the test if it has not finished within [`TIMEOUT`].
fn within_timeout<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    rx.recv_timeout(TIMEOUT).expect("finished, not hung")
}

/// A cancellation travels through the readers' `io::Error`s and comes back as
/// `Error::Cancelled`, at once (a carried error std's read loops retried forever would hang).
#[test]
fn a_cancelled_operation_stops_with_the_cancelled_kind() {
    use intunewin_core::{CancelFlag, ExtractOptions};
    let cancelled = || {
        let flag = CancelFlag::new();
        flag.cancel();
        flag
    };
    let package = crate::vectors_gen::vectors_dir().join("good_nested.intunewin");
    let dir = TempDir::new().expect("temp dir");
    let dest = dir.path().join("out");
    let results = within_timeout(move || {
        let pkg = Package::open(&package).expect("opens");
        let read = || ReadOptions::default().cancel_flag(cancelled());
        vec![
            ("verify", pkg.verify(&read()).map(|_| ())),
            (
                "extract",
                pkg.extract(&dest, &ExtractOptions::default().read_options(read()))
                    .map(|_| ()),
            ),
            (
                "decrypt_to",
                pkg.decrypt_to(io::sink(), &read()).map(|_| ()),
            ),
        ]
    });
    for (what, result) in results {
        assert!(
            matches!(result, Err(Error::Cancelled)),
            "{what}: {result:?}"
        );
    }
    assert!(!dir.path().join("out").exists());
    let fx = packed();
    let (src, out) = (fx.join("src"), fx.join("cancelled.intunewin"));
    let packed = within_timeout(move || {
        PackOptions::new(&src, "Install.ps1")
            .cancel_flag(cancelled())
            .pack_to_file(&out, intunewin_core::Overwrite::Refuse)
            .map(|_| ())
    });
    assert!(matches!(packed, Err(Error::Cancelled)), "pack: {packed:?}");
    assert!(!fx.join("cancelled.intunewin").exists());
}

/// Every kind keeps the exit code it had: a verification failure exits 1, the rest 2.
#[test]
fn the_error_kind_matches_the_variant_and_its_exit_class() {
    use intunewin_core::ErrorKind;
    let hmac = Error::HmacMismatch {
        path: "a.intunewin".into(),
    };
    assert_eq!(hmac.error_kind(), ErrorKind::HmacMismatch);
    assert_eq!(hmac.kind(), ErrorKind::HmacMismatch.name());
    let exists = Error::OutputExists {
        path: "out.intunewin".into(),
    };
    assert_eq!(exists.error_kind(), ErrorKind::OutputExists);
    assert_eq!(exists.kind(), "output-exists");
    assert!(hmac.is_verification_failure() && !exists.is_verification_failure());
}

// --- Human messages ---

#[test]
fn snapshot_error_messages() {
    if crate::util::not_for_windows_binary(
        "its snapshots spell paths and OS errors the Unix way (\"no such file or directory\"); ci/windows.sh compares the same output to Linux with OS error wording masked",
    ) {
        return;
    }
    let fx = packed();
    fs::write(fx.join("file"), "mine").expect("write");
    let pkg = "out/Install.intunewin";
    let transcript = |cases: &[&[&str]]| -> String {
        cases
            .iter()
            .map(|args| {
                let out = fx.run(args);
                format!(
                    "$ intunewin {}\nexit: {}\n--- stdout\n{}--- stderr\n{}\n",
                    args.join(" "),
                    out.status.code().unwrap_or(-1),
                    text(&out.stdout),
                    text(&out.stderr)
                )
            })
            .collect()
    };
    let vectors = crate::vectors_gen::vectors_dir();
    let limits: String = [
        "inner_beyond_declared_size.intunewin",
        "inner_ratio_bomb.intunewin",
        "xml_oversized.intunewin",
    ]
    .iter()
    .map(|vector| {
        let out = intunewin()
            .current_dir(&vectors)
            .args(["verify", vector])
            .timeout(TIMEOUT)
            .output()
            .expect("runs");
        format!(
            "$ intunewin verify {vector}\nexit: {}\n{}\n",
            out.status.code().unwrap_or(-1),
            text(&out.stderr)
        )
    })
    .collect();
    insta::assert_snapshot!("errors_limits", limits);
    insta::assert_snapshot!(
        "errors_named",
        transcript(&[
            &["info", "absent.intunewin"],
            &["extract", pkg, "-o", "out"],
            &["extract-content", pkg, "-o", "file/c.bin"],
            &["info", "--json"],
        ])
    );
    match unwritable_folder() {
        Some(dir) => {
            let locked = dir.join("c.bin").to_string_lossy().into_owned();
            insta::assert_snapshot!(
                "errors_permission",
                transcript(&[&["extract-content", pkg, "-o", &locked]])
            );
        }
        None => eprintln!("no unwritable folder: the permission message is not compared"),
    }
}

// --- Ctrl-C at the IntuneWinAppUtil prompts ---

/// Starts the bare IntuneWinAppUtil form (`intunewin` with `args`) on a pseudo-terminal,
/// answers `answers` to the prompts it expects in turn, waits for `last_prompt`, presses
/// Ctrl-C there and returns how the process ended and how long it took after the key (what it
/// printed then is pinned in the `ctrl_c_at_a_prompt` snapshot).
#[cfg(unix)]
fn ctrl_c_at_prompt(
    cwd: &Path,
    args: &[&str],
    answers: &[(&str, &str)],
    last_prompt: &str,
) -> (String, Duration) {
    let mut cmd = crate::util::binary_command();
    cmd.current_dir(cwd)
        .args(args)
        .env_remove("INTUNEWIN_ASSUME_TTY");
    let mut pty = rexpect::session::spawn_command(cmd, Some(30_000)).expect("spawns in a pty");
    for (prompt, answer) in answers {
        pty.exp_string(prompt).expect(prompt);
        pty.send_line(answer).expect("types");
    }
    pty.exp_string(last_prompt).expect(last_prompt);
    // Let the process settle into its read before the key comes.
    std::thread::sleep(Duration::from_millis(200));
    let pressed = Instant::now();
    pty.send_control('c').expect("Ctrl-C");
    let rest = pty.exp_eof().expect("ends without more input");
    let elapsed = pressed.elapsed();
    // What the terminal shows after the key: the same at every prompt.
    insta::with_settings!({ omit_expression => true }, {
        insta::assert_snapshot!("ctrl_c_at_a_prompt", rest.replace("\r\n", "\n"));
    });
    let status = format!("{:?}", pty.process().wait().expect("waits"));
    (status, elapsed)
}

#[cfg(unix)]
#[test]
fn ctrl_c_at_the_first_prompt_exits_130_at_once() {
    if crate::util::not_for_windows_binary(
        "a Unix pseudo-terminal and SIGINT; a Windows program under Wine does not see the terminal as its console",
    ) {
        return;
    }
    let fx = packed();
    let before = names_in(fx.path());
    let (status, elapsed) =
        ctrl_c_at_prompt(fx.path(), &[], &[], "Please specify the source folder: ");
    assert!(
        status.starts_with("Exited(") && status.ends_with(", 130)"),
        "{status}"
    );
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert_eq!(names_in(fx.path()), before, "nothing written");
}

#[cfg(unix)]
#[test]
fn ctrl_c_at_the_create_folder_prompt_creates_nothing() {
    if crate::util::not_for_windows_binary(
        "a Unix pseudo-terminal and SIGINT; a Windows program under Wine does not see the terminal as its console",
    ) {
        return;
    }
    let fx = packed();
    let before = names_in(fx.path());
    let (status, elapsed) = ctrl_c_at_prompt(
        fx.path(),
        &[],
        &[
            ("Please specify the source folder: ", "src"),
            ("Please specify the setup file: ", "Install.ps1"),
            ("Please specify the output folder: ", "newout"),
            ("Do you want to specify catalog folder (Y/N)?", "N"),
        ],
        "Do you want to create it (Y/N)?",
    );
    assert!(status.ends_with(", 130)"), "{status}");
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert_eq!(names_in(fx.path()), before, "no folder, no package");
}

#[cfg(unix)]
#[test]
fn ctrl_c_at_the_overwrite_prompt_keeps_the_package() {
    if crate::util::not_for_windows_binary(
        "a Unix pseudo-terminal and SIGINT; a Windows program under Wine does not see the terminal as its console",
    ) {
        return;
    }
    let fx = packed();
    let package = fx.join("out/Install.intunewin");
    let kept = fs::read(&package).expect("read");
    let (status, _) = ctrl_c_at_prompt(
        fx.path(),
        &["-c", "src", "-s", "Install.ps1", "-o", "out"],
        &[],
        "already exists. Do you want to overwrite it (Y/N)?",
    );
    assert!(status.ends_with(", 130)"), "{status}");
    assert_eq!(fs::read(&package).expect("read"), kept);
    assert_eq!(names_in(&fx.join("out")), ["Install.intunewin"]);
}

#[cfg(unix)]
#[test]
fn a_failed_write_while_decrypting_is_a_write_error_naming_the_output() {
    if cfg!(windows)
        || crate::util::not_for_windows_binary("it limits the file size with a Unix shell")
        || std::env::var_os("INTUNEWIN_RUNNER").is_some()
    {
        return;
    }
    let fx = Fixture::empty();
    let package = large_package(fx.path());
    let blob = fx.path().join("content.bin");
    let saved = intunewin()
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
    let mut shown = String::new();
    for (output, args) in runs {
        let out = run_with_small_file_limit(fx.path(), &args);
        assert_ne!(out.status.code(), Some(0), "{out:?}");
        assert_ne!(out.status.code(), Some(99), "ulimit -f failed: {out:?}");
        let (kind, path, message) = json_error(&out);
        assert_eq!(kind, "write", "{message}");
        assert_eq!(path, output, "{message}");
        shown.push_str(&format!("{output}: {message}\n"));
        // Nothing is left behind, and the inputs are as they were.
        assert_eq!(
            names_in(fx.path()),
            ["content.bin", "large.intunewin"],
            "{output}"
        );
        assert_eq!(fs::read(&package).unwrap(), package_bytes);
    }
    // Each message names its output, never the package or the blob read.
    fx.snapshot_settings()
        .bind(|| insta::assert_snapshot!("errors_failed_write_while_decrypting", shown));
}
