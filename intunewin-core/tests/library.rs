//! The library's integration tests, one binary (`cargo test -p intunewin-core`): each concern
//! is a module. They call the library as another crate would; the CLI's tests, which run the
//! binary, are the workspace's `tests/` (the CLI's `integration` binary).

mod corpus;
mod independent;
mod layout;
mod msi;
mod read_paths;
mod roundtrip;
mod util;
mod vectors;
mod vectors_gen;
mod zip64;
