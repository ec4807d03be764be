//! The validated configuration of one party ([`PartyConfig`]): input, profile, where
//! to meet the partner, transport, mode, policy and outputs; and what the handshake
//! takes from it (session parameters, the profile string both sides compare).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use blindmatch_data::dataset::InputSpec;
use blindmatch_data::output::{check_outputs, with_suffix};
use blindmatch_data::{Error, FailWith, Result};
use blindmatch_net::{
    EventSink, Fingerprint, Identity, Learner, Mode, PeerAuth, Policy, Reveal, Role,
    SessionOptions, SessionParams, TlsSettings, Transport,
};
use blindmatch_token::{IdType, Profile, Rule, RuleSet};

use crate::identity::identity_stem;

/// Default `--min-peer-set`: a partner declaring fewer distinct identifiers is
/// refused, against probing for single customers with tiny sets.
pub const DEFAULT_MIN_PEER_SET: u64 = 100;
/// The default `--max-peer-set` is this many times our own distinct count …
pub const DEFAULT_MAX_PEER_FACTOR: u64 = 100;
/// … but at least this many (so small lists can still meet large partners) …
pub const DEFAULT_MAX_PEER_FLOOR: u64 = 1_000_000;
/// … and never more than this, which also caps an explicit `--max-peer-set`: a
/// declaration this large would cover a large share of all mainland mobile numbers.
pub const MAX_PEER_SET_CEILING: u64 = 1_000_000_000;
/// Output column with the 1-based data row of our input.
pub const ROW_COLUMN: &str = "row";
/// Output column with the shared match ID (of the first matching rule, when the
/// session has several).
pub const MATCH_ID_COLUMN: &str = "match_id";
/// Output column, sessions with several rules: the rules that matched, `;`-separated.
pub const MATCHED_RULES_COLUMN: &str = "matched_rules";
/// Output column prefix, sessions with several rules: `match_id.<rule>` holds that
/// rule's match ID (empty when it did not match).
pub const RULE_MATCH_ID_PREFIX: &str = "match_id.";
/// Prefix of the learner's output columns that hold released values (`peer.segment`).
pub const PEER_COLUMN_PREFIX: &str = "peer.";
/// Default `--release-max-bytes`.
pub const DEFAULT_RELEASE_MAX_BYTES: u32 = 64;
/// Default `--max-labels-per-id`.
pub const DEFAULT_MAX_LABELS_PER_ID: u32 = 1;
/// Most columns one side may release.
pub const MAX_RELEASED_COLUMNS: usize = 16;
/// Largest `--release-max-bytes`.
pub const MAX_RELEASE_BYTES: u32 = 1024;
/// Largest `--max-labels-per-id`.
pub const MAX_LABELS_PER_ID_CAP: u32 = 256;
/// Longest the handshake may take, whatever the read timeout says.
const MAX_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Where this side meets the partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// `--listen ADDR`.
    Listen(String),
    /// `--connect ADDR`.
    Connect(String),
}

impl Address {
    /// The protocol role: the connecting side initiates.
    pub fn role(&self) -> Role {
        match self {
            Address::Listen(_) => Role::Responder,
            Address::Connect(_) => Role::Initiator,
        }
    }

    /// `listener` or `connector`, as the receipt names this side's network role.
    pub fn network_role(&self) -> &'static str {
        match self {
            Address::Listen(_) => "listener",
            Address::Connect(_) => "connector",
        }
    }
}

