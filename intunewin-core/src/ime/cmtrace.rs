//! A streaming reader of CMTrace log records, the format of every Intune Management Extension
//! log (`IntuneManagementExtension.log`, `AppWorkload.log`, `AgentExecutor.log`, ...).
//!
//! A record is `<![LOG[message]LOG]!><time="HH:MM:SS.fffffff" date="M-D-YYYY"
//! component="X" context="" type="N" thread="T" file="">`; the message may span many lines
//! (a `Get policies` JSON runs to about 1 MB). [`RecordReader`] yields records, not lines, with
//! their byte offsets, from any [`BufRead`]; memory stays bounded by [`Record::MAX_MESSAGE`] (or the
//! limit given to [`RecordReader::with_limit`]) whatever the size of the file:
//!
//! - a message longer than the limit is kept up to the limit and marked [`Record::truncated`];
//! - a record without its tail (cut at the end of a file, or followed at once by another
//!   record's start) is still yielded, marked [`Record::cut`];
//! - bytes between records that are neither whitespace nor a leading UTF-8 BOM are counted in
//!   [`RecordReader::skipped_bytes`], never an error;
//! - times are local and have no zone in IME logs; the raw text is kept, and a `+NNN`/`-NNN`
//!   bias (minutes, as Configuration Manager logs write it) is parsed when present.
//!
//! Only I/O errors are errors; no input makes the reader panic.

use std::fmt;
use std::io::{self, BufRead};

/// Default limit on a record's message ([`Record::MAX_MESSAGE`]).
const MAX_MESSAGE: usize = Record::MAX_MESSAGE;

/// Longest tail (`<time=... file="">`) kept; a longer one does not parse and the record counts
/// as cut.
const MAX_TAIL: usize = 4096;

const START: &[u8] = b"<![LOG[";
const END: &[u8] = b"]LOG]!>";
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A local date and time as CMTrace writes it (no zone), ordered chronologically.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalTime {
    /// Year.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day, 1–31.
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–60.
    pub second: u8,
    /// Fraction of the second in nanoseconds (the logs give 100 ns ticks).
    pub nanos: u32,
}

impl LocalTime {
    /// Parses `time="HH:MM:SS[.f{1,9}][+-NNN]"` and `date="M-D-YYYY"` values; the bias, if
    /// any, is returned beside the time (minutes).
    pub fn parse(time: &str, date: &str) -> Option<(LocalTime, Option<i32>)> {
        let (clock, bias) = split_bias(time)?;
        let mut hms = clock.splitn(3, ':');
        let hour = small(hms.next()?, 23)?;
        let minute = small(hms.next()?, 59)?;
        let (sec, frac) = match hms.next()?.split_once('.') {
            Some((s, f)) => (s, Some(f)),
            None => (hms_last(clock)?, None),
        };
        let second = small(sec, 60)?;
        let nanos = match frac {
            Some(f) => fraction_nanos(f)?,
            None => 0,
        };
        let mut mdy = date.splitn(3, '-');
        let month = small(mdy.next()?, 12).filter(|m| *m >= 1)?;
        let day = small(mdy.next()?, 31).filter(|d| *d >= 1)?;
        let year_text = mdy.next()?;
        if year_text.len() != 4 || !year_text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year = year_text.parse().ok()?;
        let time = LocalTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            nanos,
        };
        Some((time, bias))
    }

    /// Seconds since 0000-03-01 (proleptic Gregorian), for durations between two local times.
    pub fn seconds(&self) -> i64 {
        let (y, m) = if self.month <= 2 {
            (i64::from(self.year) - 1, i64::from(self.month) + 9)
        } else {
            (i64::from(self.year), i64::from(self.month) - 3)
        };
        let days = 365 * y + y / 4 - y / 100 + y / 400 + (153 * m + 2) / 5 + i64::from(self.day);
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// `self` moved by `seconds` (negative: earlier), the fraction of a second kept.
    pub fn plus_seconds(&self, seconds: i64) -> LocalTime {
        let total = self.seconds() + seconds;
        let (days, secs) = (total.div_euclid(86_400), total.rem_euclid(86_400));
        // The inverse of `seconds`' day count (days since 0000-03-01, plus one).
        let z = days - 1;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        LocalTime {
            year: u16::try_from(year).unwrap_or(0),
            month: month as u8,
            day: day as u8,
            hour: (secs / 3600) as u8,
            minute: (secs % 3600 / 60) as u8,
            second: (secs % 60) as u8,
            nanos: self.nanos,
        }
    }

    /// Milliseconds from `self` to `later` (negative when `later` is earlier).
    pub fn millis_until(&self, later: &LocalTime) -> i64 {
        (later.seconds() - self.seconds()) * 1000
            + (i64::from(later.nanos) - i64::from(self.nanos)) / 1_000_000
    }
}

