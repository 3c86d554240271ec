//! MS-DOS date/time fields of zip headers, in the packing machine's local time (FORMAT.md §2.5, §5.3).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, Local, LocalResult, NaiveDate, TimeZone, Timelike};

/// A zip DOS timestamp: 2-second resolution, years 1980–2107.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DosDateTime {
    /// `h<<11 | m<<5 | s/2`.
    pub time: u16,
    /// `(y-1980)<<9 | mon<<5 | day`.
    pub date: u16,
}

/// 1980-01-01 00:00:00, the earliest DOS time.
pub const DOS_EPOCH: DosDateTime = DosDateTime {
    time: 0,
    date: (1 << 5) | 1,
};

impl DosDateTime {
    /// Converts a system time to local DOS time: seconds truncated to even, clamped to
    /// 1980-01-01 … 2107-12-31 (as .NET does).
    pub fn from_system_time(t: SystemTime) -> DosDateTime {
        let local: DateTime<Local> = t.into();
        Self::from_fields(
            local.year(),
            local.month(),
            local.day(),
            local.hour(),
            local.minute(),
            local.second(),
        )
    }

    /// The current local time.
    pub fn now() -> DosDateTime {
        Self::from_system_time(SystemTime::now())
    }

    /// Builds from calendar fields, clamping to the DOS range.
    pub fn from_fields(
        year: i32,
        month: u32,
        day: u32,
        hour: u32,
        min: u32,
        sec: u32,
    ) -> DosDateTime {
        if year < 1980 {
            return DOS_EPOCH;
        }
        if year > 2107 {
            return DosDateTime {
                time: (23 << 11) | (59 << 5) | 29,
                date: (127 << 9) | (12 << 5) | 31,
            };
        }
        DosDateTime {
            time: ((hour << 11) | (min << 5) | (sec / 2)) as u16,
            date: ((((year - 1980) as u32) << 9) | (month << 5) | day) as u16,
        }
    }

    /// Calendar fields (year, month, day, hour, minute, second), if they form a valid date.
    pub fn fields(&self) -> Option<(i32, u32, u32, u32, u32, u32)> {
        let year = 1980 + i32::from(self.date >> 9);
        let month = u32::from((self.date >> 5) & 0x0F);
        let day = u32::from(self.date & 0x1F);
        let hour = u32::from(self.time >> 11);
        let min = u32::from((self.time >> 5) & 0x3F);
        let sec = u32::from(self.time & 0x1F) * 2;
        NaiveDate::from_ymd_opt(year, month, day)?.and_hms_opt(hour, min, sec)?;
        Some((year, month, day, hour, min, sec))
    }

    /// The system time this local DOS time denotes (the earlier one in a DST overlap).
    pub fn to_system_time(&self) -> Option<SystemTime> {
        let (y, mo, d, h, mi, s) = self.fields()?;
        let local = match Local.with_ymd_and_hms(y, mo, d, h, mi, s) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t,
            LocalResult::None => Local.with_ymd_and_hms(y, mo, d, h, mi, s).earliest()?,
        };
        let secs = local.timestamp();
        if secs >= 0 {
            Some(UNIX_EPOCH + Duration::from_secs(secs as u64))
        } else {
            UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
        }
    }

    /// `YYYY-MM-DD hh:mm:ss`, or the raw fields when invalid.
    pub fn display(&self) -> String {
        match self.fields() {
            Some((y, mo, d, h, mi, s)) => format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
            None => format!("invalid DOS time {:04x}/{:04x}", self.date, self.time),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_clamp() {
        let t = DosDateTime::from_fields(2020, 10, 16, 18, 32, 15);
        assert_eq!(t.fields(), Some((2020, 10, 16, 18, 32, 14)));
        assert_eq!(DosDateTime::from_fields(1970, 1, 1, 0, 0, 0), DOS_EPOCH);
        assert_eq!(
            DosDateTime::from_fields(2200, 1, 1, 0, 0, 0).fields(),
            Some((2107, 12, 31, 23, 59, 58))
        );
    }

    #[test]
    fn system_time_round_trip() {
        let now = SystemTime::now();
        let dos = DosDateTime::from_system_time(now);
        let back = dos.to_system_time().unwrap();
        let diff = now.duration_since(back).unwrap();
        assert!(diff < Duration::from_secs(2));
    }
}