/// Everything one party needs, validated.
#[derive(Debug, Clone)]
pub struct PartyConfig {
    /// Input file, identifier columns and kept columns.
    pub input: InputSpec,
    /// The matching rules in priority order, checked against the columns
    /// ([`session_rules`]).
    pub rules: RuleSet,
    /// Normalisation profile.
    pub profile: Profile,
    /// Listen or connect.
    pub address: Address,
    /// TLS settings, or the insecure plaintext transport.
    pub transport: Transport,
    /// Intersection or cardinality.
    pub mode: Mode,
    /// Who learns, from this side's point of view.
    pub learner: Learner,
    /// Smallest peer set accepted.
    pub min_peer_set: u64,
    /// Largest peer set accepted; `None`: [`default_max_peer_set`] of our own size.
    pub max_peer_set: Option<u64>,
    /// Preferred batch size.
    pub batch_size: u32,
    /// Listener's wait for the partner; connector's retry window.
    pub wait_timeout: Duration,
    /// Longest single read or write.
    pub read_timeout: Duration,
    /// Matched rows file (written only when this side learns rows).
    pub output: Option<PathBuf>,
    /// Receipt path; `None` picks the default once the session ID is known.
    pub receipt: Option<PathBuf>,
    /// The shareable receipt, the one to hand to the partner (written only when
    /// given, with the other outputs).
    pub shareable_receipt: Option<PathBuf>,
    /// Rejects file.
    pub rejects: Option<PathBuf>,
    /// `--max-reject-rate`.
    pub max_reject_rate: Option<f64>,
    /// Replace existing files.
    pub force: bool,
    /// Labelled mode: what this side releases (the side that does not learn) and
    /// the limits both sides agree; `None` in the other modes.
    pub labels: Option<LabelConfig>,
    /// Buckets, shards and resume (`--memory-limit`, `--work-dir`, `--shard`,
    /// `--resume`); `None`: one session over the whole set in memory, as labelled
    /// mode always runs.
    pub partition: Option<super::partition::PartitionConfig>,
    /// The PSI protocol for intersection and cardinality sessions (labelled mode
    /// always runs its own protocol). Both sides must choose the same.
    pub protocol: PsiProtocol,
}

/// `--protocol`: which PSI protocol a session runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PsiProtocol {
    /// ECDH over ristretto255: one group operation per item and side, the
    /// simplest assumptions, every mode.
    #[default]
    Ecdh,
    /// The silent-VOLE/OKVS protocol (`vole-rr22-silent`, RR22): much less
    /// computation and fewer bytes than ECDH at scale; intersection and cardinality
    /// mode.
    Vole,
}

impl PsiProtocol {
    /// Both, in the order the CLI lists them.
    pub const ALL: [PsiProtocol; 2] = [PsiProtocol::Ecdh, PsiProtocol::Vole];

    /// The name on the command line (`ecdh`, `vole`).
    pub fn name(self) -> &'static str {
        match self {
            PsiProtocol::Ecdh => "ecdh",
            PsiProtocol::Vole => "vole",
        }
    }

    /// The protocol of that name ([`PsiProtocol::name`]), if any.
    pub fn from_name(name: &str) -> Option<PsiProtocol> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Peak memory per bucket item under this protocol, which sizes buckets
    /// ([`PartitionConfig::bucket_capacity`](super::partition::PartitionConfig::bucket_capacity)).
    #[must_use]
    pub fn bytes_per_item(self) -> u64 {
        match self {
            PsiProtocol::Ecdh => super::partition::BYTES_PER_ITEM,
            PsiProtocol::Vole => super::partition::VOLE_BYTES_PER_ITEM,
        }
    }
}

/// Labelled mode settings of one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelConfig {
    /// Columns of our input to release for our matched rows (`--release`); empty
    /// on the side that receives labels.
    pub release: Vec<String>,
    /// Longest value of a released column, in bytes (`--release-max-bytes`).
    /// Longer values are an input error, never cut.
    pub max_bytes: u32,
    /// Most label sets (our rows) per identifier (`--max-labels-per-id`); both
    /// sides must give the same.
    pub max_labels_per_id: u32,
}

impl PartyConfig {
    /// Our protocol role.
    pub fn role(&self) -> Role {
        self.address.role()
    }

    /// Who learns, in absolute terms.
    pub fn reveal(&self) -> Reveal {
        self.learner.to_reveal(self.role())
    }

    /// Whether this side learns anything.
    pub fn learns(&self) -> bool {
        self.reveal().learns(self.role())
    }

    /// Whether this side learns which of its rows matched (and so writes -o).
    pub fn learns_rows(&self) -> bool {
        matches!(self.mode, Mode::Intersection | Mode::Labelled) && self.learns()
    }

    /// Labelled mode, the side that releases columns.
    pub fn releases(&self) -> bool {
        self.labels.as_ref().is_some_and(|l| !l.release.is_empty())
    }

    /// The identifier types the rules use (each from one column), in
    /// [`IdType::ALL`] order.
    pub fn fields(&self) -> Vec<IdType> {
        self.rules.fields()
    }

