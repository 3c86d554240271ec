//! Reading: MAC ‖ IV ‖ ciphertext authenticated, decrypted and parsed (FORMAT.md §7), for a
//! package's content entry and a bare blob alike.
//!
//! [`ContentReader`] makes every check once: the length, the stored MAC and IV fields, the
//! HMAC over IV ‖ ciphertext in constant time, the outer entry's CRC-32, the plaintext size and
//! FileDigest. Its reads share one structure: the source is read, MACed and CRCed on one
//! thread, decrypted (and hashed) on another, and consumed on the caller's. What writes is
//! authenticated first ([`FirstPass`]), and every read is MACed again, so bytes changed between
//! two reads fail the second one.

use std::io::{self, BufRead, Read, Write};
use std::path::Path;

use zeroize::Zeroize;

use crate::content::storage::ContentSource;
use crate::crypto::{self, DecryptingReader, HEADER_LEN, MAC_LEN, MacReader};
use crate::detection::{Detection, blob_len_for};
use crate::error::{Error, Result};
use crate::inner_read::{EntryVisitor, InnerSummary, read_inner_zip_buffered};
use crate::outer::OuterEntry;
use crate::paths::Finding;
use crate::progress::Stage;
use crate::read::metered::{CopyError, Metered, copy_watched, map_read_error};
use crate::read::options::{ExtractOptions, ReadOptions};
use crate::readahead::read_on_thread;
use crate::staging::StagedFolder;
use crate::verdict::{EntryGate, Gated};

/// Keys for encrypted content. Only the AES key and IV are required; the rest, when known, adds
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

/// How a read that writes (decrypt, extract) is authenticated before it writes anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FirstPass {
    /// A first read checks the MAC and the FileDigest; the second is MACed again and sized,
    /// not hashed (a package: everything is known).
    MacAndDigest,
    /// A first read checks the MAC when a key is known; the second hashes the plaintext and
    /// checks the digest and size, when known, at its end (a blob, whose report gives the hash).
    Mac,
}

/// Which read of the content: the only one (verify, list; or a blob's second read: the
/// plaintext is hashed and the digest checked at the end), or the second one after a
/// [`FirstPass::MacAndDigest`] (MACed again and sized).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pass {
    Only,
    Second,
}

/// What a decrypting read established about the plaintext.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plaintext {
    /// SHA-256 of the plaintext (zeros after a [`Pass::Second`], which does not hash).
    pub(crate) sha256: [u8; 32],
    /// Length of the plaintext.
    pub(crate) len: u64,
}

/// What an extraction or an entry read found: the entries, the classifier's findings, and the
/// plaintext's hash and length.
pub(crate) struct Entries {
    pub(crate) summary: InnerSummary,
    pub(crate) findings: Vec<Finding>,
    pub(crate) plaintext: Plaintext,
}

/// The ciphertext behind a tap that MACs (when a key is known) and CRCs IV ‖ ciphertext.
type Tap = MacReader<Box<dyn Read + Send>>;

/// Refuses a length no content can have: under 64 bytes, or not a whole number of blocks
/// after the 48-byte header (FORMAT.md §3.2, §7 step 3).
pub(crate) fn check_shape(len: u64, origin: &Path) -> Result<()> {
    if len < 64 || !(len - HEADER_LEN as u64).is_multiple_of(16) {
        let blocks = len.saturating_sub(HEADER_LEN as u64).div_ceil(16).max(1);
        return Err(Error::BlobLength {
            path: origin.to_path_buf(),
            expected: HEADER_LEN as u64 + 16 * blocks,
            actual: len,
        });
    }
    Ok(())
}

/// Encrypted content with what is known about it: the one reader of MAC ‖ IV ‖ ciphertext.
pub(crate) struct ContentReader<'a> {
    /// Where the content is read from.
    pub(crate) source: &'a ContentSource,
    /// The package or blob, named in errors.
    pub(crate) origin: &'a Path,
    /// Keys and the expected values known.
    pub(crate) keys: &'a BlobKeys,
    /// A package's content entry: the stored IV must then be the keys' and the entry's CRC-32
    /// must match.
    pub(crate) entry: Option<&'a OuterEntry>,
    /// How reads that write are authenticated first.
    pub(crate) first_pass: FirstPass,
}

