//! Little-endian zip record primitives shared by the outer and inner zip code.
//!
//! Both zips are hand-written rather than built on the `zip` crate: the outer zip must match
//! IntuneWinAppUtil byte for byte (0xA220 extra, made-by 45, CRC patched after streaming the
//! blob in place), and the inner zip is written into, and read from, an encrypted stream that
//! cannot seek, which the `zip` crate's writer and reader require.

use crate::dostime::DosDateTime;

/// Local file header signature.
pub const LFH_SIG: u32 = 0x0403_4b50;
/// Central directory header signature.
pub const CDH_SIG: u32 = 0x0201_4b50;
/// End of central directory signature.
pub const EOCD_SIG: u32 = 0x0605_4b50;
/// Zip64 end of central directory record signature.
pub const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
/// Zip64 end of central directory locator signature.
pub const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
/// Data descriptor signature.
pub const DESCRIPTOR_SIG: u32 = 0x0807_4b50;
/// Zip64 extended information extra field id.
pub const ZIP64_EXTRA_ID: u16 = 0x0001;
/// Marker in 32-bit fields whose value is in the zip64 extra.
pub const U32_MAX: u32 = 0xFFFF_FFFF;

/// One central directory header (FORMAT.md §4.2, §5.4), written by both zips' writers.
pub struct CentralHeader<'a> {
    /// "Version made by".
    pub made_by: u16,
    /// "Version needed to extract" when no zip64 extra is written ([`ZIP64_VERSION`] otherwise).
    pub needed: u16,
    /// General purpose flags.
    pub flags: u16,
    /// Compression method.
    pub method: u16,
    /// Modification time.
    pub time: DosDateTime,
    /// CRC-32 of the uncompressed data.
    pub crc: u32,
    /// Compressed size.
    pub csize: u64,
    /// Uncompressed size.
    pub usize: u64,
    /// Offset of the local header.
    pub offset: u64,
    /// Entry name as stored.
    pub name: &'a [u8],
}

impl CentralHeader<'_> {
    /// Appends the header to `cd`. Values that do not fit in 32 bits are all ones in their
    /// field and follow in a zip64 extra field, in the order the spec gives: uncompressed size,
    /// compressed size, offset.
    pub fn put(&self, cd: &mut Vec<u8>) {
        let big_u = self.usize >= u64::from(U32_MAX);
        let big_c = self.csize >= u64::from(U32_MAX);
        let big_o = self.offset >= u64::from(U32_MAX);
        let mut extra = Vec::new();
        if big_u || big_c || big_o {
            let mut data = Vec::new();
            if big_u {
                data.put_u64(self.usize);
            }
            if big_c {
                data.put_u64(self.csize);
            }
            if big_o {
                data.put_u64(self.offset);
            }
            extra.put_u16(ZIP64_EXTRA_ID);
            extra.put_u16(data.len() as u16);
            extra.extend_from_slice(&data);
        }
        let clamp = |big: bool, v: u64| if big { U32_MAX } else { v as u32 };
        cd.put_u32(CDH_SIG);
        cd.put_u16(self.made_by);
        cd.put_u16(if extra.is_empty() {
            self.needed
        } else {
            ZIP64_VERSION
        });
        cd.put_u16(self.flags);
        cd.put_u16(self.method);
        cd.put_u16(self.time.time);
        cd.put_u16(self.time.date);
        cd.put_u32(self.crc);
        cd.put_u32(clamp(big_c, self.csize));
        cd.put_u32(clamp(big_u, self.usize));
        cd.put_u16(self.name.len() as u16);
        cd.put_u16(extra.len() as u16);
        cd.put_u16(0); // comment
        cd.put_u16(0); // disk
        cd.put_u16(0); // internal attributes
        cd.put_u32(0); // external attributes
        cd.put_u32(clamp(big_o, self.offset));
        cd.extend_from_slice(self.name);
        cd.extend_from_slice(&extra);
    }
}

/// Appends little-endian fields to a byte buffer.
pub trait PutLe {
    /// Appends a u16.
    fn put_u16(&mut self, v: u16);
    /// Appends a u32.
    fn put_u32(&mut self, v: u32);
    /// Appends a u64.
    fn put_u64(&mut self, v: u64);
}

impl PutLe for Vec<u8> {
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
}

/// Version needed (and made by) for zip64 records: 4.5.
pub const ZIP64_VERSION: u16 = 45;

/// Appends the end records after a central directory of `cd_len` bytes at `cd_start` holding
/// `count` entries: a zip64 end record and locator when a value overflows its classic field
/// (or `force_zip64`), then the classic end record with overflowing fields set to all ones.
pub fn put_end_records(
    out: &mut Vec<u8>,
    count: u64,
    cd_start: u64,
    cd_len: u64,
    force_zip64: bool,
) {
    let big = |v: u64| v >= u64::from(U32_MAX);
    if force_zip64 || count >= 0xFFFF || big(cd_start) || big(cd_len) {
        out.put_u32(ZIP64_EOCD_SIG);
        out.put_u64(44); // size of the rest of this record
        out.put_u16(ZIP64_VERSION);
        out.put_u16(ZIP64_VERSION);
        out.put_u32(0); // this disk
        out.put_u32(0); // disk with the central directory
        out.put_u64(count);
        out.put_u64(count);
        out.put_u64(cd_len);
        out.put_u64(cd_start);
        out.put_u32(ZIP64_LOCATOR_SIG);
        out.put_u32(0);
        out.put_u64(cd_start + cd_len); // where the zip64 end record starts
        out.put_u32(1); // total disks
    }
    let clamp32 = |v: u64| if big(v) { U32_MAX } else { v as u32 };
    let count16 = if count >= 0xFFFF {
        0xFFFF
    } else {
        count as u16
    };
    out.put_u32(EOCD_SIG);
    out.put_u16(0);
    out.put_u16(0);
    out.put_u16(count16);
    out.put_u16(count16);
    out.put_u32(clamp32(cd_len));
    out.put_u32(clamp32(cd_start));
    out.put_u16(0); // comment length
}

