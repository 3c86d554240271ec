//! A bare encrypted blob, MAC(32) ‖ IV(16) ‖ AES-256-CBC(inner zip), outside its package
//! (FORMAT.md §3, §11): what is uploaded to Azure Storage and what the Intune Management
//! Extension downloads to `Content\Incoming\<appId>_<n>.bin`.
//!
//! [`Blob::open`] reads the header; [`Blob::decrypt_to`], [`Blob::decrypt_to_file`] and
//! [`Blob::extract`] decrypt it as a stream with [`BlobKeys`] from any source (Detection.xml,
//! DecryptInfo, arguments). The MAC is verified first when a MAC key is known; without one
//! integrity is unchecked, which [`BlobReport::mac_verified`] records. [`save_content`] writes a
//! package's blob to a file after authenticating it.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zeroize::Zeroize;

use crate::crypto::{self, DecryptingReader, HEADER_LEN, MAC_LEN, MacReader};
use crate::detection::{Detection, blob_len_for};
use crate::error::{Error, Result};
use crate::files::output::Overwrite;
use crate::inner_read::{EntryInfo, read_inner_zip};
use crate::package::{ExtractOptions, Package, ReadOptions};
use crate::paths::Finding;
use crate::progress::Stage;
use crate::range::RangeReader;
use crate::read::metered::{CopyError, Metered, copy_watched, map_read_error};
use crate::staging::{StagedFolder, refuse_input_as_output, write_atomically};
use crate::verdict::{EntryGate, Gated};

/// Keys for a bare blob. Only the AES key and IV are required; the rest, when known, adds
/// checks: the MAC (before decrypting), the stored MAC field, FileDigest and the plaintext size.
/// Key material is wiped on drop and redacted in `Debug`.
#[derive(Clone)]
pub struct BlobKeys {
    /// AES-256 key (`EncryptionKey`).
    pub encryption_key: [u8; 32],
    /// IV to decrypt with (`InitializationVector`, or DecryptInfo's `IV`).
    pub iv: [u8; 16],
    /// HMAC-SHA256 key (`MacKey`), when known.
    pub mac_key: Option<[u8; 32]>,
    /// Expected MAC (`Mac`); without it the MAC stored in the blob is the reference.
    pub mac: Option<[u8; 32]>,
    /// Expected SHA-256 of the inner zip (`FileDigest`).
    pub file_digest: Option<[u8; 32]>,
    /// Expected inner zip length (`UnencryptedContentSize`).
    pub unencrypted_size: Option<u64>,
}

impl BlobKeys {
    /// Keys with only the AES key and IV (what DecryptInfo carries, FORMAT.md §11).
    pub fn new(encryption_key: [u8; 32], iv: [u8; 16]) -> Self {
        BlobKeys {
            encryption_key,
            iv,
            mac_key: None,
            mac: None,
            file_digest: None,
            unencrypted_size: None,
        }
    }

    /// Everything a Detection.xml gives: keys, MAC, digest and size.
    pub fn from_detection(d: &Detection) -> Self {
        let e = &d.encryption;
        BlobKeys {
            encryption_key: e.encryption_key,
            iv: e.iv,
            mac_key: Some(e.mac_key),
            mac: Some(e.mac),
            file_digest: Some(e.file_digest),
            unencrypted_size: Some(d.unencrypted_content_size),
        }
    }

    /// Adds the HMAC key, so the MAC is verified before decrypting.
    pub fn mac_key(mut self, key: [u8; 32]) -> Self {
        self.mac_key = Some(key);
        self
    }

    /// Adds the expected MAC.
    pub fn mac(mut self, mac: [u8; 32]) -> Self {
        self.mac = Some(mac);
        self
    }
}

impl Drop for BlobKeys {
    fn drop(&mut self) {
        self.encryption_key.zeroize();
        if let Some(k) = self.mac_key.as_mut() {
            k.zeroize();
        }
    }
}

impl std::fmt::Debug for BlobKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobKeys")
            .field("keys", &"<redacted>")
            .field("has_mac_key", &self.mac_key.is_some())
            .field("unencrypted_size", &self.unencrypted_size)
            .finish()
    }
}

