//! One module per command. Each module owns its clap `Args` struct, validates it
//! into a config, and exposes `run(args) -> anyhow::Result<ExitStatus>`.

// @command-modules (keep this marker: engineers add `pub(crate) mod NAME;` below it)
pub(crate) mod audit;
pub(crate) mod bench;
pub(crate) mod demo;
pub(crate) mod identity;
pub(crate) mod key;
pub(crate) mod keygen;
pub(crate) mod matching;
pub(crate) mod merge;
pub(crate) mod normalize;
pub(crate) mod receipt;
pub(crate) mod resolve;
pub(crate) mod tokenize;
