//! `blindmatch keygen`: a new random 256-bit key in a versioned key file, mode 0600,
//! never overwriting an existing file. Prints the key ID, never the key.

use std::path::PathBuf;

use blindmatch_pipeline::keys;
use blindmatch_token::KeyPurpose;
use clap::Args as ClapArgs;

use crate::error::ExitStatus;
use crate::progress::Terminal;

/// Generate a new random key file (mode 0600); prints its key ID, never the key.
///
/// The key is 256 bits from the operating system's random number generator, written
/// in a versioned key file (header, key ID, creation time, algorithm, purpose).
/// Existing files are never overwritten. Keep the master key offline and derive one key per partner and purpose with
/// `blindmatch key derive`.
#[derive(Debug, ClapArgs)]
pub(crate) struct Args {
    /// Where to write the key file.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,

    /// What the key is for: master (derive other keys from it; given to tokenize,
    /// it makes tokens with its derived token key), token or short-code.
    #[arg(long, value_name = "PURPOSE", default_value = "master")]
    purpose: KeyPurpose,
}

/// Runs `blindmatch keygen`.
///
/// # Errors
/// The output exists or cannot be written (exit 2); no randomness (exit 1).
pub(crate) fn run(args: Args) -> anyhow::Result<ExitStatus> {
    let file = keys::generate(&args.output, args.purpose, &Terminal::default())?;
    tracing::info!(path = %args.output.display(), key_id = %file.key_id(), "key file written");
    println!(
        "created {} (key ID {}, purpose {}, mode 0600)",
        args.output.display(),
        file.key_id(),
        file.purpose()
    );
    Ok(ExitStatus::Success)
}
