//! The encrypted content blob: MAC(32) ‖ IV(16) ‖ AES-256-CBC/PKCS#7(inner zip) (FORMAT.md §3).
//!
//! [`EncryptingWriter`] turns the inner zip into IV ‖ ciphertext while hashing the plaintext
//! (FileDigest) and MACing IV ‖ ciphertext, in one pass. [`mac_stream`] recomputes the MAC of a
//! stored blob, and [`DecryptingReader`] decrypts it with strict padding while hashing.

use std::io::{self, Read, Write};

use aes::Aes256;
use cbc::cipher::{Array, BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::error::{Error, Result};

type Aes256CbcEnc = cbc::Encryptor<Aes256>;
type Aes256CbcDec = cbc::Decryptor<Aes256>;
type HmacSha256 = Hmac<Sha256>;

/// Length of the MAC at the start of the blob.
pub const MAC_LEN: usize = 32;
/// Length of the IV that follows the MAC.
pub const IV_LEN: usize = 16;
/// Bytes before the ciphertext: MAC ‖ IV.
pub const HEADER_LEN: usize = MAC_LEN + IV_LEN;
const BLOCK: usize = 16;
/// Plaintext is encrypted in batches of this size (a multiple of the block size).
const BATCH: usize = 256 * 1024;

/// The secrets of one package: AES key, HMAC key and IV. Wiped from memory on drop.
#[derive(Clone)]
pub struct Keys {
    /// AES-256 key (`EncryptionKey`).
    pub encryption_key: [u8; 32],
    /// HMAC-SHA256 key (`MacKey`).
    pub mac_key: [u8; 32],
    /// AES-CBC IV (`InitializationVector`).
    pub iv: [u8; 16],
}

impl Keys {
    /// Fresh keys and IV from the OS random generator (FORMAT.md §3.1).
    pub fn random() -> Result<Keys> {
        let mut keys = Keys {
            encryption_key: [0; 32],
            mac_key: [0; 32],
            iv: [0; 16],
        };
        for buf in [
            &mut keys.encryption_key[..],
            &mut keys.mac_key[..],
            &mut keys.iv[..],
        ] {
            getrandom::fill(buf).map_err(|e| Error::Random {
                source: io::Error::other(e),
            })?;
        }
        Ok(keys)
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        self.encryption_key.zeroize();
        self.mac_key.zeroize();
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys { <redacted> }")
    }
}

/// What encrypting a stream produced.
#[derive(Clone, Debug)]
pub struct Sealed {
    /// HMAC-SHA256 over IV ‖ ciphertext.
    pub mac: [u8; 32],
    /// SHA-256 of the plaintext (FileDigest).
    pub file_digest: [u8; 32],
    /// Plaintext length (UnencryptedContentSize).
    pub plaintext_len: u64,
    /// Length of IV ‖ ciphertext written to the inner writer.
    pub written_len: u64,
    /// CRC-32 of IV ‖ ciphertext, to be combined with the MAC's for the outer entry.
    pub crc_after_mac: crc32fast::Hasher,
}

/// A `Write` adapter that encrypts everything written to it.
///
/// It writes the IV, then the ciphertext, to `inner`; the caller places the MAC before them.
/// **Call [`finish`](Self::finish)**: it writes the final padded block and returns the MAC and
/// digest; dropping the writer without it leaves the content truncated.
pub struct EncryptingWriter<W: Write> {
    inner: W,
    cipher: Aes256CbcEnc,
    hmac: HmacSha256,
    /// SHA-256 of the plaintext, unless the caller hashes it elsewhere (on another thread).
    digest: Option<Sha256>,
    crc: crc32fast::Hasher,
    pending: Vec<u8>,
    plaintext_len: u64,
    written_len: u64,
}

impl<W: Write> EncryptingWriter<W> {
    /// Starts a blob: writes the IV to `inner`.
    pub fn new(inner: W, keys: &Keys) -> io::Result<Self> {
        Self::start(inner, keys, true)
    }

    /// Like [`new`](Self::new) but leaves the plaintext digest to the caller: `finish` then
    /// returns zeros as `file_digest`. The packer hashes on another thread to spread the work.
    pub(crate) fn new_unhashed(inner: W, keys: &Keys) -> io::Result<Self> {
        Self::start(inner, keys, false)
    }

    fn start(mut inner: W, keys: &Keys, hash_plaintext: bool) -> io::Result<Self> {
        let cipher = Aes256CbcEnc::new(&keys.encryption_key.into(), &keys.iv.into());
        let mut hmac = <HmacSha256 as KeyInit>::new_from_slice(&keys.mac_key)
            .map_err(|_| io::Error::other("HMAC key length"))?;
        hmac.update(&keys.iv);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&keys.iv);
        inner.write_all(&keys.iv)?;
        Ok(EncryptingWriter {
            inner,
            cipher,
            hmac,
            crc,
            digest: hash_plaintext.then(Sha256::new),
            pending: Vec::with_capacity(BATCH + BLOCK),
            plaintext_len: 0,
            written_len: IV_LEN as u64,
        })
    }

    /// Encrypts and writes every complete block held in `pending`.
    fn flush_blocks(&mut self) -> io::Result<()> {
        let whole = self.pending.len() / BLOCK * BLOCK;
        if whole == 0 {
            return Ok(());
        }
        let (blocks, _) = Array::slice_as_chunks_mut(&mut self.pending[..whole]);
        self.cipher.encrypt_blocks(blocks);
        self.emit(whole)?;
        self.pending.drain(..whole);
        Ok(())
    }

    /// Writes the first `n` bytes of `pending` (ciphertext) out, updating MAC and CRC.
    fn emit(&mut self, n: usize) -> io::Result<()> {
        let out = &self.pending[..n];
        self.hmac.update(out);
        self.crc.update(out);
        self.inner.write_all(out)?;
        self.written_len += n as u64;
        Ok(())
    }

    /// Pads, writes the last block and returns the sealed values and the inner writer.
    pub fn finish(mut self) -> io::Result<(W, Sealed)> {
        self.flush_blocks()?;
        let pad = BLOCK - self.pending.len(); // 1..=16 (FORMAT.md §3.2)
        self.pending.resize(BLOCK, pad as u8);
        let (blocks, _) = Array::slice_as_chunks_mut(&mut self.pending[..]);
        self.cipher.encrypt_blocks(blocks);
        self.emit(BLOCK)?;
        self.inner.flush()?;
        let sealed = Sealed {
            mac: self.hmac.finalize().into_bytes().into(),
            file_digest: self.digest.map(|d| d.finalize().into()).unwrap_or_default(),
            plaintext_len: self.plaintext_len,
            written_len: self.written_len,
            crc_after_mac: self.crc,
        };
        Ok((self.inner, sealed))
    }
}

