//! blindmatch-data: datasets in and out, atomic output files, the raw-identifier
//! scanner, shared metadata and the error type of the pipeline crates.
#![doc = include_str!("../README.md")]

pub mod dataset;
mod error;
pub mod meta;
mod observe;
pub mod output;
pub mod scan;
pub mod text;

pub use error::{Category, Error, FailWith, Result};
pub use observe::{Observer, Silent, Warning};
