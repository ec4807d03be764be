//! blindmatch-token: identifier normalisation, keys, keyed tokens and short customer codes.
#![doc = include_str!("../README.md")]

mod error;
mod id_type;
pub mod key;
pub mod normalize;
mod prf;
mod profile;
mod rejection;
pub mod rule;
pub mod short_code;
pub mod token;

pub use error::{Error, KeyFileProblem, RuleProblem, TokenProblem};
pub use id_type::IdType;
pub use key::{Derivation, Key, KeyFile, KeyId, KeyPurpose, key_file_exposure};
pub use normalize::email::EmailProviderRules;
pub use normalize::phone::CallingCode;
pub use profile::{Profile, ProfileDigest, unicode_case_version, unicode_version};
pub use rejection::Rejection;
pub use rule::{Rule, RuleSet};
pub use short_code::{DerivedCode, ShortCode, ShortCodeRegistry, ShortCoder};
pub use token::{Token, Tokenizer};