impl<W: Write> Write for EncryptingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = BATCH - self.pending.len();
        let take = buf.len().min(room);
        self.pending.extend_from_slice(&buf[..take]);
        if let Some(digest) = self.digest.as_mut() {
            digest.update(&buf[..take]);
        }
        self.plaintext_len += take as u64;
        if self.pending.len() >= BATCH {
            self.flush_blocks()?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Computes HMAC-SHA256 over everything `reader` yields (IV ‖ ciphertext) and the CRC-32 of it.
pub fn mac_stream<R: Read>(
    reader: R,
    mac_key: &[u8; 32],
    mut on_bytes: impl FnMut(u64),
) -> io::Result<([u8; 32], crc32fast::Hasher)> {
    let mut tap = MacReader::new(reader, mac_key, &[])?;
    let mut buf = vec![0u8; BATCH];
    loop {
        let n = read_some(&mut tap, &mut buf)?;
        if n == 0 {
            break;
        }
        on_bytes(n as u64);
    }
    let (mac, crc) = tap.finish();
    Ok((mac.unwrap_or_default(), crc))
}

/// A `Read` adapter that computes HMAC-SHA256 and CRC-32 over the bytes passing through it, so
/// one read of the blob can both authenticate and feed a [`DecryptingReader`].
pub struct MacReader<R: Read> {
    inner: R,
    hmac: Option<HmacSha256>,
    crc: crc32fast::Hasher,
}

impl<R: Read> MacReader<R> {
    /// Taps `inner`; `prefix` (for example the IV, already read) is MACed and CRCed first.
    pub fn new(inner: R, mac_key: &[u8; 32], prefix: &[u8]) -> io::Result<Self> {
        let mut hmac = <HmacSha256 as KeyInit>::new_from_slice(mac_key)
            .map_err(|_| io::Error::other("HMAC key length"))?;
        hmac.update(prefix);
        let mut tap = Self::crc_only(inner, prefix);
        tap.hmac = Some(hmac);
        Ok(tap)
    }

    /// Taps `inner` for its CRC-32 only (no MAC); `prefix` is CRCed first.
    pub fn crc_only(inner: R, prefix: &[u8]) -> Self {
        let mut crc = crc32fast::Hasher::new();
        crc.update(prefix);
        MacReader {
            inner,
            hmac: None,
            crc,
        }
    }

    /// The HMAC-SHA256 (`None` for [`crc_only`](Self::crc_only)) and CRC-32 of everything read
    /// so far (prefix included).
    pub fn finish(self) -> (Option<[u8; 32]>, crc32fast::Hasher) {
        let mac = self.hmac.map(|h| h.finalize().into_bytes().into());
        (mac, self.crc)
    }
}

impl<R: Read> Read for MacReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(hmac) = &mut self.hmac {
            hmac.update(&buf[..n]);
        }
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}

