//! One module per subcommand, each mapping its arguments to the library.

pub mod explain;
pub mod extract;
pub mod info;
pub mod list;
pub mod pack;
pub mod verify;