    /// The receipt path known before the session: `--receipt`, or beside `-o`.
    pub fn receipt_before_session(&self) -> Option<PathBuf> {
        self.receipt.clone().or_else(|| {
            self.output
                .as_deref()
                .map(|o| with_suffix(o, ".receipt.json"))
        })
    }

    /// The largest peer set accepted when our set holds `local_size` distinct values.
    pub fn max_peer_set(&self, local_size: u64) -> u64 {
        self.max_peer_set
            .unwrap_or_else(|| default_max_peer_set(local_size))
            .min(MAX_PEER_SET_CEILING)
    }

    /// The session parameters for the handshake, for our set of `local_size`
    /// distinct values.
    pub fn session_params(&self, local_size: u64) -> SessionParams {
        // The per-type profile string (`docs/protocol.md`, "Hello"): the one that
        // manifests and receipts also show for this identifier type.
        // With several types, one string over all of them (`Profile::types_string`).
        let mut params = SessionParams::new(
            self.mode,
            self.reveal(),
            self.rules.names(),
            self.profile.types_string(&self.fields()),
        );
        params.batch_size = self.batch_size;
        params.policy = Policy {
            min_peer_set: self.min_peer_set,
            max_peer_set: self.max_peer_set(local_size),
            ..Policy::default()
        };
        // A newer partner's identifier type is then refused by name as unsupported.
        params.supported_id_types = IdType::ALL.iter().map(|t| t.as_str().to_owned()).collect();
        params
    }

    /// Session tunables with `events` as the sink.
    pub fn session_options(&self, events: Option<EventSink>) -> SessionOptions {
        SessionOptions {
            io_timeout: self.read_timeout,
            handshake_timeout: self.read_timeout.min(MAX_HANDSHAKE_TIMEOUT),
            events,
            ..SessionOptions::default()
        }
    }

    /// Refuses outputs that exist (unless --force), collide or are the input; and a
    /// learner without -o. Runs before any work.
    ///
    /// # Errors
    /// Bad input (exit 2).
    pub fn check_outputs(&self) -> Result<()> {
        if self.learns_rows() && self.output.is_none() {
            return Err(Error::bad_input(
                "-o FILE is required: this side learns which of its rows matched",
            )
            .hint(
                "add e.g. -o matched.csv, or use --reveal peer if only the partner should learn",
            ));
        }
        let receipt = self.receipt_before_session();
        let mut outputs: Vec<(&str, &Path)> = Vec::new();
        if self.learns_rows() {
            outputs.extend(self.output.as_deref().map(|p| ("-o", p)));
        }
        outputs.extend(receipt.as_deref().map(|p| ("--receipt", p)));
        outputs.extend(
            self.shareable_receipt
                .as_deref()
                .map(|p| ("--shareable-receipt", p)),
        );
        outputs.extend(self.rejects.as_deref().map(|p| ("--rejects", p)));
        check_outputs(&self.input.source, &outputs, self.force)?;
        self.check_labels()?;
        self.check_protocol()?;
        for name in &self.input.keep {
            if name == ROW_COLUMN
                || name == MATCH_ID_COLUMN
                || (self.rules.rules().len() > 1
                    && (name == MATCHED_RULES_COLUMN || name.starts_with(RULE_MATCH_ID_PREFIX)))
            {
                return Err(Error::bad_input(format!(
                    "--keep '{name}' clashes with the output column of that name"
                ))
                .hint(format!(
                    "the matched-rows file has its own '{ROW_COLUMN}', '{MATCH_ID_COLUMN}', '{MATCHED_RULES_COLUMN}' and '{RULE_MATCH_ID_PREFIX}…' columns; rename the input column"
                )));
            }
        }
        Ok(())
    }
}

impl PartyConfig {
    /// The chosen PSI protocol runs the chosen mode: the vole protocol runs
    /// intersection and cardinality mode, not labelled mode. Runs before any work.
    ///
    /// # Errors
    /// Bad input (exit 2), in the flags' words.
    pub fn check_protocol(&self) -> Result<()> {
        if self.protocol != PsiProtocol::Vole {
            return Ok(());
        }
        match self.mode {
            Mode::Intersection | Mode::Cardinality => Ok(()),
            Mode::Labelled => Err(Error::bad_input("--protocol vole with --mode labelled")
                .hint("labelled mode runs its own ECDH-based protocol: drop --protocol vole (or give --protocol ecdh) on both sides")),
        }
    }