/// What decrypting a blob established.
#[derive(Clone, Debug)]
pub struct BlobReport {
    /// True when the HMAC was verified before decrypting; false means integrity is unchecked.
    pub mac_verified: bool,
    /// True when the IV used differs from the one stored at `blob[32..48]`.
    pub iv_differs: bool,
    /// Length of the inner zip.
    pub plaintext_len: u64,
    /// SHA-256 of the inner zip.
    pub sha256: [u8; 32],
    /// Inner entries, in stored order ([`Blob::extract`] only).
    pub entries: Vec<EntryInfo>,
    /// The classifier's findings about the entries, as `verify` reports them for a package
    /// ([`Blob::extract`] only; refusing ones fail the extraction instead).
    pub findings: Vec<Finding>,
}

/// The ciphertext of a blob as the decrypting pass reads it: MACed when a key is known.
type Tapped = MacReader<BufReader<RangeReader>>;

/// An encrypted blob file, opened and its header read.
#[derive(Debug)]
pub struct Blob {
    path: PathBuf,
    /// The handle every read goes through (by position), so that all reads see one file.
    file: Arc<File>,
    len: u64,
    header: [u8; HEADER_LEN],
}

impl Blob {
    /// Opens a blob and checks its length has the format's shape: at least 64 bytes and a whole
    /// number of blocks after the 48-byte header (FORMAT.md §3.2, §7 step 3).
    pub fn open(path: impl AsRef<Path>) -> Result<Blob> {
        let path = path.as_ref().to_path_buf();
        let mut file =
            crate::identity::open_regular(&path).map_err(|e| Error::io("open", &path, e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("read metadata of", &path, e))?
            .len();
        if len < 64 || !(len - HEADER_LEN as u64).is_multiple_of(16) {
            let blocks = len.saturating_sub(HEADER_LEN as u64).div_ceil(16).max(1);
            return Err(Error::BlobLength {
                path,
                expected: HEADER_LEN as u64 + 16 * blocks,
                actual: len,
            });
        }
        let mut header = [0u8; HEADER_LEN];
        file.read_exact(&mut header)
            .map_err(|e| Error::io("read", &path, e))?;
        Ok(Blob {
            path,
            file: Arc::new(file),
            len,
            header,
        })
    }

    /// The blob file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Length of the blob in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the blob is empty (never true for an opened blob).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The MAC stored at `blob[0..32]`.
    pub fn stored_mac(&self) -> &[u8] {
        &self.header[..MAC_LEN]
    }

    /// The IV stored at `blob[32..48]`.
    pub fn stored_iv(&self) -> &[u8] {
        &self.header[MAC_LEN..]
    }

    /// True when `keys.iv` differs from the stored IV (the device decrypts with the IV it is
    /// given, so this is worth a warning, FORMAT.md §11).
    pub fn iv_differs(&self, keys: &BlobKeys) -> bool {
        keys.iv[..] != self.header[MAC_LEN..]
    }

    /// Checks the length against the expected size, the MAC field and the HMAC over
    /// IV ‖ ciphertext in constant time. Returns false (checking nothing cryptographic) when no
    /// MAC key is known. Decrypts nothing.
    pub fn authenticate(&self, keys: &BlobKeys, opts: &ReadOptions) -> Result<bool> {
        if let Some(n) = keys.unencrypted_size
            && blob_len_for(n) != self.len
        {
            return Err(Error::BlobLength {
                path: self.path.clone(),
                expected: blob_len_for(n),
                actual: self.len,
            });
        }
        if let Some(mac) = &keys.mac
            && !crypto::ct_eq(self.stored_mac(), mac)
        {
            return Err(Error::MacFieldMismatch {
                path: self.path.clone(),
            });
        }
        let Some(mac_key) = &keys.mac_key else {
            return Ok(false);
        };
        let reader = self.reader(MAC_LEN as u64);
        opts.progress.begin(Stage::Authenticate, self.len);
        let metered = Metered::new(reader, opts);
        let result = crypto::mac_stream(metered, mac_key, |_| {});
        opts.progress.end();
        let (computed, _) = result.map_err(|e| map_read_error(e, &self.path))?;
        let expected = keys.mac.as_ref().map_or(self.stored_mac(), |m| &m[..]);
        if !crypto::ct_eq(&computed, expected) {
            return Err(Error::HmacMismatch {
                path: self.path.clone(),
            });
        }
        Ok(true)
    }

    /// Authenticates (when a MAC key is known), then writes the decrypted inner zip to `out`,
    /// checking padding and, when known, FileDigest and the size. A failure of `out` is an
    /// [`Error::Write`] (without a path: `out` has none), never a read error of the blob.
    pub fn decrypt_to<W: Write>(
        &self,
        keys: &BlobKeys,
        out: W,
        opts: &ReadOptions,
    ) -> Result<BlobReport> {
        let mac_verified = self.authenticate(keys, opts)?;
        self.decrypt_pass(keys, out, None, opts, mac_verified)
    }

    /// The decrypting read after [`authenticate`](Self::authenticate): MACed again when a MAC
    /// key is known, and checked before the report is returned; `output` is named in write
    /// errors.
    fn decrypt_pass<W: Write>(
        &self,
        keys: &BlobKeys,
        mut out: W,
        output: Option<&Path>,
        opts: &ReadOptions,
        mac_verified: bool,
    ) -> Result<BlobReport> {
        let mut decrypting = self.decrypting_reader(keys, opts, Stage::Decrypt)?;
        let copied = copy_watched(&mut decrypting, &mut out);
        opts.progress.end();
        let written = copied
            .and_then(|_| out.flush().map_err(CopyError::Write))
            .map_err(|e| e.into_error(&self.path, output));
        let (report, ()) = self.finish(keys, decrypting, mac_verified, written)?;
        Ok(report)
    }

    /// Like [`decrypt_to`](Self::decrypt_to) into a file, written to a temporary file beside it
    /// and renamed only when every check passed: a failure leaves nothing behind.
    pub fn decrypt_to_file(
        &self,
        keys: &BlobKeys,
        output: &Path,
        overwrite: Overwrite,
        opts: &ReadOptions,
    ) -> Result<BlobReport> {
        let overwrite = overwrite.replaces();
        refuse_input_as_output(output, &self.path)?;
        if !overwrite && output.exists() {
            return Err(Error::OutputExists {
                path: output.to_path_buf(),
            });
        }
        // Authenticate before creating anything, so a tampered blob leaves no trace.
        let mac_verified = self.authenticate(keys, opts)?;
        let mut report = write_atomically(output, overwrite, |file| {
            let out = BufWriter::with_capacity(1 << 20, file);
            self.decrypt_pass(keys, out, Some(output), opts, mac_verified)
        })?;
        report.mac_verified = mac_verified;
        Ok(report)
    }

    /// Authenticates (when a MAC key is known), then extracts the inner zip into `dest` with
    /// every safety rule of [`Package::extract`]: files go into a temporary folder beside `dest`
    /// that is renamed only when the padding, digest and zip all checked out.
    pub fn extract(
        &self,
        keys: &BlobKeys,
        dest: &Path,
        opts: &ExtractOptions,
    ) -> Result<BlobReport> {
        let read = &opts.read;
        if dest.exists() && !opts.overwrite {
            return Err(Error::OutputExists {
                path: dest.to_path_buf(),
            });
        }
        let mac_verified = self.authenticate(keys, read)?;
        let mut staged = StagedFolder::new(dest, opts.overwrite, &self.path)?;
        let mut decrypting = self.decrypting_reader(keys, read, Stage::Extract)?;
        let mut gate = EntryGate::refusing(&read.path_rules, &self.path);
        let mut visitor = Gated {
            gate: &mut gate,
            inner: &mut staged,
        };
        let entries = read_inner_zip(&mut decrypting, &read.limits, &self.path, &mut visitor);
        // Read to the end so the padding and digest cover the whole content.
        let drained = io::copy(&mut decrypting, &mut io::sink());
        read.progress.end();
        if read.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let outcome = entries.and_then(|entries| {
            drained
                .map(|_| entries)
                .map_err(|e| map_read_error(e, &self.path))
        });
        let (mut report, entries) = self.finish(keys, decrypting, mac_verified, outcome)?;
        report.entries = entries;
        report.findings = gate.finish(&report.entries)?;
        staged.commit()?;
        Ok(report)
    }

    /// A buffered reader of the blob from `offset`, through the handle opened first.
    fn reader(&self, offset: u64) -> BufReader<RangeReader> {
        let range = RangeReader::new(self.file.clone(), offset, self.len.saturating_sub(offset));
        BufReader::with_capacity(1 << 20, range)
    }

    /// A decrypting reader over the ciphertext (`blob[48..]`), with progress and cancellation,
    /// MACing IV ‖ ciphertext as it reads when a MAC key is known.
    fn decrypting_reader<'a>(
        &self,
        keys: &BlobKeys,
        opts: &'a ReadOptions,
        stage: Stage,
    ) -> Result<DecryptingReader<Metered<'a, Tapped>>> {
        let reader = self.reader(HEADER_LEN as u64);
        let tap = match &keys.mac_key {
            Some(key) => MacReader::new(reader, key, self.stored_iv())
                .map_err(|e| Error::io("read", &self.path, e))?,
            None => MacReader::crc_only(reader, &[]),
        };
        opts.progress.begin(stage, self.len - HEADER_LEN as u64);
        Ok(DecryptingReader::new(
            Metered::new(tap, opts),
            &keys.encryption_key,
            &keys.iv,
        ))
    }

    /// Ends a decrypting pass. The MAC of what was read comes first (when a key is known and
    /// the whole ciphertext was read): bytes other than the authenticated ones explain any
    /// other failure. Then `outcome` (what the consumer of the plaintext made of it), then the
    /// size and FileDigest.
    fn finish<T>(
        &self,
        keys: &BlobKeys,
        decrypting: DecryptingReader<Metered<'_, Tapped>>,
        mac_verified: bool,
        outcome: Result<T>,
    ) -> Result<(BlobReport, T)> {
        let complete = decrypting.ciphertext_read() == self.len - HEADER_LEN as u64;
        let ((sha256, plaintext_len), metered) = decrypting.finish_with_inner();
        let (mac, _) = metered.into_inner().finish();
        let expected = keys.mac.as_ref().map_or(self.stored_mac(), |m| &m[..]);
        if complete && mac.is_some_and(|mac| !crypto::ct_eq(&mac[..], expected)) {
            // Not the bytes authenticated before: the file changed between the two reads.
            return Err(Error::HmacMismatch {
                path: self.path.clone(),
            });
        }
        let value = outcome?;
        if let Some(expected) = keys.unencrypted_size
            && expected != plaintext_len
        {
            return Err(Error::ContentSizeMismatch {
                path: self.path.clone(),
                expected,
                actual: plaintext_len,
            });
        }
        if let Some(digest) = &keys.file_digest
            && !crypto::ct_eq(&sha256, digest)
        {
            return Err(Error::DigestMismatch {
                path: self.path.clone(),
            });
        }
        let report = BlobReport {
            mac_verified,
            iv_differs: self.iv_differs(keys),
            plaintext_len,
            sha256,
            entries: Vec::new(),
            findings: Vec::new(),
        };
        Ok((report, value))
    }
}

