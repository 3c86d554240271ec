//! The path classifier (FORMAT.md §12) on arbitrary names: never panics, and every name the
//! extraction gate accepts splits into components that stay inside the destination.
#![no_main]

use intunewin_core::paths::{EntryKind, PathChecker, PathRules, split_entry_name};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let name = String::from_utf8_lossy(data);
    if let Ok((components, _)) = split_entry_name(&name) {
        for c in &components {
            assert!(
                !matches!(c.as_str(), "" | "." | ".."),
                "unsafe component in {name:?}"
            );
            assert!(
                !c.contains(['/', '\\', ':', '\0']),
                "separator in component of {name:?}"
            );
        }
    }
    let mut checker = PathChecker::new(PathRules::default());
    checker.add(&name, EntryKind::File);
    checker.add_components(&name.split('/').collect::<Vec<_>>(), EntryKind::Dir);
    let _ = checker.finish();
});