    /// Labelled mode: one learner, the other side releases columns it holds, within
    /// the limits. Runs before any work.
    ///
    /// # Errors
    /// Bad input (exit 2), in the flags' words.
    pub fn check_labels(&self) -> Result<()> {
        let labelled = self.mode == Mode::Labelled;
        let Some(labels) = &self.labels else {
            if labelled {
                return Err(Error::bad_input("--mode labelled needs its label settings"));
            }
            return Ok(());
        };
        if !labelled {
            return Err(
                Error::bad_input("--release and --max-labels-per-id need --mode labelled")
                    .hint("add --mode labelled on both sides, or drop the label options"),
            );
        }
        if self.reveal() == Reveal::Both {
            return Err(Error::bad_input("--mode labelled with --reveal both")
                .hint("in labelled mode only the side receiving labels learns: --reveal me there, --reveal peer on the side that releases columns"));
        }
        let releases = !labels.release.is_empty();
        if self.learns() && releases {
            return Err(Error::bad_input("--release on the side that receives labels")
                .hint("a column is released by the side that holds it: give --release on the partner's side (the one with --reveal peer)"));
        }
        if !self.learns() && !releases {
            return Err(Error::bad_input(
                "--mode labelled --reveal peer needs --release COLUMN[,COLUMN…]",
            )
            .hint("name the columns of your input the partner receives for its matched rows"));
        }
        if labels.release.len() > MAX_RELEASED_COLUMNS {
            return Err(Error::bad_input(format!(
                "--release names {} columns, at most {MAX_RELEASED_COLUMNS} may be released",
                labels.release.len()
            )));
        }
        for (i, name) in labels.release.iter().enumerate() {
            if labels.release.iter().skip(i + 1).any(|n| n == name) {
                return Err(Error::bad_input(format!("--release names '{name}' twice")));
            }
            let valid = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !valid {
                return Err(Error::bad_input(format!(
                    "--release '{name}' is not a column name the partner can receive"
                ))
                .hint("released column names are 1 to 64 characters of A-Z, a-z, 0-9, '_', '.' and '-'; rename the column"));
            }
            if let Some(c) = self.input.columns.iter().find(|c| &c.name == name) {
                return Err(Error::bad_input(format!(
                    "--release '{name}' is the identifier column {}:{}",
                    c.name, c.id_type
                ))
                .hint("release attributes, not the identifier a session matches on"));
            }
        }
        if labels.max_bytes == 0 || labels.max_bytes > MAX_RELEASE_BYTES {
            return Err(Error::bad_input(format!(
                "--release-max-bytes {} is outside 1 to {MAX_RELEASE_BYTES}",
                labels.max_bytes
            )));
        }
        if labels.max_labels_per_id == 0 || labels.max_labels_per_id > MAX_LABELS_PER_ID_CAP {
            return Err(Error::bad_input(format!(
                "--max-labels-per-id {} is outside 1 to {MAX_LABELS_PER_ID_CAP}",
                labels.max_labels_per_id
            )));
        }
        if let Some(name) = self
            .input
            .keep
            .iter()
            .find(|k| k.starts_with(PEER_COLUMN_PREFIX))
            .filter(|_| self.learns())
        {
            return Err(Error::bad_input(format!(
                "--keep '{name}' clashes with the released columns, which the output names {PEER_COLUMN_PREFIX}COLUMN"
            ))
            .hint("rename the input column"));
        }
        Ok(())
    }
}

