//! The streaming inner zip reader (FORMAT.md §6.3, §7 step 8) on arbitrary plaintext, with a
//! visitor that reads every entry's data as `list` and `extract` do.
#![no_main]

use std::io::{self, Read};
use std::path::Path;

use intunewin_core::__private::inner_read::{EntryVisitor, read_inner_zip};
use intunewin_core::{EntryInfo, Limits};
use libfuzzer_sys::fuzz_target;

struct ReadAll;

impl EntryVisitor for ReadAll {
    fn entry(&mut self, _info: &EntryInfo, data: &mut dyn Read) -> intunewin_core::Result<()> {
        let _ = io::copy(data, &mut io::sink());
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = read_inner_zip(data, &Limits::default(), Path::new("fuzz"), &mut ReadAll);
});
