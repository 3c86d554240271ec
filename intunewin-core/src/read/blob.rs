//! A bare encrypted blob, MAC(32) ‖ IV(16) ‖ AES-256-CBC(inner zip), outside its package
//! (FORMAT.md §3, §11): what is uploaded to Azure Storage and what the Intune Management
//! Extension downloads to `Content\Incoming\<appId>_<n>.bin`.
//!
//! [`Blob::open`] (or [`Blob::from_bytes`]) reads the header; [`Blob::decrypt_to`],
//! [`Blob::decrypt_to_file`] and [`Blob::extract`] decrypt it as a stream with [`BlobKeys`] from
//! any source (Detection.xml, DecryptInfo, arguments). The MAC is verified first when a MAC key
//! is known; without one integrity is unchecked, which [`BlobReport::mac_verified`] records.
//! [`Package::save_content`] writes a package's blob to a file after authenticating it.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::content::storage::{ContentSource, Storage};
use crate::crypto::{HEADER_LEN, MAC_LEN};
use crate::error::{Error, Result};
use crate::files::output::Overwrite;
use crate::inner_read::EntryInfo;
use crate::package::{ExtractOptions, Package, ReadOptions};
use crate::paths::Finding;
pub use crate::read::reader::BlobKeys;
use crate::read::reader::{ContentReader, FirstPass, Plaintext, check_shape};
use crate::staging::{refuse_input_as_output, write_atomically};

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

/// An encrypted blob, opened and its header read.
#[derive(Debug)]
pub struct Blob {
    path: PathBuf,
    /// The blob, read by position through the handle (or buffer) opened first.
    source: ContentSource,
    header: [u8; HEADER_LEN],
}

impl Blob {
    /// Opens a blob and checks its length has the format's shape: at least 64 bytes and a whole
    /// number of blocks after the 48-byte header (FORMAT.md §3.2, §7 step 3).
    pub fn open(path: impl AsRef<Path>) -> Result<Blob> {
        let path = path.as_ref().to_path_buf();
        let (storage, len) = Storage::open(&path)?;
        Self::from_storage(storage, len, path)
    }

    /// Opens a blob held in memory, as [`open`](Self::open) opens a file; `name` stands for the
    /// blob in errors.
    pub fn from_bytes(bytes: impl Into<Arc<[u8]>>, name: impl Into<PathBuf>) -> Result<Blob> {
        let (storage, len) = Storage::memory(bytes.into());
        Self::from_storage(storage, len, name.into())
    }

    fn from_storage(storage: Storage, len: u64, path: PathBuf) -> Result<Blob> {
        check_shape(len, &path)?;
        let mut header = [0u8; HEADER_LEN];
        storage
            .range(0, HEADER_LEN as u64)
            .read_exact(&mut header)
            .map_err(|e| Error::io("read", &path, e))?;
        Ok(Blob {
            path,
            source: ContentSource::whole(storage, len),
            header,
        })
    }

    /// The blob file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Length of the blob in bytes.
    pub fn len(&self) -> u64 {
        self.source.len()
    }

    /// Whether the blob is empty (never true for an opened blob).
    pub fn is_empty(&self) -> bool {
        self.source.len() == 0
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

    /// The reader of the blob with `keys`.
    pub(crate) fn reader<'a>(&'a self, keys: &'a BlobKeys) -> ContentReader<'a> {
        ContentReader {
            source: &self.source,
            origin: &self.path,
            keys,
            entry: None,
            first_pass: FirstPass::Mac,
        }
    }

    /// Checks the length against the expected size, the MAC field and the HMAC over
    /// IV ‖ ciphertext in constant time. Returns false (checking nothing cryptographic) when no
    /// MAC key is known. Decrypts nothing.
    pub fn authenticate(&self, keys: &BlobKeys, opts: &ReadOptions) -> Result<bool> {
        self.reader(keys).authenticate(opts, None)
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
        let reader = self.reader(keys);
        let (mac_verified, pass) = reader.before_writing(opts)?;
        let plaintext = reader.decrypt_pass(out, None, opts, pass)?;
        Ok(self.report(keys, mac_verified, plaintext))
    }

    /// Like [`decrypt_to`](Self::decrypt_to) into a file, written to a temporary file beside it
    /// and renamed only when every check passed: a failure leaves nothing behind. A failed
    /// write names `output`.
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
        let reader = self.reader(keys);
        let (mac_verified, pass) = reader.before_writing(opts)?;
        let plaintext = write_atomically(output, overwrite, |file| {
            let out = BufWriter::with_capacity(1 << 20, file);
            reader.decrypt_pass(out, Some(output), opts, pass)
        })?;
        Ok(self.report(keys, mac_verified, plaintext))
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
        let (found, mac_verified) = self.reader(keys).extract(dest, opts)?;
        let mut report = self.report(keys, mac_verified, found.plaintext);
        report.entries = found.summary.entries;
        report.findings = found.findings;
        Ok(report)
    }

    /// The report of a decrypting read (without entries).
    fn report(&self, keys: &BlobKeys, mac_verified: bool, plaintext: Plaintext) -> BlobReport {
        BlobReport {
            mac_verified,
            iv_differs: self.iv_differs(keys),
            plaintext_len: plaintext.len,
            sha256: plaintext.sha256,
            entries: Vec::new(),
            findings: Vec::new(),
        }
    }
}

impl Package {
    /// Writes the package's encrypted content, the bare blob that is uploaded to Azure Storage
    /// (FORMAT.md §13), to `output`. While copying it checks what [`Package::authenticate`]
    /// checks (length, MAC and IV fields, HMAC, CRC-32); the file appears, through a temporary
    /// file and a rename, only when all passed. Returns the blob's length.
    pub fn save_content(
        &self,
        output: &Path,
        overwrite: Overwrite,
        opts: &ReadOptions,
    ) -> Result<u64> {
        save_content(self, output, overwrite, opts)
    }
}

/// [`Package::save_content`].
fn save_content(
    pkg: &Package,
    output: &Path,
    overwrite: Overwrite,
    opts: &ReadOptions,
) -> Result<u64> {
    let overwrite = overwrite.replaces();
    let reader = pkg.reader();
    reader.check_length()?;
    refuse_input_as_output(output, pkg.path())?;
    if !overwrite && output.exists() {
        return Err(Error::OutputExists {
            path: output.to_path_buf(),
        });
    }
    write_atomically(output, overwrite, |file| {
        let mut out = BufWriter::with_capacity(1 << 20, file);
        reader.authenticate(opts, Some((&mut out, output)))?;
        Ok(pkg.encrypted_size())
    })
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::io;

    use super::*;
    use crate::crypto::{EncryptingWriter, Keys};
    use crate::read::metered::copy_watched;
    use crate::read::reader::tests::FullDisk;

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
