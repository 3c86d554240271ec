//! The CMTrace record reader on arbitrary bytes: never panics; one record per `<![LOG[` in the
//! input; records in order, inside the input; the same records whatever the buffer size.
#![no_main]

use std::io::BufReader;

use intunewin_core::ime::RecordReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A small limit so that truncation is explored too.
    let whole: Vec<_> = RecordReader::with_limit(data, 64)
        .map(|r| r.expect("reading a slice cannot fail"))
        .collect();
    let starts = data.windows(7).filter(|w| *w == b"<![LOG[").count();
    assert_eq!(whole.len(), starts);
    let mut end = 0;
    for record in &whole {
        assert!(record.offset >= end, "records overlap");
        end = record.offset + record.len;
        assert!(end <= data.len() as u64, "record past the end");
        assert!(record.message.len() <= 64 * 3, "limit not kept");
        assert_eq!(record.truncated, record.message_len > 64);
    }
    let bytewise: Vec<_> = RecordReader::with_limit(BufReader::with_capacity(1, data), 64)
        .map(|r| r.expect("reading a slice cannot fail"))
        .collect();
    assert_eq!(whole, bytewise);
});
