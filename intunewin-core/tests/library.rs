//! The library's integration tests, one binary (`cargo test -p intunewin-core`): each concern
//! is a module. They use the public API only; the CLI's tests run the binary (`tests/` at the
//! workspace root).

mod corpus;
mod independent;
mod layout;
mod msi;
mod read_paths;
mod roundtrip;
mod util;
mod zip64;
