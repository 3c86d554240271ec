//! Safety: the one path classifier, the verdict every reading command gives, and `check`.

pub mod check;
pub mod paths;
pub mod verdict;
