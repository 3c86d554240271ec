//! The bottom layer, using nothing else of the crate: the one path classifier (FORMAT.md §12),
//! which errors, the inner-zip reader and every command check names against, and the chunked
//! vector it and the inner-zip reader keep their tables in.

pub(crate) mod chunked;
pub mod paths;
