//! Detection.xml parsing (FORMAT.md §6.2) on arbitrary bytes: never panics, and whatever parses
//! re-serialises into XML that parses again.
#![no_main]

use std::path::Path;

use intunewin_core::Detection;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let origin = Path::new("fuzz.xml");
    if let Ok(detection) = Detection::parse(data, origin)
        && let Ok(xml) = detection.to_xml()
    {
        let reparsed = Detection::parse(xml.as_bytes(), origin);
        assert!(reparsed.is_ok(), "own output rejected: {xml:?}");
    }
});