/// Constant-time equality of two byte strings (MACs, digests).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

fn read_some<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// The error a [`DecryptingReader`] fails with when PKCS#7 padding is invalid: an
/// [`Error::BadPadding`] carried in the `io::Error` (see [`crate::error::recover`]). The reader
/// does not know the file, so its path is empty: the reading side names it.
fn padding_error() -> io::Error {
    crate::error::carry(Error::BadPadding {
        path: std::path::PathBuf::new(),
    })
}

/// A `Read` adapter that decrypts ciphertext (without the MAC ‖ IV header) with strict PKCS#7.
///
/// It hashes the plaintext as it goes; [`finish`](Self::finish) returns its SHA-256 and length
/// once the reader has been read to the end. Ciphertext is read straight into the caller's
/// buffer and decrypted there, so a large read costs one copy (the inner reader's).
pub struct DecryptingReader<R: Read> {
    inner: R,
    cipher: Aes256CbcDec,
    /// Ciphertext of an incomplete block, carried to the next read.
    carry: [u8; BLOCK],
    carry_len: usize,
    /// The newest decrypted block, held back until the end shows whether it is the last
    /// (which carries the padding).
    held: Option<[u8; BLOCK]>,
    /// Plaintext for callers whose buffers are too small to decrypt into: `spill[pos..len]`.
    spill: Vec<u8>,
    spill_pos: usize,
    spill_len: usize,
    /// SHA-256 of the plaintext, unless the caller has already checked it.
    digest: Option<Sha256>,
    plaintext_len: u64,
    done: bool,
    ciphertext_len: u64,
}

/// Reads into buffers smaller than this go through the spill buffer.
const DIRECT_MIN: usize = 4 * BLOCK;
/// Size of the spill buffer.
const SPILL: usize = 16 * 1024;

impl<R: Read> DecryptingReader<R> {
    /// Decrypts `inner` (the ciphertext only) with `key` and `iv`.
    pub fn new(inner: R, key: &[u8; 32], iv: &[u8; 16]) -> Self {
        DecryptingReader {
            inner,
            cipher: Aes256CbcDec::new(&(*key).into(), &(*iv).into()),
            carry: [0; BLOCK],
            carry_len: 0,
            held: None,
            spill: Vec::new(),
            spill_pos: 0,
            spill_len: 0,
            digest: Some(Sha256::new()),
            plaintext_len: 0,
            done: false,
            ciphertext_len: 0,
        }
    }

    /// Like [`new`](Self::new) but without hashing, for a second read of content whose
    /// digest was already checked; [`finish`](Self::finish) then returns an all-zero digest.
    pub(crate) fn new_unhashed(inner: R, key: &[u8; 32], iv: &[u8; 16]) -> Self {
        DecryptingReader {
            digest: None,
            ..Self::new(inner, key, iv)
        }
    }

