//! `intunewin diagnose` and the IME-log reading under it (issue 16), on the real device logs in
//! ../shared/imelogs (`INTUNEWIN_IMELOGS`). Without them the tests skip locally and fail in CI
//! (`util::require`); nothing from them is copied into the repository.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use intunewin_core::ime::RecordReader;

use crate::util::{regex_escape, require, workspace_root};

/// How to get the logs, for the messages of `require`.
const IMELOGS_HOW: &str = "set INTUNEWIN_IMELOGS to the shared IME log folder (default: \
                           ../shared/imelogs next to the workspace)";

/// The shared IME logs folder, or `None` when the test is skipped (see `require`).
pub fn imelogs_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("INTUNEWIN_IMELOGS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/imelogs"));
    let found = if dir.join("MARKERS.md").is_file() {
        Ok(dir)
    } else {
        Err(format!("the IME logs are not at {}", dir.display()))
    };
    require("imelogs", IMELOGS_HOW, found)
}

/// Every `.log` file of the shared folder, sorted; empty only when skipped.
fn imelogs() -> Vec<PathBuf> {
    let Some(dir) = imelogs_dir() else {
        return Vec::new();
    };
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read the IME log folder")
        .map(|e| e.expect("read the IME log folder").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    assert!(
        logs.len() >= 22,
        "expected the 22 shared logs in {}",
        dir.display()
    );
    logs
}

/// Non-overlapping occurrences of `needle` (a plain byte search, independent of the reader).
fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    let mut count = 0;
    let mut at = 0;
    while at + needle.len() <= haystack.len() {
        if &haystack[at..at + needle.len()] == needle {
            count += 1;
            at += needle.len();
        } else {
            at += 1;
        }
    }
    count
}

/// Non-whitespace bytes outside records, found with plain searches: a record runs from its
/// `<![LOG[` to the `>` after its `]LOG]!>` when that comes before the next `<![LOG[`.
fn garbage(bytes: &[u8]) -> u64 {
    let body = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(bytes);
    let find = |mut from: usize, needle: &[u8]| loop {
        let at = from + body.get(from..)?.iter().position(|&b| b == needle[0])?;
        if body[at..].starts_with(needle) {
            return Some(at);
        }
        from = at + 1;
    };
    let count = |gap: &[u8]| gap.iter().filter(|b| !b.is_ascii_whitespace()).count() as u64;
    let mut starts = Vec::new();
    let mut at = 0;
    while let Some(s) = find(at, b"<![LOG[") {
        starts.push(s);
        at = s + 7;
    }
    let mut total = count(&body[..starts.first().copied().unwrap_or(body.len())]);
    for (i, &s) in starts.iter().enumerate() {
        let next = starts.get(i + 1).copied().unwrap_or(body.len());
        let end = find(s + 7, b"]LOG]!>")
            .filter(|&e| e < next)
            .and_then(|e| find(e + 7, b">"))
            .filter(|&t| t < next);
        if let Some(t) = end {
            total += count(&body[t + 1..next]);
        }
    }
    total
}