impl fmt::Display for LocalTime {
    /// `YYYY-MM-DD HH:MM:SS.fff` (local time, as logged).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.nanos / 1_000_000
        )
    }
}

fn hms_last(clock: &str) -> Option<&str> {
    clock.rsplit(':').next()
}

fn small(text: &str, max: u8) -> Option<u8> {
    if text.is_empty() || text.len() > 2 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u8>().ok().filter(|v| *v <= max)
}

fn fraction_nanos(frac: &str) -> Option<u32> {
    if frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u32 = frac.parse().ok()?;
    Some(value * 10u32.pow(9 - frac.len() as u32))
}

/// Splits a trailing `+NNN`/`-NNN` bias (minutes) off a CMTrace time.
fn split_bias(time: &str) -> Option<(&str, Option<i32>)> {
    match time.rfind(['+', '-']) {
        Some(at) => {
            let digits = &time[at + 1..];
            if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            let minutes: i32 = digits.parse().ok()?;
            let sign = if time.as_bytes()[at] == b'-' { -1 } else { 1 };
            Some((&time[..at], Some(sign * minutes)))
        }
        None => Some((time, None)),
    }
}

/// One CMTrace record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// Byte offset of the record's `<![LOG[` in its source.
    pub offset: u64,
    /// Bytes the record occupies in its source, from `<![LOG[` to the tail's `>` (or to where
    /// it was cut).
    pub len: u64,
    /// The message (lossy UTF-8), at most the reader's limit in bytes.
    pub message: String,
    /// The message's full length in bytes, truncated part included.
    pub message_len: u64,
    /// The message was longer than the reader's limit and was cut to it.
    pub truncated: bool,
    /// The record has no tail: the source ended, or another record began, before it.
    pub cut: bool,
    /// The raw `time` attribute (`HH:MM:SS.fffffff`).
    pub time_text: String,
    /// The raw `date` attribute (`M-D-YYYY`).
    pub date_text: String,
    /// The parsed local time, when both attributes are well formed.
    pub time: Option<LocalTime>,
    /// The bias in minutes written after the time (`+000`, `-060`), absent from IME logs.
    pub bias_minutes: Option<i32>,
    /// The `component` attribute (`AppWorkload`, `IntuneManagementExtension`, ...).
    pub component: String,
    /// The `context` attribute.
    pub context: String,
    /// The `type` attribute (1 information, 2 warning, 3 error; not a reliable severity in
    /// IME logs), when numeric.
    pub kind: Option<u8>,
    /// The `thread` attribute.
    pub thread: String,
    /// The `file` attribute.
    pub file: String,
}

impl Record {
    /// The default limit on a record's message ([`RecordReader::new`]): 4 MiB, four times the
    /// longest record seen in real logs (a 982,134-character `Get policies` JSON). A longer
    /// message is cut there and the record flagged [`truncated`](Record::truncated).
    pub const MAX_MESSAGE: usize = 4 << 20;
}

/// What a scan for a marker ended on.
enum Scan {
    /// The marker was found (and consumed).
    Found,
    /// The start marker `<![LOG[` was found while looking for the end marker (consumed).
    NewStart,
    /// The source ended first.
    Eof,
}