    /// Puts plaintext at the front of `out` (at least [`DIRECT_MIN`] bytes): the block held
    /// back last time, then what one read of ciphertext decrypts to, less the newest block,
    /// which is held back in turn. Returns the plaintext length, which may be 0.
    fn decrypt_into(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut start = 0;
        if let Some(held) = self.held.take() {
            out[..BLOCK].copy_from_slice(&held);
            start = BLOCK;
        }
        // Ciphertext goes after the released block: the carried part block, then one read,
        // which stops at a whole number of blocks' room.
        let carried = self.carry_len;
        out[start..start + carried].copy_from_slice(&self.carry[..carried]);
        let room = start + (out.len() - start) / BLOCK * BLOCK;
        let n = read_some(&mut self.inner, &mut out[start + carried..room])?;
        self.ciphertext_len += n as u64;
        if n == 0 {
            return self.finish_stream(&mut out[..start]);
        }
        let have = carried + n;
        let whole = have / BLOCK * BLOCK;
        self.carry_len = have - whole;
        self.carry[..self.carry_len].copy_from_slice(&out[start + whole..start + have]);
        if whole == 0 {
            // Not a whole block yet: the released block may still be the last one.
            self.held = out[..start].try_into().ok();
            return Ok(0);
        }
        let end = start + whole;
        let (blocks, _) = Array::slice_as_chunks_mut(&mut out[start..end]);
        self.cipher.decrypt_blocks(blocks);
        let mut newest = [0u8; BLOCK];
        newest.copy_from_slice(&out[end - BLOCK..end]);
        self.held = Some(newest);
        self.account(&out[..end - BLOCK]);
        Ok(end - BLOCK)
    }

    /// At EOF: `last` is the released final block (or empty if there was none); checks and
    /// strips its padding and returns the length of what remains.
    fn finish_stream(&mut self, last: &mut [u8]) -> io::Result<usize> {
        self.done = true;
        if self.carry_len != 0 || last.len() != BLOCK {
            return Err(padding_error()); // not a whole number of blocks, or none at all
        }
        let pad = last[BLOCK - 1] as usize;
        let valid =
            (1..=BLOCK).contains(&pad) && last[BLOCK - pad..].iter().all(|&b| b as usize == pad);
        if !valid {
            return Err(padding_error());
        }
        self.account(&last[..BLOCK - pad]);
        Ok(BLOCK - pad)
    }

    fn account(&mut self, plain: &[u8]) {
        if let Some(digest) = &mut self.digest {
            digest.update(plain);
        }
        self.plaintext_len += plain.len() as u64;
    }

    /// Decrypts into the spill buffer, for a caller's buffer too small to decrypt into.
    fn refill_spill(&mut self) -> io::Result<()> {
        let mut spill = std::mem::take(&mut self.spill);
        spill.resize(SPILL, 0); // zeroed once: its length stays SPILL
        let filled = self.decrypt_into(&mut spill);
        self.spill = spill;
        self.spill_pos = 0;
        self.spill_len = filled?;
        Ok(())
    }

    /// SHA-256 and length of the plaintext; call after reading to EOF.
    pub fn finish(self) -> ([u8; 32], u64) {
        let digest = self.digest.map(|d| d.finalize().into()).unwrap_or_default();
        (digest, self.plaintext_len)
    }

    /// Number of ciphertext bytes consumed so far.
    pub fn ciphertext_read(&self) -> u64 {
        self.ciphertext_len
    }
}

