//! A failed session as the user should read it: one line naming what happened, the
//! category (refused, bad settings, failed) and a hint chosen by the typed error, in
//! the words of the command's flags.

use blindmatch_data::{Category, Error};
use blindmatch_net::{AbortCode, Mode, NetError};

use super::config::{Address, PartyConfig};

/// Turns a session error into a one-line failure with a hint and the exit code:
/// 3 for refusals (ours or the partner's), 2 for our own bad settings, 1 otherwise.
pub fn session_failure(error: NetError, cfg: &PartyConfig) -> Error {
    let status = if error.is_refusal() {
        Category::CheckFailed
    } else if error.is_bad_input() {
        Category::BadInput
    } else {
        Category::Failed
    };
    let partner = match &cfg.address {
        Address::Connect(a) => format!("the partner at {a}"),
        Address::Listen(_) => "the partner".to_owned(),
    };
    let (message, hint) = match &error {
        NetError::PeerAborted {
            code: code @ AbortCode::Cancelled,
            reason,
        } => (
            format!("the session was cancelled by the partner, saying: \"{reason}\" [{code}]"),
            abort_hint(*code),
        ),
        NetError::PeerAborted { code, reason } => (
            format!("the partner aborted the session, saying: \"{reason}\" [{code}]"),
            abort_hint(*code),
        ),
        _ if error.is_refusal() => (
            format!("session refused: {error}"),
            refusal_hint(&error, &partner, cfg.mode),
        ),
        _ => (
            format!("session failed: {}", full_text(&error)),
            failure_hint(&error, cfg, &partner),
        ),
    };
    let mut failure = Error::new(status, message);
    if let Some(hint) = hint {
        failure = failure.hint(hint);
    }
    failure
}

/// An error and its causes on one line, `a: b: c`.
pub fn full_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        out.push_str(": ");
        out.push_str(&e.to_string());
        next = e.source();
    }
    out
}

fn refusal_hint(error: &NetError, partner: &str, mode: Mode) -> Option<String> {
    Some(match error {
        NetError::PeerFingerprintMismatch { .. } => format!(
            "{partner} is not the certificate you pinned: compare --peer-fingerprint with the partner's `blindmatch identity show NAME`"
        ),
        NetError::PeerCertificateUntrusted { .. } => {
            "check --peer-ca (and --peer-name) against the partner's certificate".to_owned()
        }
        NetError::PeerRefusedTls { .. } => {
            "the partner does not accept our certificate: send it our fingerprint (`blindmatch identity show NAME`) for its --peer-fingerprint".to_owned()
        }
        NetError::ModeMismatch { .. } | NetError::ModeNotAllowed { .. } => {
            "agree with the partner on --mode".to_owned()
        }
        NetError::RevealMismatch { .. } => {
            "agree on who learns: --reveal me on one side goes with --reveal peer on the other, or both use --reveal both".to_owned()
        }
        NetError::IdTypeMismatch { .. } => {
            "both sides must match on the same identifier types and rules, in the same order (--column NAME:TYPE, --rule)".to_owned()
        }
        NetError::ProfileMismatch { .. } => {
            "both sides must normalise alike: the same --profile, --phone-region and --email-rules, and compatible blindmatch versions".to_owned()
        }
        NetError::PeerSetTooSmall { .. } => {
            "the partner's input has fewer distinct identifiers than our --min-peer-set; lower it only if such a small partner set is expected".to_owned()
        }
        NetError::PeerSetTooLarge { .. } => {
            "the partner's input has more distinct identifiers than our --max-peer-set allows; raise it only if such a large partner set is expected".to_owned()
        }
        NetError::ProtocolParamsMismatch { .. } if mode == Mode::Labelled => {
            "in labelled mode both sides give the same --max-labels-per-id, at least the most rows one identifier has on the releasing side (each row's values reach the learner as one output row; or de-duplicate that input), and only the releasing side (--reveal peer) names --release columns".to_owned()
        }
        NetError::VersionMismatch { .. }
        | NetError::SizeLimit { .. }
        | NetError::Unsupported { .. }
        | NetError::ProtocolParamsMismatch { .. } => {
            "both sides need compatible blindmatch versions; upgrade the older side".to_owned()
        }
        NetError::RoleConflict { .. } => {
            "one side must --listen and the other --connect".to_owned()
        }
        NetError::PeerSpeaksPlaintext => format!(
            "{partner} runs --insecure-plaintext-for-testing: both sides must use TLS (--identity and --peer-fingerprint), or both the test transport"
        ),
        NetError::PeerSpeaksTls => format!(
            "{partner} uses TLS: give --identity and --peer-fingerprint instead of --insecure-plaintext-for-testing"
        ),
        _ => return None,
    })
}

fn abort_hint(code: AbortCode) -> Option<String> {
    Some(
        match code {
            AbortCode::ModeMismatch | AbortCode::ModeNotAllowed => {
                "agree with the partner on --mode"
            }
            AbortCode::RevealMismatch => {
                "agree on who learns: --reveal me on one side goes with --reveal peer on the other, or both use --reveal both"
            }
            AbortCode::IdTypeMismatch => {
                "both sides must match on the same identifier types and rules, in the same order (--column NAME:TYPE, --rule)"
            }
            AbortCode::ProfileMismatch => {
                "both sides must normalise alike: the same --profile, --phone-region and --email-rules"
            }
            AbortCode::PeerSetTooSmall => {
                "our input has fewer distinct identifiers than the partner's --min-peer-set; it must lower it, or we must bring more rows"
            }
            AbortCode::PeerSetTooLarge => {
                "our input has more distinct identifiers than the partner's --max-peer-set allows; it must raise it, or we must split our input"
            }
            AbortCode::VersionMismatch | AbortCode::SizeLimit | AbortCode::Unsupported => {
                "both sides need compatible blindmatch versions; upgrade the older side"
            }
            AbortCode::RoleConflict => "one side must --listen and the other --connect",
            AbortCode::Timeout => {
                "the partner timed out waiting for us; check the network and --read-timeout on both sides"
            }
            AbortCode::Cancelled => {
                "the partner stopped its side (Ctrl-C or a stop signal); nothing was written here: run the match again when both sides are ready"
            }
            _ => "see the partner's output for details",
        }
        .to_owned(),
    )
}

fn failure_hint(error: &NetError, cfg: &PartyConfig, partner: &str) -> Option<String> {
    Some(match error {
        NetError::WaitTimeout { .. } => {
            "start the partner with `blindmatch match --connect ADDR …` (check that it pins our fingerprint), or raise --wait-timeout".to_owned()
        }
        NetError::Io { .. } if matches!(cfg.address, Address::Connect(_)) => format!(
            "check that {partner} is listening (`blindmatch match --listen …`) and reachable, or raise --wait-timeout"
        ),
        NetError::Timeout { .. } => format!(
            "{partner} stopped responding: check that it is running and the network, or raise --read-timeout"
        ),
        NetError::PeerDisconnected { .. } | NetError::Stream { .. } => format!(
            "{partner} closed the connection: see its output; nothing was written here"
        ),
        NetError::Tls { .. } => format!(
            "the TLS handshake with {partner} did not complete until --wait-timeout: check that it runs `blindmatch match --listen` with TLS, pins our fingerprint, and that nothing between us cuts connections"
        ),
        NetError::Frame { .. }
        | NetError::UnexpectedFrame { .. }
        | NetError::Psi { .. }
        | NetError::ContextMismatch
        | NetError::TranscriptMismatch { .. } => {
            "the partner sent data that breaks the protocol: it may run an incompatible or faulty version".to_owned()
        }
        _ => return None,
    })
}
