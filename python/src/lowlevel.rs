//! The transport-free API: one side of a PSI session whose messages the caller
//! carries as bytes over its own channel (`blindmatch_pipeline::detached` over
//! the sans-IO ECDH protocol of `blindmatch-psi`).

use std::sync::Mutex;

use arrow_data::ArrayData;
use arrow_pyarrow::PyArrowType;
use blindmatch_data::Error;
use blindmatch_data::dataset::{Cell, normalize_cell};
use blindmatch_pipeline::detached::{DetachedOptions, DetachedParty};
use blindmatch_pipeline::matching::{DEFAULT_MIN_PEER_SET, default_max_peer_set};
use blindmatch_psi::{EcdhSetup, MatchResult, Mode, PreparedSet, Reveal, Role};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::column::{Strings, id_type, profile};
use crate::errors::{IntoPy, bad_input, to_py};

/// One side of a transport-free session.
#[pyclass(module = "blindmatch._native")]
pub(crate) struct NativeParty {
    inner: Mutex<DetachedParty>,
    rejected: Vec<usize>,
    values: u64,
}

fn locked(party: &Mutex<DetachedParty>) -> PyResult<std::sync::MutexGuard<'_, DetachedParty>> {
    party
        .lock()
        .map_err(|_| to_py(Error::failed("the party failed in an earlier call")))
}

#[pymethods]
impl NativeParty {
    /// Normalises `array` as `id_type` (rejects are left out and listed) and
    /// prepares the set.
    #[new]
    #[pyo3(signature = (array, id_type, role, mode="intersection", reveal="both", profile=None, min_peer_set=DEFAULT_MIN_PEER_SET, max_peer_set=None, batch_size=blindmatch_psi::DEFAULT_BATCH_SIZE))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        array: Vec<PyArrowType<ArrayData>>,
        id_type: &str,
        role: &str,
        mode: &str,
        reveal: &str,
        profile: Option<&str>,
        min_peer_set: u64,
        max_peer_set: Option<u64>,
        batch_size: u32,
    ) -> PyResult<Self> {
        let id_type = self::id_type(id_type)?;
        let profile = self::profile(profile)?;
        let strings = Strings::new(array, "the values")?;
        let role = match role {
            "initiator" | "client" => Role::Initiator,
            "responder" | "server" => Role::Responder,
            other => {
                return Err(bad_input(
                    format!("unknown role '{other}'"),
                    Some("use 'initiator' (the client) or 'responder' (the server)"),
                ));
            }
        };
        let mode = match Mode::from_name(mode) {
            Some(m @ (Mode::Intersection | Mode::Cardinality)) => m,
            _ => {
                return Err(bad_input(
                    format!("mode '{mode}' is not available here"),
                    Some("use 'intersection' or 'cardinality'; labelled mode runs through match()"),
                ));
            }
        };
        let reveal = match reveal {
            "initiator" | "client" => Reveal::Initiator,
            "responder" | "server" => Reveal::Responder,
            "both" => Reveal::Both,
            other => {
                return Err(bad_input(
                    format!("unknown reveal '{other}'"),
                    Some("use 'initiator', 'responder' or 'both'"),
                ));
            }
        };
        let nonce: [u8; 32] = rand::random();
        let (party, rejected, values) = py
            .detach(|| {
                let mut set = PreparedSet::with_capacity(strings.len());
                let mut rejected = Vec::new();
                let mut value = String::new();
                let mut values = 0u64;
                for row in 0..strings.len() {
                    let outcome = match strings.get(row) {
                        Some(cell) => normalize_cell(&profile, id_type, cell, &mut value),
                        None => Cell::Empty,
                    };
                    match outcome {
                        Cell::Value => {
                            values += 1;
                            set.push(id_type.as_str(), value.as_bytes(), row as u64)
                                .map_err(|e| {
                                    Error::bad_input("cannot add a value to the set").caused_by(e)
                                })?;
                        }
                        Cell::Empty => {}
                        Cell::Rejected(_) => rejected.push(row),
                    }
                }
                let max = max_peer_set.unwrap_or_else(|| default_max_peer_set(set.declared_size()));
                let options = DetachedOptions {
                    role,
                    mode,
                    reveal,
                    batch_size,
                    min_peer_set,
                    max_peer_set: max,
                };
                let party = DetachedParty::new(Box::new(EcdhSetup::new(set)), options, nonce)?;
                Ok::<_, Error>((party, rejected, values))
            })
            .py_err()?;
        Ok(NativeParty {
            inner: Mutex::new(party),
            rejected,
            values,
        })
    }

    /// Rows (0-based) whose value the normaliser rejected: never sent.
    #[getter]
    fn rejected_rows(&self) -> Vec<usize> {
        self.rejected.clone()
    }

    /// Values in the set (before de-duplication).
    #[getter]
    fn value_count(&self) -> u64 {
        self.values
    }

    /// Our hello, to send first.
    fn hello<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let party = locked(&self.inner)?;
        Ok(PyBytes::new(py, party.hello()))
    }

    /// Takes the peer's hello and starts the protocol.
    fn start(&self, py: Python<'_>, peer_hello: Vec<u8>) -> PyResult<()> {
        py.detach(|| {
            let mut party = self
                .inner
                .lock()
                .map_err(|_| Error::failed("the party failed in an earlier call"))?;
            party.start(&peer_hello)
        })
        .py_err()
    }

    /// The session ID both sides derive, once started.
    #[getter]
    fn session_id(&self) -> PyResult<Option<String>> {
        Ok(locked(&self.inner)?.session_id().map(str::to_owned))
    }

    /// Every message ready to send now, in order.
    fn outgoing<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let messages = py.detach(|| {
            self.inner
                .lock()
                .map(|mut p| p.outgoing())
                .unwrap_or_default()
        });
        Ok(messages.iter().map(|m| PyBytes::new(py, m)).collect())
    }

    /// Takes one message from the peer.
    fn handle(&self, py: Python<'_>, message: Vec<u8>) -> PyResult<()> {
        py.detach(|| {
            let mut party = self
                .inner
                .lock()
                .map_err(|_| Error::failed("the party failed in an earlier call"))?;
            party.handle(&message)
        })
        .py_err()
    }

    /// Whether everything has been sent and received.
    #[getter]
    fn is_finished(&self) -> PyResult<bool> {
        Ok(locked(&self.inner)?.is_finished())
    }

    /// Ends the session: a dict with `matched` (distinct shared values, or None
    /// when this side does not learn), `rows` (our matched rows, 0-based),
    /// `match_ids` (hex, one per row), `local_size` and `peer_size`.
    fn finish<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let outcome = py
            .detach(|| {
                let mut party = self
                    .inner
                    .lock()
                    .map_err(|_| Error::failed("the party failed in an earlier call"))?;
                party.finish()
            })
            .py_err()?;
        let dict = PyDict::new(py);
        dict.set_item("matched", outcome.matched_count())?;
        let (rows, ids): (Vec<u64>, Vec<String>) = match &outcome.result {
            MatchResult::Intersection { matches, .. } => matches
                .iter()
                .map(|m| (m.row, m.match_id.to_string()))
                .unzip(),
            _ => (Vec::new(), Vec::new()),
        };
        dict.set_item("rows", rows)?;
        dict.set_item("match_ids", ids)?;
        dict.set_item("local_size", outcome.local_count)?;
        dict.set_item("peer_size", outcome.peer_count)?;
        Ok(dict)
    }
}
