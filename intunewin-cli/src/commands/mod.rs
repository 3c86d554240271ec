//! One module per subcommand, each mapping its arguments to the library.

pub mod explain;
