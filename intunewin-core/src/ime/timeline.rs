//! One timeline from many IME log files: records of every component and rotation ordered by
//! time, duplicates from overlapping rotations removed, and lookups by app id, thread and
//! download job id.
//!
//! Times are the logs' local times (no zone). A record without a time (cut) takes the time of
//! the record before it in its file, so it stays where it was written. Two records are the
//! same when component, time, thread and message are equal (a rotated copy of a file repeats
//! them byte for byte).

use std::collections::HashSet;

use super::cmtrace::{LocalTime, Record};
use super::logset::{FileStats, LogSet, LogSetError};

/// One record on the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The record's local time, or the time of the record before it in its file.
    pub time: LocalTime,
    /// The record had a time of its own.
    pub timed: bool,
    /// Index of its file in [`LogSet::files`].
    pub file: usize,
    /// Byte offset of the record in its file.
    pub offset: u64,
    /// The `component` attribute.
    pub component: String,
    /// The `thread` attribute.
    pub thread: String,
    /// The `type` attribute (not a reliable severity).
    pub kind: Option<u8>,
    /// The message.
    pub message: String,
}

/// Records of a [`LogSet`] in time order.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// The entries kept, in time order (ties keep the order of the set's files).
    pub entries: Vec<Entry>,
    /// Per file of the set: what reading it found.
    pub stats: Vec<FileStats>,
    /// Records read in all.
    pub records: u64,
    /// Records dropped as duplicates of another file's.
    pub duplicates: u64,
}

impl Timeline {
    /// Reads every file of `set`, keeping the records `keep` accepts (all of them with
    /// `|_| true`), and orders them.
    pub fn read(
        set: &LogSet,
        mut keep: impl FnMut(&Record) -> bool,
    ) -> Result<Timeline, LogSetError> {
        let mut entries = Vec::new();
        let mut last_time: Vec<LocalTime> = vec![LocalTime::default(); set.files.len()];
        let mut records = 0u64;
        let stats = set.read_records(|file, record| {
            records += 1;
            if let Some(time) = record.time {
                last_time[file] = time;
            }
            if !keep(&record) {
                return;
            }
            entries.push(Entry {
                time: record.time.unwrap_or(last_time[file]),
                timed: record.time.is_some(),
                file,
                offset: record.offset,
                component: record.component,
                thread: record.thread,
                kind: record.kind,
                message: record.message,
            });
        })?;
        entries.sort_by_key(|e| (e.time, e.file, e.offset));
        let before = entries.len();
        dedup(&mut entries);
        Ok(Timeline {
            duplicates: (before - entries.len()) as u64,
            entries,
            stats,
            records,
        })
    }

    /// Entries naming app `id` (a GUID, any case) anywhere in their message.
    pub fn for_app<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries
            .iter()
            .filter(move |e| guids(&e.message).any(|g| g.eq_ignore_ascii_case(id)))
    }

    /// Entries written by `thread`, in any file.
    pub fn for_thread<'a>(&'a self, thread: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| e.thread == thread)
    }

    /// Entries naming download job `job` (a DO/BITS job GUID).
    pub fn for_job<'a>(&'a self, job: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.for_app(job)
    }
}

/// Drops entries equal to an earlier one with the same time (the sort put them in one run).
fn dedup(entries: &mut Vec<Entry>) {
    let mut keep = Vec::with_capacity(entries.len());
    let mut run_time = None;
    let mut seen: HashSet<(&str, &str, &str)> = HashSet::new();
    for e in entries.iter() {
        if !e.timed {
            keep.push(true);
            continue;
        }
        if run_time != Some(e.time) {
            run_time = Some(e.time);
            seen.clear();
        }
        keep.push(seen.insert((&e.component, &e.thread, &e.message)));
    }
    let mut keep = keep.into_iter();
    entries.retain(|_| keep.next().unwrap_or(true));
}

/// The GUIDs (`8-4-4-4-12` hex digits, not inside a longer run of hex digits) in `text`.
pub fn guids(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at + 36 <= bytes.len() {
            let start = at;
            at += 1;
            let before_ok = start == 0 || !bytes[start - 1].is_ascii_hexdigit();
            let after_ok = bytes.get(start + 36).is_none_or(|b| !b.is_ascii_hexdigit());
            if before_ok && after_ok && is_guid(&bytes[start..start + 36]) {
                at = start + 36;
                return text.get(start..start + 36);
            }
        }
        None
    })
}

fn is_guid(b: &[u8]) -> bool {
    b.iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_guids() {
        let text = "App: 5e432f47-4739-4df5-b8a4-d5b4cbb41daf, job=00BE7B94-3204-4a24-8830-4db9d72faf86_1 \
                    x5e432f47-4739-4df5-b8a4-d5b4cbb41dafff 12345678-1234-1234-1234-12345678901";
        let found: Vec<_> = guids(text).collect();
        assert_eq!(
            found,
            [
                "5e432f47-4739-4df5-b8a4-d5b4cbb41daf",
                "00BE7B94-3204-4a24-8830-4db9d72faf86"
            ]
        );
    }

    fn entry(sec: u8, file: usize, msg: &str) -> Entry {
        Entry {
            time: LocalTime {
                year: 2026,
                month: 3,
                day: 24,
                second: sec,
                ..LocalTime::default()
            },
            timed: true,
            file,
            offset: 0,
            component: "AppWorkload".into(),
            thread: "14".into(),
            kind: Some(1),
            message: msg.into(),
        }
    }

    #[test]
    fn duplicates_dropped_within_a_time() {
        let mut entries = vec![
            entry(1, 0, "a"),
            entry(1, 0, "b"),
            entry(1, 1, "a"),
            entry(2, 1, "a"),
            entry(2, 1, "a"),
        ];
        dedup(&mut entries);
        let left: Vec<_> = entries
            .iter()
            .map(|e| (e.time.second, e.file, e.message.as_str()))
            .collect();
        assert_eq!(left, [(1, 0, "a"), (1, 0, "b"), (2, 1, "a")]);
    }
}