/// Streams [`Record`]s out of a CMTrace log, the format of every IME log: records, not lines
/// (a message may span many lines), with their byte offsets, from any [`BufRead`]; memory
/// stays bounded by the message limit ([`Record::MAX_MESSAGE`], or the one given to
/// [`with_limit`](Self::with_limit)) whatever the size of the file.
///
/// - A message longer than the limit is kept up to the limit and marked
///   [`Record::truncated`].
/// - A record without its tail (cut at the end of a file, or followed at once by another
///   record's start) is still yielded, marked [`Record::cut`].
/// - Bytes between records that are neither whitespace nor a leading UTF-8 BOM are counted in
///   [`skipped_bytes`](Self::skipped_bytes), never an error.
/// - Times are local and have no zone in IME logs; the raw text is kept, and a `+NNN`/`-NNN`
///   bias (minutes) is parsed when present.
///
/// Only I/O errors are errors; no input makes the reader panic.
///
/// ```
/// use intunewin_core::ime::RecordReader;
///
/// let log = "\u{feff}<![LOG[first\r\nline two]LOG]!><time=\"09:22:49.0274125\" date=\"3-24-2026\" \
///            component=\"AppWorkload\" context=\"\" type=\"1\" thread=\"14\" file=\"\">\r\n";
/// let mut reader = RecordReader::new(log.as_bytes());
/// let record = reader.next().unwrap().unwrap();
/// assert_eq!(record.message, "first\r\nline two");
/// assert_eq!(record.thread, "14");
/// assert_eq!(record.time.unwrap().to_string(), "2026-03-24 09:22:49.027");
/// assert!(reader.next().is_none());
/// assert_eq!(reader.skipped_bytes(), 0);
/// ```
pub struct RecordReader<R> {
    input: R,
    limit: usize,
    offset: u64,
    skipped: u64,
    records: u64,
    /// A record's start was already consumed (found while reading the previous message).
    pending_start: Option<u64>,
    at_start: bool,
    failed: bool,
}

impl<R: BufRead> RecordReader<R> {
    /// A reader with the default message limit, [`Record::MAX_MESSAGE`].
    pub fn new(input: R) -> Self {
        Self::with_limit(input, MAX_MESSAGE)
    }

    /// A reader keeping at most `limit` bytes of each message (longer ones are truncated).
    pub fn with_limit(input: R, limit: usize) -> Self {
        RecordReader {
            input,
            limit,
            offset: 0,
            skipped: 0,
            records: 0,
            pending_start: None,
            at_start: true,
            failed: false,
        }
    }

    /// Bytes read so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes outside records that were neither whitespace nor a leading BOM (garbage).
    pub fn skipped_bytes(&self) -> u64 {
        self.skipped
    }

