//! Safety: the one path classifier, the verdict every reading command gives, and `check`.

pub(crate) mod check;
pub mod paths;
pub(crate) mod verdict;