/// Writes a package's encrypted content, the bare blob that is uploaded to Azure Storage
/// (FORMAT.md §13), to `output`. While copying it checks what [`Package::authenticate`]
/// checks (length, MAC and IV fields, HMAC, CRC-32); the file appears, through a temporary
/// file and a rename, only when all passed. Returns the blob's length.
pub fn save_content(
    pkg: &Package,
    output: &Path,
    overwrite: Overwrite,
    opts: &ReadOptions,
) -> Result<u64> {
    let overwrite = overwrite.replaces();
    let d = pkg.detection();
    let expected = blob_len_for(d.unencrypted_content_size);
    if pkg.encrypted_size() != expected {
        return Err(Error::BlobLength {
            path: pkg.path().to_path_buf(),
            expected,
            actual: pkg.encrypted_size(),
        });
    }
    refuse_input_as_output(output, pkg.path())?;
    if !overwrite && output.exists() {
        return Err(Error::OutputExists {
            path: output.to_path_buf(),
        });
    }
    write_atomically(output, overwrite, |file| {
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let reader = pkg.content_reader()?;
        opts.progress
            .begin(Stage::Authenticate, pkg.encrypted_size());
        let copied = copy_and_check(pkg, Metered::new(reader, opts), &mut out, output);
        opts.progress.end();
        let written = copied?;
        out.flush().map_err(|e| Error::write("write", output, e))?;
        Ok(written)
    })
}

