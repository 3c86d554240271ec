//! The one integration-test binary: each concern is a module.

mod beyond;
mod catalog;
mod check;
mod cli_compat;
mod cli_core;
mod cli_shapes;
mod diagnose;
mod diagnose_html;
mod diagnose_redact;
mod errors;
mod explain;
mod first_hour;
mod hostile;
mod public_api;
mod readme;
mod trust;
mod util;
// The vector generator's builders (seal, inner_zip, ...) craft hostile packages here too.
#[path = "../intunewin-core/tests/vectors_gen.rs"]
mod vectors_gen;
