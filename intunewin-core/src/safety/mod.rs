//! `check`: what is wrong with a source folder or a package before it is packed, uploaded or
//! installed. The path classifier it runs is in `base`, the verdict reading gives in `read`.

pub(crate) mod check;
