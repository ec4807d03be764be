//! What the benchmark floors of the OT-based protocols count: the primitive
//! operations a session must do (base OTs, item hashes, the OKVS encoding, the
//! extension rows, both sides' decodes and output hashes). `vole-rr22-silent`'s
//! floor ([`crate::rr22::floor`]) runs them and reports these counts; `blindmatch
//! bench` prints them beside the time.

use serde::Serialize;

/// The operations one floor run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VoleWork {
    /// Base OTs (each: two fixed-base and two variable-base multiplications).
    pub base_ots: u64,
    /// Items hashed (both sides).
    pub item_hashes: u64,
    /// Items encoded into the receiver's OKVS.
    pub okvs_encoded: u64,
    /// Rows pushed through the OT extension.
    pub extension_rows: u64,
    /// OKVS decodes (both sides).
    pub okvs_decodes: u64,
    /// OPRF output hashes (both sides).
    pub output_hashes: u64,
}