/// Every shared log: one record per `<![LOG[`, no I/O or parse error, every complete record
/// with a time, garbage counted as the plain search above counts it; the only cut record is
/// the hand-pasted Dell-Debloat fragment.
#[test]
fn cmtrace_reads_every_record_of_every_log() {
    let mut total = 0;
    for path in imelogs() {
        let bytes = std::fs::read(&path).unwrap();
        let expected = occurrences(&bytes, b"<![LOG[");
        let file = BufReader::new(File::open(&path).unwrap());
        let mut reader = RecordReader::new(file);
        let mut records = 0;
        let mut cut = 0;
        let mut end = 0;
        for record in reader.by_ref() {
            let record = record.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(record.offset >= end);
            end = record.offset + record.len;
            assert!(
                !record.truncated,
                "{}: no real record exceeds the limit",
                path.display()
            );
            if record.cut {
                cut += 1;
            } else {
                assert!(
                    record.time.is_some(),
                    "{} @{}: no time",
                    path.display(),
                    record.offset
                );
                assert!(!record.component.is_empty());
            }
            records += 1;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(records, expected, "{name}: records read vs <![LOG[ count");
        assert_eq!(
            reader.skipped_bytes(),
            garbage(&bytes),
            "{name}: garbage between records"
        );
        assert_eq!(
            reader.offset(),
            bytes.len() as u64,
            "{name}: not read to the end"
        );
        let fragment = name.contains("Dell-Debloat");
        assert_eq!(cut, usize::from(fragment), "{name}: cut records");
        total += records;
    }
    if total > 0 {
        // Some logs do hold garbage: the headless end of a record after the last one.
        // 128,806 complete records (SOURCES.tsv) plus the fragment.
        assert_eq!(total, 128_807);
    }
}

/// The longest real record (a `Get policies` JSON of about 1 MB) comes out whole.
#[test]
fn cmtrace_longest_record_whole() {
    let Some(dir) = imelogs_dir() else { return };
    let path = dir.join("adamgell+cmtraceopen__Logs_AppWorkload-20260324-115437.log");
    let file = BufReader::new(File::open(&path).unwrap());
    let longest = RecordReader::new(file)
        .map(|r| r.unwrap())
        .max_by_key(|r| r.message_len)
        .unwrap();
    assert!(longest.message_len > 900_000, "{}", longest.message_len);
    assert_eq!(longest.message.len() as u64, longest.message_len);
    assert_eq!(longest.message_len, 982_134);
    assert!(longest.message.starts_with("Get policies = [{"));
    assert!(longest.message.ends_with("\"Scripts\":null}]"));
    assert!(!longest.cut);
}

/// The shared folder as one log set: every record read, overlapping rotations' duplicates
/// dropped, and the same timeline from a zip laid out like a "Collect diagnostics" bundle
/// (a numbered folder, lower-cased names, unrelated files beside it).
#[test]
fn logset_folder_and_diagnostics_zip_agree() {
    use intunewin_core::__private::Timeline;
    use intunewin_core::ime::LogSet;
    let Some(dir) = imelogs_dir() else { return };
    let set = LogSet::from_paths(&[&dir]).unwrap();
    assert_eq!(set.files.len(), 22);
    let ignored: Vec<_> = set
        .ignored
        .iter()
        .map(|i| i.display.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(ignored, ["MARKERS.md", "README.md", "SOURCES.tsv"]);
    let workloads = set
        .files
        .iter()
        .filter(|f| f.component() == "AppWorkload")
        .count();
    assert_eq!(workloads, 3);
    let folder = Timeline::read(&set, |_| true).unwrap();
    assert_eq!(folder.records, 128_807);
    assert!(folder.entries.windows(2).all(|w| w[0].time <= w[1].time));
    assert_eq!(
        folder.records,
        folder.entries.len() as u64 + folder.duplicates
    );

    let tmp = tempfile::tempdir().unwrap();
    let bundle = diagnostics_zip(&set, tmp.path());
    let zipped_set = LogSet::from_paths(&[&bundle]).unwrap();
    assert_eq!(zipped_set.files.len(), 22);
    assert_eq!(zipped_set.ignored.len(), 1, "{:?}", zipped_set.ignored);
    let zipped = Timeline::read(&zipped_set, |_| true).unwrap();
    assert_eq!(zipped.records, folder.records);
    assert_eq!(zipped.duplicates, folder.duplicates);
    let key = |t: &Timeline| -> Vec<(String, String)> {
        t.entries
            .iter()
            .map(|e| (e.time.to_string(), e.message.clone()))
            .collect()
    };
    assert_eq!(key(&zipped), key(&folder));
}

/// `set`'s files in a zip laid out like a "Collect diagnostics" bundle, written in `dir`: a
/// numbered folder, lower-cased names, an unrelated log in another folder.
fn diagnostics_zip(set: &intunewin_core::ime::LogSet, dir: &std::path::Path) -> PathBuf {
    let bundle = dir.join("DiagLogs-device-20260324T1200Z.zip");
    let mut zip = zip::ZipWriter::new(File::create(&bundle).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(
        "(12) FoldersFiles ProgramData_Microsoft_Windows_Logs/appworkload.log",
        options,
    )
    .unwrap();
    std::io::Write::write_all(&mut zip, b"<![LOG[not the IME]LOG]!>").unwrap();
    for file in &set.files {
        let name = file
            .name
            .rsplit("__")
            .next()
            .unwrap()
            .trim_start_matches("Logs_");
        // Files of other devices keep their provenance prefix: names stay distinct.
        let name = if file.name.starts_with("adamgell") {
            name.to_owned()
        } else {
            file.name.clone()
        };
        let entry = format!(
            "(67) FoldersFiles ProgramData_Microsoft_IntuneManagementExtension_Logs/{}",
            name.to_lowercase()
        );
        zip.start_file(entry, options).unwrap();
        let bytes = std::fs::read(&file.display).unwrap();
        std::io::Write::write_all(&mut zip, &bytes).unwrap();
    }
    zip.finish().unwrap();
    bundle
}

/// `diagnose` on the shared folder and on the same logs zipped like a Collect-diagnostics
/// bundle prints the same summary and the same JSON, but for the file names (their paths
/// and order differ, and the bundle's unrelated log is left out with a note instead of the
/// folder's notes).
#[test]
fn diagnose_folder_and_diagnostics_zip_print_the_same() {
    use intunewin_core::ime::LogSet;
    let Some(dir) = imelogs_dir() else { return };
    let set = LogSet::from_paths(&[&dir]).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let bundle = diagnostics_zip(&set, tmp.path());
    let run = |input: &std::path::Path, json: bool| {
        let mut cmd = crate::util::intunewin();
        cmd.arg("diagnose").arg(input);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        assert!(matches!(out.status.code(), Some(0 | 1)));
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    let (folder_code, folder) = run(&dir, false);
    let (zip_code, zipped) = run(&bundle, false);
    assert_eq!(folder_code, zip_code);
    let without_notes = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with("note: left out"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(without_notes(&zipped), without_notes(&folder));
    assert!(folder.lines().count() > 10, "{folder}");

    let json = |input: &std::path::Path| {
        let (_, text) = run(input, true);
        let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let files = value["files"].as_array_mut().unwrap();
        assert_eq!(files.len(), 22);
        for file in files.iter_mut() {
            file.as_object_mut().unwrap().remove("path");
        }
        // The zip lists its files by lower-cased name: compare them as a set.
        files.sort_by_key(|f| f.to_string());
        value.as_object_mut().unwrap().remove("ignored");
        value
    };
    let (zipped, folder) = (json(&bundle), json(&dir));
    assert!(zipped == folder, "the zip's JSON differs from the folder's");
}

const SNAGIT: &str = "5e432f47-4739-4df5-b8a4-d5b4cbb41daf";

fn at(text: &str) -> intunewin_core::ime::LocalTime {
    let (date, time) = text.split_once(' ').unwrap();
    intunewin_core::ime::LocalTime::parse(time, date).unwrap().0
}

/// The Snagit 2025 story of the shared README, from the model: the earlier 0x80070643, the DO
/// download at background priority that timed out after 30 minutes, its resumption in the
/// background at later check-ins, and its end at 11:56:01 (IME log, joined by job id).
#[test]
fn snagit_story_on_the_model() {
    use intunewin_core::ime::LogSet;
    use intunewin_core::ime::{Intent, Verdict, Via, diagnose};
    let Some(dir) = imelogs_dir() else { return };
    let d = diagnose(&LogSet::from_paths(&[&dir]).unwrap()).unwrap();
    let app = d
        .find_app("snagit 2025")
        .expect("Snagit 2025 is in the logs");
    assert_eq!(app.id, SNAGIT);
    assert_eq!(d.find_app(&SNAGIT.to_uppercase()).unwrap().id, SNAGIT);
    assert_eq!(app.intent, Some(Intent::Required));
    let policy = app.policy.as_ref().unwrap();
    assert_eq!(
        policy.install_command.as_deref(),
        Some("msiexec /i \"snagit.msi\" /qn")
    );
    assert!(policy.return_codes.contains(&(3010, "soft-reboot")));
    assert_eq!(policy.detection_rules.len(), 1);

    // The earlier failure: installer 1603 as 0x80070643, kept in the reporting JSON.
    let earlier = app
        .error_history
        .iter()
        .find(|e| e.code == 0x8007_0643)
        .unwrap();
    assert_eq!(earlier.enforcement_state, Some(5000));
    assert!(earlier.first_seen < at("3-24-2026 09:22:48.0"));
    assert!(
        earlier
            .sources
            .contains(&"content request (previous attempt)")
    );

    // One DO job, background priority (1,800,000 ms), timed out 30 min after it started,
    // still running in the background, resumed at the next check-ins, finished at 11:56:01.
    assert_eq!(app.downloads.len(), 1, "{:#?}", app.downloads);
    let dl = &app.downloads[0];
    assert_eq!(
        dl.job_id.as_deref(),
        Some("00be7b94-3204-4a24-8830-4db9d72faf86")
    );
    assert_eq!(dl.via, Some(Via::DeliveryOptimization));
    assert_eq!(dl.priority.as_deref(), Some("BG_JOB_PRIORITY_NORMAL"));
    assert_eq!(dl.timeout_ms, Some(1_800_000));
    assert_eq!(dl.background_priority(), Some(true));
    let started = dl.started.unwrap();
    let timed_out = dl.timed_out_at.unwrap();
    assert_eq!(started.millis_until(&timed_out) / 1000, 1800);
    assert!(dl.background);
    assert_eq!(dl.bytes_total, Some(431_000_128));
    let resumed: Vec<_> = dl
        .resumed
        .iter()
        .map(|r| (r.at.hour, r.bytes_done))
        .collect();
    assert_eq!(resumed, [(10, Some(17_825_792)), (11, Some(97_517_568))]);
    let finished = dl.finished_at.unwrap();
    assert_eq!(finished.to_string(), "2026-03-24 11:56:01.431");
    assert_eq!(dl.duration_ms().unwrap() / 60_000, 153);
    // Finished download, no install line after it: in progress, not failed, not succeeded.
    assert_eq!(app.verdict, Verdict::InProgress);
    assert_eq!(app.verdict_at, Some(finished));
    assert_eq!(app.retry.expired, Some(true));
}

/// The same story through the binary, as JSON and as text.
#[test]
fn snagit_story_through_the_binary() {
    let Some(dir) = imelogs_dir() else { return };
    let out = crate::util::intunewin()
        .args(["diagnose", "--json", "--app", "Snagit 2025"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let app = &json["apps"][0];
    assert_eq!(json["apps"].as_array().unwrap().len(), 1);
    assert_eq!(app["id"], SNAGIT);
    assert_eq!(app["verdict"], "in-progress");
    assert_eq!(app["intent"], "required");
    let history = app["errorHistory"].as_array().unwrap();
    let earlier = history.iter().find(|e| e["code"] == "0x80070643").unwrap();
    assert_eq!(earlier["codeDecimal"], -2147023293);
    let dl = &app["downloads"][0];
    assert_eq!(dl["via"], "delivery-optimization");
    assert_eq!(dl["timeoutMs"], 1_800_000);
    assert_eq!(dl["backgroundPriority"], true);
    assert_eq!(dl["runningInBackground"], true);
    assert_eq!(dl["timedOutAt"], "2026-03-24 09:52:49.988");
    assert_eq!(dl["finishedAt"], "2026-03-24 11:56:01.431");
    assert_eq!(dl["resumed"].as_array().unwrap().len(), 2);
    assert!(!app["steps"].as_array().unwrap().is_empty());

    let out = crate::util::intunewin()
        .args(["diagnose", "--app", SNAGIT])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "error on record: 0x80070643 (-2147023293)",
        "priority BG_JOB_PRIORITY_NORMAL, the IME waits 30 min 0 s (background priority)",
        "09:52:49.988  download not finished within the wait (30 min 0 s after it started); \
         still downloading in the background",
        "download job resumed in the background (17825792 of 431000128 bytes done)",
        "11:56:01.431  download finished, 2 h 33 min after it started",
        "verdict: in progress (download finished; no install logged after it",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

/// Every shared log alone, and the folder as a whole: exit 0 or 1, no parse error, every
/// record counted (JSON `records` = the independent `<![LOG[` count).
#[test]
fn every_log_alone_and_the_folder() {
    let logs = imelogs();
    let Some(dir) = imelogs_dir() else { return };
    let mut total = 0;
    for path in logs.iter().chain(std::iter::once(&dir)) {
        let out = crate::util::intunewin()
            .args(["diagnose", "--json"])
            .arg(path)
            .output()
            .unwrap();
        let code = out.status.code();
        assert!(
            matches!(code, Some(0 | 1)),
            "{}: exit {code:?}\n{}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["anyFailed"], code == Some(1));
        let records = json["records"].as_u64().unwrap();
        if path.is_file() {
            let bytes = std::fs::read(path).unwrap();
            assert_eq!(
                records,
                occurrences(&bytes, b"<![LOG[") as u64,
                "{}",
                path.display()
            );
            total += records;
        } else {
            assert_eq!(records, total);
            assert_eq!(
                code,
                Some(1),
                "the folder holds failed apps (0x80070642, 0x87D30068)"
            );
        }
    }
}

/// A small deterministic generator for cut offsets (no dependency, same cuts every run).
fn offsets(seed: u64, count: usize, len: usize) -> Vec<usize> {
    let mut x = seed;
    (0..count)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as usize % len.max(1)
        })
        .collect()
}

/// Every shared log cut at random offsets into two rotations of one component (a record
/// split across two files): the reader gets one record per `<![LOG[` left whole in either
/// part, and `diagnose` on the pair exits 0 or 1.
#[test]
fn random_cuts_split_records_across_files() {
    use intunewin_core::__private::Timeline;
    use intunewin_core::ime::LogSet;
    let tmp = tempfile::tempdir().unwrap();
    for (n, path) in imelogs().iter().enumerate() {
        let bytes = std::fs::read(path).unwrap();
        for (k, cut) in offsets(n as u64 + 1, 3, bytes.len())
            .into_iter()
            .enumerate()
        {
            let case = tmp.path().join(format!("{n}-{k}"));
            std::fs::create_dir(&case).unwrap();
            let (head, tail) = bytes.split_at(cut);
            std::fs::write(case.join("AppWorkload-20260324-092249.log"), head).unwrap();
            std::fs::write(case.join("AppWorkload.log"), tail).unwrap();
            let set = LogSet::from_paths(&[&case]).unwrap();
            let timeline = Timeline::read(&set, |_| true).unwrap();
            let expected = occurrences(head, b"<![LOG[") + occurrences(tail, b"<![LOG[");
            assert_eq!(
                timeline.records,
                expected as u64,
                "{} cut at {cut}",
                path.display()
            );
            if k == 0 {
                let code = crate::util::intunewin()
                    .args(["diagnose", "--json"])
                    .arg(&case)
                    .output()
                    .unwrap()
                    .status
                    .code();
                // Both parts empty of records (a cut inside the only record) is exit 2.
                let allowed: &[i32] = if expected == 0 { &[2] } else { &[0, 1] };
                assert!(code.is_some_and(|c| allowed.contains(&c)), "{code:?}");
            }
        }
    }
}

/// A rotation copied under another name (`AppWorkload 2.log`) adds nothing: every record of
/// the copy that diagnosis reads is dropped as a duplicate and the verdicts are unchanged.
#[test]
fn duplicated_overlapping_files() {
    let Some(dir) = imelogs_dir() else { return };
    let source = dir.join("adamgell+cmtraceopen__Logs_AppWorkload-20260324-115437.log");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(&source, tmp.path().join("AppWorkload-20260324-115437.log")).unwrap();
    let run = |dir: &std::path::Path| -> serde_json::Value {
        let out = crate::util::intunewin()
            .args(["diagnose", "--json"])
            .arg(dir)
            .output()
            .unwrap();
        assert!(matches!(out.status.code(), Some(0 | 1)));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let once = run(tmp.path());
    std::fs::copy(&source, tmp.path().join("AppWorkload 2.log")).unwrap();
    let twice = run(tmp.path());
    let records = once["records"].as_u64().unwrap();
    assert_eq!(twice["records"].as_u64().unwrap(), 2 * records);
    let (used, dups) = (
        once["usedRecords"].as_u64().unwrap(),
        once["duplicates"].as_u64().unwrap(),
    );
    assert!(used > 1000);
    assert_eq!(twice["usedRecords"].as_u64().unwrap(), used);
    // Each copy repeats the file's own duplicates and every record the other copy kept.
    assert_eq!(twice["duplicates"].as_u64().unwrap(), 2 * dups + used);
    let verdicts = |j: &serde_json::Value| -> Vec<(String, String)> {
        j["apps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["id"].to_string(), a["verdict"].to_string()))
            .collect()
    };
    assert_eq!(verdicts(&twice), verdicts(&once));
}

/// Inputs with nothing to read: an empty file, a binary file, a folder without IME logs, a
/// missing path, an unreadable zip: exit 2 with the error as JSON under `--json` (kind
/// `unreadable-logs`, the path named); an empty
/// file beside a real log is read with it.
#[test]
fn unreadable_inputs_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("AppWorkload.log");
    std::fs::write(&empty, b"").unwrap();
    let binary = tmp.path().join("blob.bin");
    let noise: Vec<u8> = offsets(7, 50_000, 256)
        .into_iter()
        .map(|b| b as u8)
        .collect();
    std::fs::write(&binary, &noise).unwrap();
    let no_logs = tmp.path().join("nothing");
    std::fs::create_dir(&no_logs).unwrap();
    std::fs::write(no_logs.join("notes.txt"), b"hello").unwrap();
    let bad_zip = tmp.path().join("bundle.zip");
    std::fs::write(&bad_zip, b"PK\x03\x04 not really").unwrap();
    let missing = tmp.path().join("missing");
    let mut shown = String::new();
    for input in [&empty, &binary, &no_logs, &bad_zip, &missing] {
        let out = crate::util::intunewin()
            .args(["diagnose", "--json"])
            .arg(input)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", input.display());
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(json["error"]["message"].is_string(), "{json}");
        assert_eq!(json["error"]["kind"], "unreadable-logs", "{json}");
        assert_eq!(
            json["error"]["path"].as_str(),
            Some(input.display().to_string().as_str()),
            "{json}"
        );
        crate::util::assert_stderr_says(&out, &json["error"]);
        shown.push_str(&format!(
            "$ intunewin diagnose {}\n{}",
            input.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // What each says (paths spelled the Unix way).
    if !crate::util::windows_binary() {
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(&regex_escape(&tmp.path().display().to_string()), "[TMP]");
        settings.set_omit_expression(true);
        settings.bind(|| insta::assert_snapshot!("diagnose_unreadable_inputs", shown));
    }
    let fixture = crate::util::testdata().join("imelogs");
    let out = crate::util::intunewin()
        .args(["diagnose", "--json"])
        .arg(&empty)
        .arg(fixture.join("AppWorkload.log"))
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)));
}

/// Runs `diagnose EXTRA LOGS`; checks the exit code and returns stdout.
fn diagnose_stdout(logs: &std::path::Path, extra: &[&str], code: i32) -> String {
    let out = crate::util::intunewin()
        .arg("diagnose")
        .args(extra)
        .arg(logs)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The synthetic fixture (`testdata/imelogs`, no real data): the summary and each app's story
/// as a reader sees them, and the JSON verdicts.
#[test]
fn fixture_summary_and_stories() {
    let fixture = crate::util::testdata().join("imelogs");
    let run = |extra: &[&str]| diagnose_stdout(&fixture, extra, 1);
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex_escape(&fixture.display().to_string()), "[FIXTURE]");
    settings.set_omit_expression(true);
    settings.bind(|| {
        insta::assert_snapshot!("diagnose_summary", run(&[]));
        insta::assert_snapshot!("diagnose_failed_app", run(&["--app", "contoso agent 2.1"]));
    });
    let out = crate::util::intunewin()
        .args(["diagnose", "--app", "Fabrikam Viewer"])
        .arg(&fixture)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "only the app asked for counts");
    let json: serde_json::Value = serde_json::from_str(&run(&["--json"])).unwrap();
    let apps = json["apps"].as_array().unwrap();
    assert_eq!(apps[0]["verdict"], "failed");
    assert_eq!(apps[0]["failedPhase"], "installation");
    assert_eq!(apps[0]["code"], "0x80070643");
    assert_eq!(apps[0]["codeDecimal"], -2147023293);
    assert_eq!(apps[1]["verdict"], "succeeded");
    assert_eq!(apps[1]["downloads"][0]["backgroundPriority"], false);
    assert_eq!(apps[1]["downloads"][0]["durationMs"], 99_800);
    assert_eq!(json["files"][1]["cutRecords"], 1);
    // `garbage that is no record`: 25 bytes, 4 of them spaces.
    assert_eq!(json["files"][0]["skippedBytes"], 21);
    let out = crate::util::intunewin()
        .args(["diagnose", "--json", "--app", "no such app"])
        .arg(&fixture)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["error"]["kind"], "usage", "{json}");
    assert!(json["error"]["path"].is_null(), "{json}");
    crate::util::assert_stderr_says(&out, &json["error"]);
    // The app asked for and how many there are.
    insta::with_settings!({omit_expression => true}, {
        insta::assert_snapshot!("diagnose_no_such_app", String::from_utf8_lossy(&out.stderr));
    });
}

/// An IME log of 1.94 alone (no AppWorkload.log): the DO jobs are tied to their apps by the
/// file id (`…-intunewin-bin_<app>_1`) and the job id, each at foreground priority, and since
/// the install lines would be in AppWorkload.log the verdict is unknown, saying so.
#[test]
fn ime_log_alone_ties_jobs_to_apps() {
    use intunewin_core::ime::LogSet;
    use intunewin_core::ime::{Verdict, diagnose};
    let Some(dir) = imelogs_dir() else { return };
    let path = dir.join("Silvermaz28+SOE@283950f__IntuneManagementExtension.log");
    let d = diagnose(&LogSet::from_paths(&[&path]).unwrap()).unwrap();
    assert_eq!(
        d.apps.len(),
        9,
        "{:#?}",
        d.apps.iter().map(|a| &a.id).collect::<Vec<_>>()
    );
    for app in &d.apps {
        assert_eq!(app.downloads.len(), 1, "{}", app.id);
        let dl = &app.downloads[0];
        assert!(
            dl.job_id.is_some() && dl.finished_at.is_some(),
            "{}: {dl:?}",
            app.id
        );
        assert_eq!(dl.background_priority(), Some(false));
        match &app.verdict {
            Verdict::Unknown { missing } => assert!(missing.starts_with("AppWorkload.log")),
            other => panic!("{}: {other:?}", app.id),
        }
    }
}

/// The dependency fixture (`testdata/imelogs-deps`, synthetic): a suite that depends on a
/// runtime (installed automatically) and replaces an older suite. The runtime fails with
/// 0x80070643, so the suite names it as the reason it was not installed; the order the IME
/// evaluated the three in; when each unfinished app is tried again and on what basis; the
/// nameless app folded out of the summary but kept in the JSON.
#[test]
fn fixture_dependencies_supersedence_and_next_attempt() {
    let fixture = crate::util::testdata().join("imelogs-deps");
    let run_exit = |extra: &[&str], code: i32| diagnose_stdout(&fixture, extra, code);
    let run = |extra: &[&str]| run_exit(extra, 1);
    // Only the app asked for counts: the player did not fail.
    let player_story = run_exit(&["--app", "Tailspin Player"], 0);
    let json: serde_json::Value = serde_json::from_str(&run(&["--json"])).unwrap();
    let apps = json["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 5, "the nameless app stays in the JSON");
    let app = |name: &str| {
        apps.iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    let (suite, runtime, old, player) = (
        app("Northwind Suite 5"),
        app("Northwind Runtime 2"),
        app("Northwind Suite 4"),
        app("Tailspin Player"),
    );
    const SUITE: &str = "c0c0c0c0-0000-4000-8000-000000000001";
    const RUNTIME: &str = "c0c0c0c0-0000-4000-8000-000000000002";
    const OLD: &str = "c0c0c0c0-0000-4000-8000-000000000003";

    // Both ways of each tie, with the other app's name and verdict.
    let rel = &suite["relations"];
    assert_eq!(rel[0]["appId"], RUNTIME);
    assert_eq!(rel[0]["relation"], "depends-on");
    assert_eq!(rel[0]["autoInstall"], true);
    assert_eq!(rel[0]["name"], "Northwind Runtime 2");
    assert_eq!(rel[0]["verdict"], "failed");
    assert_eq!(rel[0]["code"], "0x80070643");
    assert_eq!(rel[1]["appId"], OLD);
    assert_eq!(rel[1]["relation"], "supersedes");
    assert_eq!(rel[1]["uninstall"], true);
    assert_eq!(rel[1]["verdict"], "succeeded");
    assert_eq!(runtime["relations"][0]["relation"], "required-by");
    assert_eq!(runtime["relations"][0]["appId"], SUITE);
    assert_eq!(old["relations"][0]["relation"], "superseded-by");
    assert_eq!(player["relations"].as_array().unwrap().len(), 0);

    // The order of the run, the same for the three; the failed dependency named.
    for a in [suite, runtime, old] {
        assert_eq!(
            a["processingOrder"],
            serde_json::json!([RUNTIME, SUITE, OLD]),
            "{}",
            a["name"]
        );
        assert_eq!(a["processedAt"], "2026-06-01 12:00:01.000");
    }
    assert_eq!(suite["verdict"], "failed");
    assert_eq!(suite["blockedBy"][0]["appId"], RUNTIME);
    assert_eq!(suite["blockedBy"][0]["failedPhase"], "installation");
    assert_eq!(old["blockedBy"].as_array().unwrap().len(), 0);

    // Next attempts: GRS time 10:02:10 UTC + 24 h on a UTC+2 device; the suite waits for
    // its runtime; the player's cleared GRS means the next check-in (timer 12:05:00 + 1 h).
    let retry = &runtime["retry"];
    // `grsTimeUtc` is the expiry check's (as before); the retry waits for the newer GRS
    // time saved after the failure, which the basis names.
    assert_eq!(retry["grsTimeUtc"], "5/31/2026 8:00:00 AM");
    assert_eq!(retry["nextAttempt"], "2026-06-02 12:02:10.000");
    assert_eq!(retry["nextAttemptFirm"], false);
    let basis = retry["nextAttemptBasis"].as_str().unwrap();
    assert!(basis.contains("2026-06-01 10:02:10 UTC + 24 h"), "{basis}");
    assert_eq!(suite["retry"]["nextAttempt"], "2026-06-02 12:02:10.000");
    assert!(
        suite["retry"]["nextAttemptBasis"]
            .as_str()
            .unwrap()
            .starts_with(&format!("after its failed dependency {RUNTIME}"))
    );
    assert_eq!(player["verdict"], "in-progress");
    assert_eq!(player["retry"]["grsTimeUtc"], serde_json::Value::Null);
    assert_eq!(player["retry"]["nextAttempt"], "2026-06-01 13:05:00.000");
    assert_eq!(player["retry"]["nextAttemptFirm"], true);
    assert_eq!(old["retry"]["nextAttempt"], serde_json::Value::Null);

    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex_escape(&fixture.display().to_string()), "[FIXTURE]");
    settings.set_omit_expression(true);
    let summary = run(&[]);
    let all = run(&["--all"]);
    settings.bind(|| {
        insta::assert_snapshot!("diagnose_deps_summary", summary);
        insta::assert_snapshot!("diagnose_deps_parent", run(&["--app", "northwind suite 5"]));
        insta::assert_snapshot!("diagnose_deps_player", player_story.clone());
    });
    assert!(summary.contains("... and 1 more app with neither a name nor a verdict"));
    assert!(!summary.contains("e2e2e2e2-0000-4000-8000-000000000005"));
    assert!(all.contains("e2e2e2e2-0000-4000-8000-000000000005"));
    assert!(!all.contains("more app"));
    // The GRS time .NET writes for "none" never shows raw.
    assert!(!player_story.contains("0001"));

    // The page: a relations table in the suite's section, its blocking dependency, the
    // evaluation order and the next attempt.
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("deps.html");
    run(&["--html", page.to_str().unwrap()]);
    let page = std::fs::read_to_string(&page).unwrap();
    let start = page.find(&format!("id=\"app-{SUITE}\"")).unwrap();
    let section = &page[start..start + page[start..].find("</section>").unwrap()];
    for fact in [
        "<h3>Dependencies and supersedence</h3>",
        "<td>depends on (installed automatically)</td><td>Northwind Runtime 2</td>\
         <td><span class=\"badge v-failed\">failed</span> 0x80070643</td>",
        "<td>supersedes (replace: uninstalled)</td><td>Northwind Suite 4</td>",
        "Evaluated in this order at 2026-06-01 12:00:01.000: Northwind Runtime 2 &rarr; \
         Northwind Suite 5 &rarr; Northwind Suite 4",
        "Not installed because its dependency Northwind Runtime 2 failed with 0x80070643",
        "<dt>Next attempt</dt><dd>not before 2026-06-02 12:02:10.000",
    ] {
        assert!(section.contains(fact), "missing {fact:?} in:\n{section}");
    }
}

/// On the shared logs: "SAS Scripted Install - Version 1" depends on four Visual C++
/// redistributables (installed automatically), each knows it is needed by it, and the IME
/// evaluated the four before it; Snagit's retry schedule was cleared when the download wait ran
/// out, so its next attempt is the next check-in the IME scheduled; no GRS time of .NET's
/// "none" shows raw; the summary folds the apps seen without a name or a verdict.
#[test]
fn shared_logs_dependencies_and_next_attempts() {
    use intunewin_core::ime::{LogSet, RelationKind, diagnose};
    let Some(dir) = imelogs_dir() else { return };
    let d = diagnose(&LogSet::from_paths(&[&dir]).unwrap()).unwrap();
    const SAS: &str = "bf98868f-45ed-49bd-b0b9-1e0b14b1dd9d";
    let sas = d.find_app("SAS Scripted Install - Version 1").unwrap();
    assert_eq!(sas.id, SAS);
    let mut deps: Vec<&str> = sas
        .relations
        .iter()
        .filter(|r| r.kind == RelationKind::DependsOn { auto_install: true })
        .map(|r| r.app_id.as_str())
        .collect();
    assert_eq!(deps.len(), sas.relations.len());
    deps.sort_unstable();
    assert_eq!(
        deps,
        [
            "05d1ca79-1a9f-4d94-b9a2-6e8b279c5701",
            "0de2c425-ddee-49b9-a533-c8f0a70790ba",
            "10f84ec8-11e2-44e6-a21d-d74a52da4163",
            "62e19149-d4b7-4327-94d9-cb6e1d8a1fb0",
        ]
    );
    for id in &deps {
        let child = d.find_app(id).unwrap();
        assert!(
            child
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with("Microsoft Visual C++")),
            "{id}"
        );
        assert_eq!(
            child.relations[0].kind,
            RelationKind::RequiredBy { auto_install: true }
        );
        assert_eq!(child.relations[0].app_id, SAS);
    }
    // The dependencies first, the app last, in one subgraph run.
    let order = &sas.processing_order;
    assert_eq!(order.len(), 5, "{order:?}");
    assert_eq!(order[4], SAS);
    let mut first: Vec<&str> = order[..4].iter().map(String::as_str).collect();
    first.sort_unstable();
    assert_eq!(first, deps);
    assert!(sas.blocked_by.is_empty());

    let snagit = d.find_app(SNAGIT).unwrap();
    let retry = &snagit.retry;
    assert!(retry.cleared_at.is_some());
    assert_eq!(retry.grs_time, None);
    assert!(retry.next_attempt_firm, "{retry:?}");
    assert_eq!(
        retry.next_attempt.map(|t| t.to_string()).as_deref(),
        Some(NEXT_SNAGIT),
        "{retry:?}"
    );
    for app in &d.apps {
        let raw = app.retry.grs_time.as_deref().unwrap_or("");
        assert!(!raw.contains("0001"), "{}: {raw}", app.id);
    }
    let related = d.apps.iter().filter(|a| !a.relations.is_empty()).count();
    let timed = d
        .apps
        .iter()
        .filter(|a| a.retry.next_attempt.is_some())
        .count();
    eprintln!("{related} apps with a relation, {timed} with a next-attempt time");
    assert_eq!(related, 5);
    assert!(timed >= 1);

    let summary = |extra: &[&str]| {
        let out = crate::util::intunewin()
            .arg("diagnose")
            .args(extra)
            .arg(&dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8(out.stdout).unwrap()
    };
    let (folded, all) = (summary(&[]), summary(&["--all"]));
    let faceless = d
        .apps
        .iter()
        .filter(|a| a.name.is_none() && a.policy.is_none())
        .filter(|a| a.verdict.id() == "unknown")
        .count();
    assert!(faceless > 0);
    assert!(
        folded.contains(&format!(
            "... and {faceless} more apps with neither a name nor a verdict"
        )),
        "{folded}"
    );
    assert_eq!(
        all.lines().count(),
        folded.lines().count() + faceless - 1,
        "--all lists each folded app instead of the one line"
    );
    assert!(folded.contains("dependencies and supersedence:"));
    assert!(folded.contains("SAS Scripted Install - Version 1 (bf98868f"));
    eprintln!(
        "summary: {} lines, {} with --all",
        folded.lines().count(),
        all.lines().count()
    );
}

/// Snagit's next attempt: the check-in timer set at 11:54:39.727 (AppWorkload.log) to
/// 3,600,000 ms, after its GRS was cleared at 09:52:50.
const NEXT_SNAGIT: &str = "2026-03-24 12:54:39.727";
