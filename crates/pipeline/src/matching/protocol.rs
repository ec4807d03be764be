//! Which PSI protocol a session runs over our prepared input: ECDH or the vole
//! protocol (`--protocol`), or in labelled mode the labelled protocol, with our
//! released values (on the side that gives) in its label table.

use blindmatch_data::{Error, FailWith, Result};
use blindmatch_net::{Mode, PreparedSet, ProtocolSetup};
use blindmatch_psi::labelled::{LabelColumn, LabelTable, LabelledSetup};
use blindmatch_psi::rr22::Rr22Setup;
use blindmatch_psi::{EcdhSetup, PsiError};

use super::config::{PartyConfig, PsiProtocol};
use super::prepare::{Prepared, row_ref};

/// The protocol for `cfg` over `prepared`'s set, which it takes (and, labelled, the
/// released values). Call once, after [`super::prepare`] and before the session.
///
/// An input with more rows for one identifier than `--max-labels-per-id` is no
/// error here: the hello says so and both sides refuse the session in the handshake,
/// each with the reason; a warning says it before we connect.
///
/// # Errors
/// The labelled protocol refused our settings (not expected after
/// [`PartyConfig::check_labels`]).
pub fn protocol_setup(
    cfg: &PartyConfig,
    prepared: &mut Prepared,
) -> Result<Box<dyn ProtocolSetup>> {
    let set = std::mem::take(&mut prepared.set);
    let (Mode::Labelled, Some(labels)) = (cfg.mode, &cfg.labels) else {
        // `PartyConfig::check_protocol` keeps the vole protocol to the modes it runs.
        return Ok(set_protocol(cfg.protocol, set));
    };
    let source = cfg.input.source.name();
    let refused = |e: PsiError| {
        match e {
        PsiError::TooManyLabelsPerId { found, max } => Error::bad_input(format!(
            "'{source}': {found} rows share one identifier, above --max-labels-per-id {max}"
        ))
        .hint("each row's values reach the partner as one output row: raise --max-labels-per-id on both sides, or de-duplicate the input"),
        other => Error::failed(format!("cannot set up the labelled session: {other}")),
    }
    };
    let setup = match prepared.released.take() {
        None => LabelledSetup::learner(set, labels.max_labels_per_id).map_err(refused)?,
        Some(released) => {
            let columns: Vec<LabelColumn> = released
                .columns
                .iter()
                .map(|name| LabelColumn {
                    name: name.clone(),
                    max_bytes: labels.max_bytes,
                })
                .collect();
            let mut table = LabelTable::new(&columns);
            let rules = prepared.rules.len();
            for (row, values) in released.all() {
                // Every rule's reference to the row carries the row's values.
                for rule in 0..rules {
                    table
                        .insert(row_ref(row, rule), values.to_vec())
                        .fail_with(|| {
                            Error::bad_input(format!(
                                "'{source}' row {row}: a released value does not fit --release-max-bytes {}",
                                labels.max_bytes
                            ))
                        })?;
                }
            }
            drop(released);
            let setup = LabelledSetup::sender(set, columns, table, labels.max_labels_per_id)
                .map_err(refused)?;
            let most = setup.most_labels_per_id();
            if most > u64::from(labels.max_labels_per_id) {
                tracing::warn!(
                    "'{source}' has up to {most} rows for one identifier, above --max-labels-per-id {}; the session will be refused in the handshake",
                    labels.max_labels_per_id
                );
            }
            setup
        }
    };
    Ok(Box::new(setup))
}

/// The intersection/cardinality protocol `protocol` over `set`: what a whole session
/// and each bucket of a bucketed one run.
pub(super) fn set_protocol(protocol: PsiProtocol, set: PreparedSet) -> Box<dyn ProtocolSetup> {
    match protocol {
        PsiProtocol::Ecdh => Box::new(EcdhSetup::new(set)),
        PsiProtocol::Vole => Box::new(Rr22Setup::new(set)),
    }
}