/// The rules of a session over `input`: the `--rule` values in the order given, or
/// without any, one rule per `--column` in the order given. Checked against the
/// columns: each identifier type comes from one column, every field of every rule
/// has its column, and every column serves some rule.
///
/// # Errors
/// Bad input (exit 2) naming the rule, field or columns.
pub fn session_rules(input: &InputSpec, rules: &[String]) -> Result<RuleSet> {
    let columns = &input.columns;
    for (i, a) in columns.iter().enumerate() {
        if let Some(b) = columns.iter().skip(i + 1).find(|b| b.id_type == a.id_type) {
            return Err(Error::bad_input(format!(
                "columns '{}' and '{}' are both of type {}",
                a.name, b.name, a.id_type
            ))
            .hint("a session takes each identifier type from one column; drop one, or match them in two sessions"));
        }
    }
    let set = if rules.is_empty() {
        RuleSet::new(columns.iter().map(|c| Rule::single(c.id_type)).collect())
    } else {
        RuleSet::parse(rules)
    }
    .fail_with(|| {
        Error::bad_input("invalid --rule").hint(format!(
            "a rule is one identifier type or several joined by '+', e.g. --rule phone --rule name+company; types: {}",
            IdType::VALID_NAMES
        ))
    })?;
    for rule in set.rules() {
        if let Some(missing) = rule
            .fields()
            .iter()
            .find(|f| !columns.iter().any(|c| c.id_type == **f))
        {
            return Err(Error::bad_input(format!(
                "--rule {rule} needs a column of type {missing}, and no --column has it"
            ))
            .hint(format!(
                "add --column NAME:{missing} for the input column that holds it"
            )));
        }
    }
    let fields = set.fields();
    if let Some(unused) = columns.iter().find(|c| !fields.contains(&c.id_type)) {
        return Err(Error::bad_input(format!(
            "--column {}:{} is in no --rule",
            unused.name, unused.id_type
        ))
        .hint(format!(
            "add a rule that uses {} (e.g. --rule {}), or drop the column",
            unused.id_type, unused.id_type
        )));
    }
    Ok(set)
}

/// The default largest peer set for our set of `local_size` distinct values:
/// [`DEFAULT_MAX_PEER_FACTOR`] times it, at least [`DEFAULT_MAX_PEER_FLOOR`], at most
/// [`MAX_PEER_SET_CEILING`].
pub fn default_max_peer_set(local_size: u64) -> u64 {
    local_size
        .saturating_mul(DEFAULT_MAX_PEER_FACTOR)
        .clamp(DEFAULT_MAX_PEER_FLOOR, MAX_PEER_SET_CEILING)
}

/// The profile as the handshake compares it, in two parts: the name restricted to
/// options that matter for `id_type` ([`Profile::type_name`]), and the per-type
/// digest in hex. Partners matching phones need not agree on e-mail rules. The
/// hello carries them joined, as [`Profile::type_string`].
pub fn profile_for_type(profile: &Profile, id_type: IdType) -> (String, String) {
    (
        profile.type_name(id_type),
        profile.type_digest(id_type).to_hex(),
    )
}

