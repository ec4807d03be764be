//! The session's hash-to-group functions, one per identifier type of our set.

use crate::PsiError;
use crate::ecdh::hash::IdentifierHasher;

/// The session's hash-to-group function per identifier type of our set.
pub(super) struct Hashers(pub(super) Vec<IdentifierHasher>);

/// An index into [`Hashers`] that [`Hashers::check`] found in range: an item's hasher
/// is resolved once, when the party is built, and can never be missing later.
#[derive(Clone, Copy)]
pub(super) struct HasherRef(usize);

impl Hashers {
    /// Resolves the type index of a prepared-set key.
    pub(super) fn check(&self, type_index: u16) -> Result<HasherRef, PsiError> {
        let i = usize::from(type_index);
        if i < self.0.len() {
            Ok(HasherRef(i))
        } else {
            Err(PsiError::InvalidIdentifierType {
                reason: "an item names an identifier type the set does not hold",
            })
        }
    }

    /// The hasher of a checked index.
    pub(super) fn get(&self, r: HasherRef) -> &IdentifierHasher {
        // In range by construction: `HasherRef`s come only from `check` on this set,
        // which is never shrunk.
        &self.0[r.0]
    }
}
