//! blindmatch-token.
