//! Reading: a package ([`package::Package`]) or a bare content blob ([`blob::Blob`]), verified,
//! listed, decrypted and extracted through the one content reader ([`reader`]: every check of
//! MAC ‖ IV ‖ ciphertext, made once), and the verdict every reading command gives on the path
//! classifier's findings.

pub(crate) mod blob;
pub(crate) mod metered;
pub(crate) mod options;
pub(crate) mod package;
pub(crate) mod reader;
pub(crate) mod verdict;
