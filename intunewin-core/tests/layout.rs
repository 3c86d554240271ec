//! Layout tests (issue 2, "must show"): a small fixed tree packed with fixed keys and a fixed
//! time, checked field by field against FORMAT.md §2 (outer zip), §3 (blob), §4.1
//! (Detection.xml) and §5 (inner zip). Expected values come from the spec and from code here
//! (CRC-32, base64, HMAC, AES-CBC, local time), never from the library under test; the `zip`
//! crate cross-checks both zips.

use std::fs;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use aes::Aes256;
use cbc::cipher::{Array, BlockModeDecrypt, KeyIvInit};
use chrono::{Datelike, Local, TimeZone, Timelike};
use hmac::{Hmac, KeyInit, Mac};
use intunewin_core::DosDateTime;
use intunewin_core::Keys;
use intunewin_core::{PackOptions, Package};
use sha2::{Digest, Sha256};

use crate::roundtrip::{compressible_bytes, random_bytes, set_mtime, unix_seconds};

const CONTENT_NAME: &str = "IntuneWinPackage/Contents/IntunePackage.intunewin";
const DETECTION_NAME: &str = "IntuneWinPackage/Metadata/Detection.xml";
/// FORMAT.md §2.3, byte for byte.
const GROWTH_HINT: [u8; 28] = [
    0x20, 0xA2, 0x18, 0x00, 0x28, 0xA0, 0x14, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0,
];
/// The outer entries' time: 2024-05-17 13:45:31 (stored as :30).
const OUTER_TIME: (u16, u16) = ((13 << 11) | (45 << 5) | 15, (44 << 9) | (5 << 5) | 17);

/// FORMAT.md Appendix A, TV0 keys.
pub(crate) fn tv0_keys() -> Keys {
    let seq = |start: u8| -> [u8; 32] { std::array::from_fn(|i| start + i as u8) };
    Keys {
        encryption_key: seq(0x00),
        mac_key: seq(0x20),
        iv: std::array::from_fn(|i| 0x40 + i as u8),
    }
}

fn outer_time() -> DosDateTime {
    DosDateTime::from_fields(2024, 5, 17, 13, 45, 31)
}

/// The fixture's files and empty folders, in the order FORMAT.md §5.2 requires: each folder's
/// children sorted by upper-cased name in UTF-16 units, files and empty folders first, then
/// the non-empty folders' contents. It discriminates: ASCII order would put `Install.exe`
/// before `detector.ps1`, lower-casing would put `a_b.txt` before `ab.txt`, and code-point
/// order would put `Ｚ.txt` (U+FF3A) before `𝄞.txt` (U+1D11E, a surrogate pair in UTF-16).
const ORDER: [&str; 17] = [
    "ab.txt",
    "a_b.txt",
    "detector.ps1",
    "empty.txt",
    "Install-X.ps1",
    "install.bat",
    "Install.exe",
    "install.ps1",
    "R&D Setup.exe",
    "SupportFiles/",
    "ünïcode-名.txt",
    "𝄞.txt",
    "Ｚ.txt",
    "AppDeployToolkit/a.ps1",
    "AppDeployToolkit/Empty/",
    "AppDeployToolkit/Z.ps1",
    "AppDeployToolkit/sub/x.txt",
];
const SETUP: &str = "R&D Setup.exe";

/// Source contents: empty, random (stored by default: over 16 KiB and incompressible) or
/// text (deflated).
fn content(i: usize, name: &str) -> Option<Vec<u8>> {
    match name {
        n if n.ends_with('/') => None,
        "empty.txt" => Some(Vec::new()),
        SETUP => Some(random_bytes(99, 40_000)),
        _ => Some(compressible_bytes(i as u64, 200 + 137 * i)),
    }
}

/// Mtime of entry `i`: odd seconds, so truncation to even shows.
fn mtime(i: usize) -> i64 {
    unix_seconds(2023, 7, 15, 12, 0, 1) + 1001 * i as i64
}

