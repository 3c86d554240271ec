//! Sealing: the inner zip in, MAC ‖ IV ‖ ciphertext out (FORMAT.md §3), written once as a
//! stream with the MAC patched in at the end.

use std::io::{self, Seek, SeekFrom, Write};

use crate::crypto::{EncryptingWriter, Keys, MAC_LEN};
use crate::detection::{CONTENT_FILE_NAME, DEFAULT_TOOL_VERSION, Detection, EncryptionInfo};

/// Writes the encrypted content of a package: reserves the 32-byte MAC, writes the IV and the
/// ciphertext of everything written to it, then [`finish`](Self::finish) writes the MAC over
/// the reserved bytes.
///
/// The content starts at the output's position when the writer is made; the output is left at
/// the content's end.
pub struct ContentWriter<W: Write + Seek> {
    encrypting: EncryptingWriter<W>,
    start: u64,
    keys: Keys,
}

/// What sealing produced: the EncryptionInfo of Detection.xml, the sizes, and the CRC-32 the
/// outer zip's content entry needs.
#[derive(Clone, Debug)]
pub struct SealedContent {
    /// Keys, IV, MAC and FileDigest.
    pub encryption: EncryptionInfo,
    /// Length of the plaintext (UnencryptedContentSize).
    pub plaintext_len: u64,
    /// Length of the content written: MAC ‖ IV ‖ ciphertext.
    pub len: u64,
    /// CRC-32 of the content as written (the outer entry's CRC).
    pub crc: u32,
}

impl<W: Write + Seek> ContentWriter<W> {
    /// Starts the content at the current position of `out`: the MAC's place, then the IV.
    pub fn new(out: W, keys: &Keys) -> io::Result<Self> {
        Self::start(out, keys, true)
    }

    /// Like [`new`](Self::new) but leaves the plaintext digest to the caller, who hashes on
    /// another thread and sets it with [`SealedContent::file_digest`].
    pub(crate) fn new_unhashed(out: W, keys: &Keys) -> io::Result<Self> {
        Self::start(out, keys, false)
    }

    fn start(mut out: W, keys: &Keys, hash_plaintext: bool) -> io::Result<Self> {
        let start = out.stream_position()?;
        out.write_all(&[0u8; MAC_LEN])?;
        let encrypting = if hash_plaintext {
            EncryptingWriter::new(out, keys)?
        } else {
            EncryptingWriter::new_unhashed(out, keys)?
        };
        Ok(ContentWriter {
            encrypting,
            start,
            keys: keys.clone(),
        })
    }

    /// Pads and encrypts the last block, writes the MAC in its place, and returns the output
    /// (positioned at the content's end) with what was sealed.
    pub fn finish(self) -> io::Result<(W, SealedContent)> {
        let (mut out, sealed) = self.encrypting.finish()?;
        out.seek(SeekFrom::Start(self.start))?;
        out.write_all(&sealed.mac)?;
        out.seek(SeekFrom::Start(
            self.start + MAC_LEN as u64 + sealed.written_len,
        ))?;
        // FORMAT.md §3.4: the CRC of MAC ‖ rest, combined from the MAC's and the streamed part's.
        let mut crc = crc32fast::Hasher::new();
        crc.update(&sealed.mac);
        crc.combine(&sealed.crc_after_mac);
        let content = SealedContent {
            encryption: EncryptionInfo {
                encryption_key: self.keys.encryption_key,
                mac_key: self.keys.mac_key,
                iv: self.keys.iv,
                mac: sealed.mac,
                file_digest: sealed.file_digest,
            },
            plaintext_len: sealed.plaintext_len,
            len: MAC_LEN as u64 + sealed.written_len,
            crc: crc.finalize(),
        };
        Ok((out, content))
    }
}

impl<W: Write + Seek> Write for ContentWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.encrypting.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.encrypting.flush()
    }
}

impl SealedContent {
    /// Sets the FileDigest computed elsewhere (see [`ContentWriter::new_unhashed`]).
    pub(crate) fn file_digest(mut self, digest: [u8; 32]) -> Self {
        self.encryption.file_digest = digest;
        self
    }

    /// The Detection.xml of a package holding this content as IntuneWinAppUtil writes it: tool
    /// version 1.8.7.0, the content named `IntunePackage.intunewin`, no MSI metadata.
    pub fn detection(&self, name: &str, setup_file: &str) -> Detection {
        Detection {
            tool_version: DEFAULT_TOOL_VERSION.to_string(),
            name: name.to_string(),
            unencrypted_content_size: self.plaintext_len,
            file_name: CONTENT_FILE_NAME.to_string(),
            setup_file: setup_file.to_string(),
            encryption: self.encryption.clone(),
            msi_info: None,
        }
    }
}

/// Seals `plain` in memory with `keys`: the content bytes and what was sealed.
pub fn seal_bytes(plain: &[u8], keys: &Keys) -> io::Result<(Vec<u8>, SealedContent)> {
    let mut writer = ContentWriter::new(io::Cursor::new(Vec::new()), keys)?;
    writer.write_all(plain)?;
    let (out, sealed) = writer.finish()?;
    Ok((out.into_inner(), sealed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{HEADER_LEN, mac_stream};

    #[test]
    fn the_content_is_mac_iv_ciphertext_with_the_crc_of_all_of_it() {
        let keys = crate::crypto::tests::tv0_keys();
        let plain: Vec<u8> = (0..100_000u32).map(|i| (i % 241) as u8).collect();
        // After a prefix, as in the outer zip: the content starts where the writer was made.
        let mut out = io::Cursor::new(b"prefix".to_vec());
        out.seek(SeekFrom::End(0)).unwrap();
        let mut writer = ContentWriter::new(out, &keys).unwrap();
        for chunk in plain.chunks(4099) {
            writer.write_all(chunk).unwrap();
        }
        let (out, sealed) = writer.finish().unwrap();
        assert_eq!(out.position(), out.get_ref().len() as u64);
        let all = out.into_inner();
        let content = &all[6..];
        assert_eq!(&all[..6], b"prefix");
        assert_eq!(sealed.len, content.len() as u64);
        assert_eq!(&content[..MAC_LEN], &sealed.encryption.mac);
        assert_eq!(&content[MAC_LEN..HEADER_LEN], &keys.iv);
        assert_eq!(sealed.crc, crc32fast::hash(content));
        let (mac, _) = mac_stream(&content[MAC_LEN..], &keys.mac_key, |_| {}).unwrap();
        assert_eq!(mac, sealed.encryption.mac);
        let digest: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(&plain).into();
        assert_eq!(sealed.encryption.file_digest, digest);
        assert_eq!(sealed.plaintext_len, plain.len() as u64);
        assert_eq!(seal_bytes(&plain, &keys).unwrap().0, content);
        let detection = sealed.detection("app", "setup.exe");
        assert_eq!(detection.unencrypted_content_size, plain.len() as u64);
        assert_eq!(detection.encryption, sealed.encryption);
    }
}