    /// Records yielded so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    fn read_record(&mut self) -> io::Result<Option<Record>> {
        let start = match self.pending_start.take() {
            Some(at) => at,
            None => match self.skip_to_start()? {
                Some(at) => at,
                None => return Ok(None),
            },
        };
        let mut record = Record {
            offset: start,
            ..Record::default()
        };
        let mut message = Vec::new();
        let (scan, total) = self.scan(END, Some(START), &mut message, self.limit)?;
        record.message_len = total;
        record.truncated = total > self.limit as u64;
        record.message = String::from_utf8_lossy(&message).into_owned();
        match scan {
            Scan::Found => self.read_tail(&mut record)?,
            Scan::NewStart => {
                record.cut = true;
                self.pending_start = Some(self.offset - START.len() as u64);
            }
            Scan::Eof => record.cut = true,
        }
        let end = self.pending_start.unwrap_or(self.offset);
        record.len = end - start;
        self.records += 1;
        Ok(Some(record))
    }

    /// Reads the tail after `]LOG]!>` up to its closing `>`.
    fn read_tail(&mut self, record: &mut Record) -> io::Result<()> {
        let mut tail = Vec::new();
        let (scan, _) = self.scan(b">", Some(START), &mut tail, MAX_TAIL)?;
        match scan {
            Scan::Found => {
                let text = String::from_utf8_lossy(&tail);
                if !parse_tail(&text, record) {
                    record.cut = true;
                }
            }
            Scan::NewStart => {
                record.cut = true;
                self.pending_start = Some(self.offset - START.len() as u64);
            }
            Scan::Eof => record.cut = true,
        }
        Ok(())
    }

    /// Skips to the next `<![LOG[`, counting garbage; returns its offset, `None` at the end.
    fn skip_to_start(&mut self) -> io::Result<Option<u64>> {
        if self.at_start {
            self.at_start = false;
            let buf = self.input.fill_buf()?;
            if buf.starts_with(BOM) {
                self.input.consume(BOM.len());
                self.offset += BOM.len() as u64;
            }
        }
        let mut garbage = GarbageCounter::default();
        let (scan, _) = self.scan_with(START, None, &mut garbage)?;
        self.skipped += garbage.count;
        match scan {
            Scan::Found | Scan::NewStart => Ok(Some(self.offset - START.len() as u64)),
            Scan::Eof => Ok(None),
        }
    }

    fn scan(
        &mut self,
        marker: &[u8],
        alt: Option<&[u8]>,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> io::Result<(Scan, u64)> {
        let mut sink = VecSink { out, limit };
        self.scan_with(marker, alt, &mut sink)
    }

    /// Consumes input up to and including `marker` (or `alt`), giving the bytes before it to
    /// `sink`; returns what ended the scan and how many bytes preceded the marker. The scan
    /// never stops at a size: the sink keeps what it has room for, so no `<![LOG[` is missed.
    fn scan_with(
        &mut self,
        marker: &[u8],
        alt: Option<&[u8]>,
        sink: &mut dyn Sink,
    ) -> io::Result<(Scan, u64)> {
        let mut m = Matcher::new(marker);
        let mut a = alt.map(Matcher::new);
        let mut total: u64 = 0;
        loop {
            let buf = match self.input.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok((Scan::Eof, total));
            }
            let mut used = 0;
            let mut outcome = None;
            while used < buf.len() {
                // Fast path: nothing partly matched, jump to the next byte that can begin one.
                if m.state == 0 && a.as_ref().is_none_or(|a| a.state == 0) {
                    let first_alt = a.as_ref().map(|a| a.marker[0]);
                    let from = used;
                    let skip = buf[from..]
                        .iter()
                        .position(|&b| b == marker[0] || Some(b) == first_alt)
                        .unwrap_or(buf.len() - from);
                    sink.take(&buf[from..from + skip], total, total + skip as u64);
                    total += skip as u64;
                    used += skip;
                    if used == buf.len() {
                        break;
                    }
                }
                let b = buf[used];
                used += 1;
                sink.take(std::slice::from_ref(&b), total, total + 1);
                total += 1;
                if m.feed(b) {
                    outcome = Some((Scan::Found, marker.len()));
                    break;
                }
                if let Some(a) = a.as_mut()
                    && a.feed(b)
                {
                    outcome = Some((Scan::NewStart, a.marker.len()));
                    break;
                }
            }
            self.input.consume(used);
            self.offset += used as u64;
            if let Some((scan, marker_len)) = outcome {
                let before = total - marker_len as u64;
                sink.retract(before);
                return Ok((scan, before));
            }
        }
    }
}

impl<R: BufRead> Iterator for RecordReader<R> {
    type Item = io::Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.read_record() {
            Ok(Some(record)) => Some(Ok(record)),
            Ok(None) => None,
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Where scanned bytes go.
trait Sink {
    /// Takes bytes `[from, to)` of the scan (in scan offsets).
    fn take(&mut self, bytes: &[u8], from: u64, to: u64);
    /// The scan ended with a marker: keeps only what came before offset `before`.
    fn retract(&mut self, before: u64);
}

struct VecSink<'a> {
    out: &'a mut Vec<u8>,
    limit: usize,
}

impl Sink for VecSink<'_> {
    fn take(&mut self, bytes: &[u8], _from: u64, _to: u64) {
        let room = self.limit.saturating_sub(self.out.len());
        let n = room.min(bytes.len());
        self.out.extend_from_slice(&bytes[..n]);
    }

    fn retract(&mut self, before: u64) {
        if (self.out.len() as u64) > before {
            self.out.truncate(before as usize);
        }
    }
}

