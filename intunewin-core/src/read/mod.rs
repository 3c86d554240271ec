//! Reading: a package ([`package::Package`]) or a bare content blob ([`blob::Blob`]), verified,
//! listed, decrypted and extracted, and the verdict every reading command gives on the path
//! classifier's findings.

pub(crate) mod blob;
pub(crate) mod metered;
pub(crate) mod options;
pub(crate) mod package;
pub(crate) mod verdict;
