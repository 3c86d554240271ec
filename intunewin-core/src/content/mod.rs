//! The encrypted content, MAC ‖ IV ‖ AES-256-CBC(inner zip) (FORMAT.md §3), in both directions:
//! [`ContentWriter`] seals it (pack), the crate's reader authenticates, decrypts and parses it
//! (a package's content entry or a bare blob, from a file or from memory).

pub mod crypto;
pub(crate) mod reader;
pub(crate) mod seal;
pub(crate) mod shape;
pub(crate) mod source;

pub use reader::BlobKeys;
pub use seal::{ContentWriter, SealedContent, seal_bytes};