/// Counts garbage between records: bytes that are not ASCII whitespace.
#[derive(Default)]
struct GarbageCounter {
    count: u64,
}

impl Sink for GarbageCounter {
    fn take(&mut self, bytes: &[u8], _from: u64, _to: u64) {
        self.count += bytes.iter().filter(|b| !b.is_ascii_whitespace()).count() as u64;
    }

    fn retract(&mut self, _before: u64) {
        // The start marker's own bytes (none of them whitespace) were counted: give them back.
        self.count = self.count.saturating_sub(START.len() as u64);
    }
}

/// A KMP matcher for one short marker, fed a byte at a time.
struct Matcher<'a> {
    marker: &'a [u8],
    state: usize,
    fail: [usize; 8],
}

impl<'a> Matcher<'a> {
    fn new(marker: &'a [u8]) -> Self {
        let mut fail = [0usize; 8];
        let mut k = 0;
        for i in 1..marker.len().min(8) {
            while k > 0 && marker[i] != marker[k] {
                k = fail[k - 1];
            }
            if marker[i] == marker[k] {
                k += 1;
            }
            fail[i] = k;
        }
        Matcher {
            marker,
            state: 0,
            fail,
        }
    }

    /// Feeds one byte; true when the marker has just been matched in full.
    fn feed(&mut self, b: u8) -> bool {
        while self.state > 0 && self.marker[self.state] != b {
            self.state = self.fail[self.state - 1];
        }
        if self.marker[self.state] == b {
            self.state += 1;
        }
        if self.state == self.marker.len() {
            self.state = 0;
            return true;
        }
        false
    }
}

