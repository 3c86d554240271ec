//! One module per subcommand, each mapping its arguments to the library.

pub mod check;
pub mod completions;
pub mod decrypt;
pub mod diagnose;
pub mod diff;
pub mod explain;
pub mod extract;
pub mod extract_content;
pub mod info;
pub mod list;
pub mod pack;
pub mod verify;