impl ContentReader<'_> {
    /// Checks the content's length: the one UnencryptedContentSize implies when it is known,
    /// else the format's shape.
    pub(crate) fn check_length(&self) -> Result<()> {
        let actual = self.source.len();
        match self.keys.unencrypted_size {
            Some(n) if actual != blob_len_for(n) => Err(Error::BlobLength {
                path: self.origin.to_path_buf(),
                expected: blob_len_for(n),
                actual,
            }),
            Some(_) => Ok(()),
            None => check_shape(actual, self.origin),
        }
    }

    /// Checks what needs no decryption (the length, the stored MAC and IV fields), then returns
    /// the header and the rest of the content behind a tap for [`check_tap`](Self::check_tap).
    fn open_tapped(&self) -> Result<([u8; HEADER_LEN], Tap)> {
        self.check_length()?;
        let mut reader = self.source.open(self.origin)?;
        let mut header = [0u8; HEADER_LEN];
        reader
            .read_exact(&mut header)
            .map_err(|e| map_read_error(e, self.origin))?;
        let (mac_field, iv_field) = header.split_at(MAC_LEN);
        if let Some(mac) = &self.keys.mac
            && !crypto::ct_eq(mac_field, mac)
        {
            return Err(Error::MacFieldMismatch {
                path: self.origin.to_path_buf(),
            });
        }
        if self.entry.is_some() && iv_field != self.keys.iv {
            return Err(Error::IvMismatch {
                path: self.origin.to_path_buf(),
            });
        }
        let tap = match &self.keys.mac_key {
            Some(key) => MacReader::new(reader, key, iv_field)
                .map_err(|e| Error::io("read", self.origin, e))?,
            None => MacReader::crc_only(reader, iv_field),
        };
        Ok((header, tap))
    }

    /// Compares the tap's HMAC with the expected MAC (the given one, else the stored field) in
    /// constant time, then a package entry's CRC-32 (of the MAC field and the tapped bytes).
    /// Returns whether a MAC was verified.
    fn check_tap<R: Read>(&self, header: &[u8; HEADER_LEN], tap: MacReader<R>) -> Result<bool> {
        let (mac, rest_crc) = tap.finish();
        let mac_field = &header[..MAC_LEN];
        let expected = self.keys.mac.as_ref().map_or(mac_field, |m| &m[..]);
        if mac.is_some_and(|mac| !crypto::ct_eq(&mac, expected)) {
            return Err(Error::HmacMismatch {
                path: self.origin.to_path_buf(),
            });
        }
        if let Some(entry) = self.entry {
            let mut crc = crc32fast::Hasher::new();
            crc.update(mac_field);
            crc.combine(&rest_crc);
            if crc.finalize() != entry.crc {
                return Err(Error::OuterCrcMismatch {
                    path: self.origin.to_path_buf(),
                    entry: entry.name.clone(),
                });
            }
        }
        Ok(mac.is_some())
    }

    /// Checks the plaintext's length and, after a hashing read, its SHA-256 against what is
    /// known (FORMAT.md §7 step 7).
    fn check_plaintext(&self, plain: &Plaintext, pass: Pass) -> Result<()> {
        if let Some(expected) = self.keys.unencrypted_size
            && expected != plain.len
        {
            return Err(Error::ContentSizeMismatch {
                path: self.origin.to_path_buf(),
                expected,
                actual: plain.len,
            });
        }
        if pass == Pass::Only
            && let Some(digest) = &self.keys.file_digest
            && !crypto::ct_eq(&plain.sha256, digest)
        {
            return Err(Error::DigestMismatch {
                path: self.origin.to_path_buf(),
            });
        }
        Ok(())
    }

    /// Reads the content without decrypting it and checks every field, the HMAC and the CRC
    /// (FORMAT.md §7 steps 3–5 and 9); with `copy`, writes the content as read to its writer,
    /// whose failures are write errors naming its path. Returns false, reading nothing past the
    /// header, when no MAC key is known and nothing is copied.
    pub(crate) fn authenticate(
        &self,
        opts: &ReadOptions,
        copy: Option<(&mut dyn Write, &Path)>,
    ) -> Result<bool> {
        let (header, tap) = self.open_tapped()?;
        if self.keys.mac_key.is_none() && copy.is_none() {
            return Ok(false);
        }
        let output = copy.as_ref().map(|(_, path)| *path);
        opts.progress.begin(Stage::Authenticate, self.source.len());
        let mut metered = Metered::new(tap, opts);
        let copied = match copy {
            Some((out, _)) => copy_raw(&header, &mut metered, out),
            None => io::copy(&mut metered, &mut io::sink()).map_err(CopyError::Read),
        };
        opts.progress.end();
        let copied = copied.map_err(|e| e.into_error(self.origin, output))?;
        let verified = self.check_tap(&header, metered.into_inner())?;
        let total = HEADER_LEN as u64 + copied;
        if total != self.source.len() {
            return Err(Error::BlobLength {
                path: self.origin.to_path_buf(),
                expected: self.source.len(),
                actual: total,
            });
        }
        Ok(verified)
    }

    /// Authenticates the content and checks its FileDigest before anything sees a byte of it:
    /// the MAC is computed on one thread while another decrypts and hashes (FORMAT.md §7
    /// steps 3–7 and 9). Nothing is kept or written.
    fn authenticate_content(&self, opts: &ReadOptions) -> Result<()> {
        let (header, tap) = self.open_tapped()?;
        opts.progress.begin(Stage::Authenticate, self.source.len());
        let keys = self.keys;
        let (plain, tap, status) = read_on_thread(Metered::new(tap, opts), |ciphertext| {
            let mut decrypting = DecryptingReader::new(ciphertext, &keys.encryption_key, &keys.iv);
            let copied = io::copy(&mut decrypting, &mut io::sink());
            copied.map(|_| decrypting.finish())
        });
        opts.progress.end();
        status.map_err(|e| map_read_error(e, self.origin))?;
        self.check_tap(&header, tap.into_inner())?;
        let (sha256, len) = plain.map_err(|e| map_read_error(e, self.origin))?;
        self.check_plaintext(&Plaintext { sha256, len }, Pass::Only)
    }

    /// Authenticates as [`first_pass`](Self::first_pass) says before a read that writes;
    /// returns whether a MAC was verified and the pass the writing read is.
    pub(crate) fn before_writing(&self, opts: &ReadOptions) -> Result<(bool, Pass)> {
        match self.first_pass {
            FirstPass::MacAndDigest => {
                self.authenticate_content(opts)?;
                Ok((true, Pass::Second))
            }
            FirstPass::Mac => Ok((self.authenticate(opts, None)?, Pass::Only)),
        }
    }

    /// Reads the content once, in three threads: reading, MAC and CRC on one; decryption (and
    /// for [`Pass::Only`] the digest) on the next; `consume` on this one. `consume` sees data
    /// before the MAC is known to match, so without a prior authentication it must write
    /// nothing; every check (the MAC first) is made before its value is returned. The content
    /// is read to its end even when `consume` stops early, so the MAC is always checked.
    ///
    /// Every read goes through the source opened first and is MACed against the keys given
    /// then: bytes changed between two reads fail the second read's MAC.
    pub(crate) fn read<T>(
        &self,
        opts: &ReadOptions,
        stage: Stage,
        pass: Pass,
        consume: impl FnOnce(&mut (dyn BufRead + Send)) -> T,
    ) -> Result<(T, Plaintext)> {
        let (header, tap) = self.open_tapped()?;
        // The meter counts ciphertext (the plaintext plus its padding), so that is the total.
        let ciphertext_len = self.source.len() - HEADER_LEN as u64;
        opts.progress.begin(stage, ciphertext_len);
        let keys = self.keys;
        let (consumed, tap, status) = read_on_thread(Metered::new(tap, opts), |ciphertext| {
            let decrypting = match pass {
                Pass::Only => DecryptingReader::new(ciphertext, &keys.encryption_key, &keys.iv),
                Pass::Second => {
                    DecryptingReader::new_unhashed(ciphertext, &keys.encryption_key, &keys.iv)
                }
            };
            let (value, decrypting, decrypted) = read_on_thread(decrypting, consume);
            (value, decrypting.finish(), decrypted)
        });
        opts.progress.end();
        if opts.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        // A read error means the MAC covers only part of the content: report it. Otherwise
        // every byte went through the MAC, whose verdict comes before padding and the rest.
        status.map_err(|e| map_read_error(e, self.origin))?;
        self.check_tap(&header, tap.into_inner())?;
        let (value, (sha256, len), decrypted) = consumed;
        decrypted.map_err(|e| map_read_error(e, self.origin))?;
        let plaintext = Plaintext { sha256, len };
        self.check_plaintext(&plaintext, pass)?;
        Ok((value, plaintext))
    }

    /// Parses the inner zip in one [`read`](Self::read), handing each entry to `visitor`.
    pub(crate) fn read_entries(
        &self,
        opts: &ReadOptions,
        stage: Stage,
        pass: Pass,
        visitor: &mut dyn EntryVisitor,
    ) -> Result<(InnerSummary, Plaintext)> {
        let (summary, plaintext) = self.read(opts, stage, pass, |plain| {
            read_inner_zip_buffered(plain, &opts.limits, self.origin, visitor, opts.keep_entries)
        })?;
        Ok((summary?, plaintext))
    }

    /// The writing read of a decryption, after [`before_writing`](Self::before_writing): the
    /// plaintext goes to `out`. A failure of `out` is an [`Error::Write`] naming `output`, never
    /// a read error of the content; it is reported after the content's own checks.
    pub(crate) fn decrypt_pass<W: Write>(
        &self,
        mut out: W,
        output: Option<&Path>,
        opts: &ReadOptions,
        pass: Pass,
    ) -> Result<Plaintext> {
        let (copied, plaintext) = self.read(opts, Stage::Decrypt, pass, |plain| {
            copy_watched(plain, &mut out)?;
            out.flush().map_err(CopyError::Write)
        })?;
        copied.map_err(|e| e.into_error(self.origin, output))?;
        Ok(plaintext)
    }

    /// Extracts the content into `dest`: a new folder, or with
    /// [`overwrite`](ExtractOptions::overwrite) an existing one. Nothing is written before the
    /// first pass authenticated the content; files go into a temporary folder beside `dest`
    /// that lands only when everything (the writing read's MAC included) checked out. Returns
    /// the entries, findings, plaintext, and whether a MAC was verified.
    pub(crate) fn extract(&self, dest: &Path, opts: &ExtractOptions) -> Result<(Entries, bool)> {
        let read = &opts.read;
        if dest.exists() && !opts.overwrite {
            return Err(Error::OutputExists {
                path: dest.to_path_buf(),
            });
        }
        let (mac_verified, pass) = self.before_writing(read)?;
        let mut staged = StagedFolder::new(dest, opts.overwrite, self.origin)?;
        let mut gate = EntryGate::refusing(&read.path_rules, self.origin);
        let mut visitor = Gated {
            gate: &mut gate,
            inner: &mut staged,
        };
        let read_entries = self.read_entries(read, Stage::Extract, pass, &mut visitor);
        // A file that failed to be written comes before anything the stream showed later.
        staged.finish_writes()?;
        let (summary, plaintext) = read_entries?;
        let findings = gate.finish_kinds(summary.special_kinds())?;
        staged.commit()?;
        let found = Entries {
            summary,
            findings,
            plaintext,
        };
        Ok((found, mac_verified))
    }
}