/// Loads our identity and how we check the partner.
///
/// # Errors
/// Bad input (exit 2) with a hint naming the fix.
pub fn load_transport(
    identity: Option<&Path>,
    peer_fingerprint: Option<&str>,
    peer_ca: Option<&Path>,
    peer_name: Option<String>,
) -> Result<Transport> {
    let Some(identity) = identity else {
        return Err(Error::bad_input("--identity NAME is required for TLS")
            .hint("create one with `blindmatch identity new -o NAME` and send the partner its fingerprint"));
    };
    let stem = identity_stem(identity);
    let identity = Identity::load(&stem).fail_with(|| {
        Error::bad_input(format!("cannot load identity '{}'", stem.display())).hint(format!(
            "expected {0}.key and {0}.crt from `blindmatch identity new -o {0}`",
            stem.display()
        ))
    })?;
    let peer = match (peer_fingerprint, peer_ca) {
        (Some(fp), None) => PeerAuth::Fingerprint(Fingerprint::from_str(fp).fail_with(|| {
            Error::bad_input(format!("--peer-fingerprint '{fp}' is not a certificate fingerprint"))
                .hint("copy it from the partner's `blindmatch identity show NAME`: sha256: followed by 64 hex digits")
        })?),
        (None, Some(ca)) => PeerAuth::ca_file(ca, peer_name).fail_with(|| {
            Error::bad_input(format!("cannot use --peer-ca '{}'", ca.display()))
                .hint("give a PEM file with the CA certificate(s) that issued the partner's certificate")
        })?,
        _ => {
            return Err(Error::bad_input(
                "name the partner: --peer-fingerprint FINGERPRINT or --peer-ca FILE",
            )
            .hint("the partner prints its fingerprint with `blindmatch identity show NAME`"));
        }
    };
    if let PeerAuth::Fingerprint(fp) = &peer
        && fp.ct_eq(&identity.fingerprint())
    {
        tracing::warn!("--peer-fingerprint is our own certificate's fingerprint");
    }
    Ok(Transport::Tls(TlsSettings {
        identity: Arc::new(identity),
        peer,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use blindmatch_token::EmailProviderRules;

    use super::*;

    #[test]
    fn the_default_peer_maximum_follows_our_size_within_bounds() {
        assert_eq!(default_max_peer_set(0), DEFAULT_MAX_PEER_FLOOR);
        assert_eq!(default_max_peer_set(5_000), DEFAULT_MAX_PEER_FLOOR);
        assert_eq!(default_max_peer_set(50_000), 5_000_000);
        assert_eq!(default_max_peer_set(u64::MAX), MAX_PEER_SET_CEILING);
    }

    #[test]
    fn handshake_profile_ignores_other_types_options() {
        let plain = Profile::standard();
        let gmail = Profile::standard().with_email_provider_rules(EmailProviderRules::Gmail);
        let region = Profile::standard().with_phone_default_region(Some("86".parse().unwrap()));
        // Phone matching does not care about e-mail rules …
        assert_eq!(
            profile_for_type(&plain, IdType::Phone),
            profile_for_type(&gmail, IdType::Phone)
        );
        // … but does about the default phone region, and names it.
        let (name, digest) = profile_for_type(&region, IdType::Phone);
        assert_eq!(name, "bm-std-v1,phone-region=86");
        assert_ne!(digest, profile_for_type(&plain, IdType::Phone).1);
        assert_ne!(
            profile_for_type(&plain, IdType::Email),
            profile_for_type(&gmail, IdType::Email)
        );
    }

    #[test]
    fn the_hello_carries_the_per_type_profile_string() {
        let profile = Profile::standard()
            .with_phone_default_region(Some("86".parse().unwrap()))
            .with_email_provider_rules(EmailProviderRules::Gmail);
        let input =
            InputSpec::parse(Path::new("in.csv"), &["p:phone".to_owned()], &[], ",").unwrap();
        let config = PartyConfig {
            rules: session_rules(&input, &[]).unwrap(),
            input,
            profile: profile.clone(),
            address: Address::Connect("127.0.0.1:1".into()),
            transport: Transport::InsecurePlaintextForTesting,
            mode: Mode::Intersection,
            learner: Learner::Both,
            min_peer_set: DEFAULT_MIN_PEER_SET,
            max_peer_set: None,
            batch_size: 4096,
            wait_timeout: Duration::from_secs(1),
            read_timeout: Duration::from_secs(1),
            output: None,
            receipt: None,
            shareable_receipt: None,
            rejects: None,
            max_reject_rate: None,
            force: false,
            labels: None,
            partition: None,
            protocol: PsiProtocol::Ecdh,
        };
        let (name, digest) = profile_for_type(&profile, IdType::Phone);
        let hello = config.session_params(1000).profile;
        assert_eq!(hello, format!("{name};sha256={digest}"));
        assert_eq!(hello, profile.type_string(IdType::Phone));
        assert!(
            hello.starts_with("bm-std-v1,phone-region=86;sha256="),
            "{hello}"
        );
        // The vole protocol runs intersection and cardinality mode.
        let mut vole = config;
        vole.protocol = PsiProtocol::Vole;
        assert!(vole.check_protocol().is_ok());
        vole.mode = Mode::Cardinality;
        assert!(vole.check_protocol().is_ok());
        vole.mode = Mode::Labelled;
        let err = vole.check_protocol().unwrap_err().to_string();
        assert!(
            err.contains("--protocol vole with --mode labelled"),
            "{err}"
        );
        vole.protocol = PsiProtocol::Ecdh;
        assert!(vole.check_protocol().is_ok());
        for protocol in PsiProtocol::ALL {
            assert_eq!(PsiProtocol::from_name(protocol.name()), Some(protocol));
        }
        assert_eq!(PsiProtocol::from_name("ECDH"), None);
    }
}