fn build_fixture(root: &Path) {
    // Created in reverse order so that creation order cannot explain the entry order.
    for (i, name) in ORDER.iter().enumerate().rev() {
        let path = root.join(name.trim_end_matches('/'));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        match content(i, name) {
            Some(data) => fs::write(&path, data).unwrap(),
            None => fs::create_dir(&path).unwrap(),
        }
    }
    for (i, name) in ORDER.iter().enumerate() {
        set_mtime(&root.join(name.trim_end_matches('/')), mtime(i));
    }
}

/// A package packed with fixed keys and times: its path and bytes (and the folders that hold it).
struct Packed {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    path: PathBuf,
    bytes: Vec<u8>,
}

fn pack_fixture(opts: impl FnOnce(PackOptions) -> PackOptions) -> Packed {
    let src = tempfile::tempdir().unwrap();
    build_fixture(src.path());
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("R&D Setup.intunewin");
    let base = PackOptions::new(src.path(), SETUP)
        .keys(tv0_keys())
        .timestamp(outer_time());
    opts(base)
        .pack_to_file(&path, intunewin_core::Overwrite::Refuse)
        .unwrap_or_else(|e| panic!("pack: {e}"));
    let bytes = fs::read(&path).unwrap();
    Packed {
        _dirs: (src, out),
        path,
        bytes,
    }
}

/// CRC-32 (IEEE), bit by bit.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Standard padded base64 (RFC 4648).
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// HMAC-SHA256, computed here rather than by the library.
pub(crate) fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// AES-256-CBC decryption with strict PKCS#7 removal (FORMAT.md §3.2, §7 step 6).
pub(crate) fn decrypt(key: &[u8; 32], iv: &[u8; 16], ciphertext: &[u8]) -> Vec<u8> {
    assert_eq!(ciphertext.len() % 16, 0, "ciphertext is whole blocks");
    let mut buf = ciphertext.to_vec();
    let (blocks, rest) = Array::slice_as_chunks_mut(&mut buf[..]);
    assert!(rest.is_empty());
    cbc::Decryptor::<Aes256>::new(&(*key).into(), &(*iv).into()).decrypt_blocks(blocks);
    let pad = *buf.last().expect("at least one block");
    assert!((1..=16).contains(&pad), "pad length {pad}");
    let body = buf.len() - usize::from(pad);
    assert!(
        buf[body..].iter().all(|&b| b == pad),
        "every pad byte equals the pad length"
    );
    buf.truncate(body);
    buf
}

/// A little-endian reader over a byte slice that asserts as it goes.
struct Le<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Le<'a> {
    fn at(data: &'a [u8], pos: usize) -> Self {
        Le { data, pos }
    }
    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        out
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.bytes(2).try_into().unwrap())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.bytes(4).try_into().unwrap())
    }
}

/// One parsed outer local header: (name, data offset, size).
fn outer_local_header(
    r: &mut Le<'_>,
    name: &str,
    data_crc: impl Fn(usize, usize) -> u32,
) -> (usize, usize) {
    let at = r.pos;
    assert_eq!(r.u32(), 0x0403_4b50, "LFH signature at {at}");
    assert_eq!(r.u16(), 10, "{name}: version needed 10");
    assert_eq!(
        r.u16(),
        0,
        "{name}: flags 0 (no UTF-8 flag, no data descriptor)"
    );
    assert_eq!(r.u16(), 0, "{name}: stored");
    assert_eq!((r.u16(), r.u16()), OUTER_TIME, "{name}: DOS time and date");
    let crc = r.u32();
    let (csize, usize) = (r.u32(), r.u32());
    assert_eq!(csize, usize, "{name}: stored, csize = usize");
    assert_eq!(r.u16() as usize, name.len(), "{name}: name length");
    assert_eq!(r.u16(), 28, "{name}: extra length 28");
    assert_eq!(r.bytes(name.len()), name.as_bytes());
    assert_eq!(r.bytes(28), GROWTH_HINT, "{name}: the 0xA220 growth hint");
    let data_at = r.pos;
    assert_eq!(
        crc,
        data_crc(data_at, usize as usize),
        "{name}: CRC-32 of the data"
    );
    r.pos += usize as usize;
    (data_at, usize as usize)
}

