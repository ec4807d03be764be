//! What each column of a token file is declared to be, by its manifest: the
//! shared vocabulary of the manifest reader and the token-file reader.

use blindmatch_token::{IdType, KeyId};
use serde::Serialize;

/// What a column of a token file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Role {
    /// Tokens under the (current) key.
    Token,
    /// Tokens under the previous key (`--previous-key`).
    PreviousToken,
    /// Short customer codes.
    ShortCode,
    /// A column copied unchanged (`--keep`).
    Kept,
    /// In the file but not in the manifest.
    Undeclared,
    /// No manifest, and most of its cells are not tokens.
    Other,
}

impl Role {
    pub(crate) fn is_token(self) -> bool {
        matches!(self, Role::Token | Role::PreviousToken)
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Role::Token => "token",
            Role::PreviousToken => "token (prev)",
            Role::ShortCode => "short code",
            Role::Kept => "kept",
            Role::Undeclared => "UNDECLARED",
            Role::Other => "other",
        }
    }
}

/// What the audit expects of one column before reading it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ColumnPlan {
    /// The role, when declared.
    pub(crate) role: Role,
    /// The key ID its tokens must carry, when known.
    pub(crate) key_id: Option<KeyId>,
    /// The identifier type its tokens were made from, when declared.
    pub(crate) id_type: Option<IdType>,
}

impl ColumnPlan {
    /// A plan.
    pub(crate) fn new(role: Role, key_id: Option<KeyId>, id_type: Option<IdType>) -> Self {
        ColumnPlan {
            role,
            key_id,
            id_type,
        }
    }
}
