//! blindmatch-net.
