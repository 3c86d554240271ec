//! A whole package from arbitrary bytes, read from memory: open (outer zip, Detection.xml),
//! verify and list.
#![no_main]

use intunewin_core::{Package, ReadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(package) = Package::from_bytes(data, "fuzz.intunewin") {
        let opts = ReadOptions::default();
        let _ = package.verify(&opts);
        let _ = package.list(&opts);
    }
});