/// Copies the content as read, `header` then the tapped rest, to `out`; returns the length of
/// the rest.
fn copy_raw(
    header: &[u8; HEADER_LEN],
    rest: &mut dyn Read,
    out: &mut dyn Write,
) -> std::result::Result<u64, CopyError> {
    out.write_all(header).map_err(CopyError::Write)?;
    let copied = copy_watched(rest, out)?;
    out.flush().map_err(CopyError::Write)?;
    Ok(copied)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Cursor;
    use std::path::PathBuf;

    use super::*;
    use crate::blob::Blob;
    use crate::crypto::tests::tv0_keys;
    use crate::dostime::DOS_EPOCH;
    use crate::inner_write::{Compressed, InnerZipWriter, STORED};
    use crate::outer::{CONTENTS_DIR, DETECTION_ENTRY, OuterZipWriter};
    use crate::package::Package;

    /// An inner zip of `setup.exe` holding `data`, stored.
    fn inner_zip(data: &[u8]) -> Vec<u8> {
        let mut zip = InnerZipWriter::new(Vec::new());
        let entry = Compressed {
            method: STORED,
            crc: crc32fast::hash(data),
            size: data.len() as u64,
            data: data.to_vec(),
        };
        zip.add_compressed("setup.exe", DOS_EPOCH, &entry).unwrap();
        zip.finish().unwrap()
    }

    /// A package sealing `inner`, and its content alone (the blob).
    fn package_and_blob(inner: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (blob, sealed) = crate::content::seal_bytes(inner, &tv0_keys()).unwrap();
        let xml = sealed.detection("setup.exe", "setup.exe").to_xml().unwrap();
        let mut outer = OuterZipWriter::new(Cursor::new(Vec::new()), DOS_EPOCH).unwrap();
        let name = format!("{CONTENTS_DIR}IntunePackage.intunewin");
        outer.add_entry(&name, &blob).unwrap();
        outer.add_entry(DETECTION_ENTRY, xml.as_bytes()).unwrap();
        (outer.finish().unwrap().into_inner(), blob)
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

    /// Asserts `err` is a write error of `output` that does not name the input.
    fn assert_write_error_of(err: &Error, output: &Path, input: &str) {
        match err {
            Error::Write {
                path: Some(path),
                source,
                ..
            } => {
                assert_eq!(path, output);
                assert_eq!(source.kind(), io::ErrorKind::StorageFull);
            }
            other => panic!("expected a write error of {output:?}, got {other:?}"),
        }
        let message = err.to_string();
        assert!(message.contains("out.zip"), "{message}");
        assert!(!message.contains(input), "{message}");
    }

    #[test]
    fn a_failing_writer_is_a_write_error_naming_the_output_for_every_source() {
        let plain = inner_zip(&[7u8; 300_000]);
        let (package_bytes, blob_bytes) = package_and_blob(&plain);
        let dir = tempfile::tempdir().unwrap();
        let (package_path, blob_path) =
            (dir.path().join("app.intunewin"), dir.path().join("c.bin"));
        std::fs::write(&package_path, &package_bytes).unwrap();
        std::fs::write(&blob_path, &blob_bytes).unwrap();
        let packages = [
            Package::open(&package_path).unwrap(),
            Package::from_bytes(package_bytes, "app.intunewin").unwrap(),
        ];
        let blobs = [
            Blob::open(&blob_path).unwrap(),
            Blob::from_bytes(blob_bytes, "c.bin").unwrap(),
        ];
        let output = PathBuf::from("out.zip");
        let opts = ReadOptions::default();
        let keys = BlobKeys::from_detection(packages[0].detection());
        for reader in packages.iter().map(Package::reader) {
            let (_, pass) = reader.before_writing(&opts).unwrap();
            let full = FullDisk { room: 1000 };
            let err = reader.decrypt_pass(full, Some(&output), &opts, pass);
            assert_write_error_of(&err.unwrap_err(), &output, "app.intunewin");
            // The copying read (extract-content) too, the header included.
            for room in [10, 1000] {
                let copy: (&mut dyn Write, &Path) = (&mut FullDisk { room }, &output);
                let err = reader.authenticate(&opts, Some(copy)).unwrap_err();
                assert_write_error_of(&err, &output, "app.intunewin");
            }
        }
        for blob in &blobs {
            let reader = blob.reader(&keys);
            let (verified, pass) = reader.before_writing(&opts).unwrap();
            assert!(verified);
            let err = reader.decrypt_pass(FullDisk { room: 1000 }, Some(&output), &opts, pass);
            assert_write_error_of(&err.unwrap_err(), &output, "c.bin");
        }
    }

    #[test]
    fn memory_and_file_sources_read_alike() {
        let plain = inner_zip(b"MZ setup");
        let (package_bytes, blob_bytes) = package_and_blob(&plain);
        let dir = tempfile::tempdir().unwrap();
        let package_path = dir.path().join("app.intunewin");
        std::fs::write(&package_path, &package_bytes).unwrap();
        let opts = ReadOptions::default();
        let from_file = Package::open(&package_path).unwrap();
        let in_memory = Package::from_bytes(package_bytes.clone(), "app.intunewin").unwrap();
        assert_eq!(in_memory.detection(), from_file.detection());
        assert_eq!(in_memory.len(), from_file.len());
        assert_eq!(in_memory.path(), Path::new("app.intunewin"));
        let listed = in_memory.list(&opts).unwrap();
        assert_eq!(listed.entries, from_file.list(&opts).unwrap().entries);
        assert_eq!(listed.entries[0].info.name, "setup.exe");
        let mut decrypted = Vec::new();
        in_memory.decrypt_to(&mut decrypted, &opts).unwrap();
        assert_eq!(decrypted, plain);
        let mut saved = Vec::new();
        let copy: (&mut dyn Write, &Path) = (&mut saved, Path::new("c.bin"));
        assert!(in_memory.reader().authenticate(&opts, Some(copy)).unwrap());
        assert_eq!(saved, blob_bytes);
        let dest = dir.path().join("out");
        in_memory
            .extract(&dest, &ExtractOptions::default())
            .unwrap();
        assert_eq!(std::fs::read(dest.join("setup.exe")).unwrap(), b"MZ setup");

        // A tampered byte in memory is refused as in a file, naming the given name.
        let mut tampered = package_bytes;
        let at = in_memory.content_entry().data_offset as usize + 60;
        tampered[at] ^= 1;
        let err = Package::from_bytes(tampered, "app.intunewin")
            .unwrap()
            .verify(&opts)
            .unwrap_err();
        assert!(matches!(&err, Error::HmacMismatch { path } if path == Path::new("app.intunewin")));

        let blob = Blob::from_bytes(blob_bytes, "c.bin").unwrap();
        let keys = BlobKeys::from_detection(in_memory.detection());
        let mut out = Vec::new();
        let report = blob.decrypt_to(&keys, &mut out, &opts).unwrap();
        assert!(report.mac_verified);
        assert_eq!(out, plain);
        assert!(matches!(
            Blob::from_bytes(&[0u8; 63][..], "short.bin"),
            Err(Error::BlobLength {
                expected: 64,
                actual: 63,
                ..
            })
        ));
    }
}