/// Appends a data descriptor (with signature), 64-bit sizes when `zip64`.
pub fn put_descriptor(out: &mut Vec<u8>, crc: u32, csize: u64, usize: u64, zip64: bool) {
    out.put_u32(DESCRIPTOR_SIG);
    out.put_u32(crc);
    if zip64 {
        out.put_u64(csize);
        out.put_u64(usize);
    } else {
        out.put_u32(csize as u32);
        out.put_u32(usize as u32);
    }
}

/// A bounds-checked little-endian reader over a byte slice.
pub struct LeReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> LeReader<'a> {
    /// Reads from the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        LeReader { data, pos: 0 }
    }

    /// Next `n` bytes, or `None` past the end.
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    /// Next u16.
    pub fn u16(&mut self) -> Option<u16> {
        self.bytes(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    /// Next u32.
    pub fn u32(&mut self) -> Option<u32> {
        self.bytes(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Next u64.
    pub fn u64(&mut self) -> Option<u64> {
        self.bytes(8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    }
}

/// Iterates over (id, data) of a zip extra field block; stops at a malformed tail.
pub fn extra_fields(extra: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut r = LeReader::new(extra);
    std::iter::from_fn(move || {
        let id = r.u16()?;
        let len = r.u16()?;
        let data = r.bytes(usize::from(len))?;
        Some((id, data))
    })
}

/// Values a zip64 extra field replaces, in the order the spec stores them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Zip64Values {
    /// Uncompressed size.
    pub usize: u64,
    /// Compressed size.
    pub csize: u64,
    /// Local header offset.
    pub offset: u64,
}

/// Resolves 32-bit fields that hold `0xFFFFFFFF` from the zip64 extra (APPNOTE 4.5.3).
/// Returns `None` when a needed value is missing.
pub fn apply_zip64(
    extra: &[u8],
    mut v: Zip64Values,
    usize_ff: bool,
    csize_ff: bool,
    offset_ff: bool,
) -> Option<Zip64Values> {
    if !(usize_ff || csize_ff || offset_ff) {
        return Some(v);
    }
    let (_, data) = extra_fields(extra).find(|(id, _)| *id == ZIP64_EXTRA_ID)?;
    let mut r = LeReader::new(data);
    if usize_ff {
        v.usize = r.u64()?;
    }
    if csize_ff {
        v.csize = r.u64()?;
    }
    if offset_ff {
        v.offset = r.u64()?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(csize: u64, usize: u64, offset: u64) -> Vec<u8> {
        let mut cd = Vec::new();
        CentralHeader {
            made_by: 0x2D,
            needed: 10,
            flags: 8,
            method: 8,
            time: DosDateTime {
                time: 0x1234,
                date: 0x5678,
            },
            crc: 0xDEAD_BEEF,
            csize,
            usize,
            offset,
            name: b"a.txt",
        }
        .put(&mut cd);
        cd
    }

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([b[at], b[at + 1]])
    }

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn a_small_entry_has_classic_fields_and_no_extra() {
        let cd = header(10, 20, 30);
        assert_eq!(cd.len(), 46 + 5);
        assert_eq!(u32_at(&cd, 0), CDH_SIG);
        assert_eq!((u16_at(&cd, 4), u16_at(&cd, 6)), (0x2D, 10));
        assert_eq!((u16_at(&cd, 8), u16_at(&cd, 10)), (8, 8));
        assert_eq!((u16_at(&cd, 12), u16_at(&cd, 14)), (0x1234, 0x5678));
        assert_eq!(u32_at(&cd, 16), 0xDEAD_BEEF);
        assert_eq!((u32_at(&cd, 20), u32_at(&cd, 24)), (10, 20));
        assert_eq!((u16_at(&cd, 28), u16_at(&cd, 30)), (5, 0));
        assert_eq!(u32_at(&cd, 42), 30);
        assert_eq!(&cd[46..], b"a.txt");
    }

    #[test]
    fn overflowing_values_go_to_the_zip64_extra_in_spec_order() {
        let big = 5 << 30;
        let cd = header(big + 1, big + 2, big + 3);
        assert_eq!(u16_at(&cd, 6), ZIP64_VERSION);
        assert_eq!(
            (u32_at(&cd, 20), u32_at(&cd, 24), u32_at(&cd, 42)),
            (U32_MAX, U32_MAX, U32_MAX)
        );
        assert_eq!(u16_at(&cd, 30), 4 + 24);
        let extra = &cd[46 + 5..];
        assert_eq!((u16_at(extra, 0), u16_at(extra, 2)), (ZIP64_EXTRA_ID, 24));
        let values: Vec<u64> = extra[4..]
            .chunks(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(values, [big + 2, big + 1, big + 3]);
        // Only what overflows is in the extra: here the offset alone.
        let cd = header(1, 2, big);
        assert_eq!(
            (u32_at(&cd, 20), u32_at(&cd, 24), u32_at(&cd, 42)),
            (1, 2, U32_MAX)
        );
        assert_eq!(u16_at(&cd[46 + 5..], 2), 8);
    }
}