/// Parses `<time="…" date="…" component="…" …` into `record`; false when it is no tail.
fn parse_tail(text: &str, record: &mut Record) -> bool {
    let Some(mut rest) = text.strip_prefix('<') else {
        return false;
    };
    let mut seen = false;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let Some((name, after)) = rest.split_once("=\"") else {
            return false;
        };
        let Some((value, after)) = after.split_once('"') else {
            return false;
        };
        rest = after;
        seen = true;
        match name.trim() {
            "time" => record.time_text = value.to_owned(),
            "date" => record.date_text = value.to_owned(),
            "component" => record.component = value.to_owned(),
            "context" => record.context = value.to_owned(),
            "type" => record.kind = value.parse().ok(),
            "thread" => record.thread = value.to_owned(),
            "file" => record.file = value.to_owned(),
            _ => {}
        }
    }
    if let Some((time, bias)) = LocalTime::parse(&record.time_text, &record.date_text) {
        record.time = Some(time);
        record.bias_minutes = bias;
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAIL: &str = r#"<time="09:22:49.0274125" date="3-24-2026" component="AppWorkload" context="" type="1" thread="14" file="">"#;

    fn rec(msg: &str) -> String {
        format!("<![LOG[{msg}]LOG]!>{TAIL}\r\n")
    }

    fn all(input: &[u8], limit: usize) -> (Vec<Record>, u64) {
        let mut reader = RecordReader::with_limit(input, limit);
        let records = reader.by_ref().map(|r| r.unwrap()).collect();
        (records, reader.skipped_bytes())
    }

    #[test]
    fn reads_records_and_attributes() {
        let log = format!("\u{feff}{}{}", rec("one"), rec("two\r\nlines ] LOG ]"));
        let (records, skipped) = all(log.as_bytes(), MAX_MESSAGE);
        assert_eq!(records.len(), 2);
        assert_eq!(skipped, 0);
        assert_eq!(records[0].offset, 3);
        assert_eq!(records[0].message, "one");
        assert_eq!(records[1].message, "two\r\nlines ] LOG ]");
        assert_eq!(records[0].component, "AppWorkload");
        assert_eq!(records[0].kind, Some(1));
        assert_eq!(records[0].thread, "14");
        assert!(!records[0].cut && !records[0].truncated);
        let t = records[0].time.unwrap();
        assert_eq!((t.year, t.month, t.day, t.hour), (2026, 3, 24, 9));
        assert_eq!(t.nanos, 27_412_500);
        assert_eq!(records[0].len as usize, rec("one").len() - 2);
        assert_eq!(records[1].offset as usize, 3 + rec("one").len());
    }

    #[test]
    fn bias_is_parsed() {
        let (t, bias) = LocalTime::parse("12:00:01.123+060", "12-31-2025").unwrap();
        assert_eq!(bias, Some(60));
        assert_eq!(t.nanos, 123_000_000);
        assert_eq!(
            LocalTime::parse("12:00:01.123-000", "1-2-2025").unwrap().1,
            Some(0)
        );
        assert!(LocalTime::parse("25:00:01", "1-2-2025").is_none());
        assert!(LocalTime::parse("12:00:01", "13-2-2025").is_none());
        assert!(LocalTime::parse("12:00:01", "1-2-25").is_none());
    }

    #[test]
    fn durations() {
        let (a, _) = LocalTime::parse("23:59:59.5", "2-28-2024").unwrap();
        let (b, _) = LocalTime::parse("00:00:00.0", "3-1-2024").unwrap();
        assert_eq!(a.millis_until(&b), 86_400_000 + 500);
        assert!(a < b);
    }

    #[test]
    fn garbage_is_counted_not_fatal() {
        let log = format!("junk!{}\r\n  xyz <![LO{}", rec("a"), rec("b"));
        let (records, skipped) = all(log.as_bytes(), MAX_MESSAGE);
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].message, "b");
        assert_eq!(skipped, 5 + 3 + 5);
    }

    #[test]
    fn cut_records() {
        let full = rec("whole");
        let log = format!("<![LOG[half a message{full}<![LOG[tail]LOG]!><time=\"09:2");
        let (records, _) = all(log.as_bytes(), MAX_MESSAGE);
        assert_eq!(records.len(), 3);
        assert!(records[0].cut);
        assert_eq!(records[0].message, "half a message");
        assert_eq!(records[0].len, 21);
        assert!(!records[1].cut);
        assert_eq!(records[1].message, "whole");
        assert!(records[2].cut);
        assert_eq!(records[2].message, "tail");
    }

    #[test]
    fn long_messages_are_truncated() {
        let long = "x".repeat(100);
        let log = format!("{}{}", rec(&long), rec("next"));
        let (records, _) = all(log.as_bytes(), 10);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].message, "xxxxxxxxxx");
        assert_eq!(records[0].message_len, 100);
        assert!(records[0].truncated && !records[0].cut);
        assert_eq!(records[1].message, "next");
        // A message ending just past the limit keeps none of the marker.
        let log = rec("0123456789ab");
        let (records, _) = all(log.as_bytes(), 12);
        assert_eq!(records[0].message, "0123456789ab");
        assert!(!records[0].truncated);
    }

    #[test]
    fn overlapping_marker_prefixes() {
        // `]LOG]` then `LOG]!>`: the second `]` starts the marker that ends the message.
        let log = rec("a]LOG");
        let (records, _) = all(log.as_bytes(), MAX_MESSAGE);
        assert_eq!(records[0].message, "a]LOG");
        assert!(!records[0].cut);
        let log = rec("a]LOG]]LOG]!b");
        let (records, _) = all(log.as_bytes(), MAX_MESSAGE);
        assert_eq!(records[0].message, "a]LOG]]LOG]!b");
    }

    #[test]
    fn one_byte_at_a_time() {
        let log = format!("\u{feff}{}garbage{}", rec("one\nline"), rec("two"));
        let reader = io::BufReader::with_capacity(1, log.as_bytes());
        let records: Vec<_> = RecordReader::new(reader).map(|r| r.unwrap()).collect();
        let (whole, _) = all(log.as_bytes(), MAX_MESSAGE);
        assert_eq!(records, whole);
    }

    #[test]
    fn empty_and_binary() {
        assert!(all(b"", MAX_MESSAGE).0.is_empty());
        let binary: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let (records, skipped) = all(&binary, MAX_MESSAGE);
        assert!(records.is_empty());
        assert!(skipped > 9000);
    }
}
