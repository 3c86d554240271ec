//! `intunewin diagnose` and the IME-log reading under it (issue 16), on the real device logs in
//! ../shared/imelogs (`INTUNEWIN_IMELOGS`). Without them the tests skip locally and fail in CI
//! (`util::require`); nothing from them is copied into the repository.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use intunewin_core::ime::cmtrace::RecordReader;

use crate::util::{require, workspace_root};

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
    use intunewin_core::ime::logset::{LogKind, LogSet};
    use intunewin_core::ime::timeline::Timeline;
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
        .filter(|f| f.log.kind == LogKind::AppWorkload)
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
    let bundle = tmp.path().join("DiagLogs-device-20260324T1200Z.zip");
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
