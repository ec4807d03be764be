//! blindmatch-psi.
