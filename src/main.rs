//! The `blindmatch` command-line tool.
fn main() {}
