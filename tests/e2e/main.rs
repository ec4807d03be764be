//! End-to-end tests: the real `blindmatch` binary, run as a user would, on
//! generated data in temporary folders (and, for matching, two parties over
//! 127.0.0.1). One test binary; one module per command.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod util;
// @test-modules (keep this marker: engineers add `mod NAME;` below it)
mod audit;
mod bench;
mod bench_buckets;
mod demo;
mod identity;
mod interrupt;
mod keys;
mod labelled;
mod matching;
mod multi;
mod normalize;
mod parquet;
mod receipt;
mod resolve;
mod short_codes;
mod tokenize;
