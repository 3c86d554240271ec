//! Zip64 (issue 2, "must show"): more than 4 GiB of incompressible content and more than 65,535
//! entries pack and read back, with the zip64 records FORMAT.md §2.6 and §5.3 call for.
//! Too slow for CI: run with
//! `cargo test --release -p intunewin-core --test library zip64 -- --ignored --nocapture --test-threads=1`
//! (needs about 14 GiB free in the temp folder).

use std::fs::{self, File};
use std::io::{self, BufWriter, Cursor, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Instant;

use intunewin_core::{PackOptions, Package, ReadOptions};
use sha2::{Digest, Sha256};

use crate::roundtrip::{Prng, pack};

/// More than 4 GiB (4.19 GiB).
const BIG: u64 = 4_500_000_000;
const U32_MAX: u32 = 0xFFFF_FFFF;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Writes `len` seeded random bytes to `path`; returns their SHA-256.
fn write_random_file(path: &Path, len: u64, seed: u64) -> [u8; 32] {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    let mut prng = Prng::new(seed);
    let mut buf = vec![0u8; 1 << 20];
    let mut hash = Sha256::new();
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        prng.fill(&mut buf[..n]);
        hash.update(&buf[..n]);
        out.write_all(&buf[..n]).unwrap();
        left -= n as u64;
    }
    out.flush().unwrap();
    hash.finalize().into()
}

/// The zip64 end records of a zip whose last `tail.len()` bytes are `tail` and whose total
/// length is `total`: checks EOCD, locator and zip64 EOCD record (APPNOTE 4.3.14–4.3.16);
/// returns (entry count, CD offset, CD length, made-by) from the zip64 record.
fn check_zip64_end(tail: &[u8], total: u64) -> (u64, u64, u64, u16) {
    let eocd = tail.len() - 22;
    assert_eq!(u32_at(tail, eocd), 0x0605_4b50, "EOCD at the very end");
    let loc = eocd - 20;
    assert_eq!(
        u32_at(tail, loc),
        0x0706_4b50,
        "zip64 locator before the EOCD"
    );
    assert_eq!(u32_at(tail, loc + 16), 1, "one disk");
    let record_at = u64_at(tail, loc + 8);
    assert_eq!(
        record_at,
        total - 22 - 20 - 56,
        "the zip64 record sits right before the locator"
    );
    let rec = loc - 56;
    assert_eq!(u32_at(tail, rec), 0x0606_4b50, "zip64 end record");
    assert_eq!(u64_at(tail, rec + 4), 44, "record size");
    assert_eq!(u16_at(tail, rec + 14), 45, "version needed 4.5");
    let count = u64_at(tail, rec + 24);
    assert_eq!(
        u64_at(tail, rec + 32),
        count,
        "entries on this disk = total"
    );
    let (cd_len, cd_at) = (u64_at(tail, rec + 40), u64_at(tail, rec + 48));
    assert_eq!(
        cd_at + cd_len,
        record_at,
        "the central directory ends where the zip64 record starts"
    );
    // Overflowing EOCD fields are all ones, the others exact.
    let count16 = u16_at(tail, eocd + 10);
    assert_eq!(
        count16,
        if count >= 0xFFFF {
            0xFFFF
        } else {
            count as u16
        }
    );
    assert_eq!(u16_at(tail, eocd + 8), count16);
    let off32 = u32_at(tail, eocd + 16);
    assert_eq!(
        off32,
        if cd_at >= u64::from(U32_MAX) {
            U32_MAX
        } else {
            cd_at as u32
        }
    );
    (count, cd_at, cd_len, u16_at(tail, rec + 12))
}

/// The fields of a central directory header that zip64 concerns.
struct CentralHeader {
    name: String,
    csize: u32,
    usize: u32,
    offset: u32,
    /// Data of the zip64 extra field (id 0x0001), if any.
    zip64: Option<Vec<u8>>,
}

