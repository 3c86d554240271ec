//! Extraction of an arbitrary inner zip sealed into a valid package (read from memory): whatever
//! the entries, extract writes only `parent/dest`, and nothing at all when it fails (FORMAT.md
//! §7, §12).
#![no_main]

use std::fs;

use intunewin_core::{ExtractOptions, Package};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let tmp = tempfile::tempdir().expect("temporary folder");
    let parent = tmp.path().join("parent");
    fs::create_dir(&parent).expect("create parent");
    let package = intunewin_fuzz::seal_package(data);
    let opened = Package::from_bytes(package, "p.intunewin").expect("a sealed package opens");
    let result = opened.extract(&parent.join("dest"), &ExtractOptions::default());
    let names = |dir| fs::read_dir(dir).map_or(0, |d| d.count());
    assert_eq!(names(tmp.path()), 1, "extract wrote beside its parent");
    assert_eq!(
        names(&parent),
        usize::from(result.is_ok()),
        "{result:?} left {parent:?} changed"
    );
});
