//! Helpers shared by the fuzz targets.

use std::io::{Cursor, Write};

use intunewin_core::__private::crypto::EncryptingWriter;
use intunewin_core::__private::dostime::DOS_EPOCH;
use intunewin_core::__private::outer::{CONTENTS_DIR, DETECTION_ENTRY, OuterZipWriter};
use intunewin_core::Keys;
use intunewin_core::{Detection, EncryptionInfo};

/// A valid package (fixed keys, valid MAC, digest and sizes) whose plaintext is `inner`, so the
/// fuzzer reaches the inner zip reader and extraction instead of stopping at the MAC.
pub fn seal_package(inner: &[u8]) -> Vec<u8> {
    let keys = Keys {
        encryption_key: [1; 32],
        mac_key: [2; 32],
        iv: [3; 16],
    };
    let mut enc = EncryptingWriter::new(Vec::new(), &keys).expect("encrypt in memory");
    enc.write_all(inner).expect("encrypt in memory");
    let (rest, sealed) = enc.finish().expect("encrypt in memory");
    let blob = [&sealed.mac[..], &rest].concat();
    let detection = Detection {
        tool_version: "1.8.7.0".into(),
        name: "setup.exe".into(),
        unencrypted_content_size: inner.len() as u64,
        file_name: "IntunePackage.intunewin".into(),
        setup_file: "setup.exe".into(),
        encryption: EncryptionInfo {
            encryption_key: keys.encryption_key,
            mac_key: keys.mac_key,
            iv: keys.iv,
            mac: sealed.mac,
            file_digest: sealed.file_digest,
        },
        msi_info: None,
    };
    let xml = detection.to_xml().expect("fixed values serialise");
    let mut outer = OuterZipWriter::new(Cursor::new(Vec::new()), DOS_EPOCH).expect("in memory");
    outer
        .add_entry(&format!("{CONTENTS_DIR}IntunePackage.intunewin"), &blob)
        .expect("in memory");
    outer
        .add_entry(DETECTION_ENTRY, xml.as_bytes())
        .expect("in memory");
    outer.finish().expect("in memory").into_inner()
}