impl<R: Read> Read for DecryptingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.spill_pos < self.spill_len {
                let n = buf.len().min(self.spill_len - self.spill_pos);
                buf[..n].copy_from_slice(&self.spill[self.spill_pos..self.spill_pos + n]);
                self.spill_pos += n;
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            if buf.len() < DIRECT_MIN {
                self.refill_spill()?;
                continue;
            }
            let n = self.decrypt_into(buf)?;
            if n > 0 {
                return Ok(n);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;

    /// FORMAT.md Appendix A, TV0.
    pub(crate) fn tv0_keys() -> Keys {
        let mut k = Keys {
            encryption_key: [0; 32],
            mac_key: [0; 32],
            iv: [0; 16],
        };
        for i in 0..32 {
            k.encryption_key[i] = i as u8;
            k.mac_key[i] = 0x20 + i as u8;
        }
        for i in 0..16 {
            k.iv[i] = 0x40 + i as u8;
        }
        k
    }

    fn seal(plain: &[u8]) -> (Vec<u8>, Sealed) {
        let mut w = EncryptingWriter::new(Vec::new(), &tv0_keys()).unwrap();
        // Write in odd-sized pieces to exercise buffering.
        for chunk in plain.chunks(7) {
            w.write_all(chunk).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn tv0_vectors() {
        let cases: [(&[u8], &str, &str, &str); 3] = [
            (
                b"",
                "974b412738e50f45c7f9db25413f274b",
                "31URG4ffc1k9CvKiFXHH63m7t2TPSjoQcIE3I0p1LpE=",
                "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            ),
            (
                b"0123456789abcdef",
                "8a61197aed35e47583abcb122f15a14ebb0d94aea1550fe42b3edba63bc2da8b",
                "tI6Zt/QQflxBKievYs8r92TGn544Vt7hAkb+B6tz1/s=",
                "n59REfeyengfHx3d5evC3St5a/xzZcnCi1SOVkF2kp8=",
            ),
            (
                b"Hello, IntuneWin!",
                "c59edb6ae754b5b8b0113308241b18ad3df19c1b169b278de015f9cb53077d7f",
                "pj4fZpN1fT/f1JF6lfXZTxmj29KP1X4WK5F6Vkw2fBw=",
                "xKiTVIZMwx3ebnajqQa85YoQyRHkmAqwIHJNYZ4zdmk=",
            ),
        ];
        for (plain, ct_hex, mac, digest) in cases {
            let (out, sealed) = seal(plain);
            assert_eq!(&out[..16], &tv0_keys().iv);
            let ct: String = out[16..].iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(ct, ct_hex);
            assert_eq!(B64.encode(sealed.mac), mac);
            assert_eq!(B64.encode(sealed.file_digest), digest);
            assert_eq!(sealed.plaintext_len, plain.len() as u64);

            let (mac2, _) = mac_stream(&out[..], &tv0_keys().mac_key, |_| {}).unwrap();
            assert!(ct_eq(&mac2, &sealed.mac));
            let mut reader =
                DecryptingReader::new(&out[16..], &tv0_keys().encryption_key, &tv0_keys().iv);
            let mut back = Vec::new();
            reader.read_to_end(&mut back).unwrap();
            assert_eq!(back, plain);
            assert_eq!(reader.finish(), (sealed.file_digest, plain.len() as u64));
        }
    }

    #[test]
    fn any_split_of_reads_gives_the_plaintext_and_digest() {
        /// Hands out its bytes in pieces of the given sizes, in turn.
        struct Trickle<'a> {
            data: &'a [u8],
            sizes: &'a [usize],
            k: usize,
        }
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let size = self.sizes[self.k % self.sizes.len()];
                self.k += 1;
                let n = size.min(buf.len()).min(self.data.len());
                buf[..n].copy_from_slice(&self.data[..n]);
                self.data = &self.data[n..];
                Ok(n)
            }
        }
        let keys = tv0_keys();
        let splits: [&[usize]; 4] = [&[1], &[15, 17, 3], &[16], &[100_000]];
        let reads = [1usize, 7, 63, 64, 65, 4096, 1 << 20];
        for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 1000, 70_001] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 31 + i / 7) as u8).collect();
            let (sealed, info) = seal(&plain);
            for sizes in splits {
                for read in reads {
                    let inner = Trickle {
                        data: &sealed[16..],
                        sizes,
                        k: 0,
                    };
                    let mut reader = DecryptingReader::new(inner, &keys.encryption_key, &keys.iv);
                    let mut back = Vec::new();
                    let mut buf = vec![0u8; read];
                    loop {
                        let n = reader.read(&mut buf).unwrap();
                        if n == 0 {
                            break;
                        }
                        back.extend_from_slice(&buf[..n]);
                    }
                    assert!(
                        back == plain,
                        "len {len}, pieces {sizes:?}, reads of {read}"
                    );
                    let ciphertext = reader.ciphertext_read();
                    let (digest, n) = reader.finish();
                    assert_eq!(n, len as u64);
                    assert_eq!(digest, info.file_digest, "len {len}");
                    assert_eq!(ciphertext, sealed.len() as u64 - 16);
                }
            }
        }
    }

    #[test]
    fn large_round_trip_and_bad_padding() {
        let plain: Vec<u8> = (0..1_000_003u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let (out, _) = seal(&plain);
        let keys = tv0_keys();
        let mut back = Vec::new();
        DecryptingReader::new(&out[16..], &keys.encryption_key, &keys.iv)
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, plain);

        let mut wrong = keys.encryption_key;
        wrong[0] ^= 1;
        let err = DecryptingReader::new(&out[16..], &wrong, &keys.iv)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        let carried = crate::error::recover(err, std::path::Path::new("x"));
        assert!(
            matches!(carried, Ok(Error::BadPadding { .. })),
            "{carried:?}"
        );
        let err = DecryptingReader::new(&out[16..out.len() - 3], &keys.encryption_key, &keys.iv)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        let carried = crate::error::recover(err, std::path::Path::new("x"));
        assert!(
            matches!(carried, Ok(Error::BadPadding { .. })),
            "{carried:?}"
        );
    }
}