/// Copies the blob to `out` (written for `output`) while checking MAC field, IV field, HMAC,
/// CRC-32 and length.
fn copy_and_check<R: Read, W: Write>(
    pkg: &Package,
    mut reader: R,
    out: &mut W,
    output: &Path,
) -> Result<u64> {
    let path = pkg.path();
    let enc = &pkg.detection().encryption;
    let mut header = [0u8; HEADER_LEN];
    reader
        .read_exact(&mut header)
        .map_err(|e| map_read_error(e, path))?;
    if !crypto::ct_eq(&header[..MAC_LEN], &enc.mac) {
        return Err(Error::MacFieldMismatch {
            path: path.to_path_buf(),
        });
    }
    if header[MAC_LEN..] != enc.iv {
        return Err(Error::IvMismatch {
            path: path.to_path_buf(),
        });
    }
    out.write_all(&header[..MAC_LEN])
        .map_err(|e| Error::write("write", output, e))?;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&header[..MAC_LEN]);
    let mut tee = Tee {
        inner: (&header[MAC_LEN..]).chain(reader),
        out,
        crc: &mut crc,
        written: 0,
        write_error: None,
    };
    let mac = crypto::mac_stream(&mut tee, &enc.mac_key, |_| {});
    if let Some(e) = tee.write_error.take() {
        return Err(Error::write("write", output, e));
    }
    let written = MAC_LEN as u64 + tee.written;
    let (mac, _) = mac.map_err(|e| map_read_error(e, path))?;
    if !crypto::ct_eq(&mac, &enc.mac) {
        return Err(Error::HmacMismatch {
            path: path.to_path_buf(),
        });
    }
    if crc.finalize() != pkg.content_entry().crc {
        return Err(Error::OuterCrcMismatch {
            path: path.to_path_buf(),
            entry: pkg.content_entry().name.clone(),
        });
    }
    if written != pkg.encrypted_size() {
        return Err(Error::BlobLength {
            path: path.to_path_buf(),
            expected: pkg.encrypted_size(),
            actual: written,
        });
    }
    Ok(written)
}