fn outer_central_header(r: &mut Le<'_>, name: &str, crc: u32, size: usize, offset: usize) {
    assert_eq!(r.u32(), 0x0201_4b50, "{name}: CDH signature");
    assert_eq!(r.u16(), 0x002D, "{name}: made by 4.5, MS-DOS");
    assert_eq!(r.u16(), 10, "{name}: version needed");
    assert_eq!(r.u16(), 0, "{name}: flags");
    assert_eq!(r.u16(), 0, "{name}: method");
    assert_eq!((r.u16(), r.u16()), OUTER_TIME, "{name}: time and date");
    assert_eq!(r.u32(), crc, "{name}: CRC equals the LFH's");
    assert_eq!(
        (r.u32(), r.u32()),
        (size as u32, size as u32),
        "{name}: sizes"
    );
    assert_eq!(r.u16() as usize, name.len());
    assert_eq!(r.u16(), 0, "{name}: no extra in the CDH");
    assert_eq!(r.u16(), 0, "{name}: comment length");
    assert_eq!(r.u16(), 0, "{name}: disk");
    assert_eq!(r.u16(), 0, "{name}: internal attributes");
    assert_eq!(r.u32(), 0, "{name}: external attributes");
    assert_eq!(r.u32() as usize, offset, "{name}: LFH offset");
    assert_eq!(r.bytes(name.len()), name.as_bytes());
}

/// Parses the whole outer zip per FORMAT.md §2.1–2.5; returns (blob, Detection.xml).
fn check_outer(bytes: &[u8]) -> (&[u8], &[u8]) {
    let crc_at = |at: usize, n: usize| crc32(&bytes[at..at + n]);
    let mut r = Le::at(bytes, 0);
    let (blob_at, blob_len) = outer_local_header(&mut r, CONTENT_NAME, crc_at);
    assert_eq!(blob_at, 107, "FORMAT.md §2.3: data at 30 + 49 + 28");
    let xml_header = r.pos;
    let (xml_at, xml_len) = outer_local_header(&mut r, DETECTION_NAME, crc_at);
    let cd_at = r.pos;
    assert_eq!(cd_at, xml_at + xml_len, "contiguous, no gaps");
    outer_central_header(&mut r, CONTENT_NAME, crc_at(blob_at, blob_len), blob_len, 0);
    outer_central_header(
        &mut r,
        DETECTION_NAME,
        crc_at(xml_at, xml_len),
        xml_len,
        xml_header,
    );
    assert_eq!(r.pos - cd_at, 180, "CD size 46+49 + 46+39");
    assert_eq!(r.u32(), 0x0605_4b50, "EOCD signature");
    assert_eq!((r.u16(), r.u16()), (0, 0), "disk numbers");
    assert_eq!((r.u16(), r.u16()), (2, 2), "two entries");
    assert_eq!(r.u32(), 180, "CD size");
    assert_eq!(r.u32() as usize, cd_at, "CD offset");
    assert_eq!(r.u16(), 0, "comment length");
    assert_eq!(r.pos, bytes.len(), "nothing after the EOCD");
    assert_eq!(bytes.len(), blob_len + xml_len + 406, "FORMAT.md §2.4");
    (
        &bytes[blob_at..blob_at + blob_len],
        &bytes[xml_at..xml_at + xml_len],
    )
}

