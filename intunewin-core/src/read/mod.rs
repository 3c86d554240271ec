//! Reading: a package ([`package::Package`]) or a bare content blob ([`blob::Blob`]), verified,
//! listed, decrypted and extracted.

pub(crate) mod blob;
pub(crate) mod metered;
pub(crate) mod options;
pub(crate) mod package;
