//! Helpers shared by the fuzz targets.

use std::io::Cursor;

use intunewin_core::__private::dostime::DOS_EPOCH;
use intunewin_core::__private::outer::{CONTENTS_DIR, DETECTION_ENTRY, OuterZipWriter};
use intunewin_core::__private::seal_bytes;
use intunewin_core::Keys;

/// A valid package (fixed keys, valid MAC, digest and sizes) whose plaintext is `inner`, so the
/// fuzzer reaches the inner zip reader and extraction instead of stopping at the MAC.
pub fn seal_package(inner: &[u8]) -> Vec<u8> {
    let keys = Keys {
        encryption_key: [1; 32],
        mac_key: [2; 32],
        iv: [3; 16],
    };
    let (blob, sealed) = seal_bytes(inner, &keys).expect("encrypt in memory");
    let xml = sealed
        .detection("setup.exe", "setup.exe")
        .to_xml()
        .expect("fixed values serialise");
    let mut outer = OuterZipWriter::new(Cursor::new(Vec::new()), DOS_EPOCH).expect("in memory");
    outer
        .add_entry(&format!("{CONTENTS_DIR}IntunePackage.intunewin"), &blob)
        .expect("in memory");
    outer
        .add_entry(DETECTION_ENTRY, xml.as_bytes())
        .expect("in memory");
    outer.finish().expect("in memory").into_inner()
}