#[test]
fn outer_zip_matches_format_2() {
    let fx = pack_fixture(|o| o);
    let (blob, xml) = check_outer(&fx.bytes);
    let pkg = Package::open(&fx.path).unwrap();
    assert_eq!(pkg.detection_xml(), xml);
    assert_eq!(pkg.encrypted_size(), blob.len() as u64);
    let names: Vec<&str> = pkg
        .outer()
        .entries
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(names, [CONTENT_NAME, DETECTION_NAME]);
    assert!(
        pkg.outer()
            .entries
            .iter()
            .all(|e| e.has_growth_hint && e.made_by == 0x2D && e.method == 0)
    );
    assert!(pkg.warnings().is_empty(), "{:?}", pkg.warnings());
}

/// Decrypts a blob after checking MAC and IV independently; returns the plaintext.
fn open_blob(blob: &[u8], keys: &Keys) -> Vec<u8> {
    assert_eq!(&blob[32..48], keys.iv, "IV at offset 32");
    assert_eq!(
        blob[..32],
        hmac_sha256(&keys.mac_key, &blob[32..]),
        "MAC = HMAC-SHA256(MacKey, IV ‖ ciphertext)"
    );
    let plain = decrypt(&keys.encryption_key, &keys.iv, &blob[48..]);
    assert_eq!(
        blob.len(),
        48 + 16 * (plain.len() / 16 + 1),
        "FORMAT.md §3.2 blob length"
    );
    plain
}

#[test]
fn blob_matches_format_3() {
    let fx = pack_fixture(|o| o);
    let (blob, _) = check_outer(&fx.bytes);
    let keys = tv0_keys();
    let plain = open_blob(blob, &keys);
    assert_eq!(&plain[..4], b"PK\x03\x04", "the plaintext is the inner zip");
    let pkg = Package::open(&fx.path).unwrap();
    let enc = &pkg.detection().encryption;
    assert_eq!(enc.iv, keys.iv, "InitializationVector equals the blob's IV");
    assert_eq!(
        enc.mac[..],
        blob[..32],
        "Mac equals the blob's first 32 bytes"
    );
    assert_eq!(
        enc.file_digest,
        <[u8; 32]>::from(Sha256::digest(&plain)),
        "FileDigest = SHA-256 of the inner zip"
    );
    assert_eq!(pkg.detection().unencrypted_content_size, plain.len() as u64);
}

/// Sizes the setup file so that the inner zip is a multiple of 16 bytes: PKCS#7 then adds a
/// whole block of sixteen 0x10 (FORMAT.md §3.2).
#[test]
fn whole_block_padding_when_the_inner_zip_is_a_multiple_of_16() {
    let pack_with = |len: usize| {
        let src = tempfile::tempdir().unwrap();
        fs::write(src.path().join("setup.exe"), random_bytes(5, len)).unwrap();
        let out = tempfile::tempdir().unwrap();
        let path = out.path().join("setup.intunewin");
        PackOptions::new(src.path(), "setup.exe")
            .level(0)
            .keys(tv0_keys())
            .timestamp(outer_time())
            .pack_to_file(&path, intunewin_core::Overwrite::Refuse)
            .unwrap();
        let bytes = fs::read(&path).unwrap();
        let (blob, _) = check_outer(&bytes);
        blob.to_vec()
    };
    let probe = pack_with(1000);
    let n = decrypt(&tv0_keys().encryption_key, &tv0_keys().iv, &probe[48..]).len();
    // A stored file: the inner zip grows byte for byte with it.
    let blob = pack_with(1000 + (16 - n % 16) % 16);
    let keys = tv0_keys();
    let plain = open_blob(&blob, &keys);
    assert_eq!(plain.len() % 16, 0);
    assert_eq!(blob.len(), plain.len() + 64, "48 + a whole padding block");
    let mut raw = blob[48..].to_vec();
    let (blocks, _) = Array::slice_as_chunks_mut(&mut raw[..]);
    cbc::Decryptor::<Aes256>::new(&keys.encryption_key.into(), &keys.iv.into())
        .decrypt_blocks(blocks);
    assert_eq!(raw[raw.len() - 16..], [0x10; 16]);
}

