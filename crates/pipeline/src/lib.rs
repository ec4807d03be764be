//! blindmatch-pipeline: the pipelines behind the commands (tokenize today, match
//! next), key files, manifests, session receipts and TLS identity files.
#![doc = include_str!("../README.md")]

pub mod identity;
pub mod keys;
pub mod manifest;
pub mod receipt;
pub mod tokenize;

pub use tokenize::{ColumnSummary, TokenizeConfig, TokenizeSummary, tokenize};
