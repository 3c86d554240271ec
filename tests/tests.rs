//! The one integration-test binary: each concern is a module.

mod util;
mod explain;
mod msi;
mod corpus;
