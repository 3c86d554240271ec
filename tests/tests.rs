//! The one integration-test binary: each concern is a module.

mod util;
mod explain;
mod msi;
mod corpus;
mod roundtrip;
mod layout;
mod cli_core;
mod cli_compat;
mod beyond;
mod vectors;
mod catalog;
