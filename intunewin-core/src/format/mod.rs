//! Format primitives (FORMAT.md §2–§8): zip records, the outer and inner zips, Detection.xml,
//! MS-DOS times and MSI metadata. Nothing here knows about files on disk or threads.

pub mod detection;
pub mod dostime;
pub mod inner_read;
pub mod inner_write;
pub mod msi;
pub mod outer;
pub(crate) mod zipbits;
