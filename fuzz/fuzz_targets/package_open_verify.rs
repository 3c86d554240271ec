//! A whole package from arbitrary bytes: open (outer zip, Detection.xml), verify and list.
#![no_main]

use std::io::Write;

use intunewin_core::{Package, ReadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut file = tempfile::NamedTempFile::new().expect("temporary file");
    file.write_all(data).expect("write input");
    if let Ok(package) = Package::open(file.path()) {
        let opts = ReadOptions::default();
        let _ = package.verify(&opts);
        let _ = package.list(&opts);
    }
});