/// Escapes text as .NET's XmlWriter does (FORMAT.md §4.4).
fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[test]
fn detection_xml_matches_format_4_1() {
    let fx = pack_fixture(|o| o);
    let (blob, xml) = check_outer(&fx.bytes);
    let keys = tv0_keys();
    let plain = open_blob(blob, &keys);
    let text = std::str::from_utf8(xml).expect("UTF-8");
    assert!(!xml.starts_with(&[0xEF, 0xBB, 0xBF]), "no BOM");
    assert!(text.starts_with("<ApplicationInfo "), "no declaration");
    assert!(text.ends_with("\r\n</ApplicationInfo>"), "no final newline");
    assert_eq!(text.matches("\r\n").count(), 14);
    assert_eq!(text.matches('\n').count(), 14, "every newline is CRLF");
    let n = plain.len();
    let setup = xml_escape(SETUP);
    let expected = [
        r#"<ApplicationInfo xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ToolVersion="1.8.7.0">"#.to_string(),
        format!("  <Name>{setup}</Name>"),
        format!("  <UnencryptedContentSize>{n}</UnencryptedContentSize>"),
        "  <FileName>IntunePackage.intunewin</FileName>".to_string(),
        format!("  <SetupFile>{setup}</SetupFile>"),
        "  <EncryptionInfo>".to_string(),
        format!("    <EncryptionKey>{}</EncryptionKey>", base64(&keys.encryption_key)),
        format!("    <MacKey>{}</MacKey>", base64(&keys.mac_key)),
        format!("    <InitializationVector>{}</InitializationVector>", base64(&keys.iv)),
        format!("    <Mac>{}</Mac>", base64(&blob[..32])),
        "    <ProfileIdentifier>ProfileVersion1</ProfileIdentifier>".to_string(),
        format!("    <FileDigest>{}</FileDigest>", base64(&Sha256::digest(&plain))),
        "    <FileDigestAlgorithm>SHA256</FileDigestAlgorithm>".to_string(),
        "  </EncryptionInfo>".to_string(),
        "</ApplicationInfo>".to_string(),
    ]
    .join("\r\n");
    assert_eq!(text, expected);
    // FORMAT.md §4.1 length check (escaped UTF-8).
    let digits = n.to_string().len();
    assert_eq!(
        xml.len(),
        795 + setup.len() + setup.len() + "IntunePackage.intunewin".len() + digits
    );
    // TV0 keys in base64, as FORMAT.md Appendix A prints them.
    assert!(
        text.contains(
            "<EncryptionKey>AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=</EncryptionKey>"
        )
    );
    assert!(text.contains("<InitializationVector>QEFCQ0RFRkdISUpLTE1OTw==</InitializationVector>"));
}