/// A reader that copies what it reads to `out` (the IV ‖ ciphertext part) and CRCs it.
struct Tee<'a, R: Read, W: Write> {
    inner: R,
    out: &'a mut W,
    crc: &'a mut crc32fast::Hasher,
    written: u64,
    /// A write failure, kept apart so it is not mistaken for a read failure of the package.
    write_error: Option<io::Error>,
}

impl<R: Read, W: Write> Read for Tee<'_, R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        if let Err(e) = self.out.write_all(&buf[..n]) {
            self.write_error = Some(e);
            return Err(io::Error::other("write failed"));
        }
        self.written += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::crypto::{EncryptingWriter, Keys};

    fn keys() -> Keys {
        crate::crypto::tests::tv0_keys()
    }

    /// Writes MAC ‖ IV ‖ ciphertext of `plain` to a file; returns its path and the MAC.
    fn blob_file(dir: &Path, plain: &[u8]) -> (PathBuf, [u8; 32]) {
        let mut w = EncryptingWriter::new(Vec::new(), &keys()).unwrap();
        w.write_all(plain).unwrap();
        let (body, sealed) = w.finish().unwrap();
        let path = dir.join("app_1.bin");
        let mut all = sealed.mac.to_vec();
        all.extend_from_slice(&body);
        fs::write(&path, all).unwrap();
        (path, sealed.mac)
    }

    fn blob_keys(with_mac: bool) -> BlobKeys {
        let k = keys();
        let b = BlobKeys::new(k.encryption_key, k.iv);
        if with_mac { b.mac_key(k.mac_key) } else { b }
    }

    #[test]
    fn decrypts_with_and_without_mac_key() {
        let dir = tempfile::tempdir().unwrap();
        let plain: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let (path, _) = blob_file(dir.path(), &plain);
        let blob = Blob::open(&path).unwrap();
        for with_mac in [true, false] {
            let mut out = Vec::new();
            let report = blob
                .decrypt_to(&blob_keys(with_mac), &mut out, &ReadOptions::default())
                .unwrap();
            assert_eq!(out, plain);
            assert_eq!(report.mac_verified, with_mac);
            assert!(!report.iv_differs);
            assert_eq!(report.plaintext_len, plain.len() as u64);
        }
    }

    #[test]
    fn tampered_blob_is_refused_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = blob_file(dir.path(), b"some inner zip bytes");
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, &bytes).unwrap();
        let blob = Blob::open(&path).unwrap();
        let out = dir.path().join("out.zip");
        let err = blob
            .decrypt_to_file(
                &blob_keys(true),
                &out,
                Overwrite::Refuse,
                &ReadOptions::default(),
            )
            .unwrap_err();
        assert!(matches!(err, Error::HmacMismatch { .. }), "{err:?}");
        assert!(!out.exists());
        // Without the MAC key the damage shows as a padding error, and nothing is left either.
        let err = blob
            .decrypt_to_file(
                &blob_keys(false),
                &out,
                Overwrite::Refuse,
                &ReadOptions::default(),
            )
            .unwrap_err();
        assert!(matches!(err, Error::BadPadding { .. }), "{err:?}");
        assert!(!out.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn bad_lengths_and_iv_difference() {
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("short.bin");
        fs::write(&short, [0u8; 63]).unwrap();
        assert!(matches!(
            Blob::open(&short),
            Err(Error::BlobLength {
                expected: 64,
                actual: 63,
                ..
            })
        ));
        let (path, mac) = blob_file(dir.path(), b"abc");
        let blob = Blob::open(&path).unwrap();
        assert_eq!(blob.stored_mac(), &mac);
        let mut other = blob_keys(false);
        other.iv[0] ^= 0xFF;
        assert!(blob.iv_differs(&other));
        let wrong_size = blob_keys(true);
        let wrong_size = BlobKeys {
            unencrypted_size: Some(100),
            ..wrong_size
        };
        assert!(matches!(
            blob.authenticate(&wrong_size, &ReadOptions::default()),
            Err(Error::BlobLength { .. })
        ));
    }

    /// A writer that accepts `room` bytes, then fails like a full disk.
    pub(crate) struct FullDisk {
        pub(crate) room: usize,
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
    fn a_failing_writer_is_a_write_error_not_a_read_error_of_the_blob() {
        let dir = tempfile::tempdir().unwrap();
        let plain: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        let (path, _) = blob_file(dir.path(), &plain);
        let blob = Blob::open(&path).unwrap();
        for with_mac in [true, false] {
            let err = blob
                .decrypt_to(
                    &blob_keys(with_mac),
                    FullDisk { room: 1000 },
                    &ReadOptions::default(),
                )
                .unwrap_err();
            match &err {
                Error::Write { path, source, .. } => {
                    assert_eq!(path, &None);
                    assert_eq!(source.kind(), io::ErrorKind::StorageFull);
                }
                other => panic!("expected a write error, got {other:?}"),
            }
            assert!(!err.to_string().contains("app_1.bin"), "{err}");
        }
    }

    #[test]
    fn a_failing_flush_is_a_write_error_too() {
        struct FailsOnFlush;
        impl Write for FailsOnFlush {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Err(io::Error::from(io::ErrorKind::PermissionDenied))
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = blob_file(dir.path(), b"small");
        let blob = Blob::open(&path).unwrap();
        let err = blob
            .decrypt_to(&blob_keys(true), FailsOnFlush, &ReadOptions::default())
            .unwrap_err();
        assert!(matches!(err, Error::Write { .. }), "{err:?}");
    }

    #[test]
    fn a_read_error_is_still_blamed_on_the_input() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("device gone"))
            }
        }
        let err = copy_watched(&mut Broken, &mut Vec::new())
            .unwrap_err()
            .into_error(Path::new("in.bin"), Some(Path::new("out.zip")));
        assert!(
            matches!(&err, Error::Io { path, .. } if path == Path::new("in.bin")),
            "{err:?}"
        );
        let err = copy_watched(&mut &b"data"[..], &mut FullDisk { room: 0 })
            .unwrap_err()
            .into_error(Path::new("in.bin"), Some(Path::new("out.zip")));
        assert!(
            matches!(&err, Error::Write { path: Some(p), .. } if p == Path::new("out.zip")),
            "{err:?}"
        );
    }
}
