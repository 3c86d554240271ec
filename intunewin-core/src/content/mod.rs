//! The encrypted content, MAC ‖ IV ‖ AES-256-CBC(inner zip) (FORMAT.md §3), in both directions:
//! [`seal::ContentWriter`] seals it (pack); its storage is a range of a file or bytes in memory, which
//! the reader in `read/` authenticates, decrypts and parses.

pub mod crypto;
pub(crate) mod seal;
pub(crate) mod shape;
pub(crate) mod storage;

pub use seal::{SealedContent, seal_bytes};