#[test]
fn setup_file_in_a_subfolder_is_written_with_backslashes() {
    let src = tempfile::tempdir().unwrap();
    fs::create_dir(src.path().join("bin")).unwrap();
    fs::write(src.path().join("bin/setup.exe"), b"MZ").unwrap();
    fs::write(src.path().join("readme.txt"), b"hello").unwrap();
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("setup.intunewin");
    PackOptions::new(src.path(), "bin/setup.exe")
        .tool_version("1.8.6.0")
        .pack_to_file(&path, intunewin_core::Overwrite::Refuse)
        .unwrap();
    let bytes = fs::read(&path).unwrap();
    let (_, xml) = check_outer_loose(&bytes);
    let text = std::str::from_utf8(xml).unwrap();
    assert!(
        text.contains("\r\n  <Name>bin\\setup.exe</Name>\r\n"),
        "{text}"
    );
    assert!(
        text.contains("\r\n  <SetupFile>bin\\setup.exe</SetupFile>\r\n"),
        "{text}"
    );
    assert!(text.starts_with(r#"<ApplicationInfo xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ToolVersion="1.8.6.0">"#));
}

/// The blob and Detection.xml of an outer zip whose time is not fixed.
fn check_outer_loose(bytes: &[u8]) -> (&[u8], &[u8]) {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let span = |i: usize, z: &mut zip::ZipArchive<Cursor<&[u8]>>| {
        let f = z.by_index(i).unwrap();
        let at = f.data_start().unwrap() as usize;
        at..at + f.size() as usize
    };
    let (a, b) = (span(0, &mut z), span(1, &mut z));
    (&bytes[a], &bytes[b])
}

/// Expected local DOS time of a Unix time, computed with chrono (FORMAT.md §5.3).
fn local_dos(secs: i64) -> (u16, u16) {
    let t = Local
        .timestamp_opt(secs, 0)
        .single()
        .expect("unambiguous local time");
    let time = (t.hour() << 11) | (t.minute() << 5) | (t.second() / 2);
    let date = ((t.year() as u32 - 1980) << 9) | (t.month() << 5) | t.day();
    (time as u16, date as u16)
}

/// One inner entry as its local header says.
struct InnerEntry {
    name: String,
    method: u16,
    crc: u32,
    csize: u32,
    usize: u32,
    time: (u16, u16),
    offset: usize,
}

/// Parses the inner zip per FORMAT.md §5.1/§5.3 (no data descriptors: the fixture is small).
fn check_inner(zip: &[u8]) -> Vec<InnerEntry> {
    let mut r = Le::at(zip, 0);
    let mut entries = Vec::new();
    while zip[r.pos..].starts_with(b"PK\x03\x04") {
        let offset = r.pos;
        r.pos += 4;
        assert_eq!(r.u16(), 20, "version needed 20 at {offset}");
        assert_eq!(r.u16(), 0x0800, "flags: UTF-8 only at {offset}");
        let method = r.u16();
        let time = (r.u16(), r.u16());
        let (crc, csize, usize) = (r.u32(), r.u32(), r.u32());
        let name_len = r.u16() as usize;
        assert_eq!(r.u16(), 0, "no extra fields at {offset}");
        let name = String::from_utf8(r.bytes(name_len).to_vec()).expect("UTF-8 name");
        let data = r.bytes(csize as usize);
        if method == 0 {
            assert_eq!(csize, usize, "{name}: stored sizes");
            assert_eq!(crc, crc32(data), "{name}: CRC");
        }
        entries.push(InnerEntry {
            name,
            method,
            crc,
            csize,
            usize,
            time,
            offset,
        });
    }
    let cd_at = r.pos;
    for e in &entries {
        let name = &e.name;
        assert_eq!(r.u32(), 0x0201_4b50, "{name}: CDH");
        assert_eq!(r.u16(), 0x0014, "{name}: made by 2.0, MS-DOS");
        assert_eq!(r.u16(), 20, "{name}: needed");
        assert_eq!(r.u16(), 0x0800, "{name}: flags");
        assert_eq!(r.u16(), e.method, "{name}: method");
        assert_eq!((r.u16(), r.u16()), e.time, "{name}: time");
        assert_eq!(
            (r.u32(), r.u32(), r.u32()),
            (e.crc, e.csize, e.usize),
            "{name}: CRC and sizes as in the LFH"
        );
        assert_eq!(r.u16() as usize, name.len());
        assert_eq!(
            (r.u16(), r.u16(), r.u16(), r.u16(), r.u32()),
            (0, 0, 0, 0, 0),
            "{name}: extra, comment, disk, attributes"
        );
        assert_eq!(r.u32() as usize, e.offset, "{name}: offset");
        assert_eq!(r.bytes(name.len()), name.as_bytes());
    }
    let cd_len = r.pos - cd_at;
    assert_eq!(r.u32(), 0x0605_4b50, "EOCD");
    assert_eq!((r.u16(), r.u16()), (0, 0));
    assert_eq!(
        (r.u16() as usize, r.u16() as usize),
        (entries.len(), entries.len())
    );
    assert_eq!(
        (r.u32() as usize, r.u32() as usize, r.u16()),
        (cd_len, cd_at, 0)
    );
    assert_eq!(r.pos, zip.len(), "nothing after the EOCD");
    entries
}

#[test]
fn inner_zip_matches_format_5() {
    let fx = pack_fixture(|o| o);
    let (blob, _) = check_outer(&fx.bytes);
    let plain = open_blob(blob, &tv0_keys());
    let entries = check_inner(&plain);
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names, ORDER,
        "FORMAT.md §5.2 order, '/' separators, entries only for empty folders"
    );
    for (i, e) in entries.iter().enumerate() {
        let name = &e.name;
        assert_eq!(
            e.time,
            local_dos(mtime(i)),
            "{name}: mtime as local DOS time"
        );
        match content(i, name) {
            None => assert_eq!(
                (e.method, e.crc, e.csize, e.usize),
                (0, 0, 0, 0),
                "{name}: directory entry"
            ),
            Some(data) if data.is_empty() => assert_eq!(
                (e.method, e.crc, e.csize),
                (0, 0, 0),
                "{name}: empty file stored"
            ),
            Some(data) => {
                assert_eq!(
                    (e.usize as usize, e.crc),
                    (data.len(), crc32(&data)),
                    "{name}"
                );
                let want = if name == SETUP { 0 } else { 8 };
                assert_eq!(e.method, want, "{name}: random data stored, text deflated");
            }
        }
    }
}

#[test]
fn zip_crate_reads_the_outer_and_inner_zips() {
    let fx = pack_fixture(|o| o.store_incompressible(false));
    let mut outer = zip::ZipArchive::new(fs::File::open(&fx.path).unwrap()).unwrap();
    assert_eq!(outer.len(), 2);
    let mut blob = Vec::new();
    {
        let mut f = outer.by_index(0).unwrap();
        assert_eq!(f.name().unwrap(), CONTENT_NAME);
        assert_eq!(f.compression(), zip::CompressionMethod::Stored);
        assert_eq!(f.version_made_by(), (4, 5));
        assert_eq!(f.external_attributes(), 0);
        f.read_to_end(&mut blob).unwrap();
    }
    let mut xml = Vec::new();
    outer
        .by_name(DETECTION_NAME)
        .unwrap()
        .read_to_end(&mut xml)
        .unwrap();
    let (raw_blob, raw_xml) = check_outer(&fx.bytes);
    assert_eq!((&blob[..], &xml[..]), (raw_blob, raw_xml));

    let plain = open_blob(&blob, &tv0_keys());
    let mut inner = zip::ZipArchive::new(Cursor::new(plain)).unwrap();
    assert_eq!(inner.len(), ORDER.len());
    for (i, want) in ORDER.iter().enumerate() {
        let mut f = inner.by_index(i).unwrap();
        assert_eq!(f.name().unwrap(), *want);
        assert_eq!(f.version_made_by(), (2, 0));
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        match content(i, want) {
            None => assert!(f.is_dir() && data.is_empty(), "{want}"),
            Some(expected) => {
                assert!(f.is_file(), "{want}");
                assert_eq!(data, expected, "{want}");
                // FORMAT.md §5.1: with storing turned off, every non-empty file is deflated.
                let method = if expected.is_empty() {
                    zip::CompressionMethod::Stored
                } else {
                    zip::CompressionMethod::Deflated
                };
                assert_eq!(f.compression(), method, "{want}");
            }
        }
        let t = f.last_modified().expect("DOS time");
        let (time, date) = local_dos(mtime(i));
        assert_eq!((t.timepart(), t.datepart()), (time, date), "{want}");
    }
}
