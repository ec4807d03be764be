//! blindmatch-pipeline: the pipelines behind the commands (tokenize and match), key
//! files, manifests, session receipts and TLS identity files.
#![doc = include_str!("../README.md")]

pub mod detached;
pub mod identity;
pub mod keys;
pub mod manifest;
pub mod matching;
pub mod merge;
pub mod receipt;
pub mod tokenize;

pub use tokenize::{ColumnSummary, TokenizeConfig, TokenizeSummary, tokenize};
