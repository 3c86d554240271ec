//! The one integration-test binary: each concern is a module.

mod beyond;
mod catalog;
mod check;
mod cli_compat;
mod cli_core;
mod corpus;
mod diagnose;
mod errors;
mod explain;
mod first_hour;
mod hostile;
mod independent;
mod layout;
mod msi;
mod read_paths;
mod readme;
mod roundtrip;
mod trust;
mod util;
mod vectors;
mod vectors_gen;
mod zip64;
