//! Files on disk: reading exactly the file that was checked, positional reads, reading ahead on
//! a thread, canonical paths, the source walk and finding the setup file in it, and writing
//! outputs so that nothing partial is left and nothing the user had is lost.

pub(crate) mod canonical;
pub(crate) mod identity;
pub(crate) mod landing;
pub(crate) mod output;
pub(crate) mod range;
pub(crate) mod readahead;
pub(crate) mod setup;
pub(crate) mod source;
pub(crate) mod staging;
pub(crate) mod writers;
