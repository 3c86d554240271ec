//! What a bare blob (MAC ‖ IV ‖ ciphertext, FORMAT.md §3.2) looks like from outside, so that a
//! reader can tell a user what they gave.

use crate::content::storage::ReadSeek;
use std::io::SeekFrom;

use crate::crypto::HEADER_LEN;

/// Distinct byte values the first 64 bytes of a blob (MAC ‖ IV ‖ ciphertext, all random-looking)
/// have at least: random data averages 57 and falls below 40 with negligible odds, while text,
/// executables and zips, full of zeros and letters, stay far below.
const BLOB_MIN_DISTINCT: usize = 40;

/// True when the open `file` of `len` bytes has a bare blob's shape (FORMAT.md §3.2): not a
/// zip, at least 64 bytes, a whole number of AES blocks after the 48-byte header, and a header
/// that looks random. A heuristic to tell a user what they gave, never a check of integrity.
pub(crate) fn has_blob_shape(file: &mut dyn ReadSeek, len: u64) -> bool {
    if len < 64 || !(len - HEADER_LEN as u64).is_multiple_of(16) {
        return false;
    }
    let mut head = [0u8; 64];
    if file.seek(SeekFrom::Start(0)).is_err()
        || file.read_exact(&mut head).is_err()
        || head.starts_with(b"PK")
    {
        return false;
    }
    let mut seen = [false; 256];
    for b in head {
        seen[usize::from(b)] = true;
    }
    seen.iter().filter(|s| **s).count() >= BLOB_MIN_DISTINCT
}