/// Parses a central directory.
fn central_headers(cd: &[u8]) -> Vec<CentralHeader> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < cd.len() {
        assert_eq!(u32_at(cd, at), 0x0201_4b50);
        let (name_len, extra_len, comment_len) = (
            u16_at(cd, at + 28) as usize,
            u16_at(cd, at + 30) as usize,
            u16_at(cd, at + 32) as usize,
        );
        let name = String::from_utf8(cd[at + 46..at + 46 + name_len].to_vec()).unwrap();
        let extra = &cd[at + 46 + name_len..at + 46 + name_len + extra_len];
        let mut zip64 = None;
        let mut e = 0;
        while e + 4 <= extra.len() {
            let (id, len) = (u16_at(extra, e), u16_at(extra, e + 2) as usize);
            if id == 1 {
                zip64 = Some(extra[e + 4..e + 4 + len].to_vec());
            }
            e += 4 + len;
        }
        out.push(CentralHeader {
            name,
            csize: u32_at(cd, at + 20),
            usize: u32_at(cd, at + 24),
            offset: u32_at(cd, at + 42),
            zip64,
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    out
}

/// Keeps the count and the last bytes of what is written.
struct Tail {
    len: u64,
    buf: Vec<u8>,
}

impl Write for Tail {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        const KEEP: usize = 1 << 16;
        self.len += data.len() as u64;
        self.buf
            .extend_from_slice(&data[data.len().saturating_sub(KEEP)..]);
        if self.buf.len() > 2 * KEEP {
            self.buf.drain(..self.buf.len() - KEEP);
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The outer zip of a package whose blob passes 4 GiB (FORMAT.md §2.6).
fn check_outer_zip64(path: &Path, blob_len: u64) {
    let mut file = File::open(path).unwrap();
    let total = file.metadata().unwrap().len();
    let mut head = [0u8; 107];
    file.read_exact(&mut head).unwrap();
    assert_eq!(u16_at(&head, 4), 45, "content LFH: version needed 4.5");
    assert_eq!(
        (u32_at(&head, 18), u32_at(&head, 22)),
        (U32_MAX, U32_MAX),
        "sizes in the zip64 extra"
    );
    assert_eq!(
        u16_at(&head, 28),
        28,
        "the LFH keeps its 28-byte extra area"
    );
    let extra = &head[79..107];
    assert_eq!(
        (u16_at(extra, 0), u16_at(extra, 2)),
        (1, 16),
        "zip64 extra first"
    );
    assert_eq!((u64_at(extra, 4), u64_at(extra, 12)), (blob_len, blob_len));
    assert_eq!(
        extra[20..],
        [0x20, 0xA2, 0x04, 0x00, 0x28, 0xA0, 0x00, 0x00],
        "then a short 0xA220 field"
    );

    let tail_len = 4096.min(total);
    let mut tail = vec![0u8; tail_len as usize];
    file.seek(SeekFrom::Start(total - tail_len)).unwrap();
    file.read_exact(&mut tail).unwrap();
    let (count, cd_at, cd_len, made_by) = check_zip64_end(&tail, total);
    assert_eq!((count, made_by), (2, 45), "FORMAT.md §2.6: made by 4.5");
    let cd_in_tail = (cd_at - (total - tail_len)) as usize;
    let headers = central_headers(&tail[cd_in_tail..cd_in_tail + cd_len as usize]);
    let CentralHeader {
        name,
        csize,
        usize,
        offset,
        zip64,
    } = &headers[0];
    assert_eq!(name, "IntuneWinPackage/Contents/IntunePackage.intunewin");
    assert_eq!((*csize, *usize, *offset), (U32_MAX, U32_MAX, 0));
    let zip64 = zip64.as_ref().expect("content CDH zip64 extra");
    assert_eq!((u64_at(zip64, 0), u64_at(zip64, 8)), (blob_len, blob_len));
    let CentralHeader {
        name,
        usize: size,
        offset,
        zip64,
        ..
    } = &headers[1];
    assert_eq!(name, "IntuneWinPackage/Metadata/Detection.xml");
    assert!(*size < 4096);
    assert_eq!(*offset, U32_MAX, "Detection.xml's LFH lies past 4 GiB");
    assert_eq!(
        u64_at(zip64.as_ref().expect("offset in zip64 extra"), 0),
        107 + blob_len
    );
}

/// Packs a tree of one >4 GiB random file plus a setup file; checks both zips' zip64 records,
/// verify and list. `deflate` turns off storing of incompressible files.
fn over_4_gib(deflate: bool) {
    let src = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let sha = write_random_file(&src.path().join("big.bin"), BIG, 42);
    fs::write(src.path().join("setup.exe"), b"MZ setup").unwrap();
    eprintln!(
        "zip64: wrote {BIG} random bytes in {:.1?}",
        started.elapsed()
    );

    let opts = PackOptions::new(src.path(), "setup.exe").store_incompressible(!deflate);
    let t = Instant::now();
    let (_out, path) = pack(&opts, "setup.intunewin");
    let pkg = Package::open(&path).unwrap();
    eprintln!(
        "zip64: packed to {} bytes in {:.1?}",
        pkg.len(),
        t.elapsed()
    );
    let blob_len = pkg.encrypted_size();
    assert!(blob_len > BIG);
    check_outer_zip64(&path, blob_len);

    let t = Instant::now();
    let report = pkg
        .verify(&ReadOptions::default())
        .unwrap_or_else(|e| panic!("verify: {e}"));
    eprintln!("zip64: verified in {:.1?}", t.elapsed());
    assert_eq!(report.entries.len(), 2);
    let big = &report.entries[0];
    // Deflated in pieces either way, with a zip64 data descriptor; random data that is not
    // forced through deflate is copied in stored blocks: 5 bytes per block of at most 65,535
    // bytes, plus the empty block that ends each 2 MiB piece.
    assert_eq!(
        (big.name.as_str(), big.size, big.method, big.flags),
        ("big.bin", BIG, 8, 0x0808)
    );
    if !deflate {
        let overhead = big.compressed_size - BIG;
        assert!(
            overhead <= BIG / 65_535 * 5 + BIG.div_ceil(1 << 21) * 10 + 64,
            "{overhead}"
        );
    }

    let t = Instant::now();
    let listed = pkg.list(&ReadOptions::default()).unwrap().entries;
    eprintln!("zip64: listed in {:.1?}", t.elapsed());
    assert_eq!(listed[0].sha256, sha, "big.bin round-trips");
    assert_eq!(listed[1].info.name, "setup.exe");
    assert!(listed[1].info.offset > u64::from(U32_MAX));

    // The inner zip: zip64 end records, a zip64 extra for the big entry's sizes and for the
    // offset of the entry after it.
    let t = Instant::now();
    let mut tail = Tail {
        len: 0,
        buf: Vec::new(),
    };
    pkg.decrypt_to(&mut tail, &ReadOptions::default()).unwrap();
    eprintln!("zip64: decrypted in {:.1?}", t.elapsed());
    assert_eq!(tail.len, pkg.detection().unencrypted_content_size);
    let (count, cd_at, cd_len, _) = check_zip64_end(&tail.buf, tail.len);
    assert_eq!(count, 2);
    let cd_in_tail = (cd_at - (tail.len - tail.buf.len() as u64)) as usize;
    let headers = central_headers(&tail.buf[cd_in_tail..cd_in_tail + cd_len as usize]);
    let CentralHeader {
        csize,
        usize,
        offset,
        zip64,
        ..
    } = &headers[0];
    assert_eq!((*csize, *usize, *offset), (U32_MAX, U32_MAX, 0));
    let zip64 = zip64.as_ref().expect("big entry zip64 extra");
    assert_eq!(
        u64_at(zip64, 0),
        BIG,
        "uncompressed size first (APPNOTE 4.5.3)"
    );
    assert_eq!(u64_at(zip64, 8), big.compressed_size);
    let CentralHeader { offset, zip64, .. } = &headers[1];
    assert_eq!(*offset, U32_MAX);
    assert_eq!(
        u64_at(zip64.as_ref().expect("offset zip64 extra"), 0),
        listed[1].info.offset
    );
    eprintln!("zip64: total {:.1?}", started.elapsed());
}

#[test]
#[ignore = "slow: packs 4.2 GiB"]
fn zip64_over_4_gib_deflated() {
    over_4_gib(true);
}

#[test]
#[ignore = "slow: packs 4.2 GiB"]
fn zip64_over_4_gib_stored() {
    over_4_gib(false);
}

#[test]
#[ignore = "slow: packs 70,000 files"]
fn zip64_more_than_65535_entries() {
    const DIRS: usize = 70;
    const PER_DIR: usize = 1000;
    let src = tempfile::tempdir().unwrap();
    let started = Instant::now();
    fs::write(src.path().join("setup.exe"), b"MZ setup").unwrap();
    for d in 0..DIRS {
        let dir = src.path().join(format!("d{d:02}"));
        fs::create_dir(&dir).unwrap();
        for f in 0..PER_DIR {
            fs::write(dir.join(format!("f{f:04}.txt")), format!("{d}/{f}")).unwrap();
        }
    }
    let total = DIRS * PER_DIR + 1;
    eprintln!("zip64: wrote {total} files in {:.1?}", started.elapsed());

    let t = Instant::now();
    let (_out, path) = pack(
        &PackOptions::new(src.path(), "setup.exe"),
        "setup.intunewin",
    );
    eprintln!(
        "zip64: packed {} bytes in {:.1?}",
        fs::metadata(&path).unwrap().len(),
        t.elapsed()
    );
    let pkg = Package::open(&path).unwrap();
    let t = Instant::now();
    let report = pkg
        .verify(&ReadOptions::default())
        .unwrap_or_else(|e| panic!("verify: {e}"));
    assert_eq!(report.entries.len(), total);
    let listed = pkg.list(&ReadOptions::default()).unwrap().entries;
    eprintln!("zip64: verified and listed in {:.1?}", t.elapsed());
    assert_eq!(listed.len(), total);
    // FORMAT.md §5.2: the root's files first, then the folders' contents.
    assert_eq!(listed[0].info.name, "setup.exe");
    assert_eq!(listed[1].info.name, "d00/f0000.txt");
    let want: [u8; 32] = Sha256::digest(b"69/999").into();
    assert_eq!(listed[total - 1].info.name, "d69/f0999.txt");
    assert_eq!(listed[total - 1].sha256, want);

    let mut inner = Vec::new();
    pkg.decrypt_to(&mut inner, &ReadOptions::default()).unwrap();
    let (count, ..) = check_zip64_end(&inner[inner.len() - 200..], inner.len() as u64);
    assert_eq!(count, total as u64, "the zip64 record holds the real count");
    let mut zip = zip::ZipArchive::new(Cursor::new(inner)).unwrap();
    assert_eq!(
        zip.len(),
        total,
        "the zip crate reads all entries through the zip64 record"
    );
    for (i, (d, f)) in [(0, 0), (33, 517), (69, 999)].into_iter().enumerate() {
        let mut data = String::new();
        zip.by_name(&format!("d{d:02}/f{f:04}.txt"))
            .unwrap()
            .read_to_string(&mut data)
            .unwrap();
        assert_eq!(data, format!("{d}/{f}"), "sample {i}");
    }
    eprintln!("zip64: total {:.1?}", started.elapsed());
}
