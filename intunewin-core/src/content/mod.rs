//! The encrypted content, MAC ‖ IV ‖ AES-256-CBC(inner zip) (FORMAT.md §3), in both directions.

pub mod crypto;
pub(crate) mod shape;
