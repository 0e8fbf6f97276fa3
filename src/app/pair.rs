//! The pair view: the director the main view shows (this host, or another
//! after `:director NAME`) beside another (a name from `[directors]`, read
//! through lvstop there over ssh), read on demand while the view is open
//! (every refresh interval): the pair rules' findings, each director's sync
//! daemons and connections, and the services and realservers side by side
//! with their differences marked. A weight confirmed in the main view can be
//! set on the other too: the left side is always the main view's director.

use std::time::Instant;

use super::layer::Layer;
use super::update::{push, Effect};
use super::{AppState, Outcome};
use crate::remote::director::View;

/// Both directors as one reading found them.
#[derive(Debug, Clone)]
pub struct PairRead {
    /// The director on the left: the one the main view shows.
    pub local: View,
    /// The other.
    pub peer: View,
}

/// The view's state.
#[derive(Debug, Clone, Default)]
pub struct PairView {
    /// The other director's name (None until the view is first opened).
    pub peer: Option<String>,
    /// The director on the left, as the view was opened: the one the main
    /// view showed (None: this host).
    pub left: Option<String>,
    /// The last reading.
    pub read: Option<PairRead>,
    /// What the view shows of it, derived once when it came back (not per
    /// frame: a reading of two large tables is compared in full): the pair
    /// rules' findings, and the side-by-side rows.
    pub findings: Vec<crate::checks::Finding>,
    /// See `findings`.
    pub rows: Vec<PairRow>,
    /// When the last reading came back.
    pub read_at: Option<Instant>,
    /// Why the last reading failed.
    pub error: Option<String>,
    /// A reading is on its way.
    pub reading: bool,
    /// When the last reading was asked for.
    pub asked_at: Option<Instant>,
    /// First row shown.
    pub scroll: u16,
}

/// Whether the view is open.
pub fn is_open(state: &AppState) -> bool {
    state.layers.iter().any(|l| matches!(l, Layer::Pair))
}

/// Open the view beside director `name` and read at once.
pub fn open(state: &mut AppState, name: &str) -> Vec<Effect> {
    if !state.settings.directors.iter().any(|d| d == name) {
        let known = &state.settings.directors;
        let msg = if known.is_empty() {
            format!(
                "pair: '{}' is not a director: name the others in [directors] of the configuration",
                crate::text::sanitize(name)
            )
        } else {
            format!("pair: '{}' is not a director: use one of {}", crate::text::sanitize(name), known.join(", "))
        };
        super::update::info(state, msg, Outcome::Failed(String::new()));
        return Vec::new();
    }
    if state.director.as_deref() == Some(name) {
        let msg = format!(
            "pair: {name} is the director shown: pair it with another, or :director local to pair this host with it"
        );
        super::update::info(state, msg, Outcome::Failed(String::new()));
        return Vec::new();
    }
    if state.pair.peer.as_deref() != Some(name) || state.pair.left != state.director {
        state.pair = PairView { peer: Some(name.to_string()), left: state.director.clone(), ..PairView::default() };
    }
    if !is_open(state) {
        push(state, Layer::Pair);
    }
    read_now(state)
}

/// The pair key: beside the director it was last opened with, else the only
/// other director of the configuration (neither the one shown); else say how
/// to name one.
pub fn open_default(state: &mut AppState) -> Vec<Effect> {
    let shown = state.director.clone();
    let others: Vec<String> = state.settings.directors.iter().filter(|d| shown.as_ref() != Some(*d)).cloned().collect();
    let name = state.pair.peer.clone().filter(|p| shown.as_ref() != Some(p)).or_else(|| match others.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    });
    match name {
        Some(n) => open(state, &n),
        None if others.is_empty() => {
            let msg = match &state.director {
                None => "pair: no other director: name them in [directors] of the configuration".to_string(),
                Some(d) => format!(
                    "pair: no director but {d} in [directors]: :director local, then P, sets this host beside it"
                ),
            };
            super::update::info(state, msg, Outcome::Info);
            Vec::new()
        }
        None => {
            let msg = format!("pair: which director? type :pair NAME ({})", others.join(", "));
            super::update::info(state, msg, Outcome::Info);
            Vec::new()
        }
    }
}

/// Read again now, unless a reading is on its way.
pub fn read_now(state: &mut AppState) -> Vec<Effect> {
    let v = &mut state.pair;
    let Some(peer) = v.peer.clone() else { return Vec::new() };
    if v.reading {
        return Vec::new();
    }
    v.reading = true;
    v.asked_at = Some(state.now);
    vec![Effect::ReadPair(v.left.clone(), peer)]
}

/// The name of the director on the view's left.
pub fn left_name(v: &PairView) -> &str {
    v.left.as_deref().unwrap_or("this director")
}

/// While the view is open, read again once an interval has passed.
pub fn poll(state: &mut AppState, now: Instant) -> Vec<Effect> {
    let due = state.pair.asked_at.is_none_or(|t| now.saturating_duration_since(t) >= state.settings.interval);
    if is_open(state) && due {
        return read_now(state);
    }
    Vec::new()
}

/// A reading came back (of `left` and `peer`: one of a pair no longer shown is dropped).
pub fn on_read(state: &mut AppState, left: Option<&str>, peer: &str, read: Result<PairRead, String>) {
    let v = &mut state.pair;
    if v.peer.as_deref() != Some(peer) || v.left.as_deref() != left {
        return;
    }
    v.reading = false;
    match read {
        Ok(r) => {
            use crate::checks::pair::{judge, Director};
            let left = left_name(v).to_string();
            let local = Director { name: &left, table: &r.local.snapshot, addresses: r.local.addresses.as_deref() };
            let other = Director { name: peer, table: &r.peer.snapshot, addresses: r.peer.addresses.as_deref() };
            v.findings = judge(&local, &other);
            v.rows = rows(&r);
            v.read = Some(r);
            v.read_at = Some(state.now);
            v.error = None;
        }
        Err(e) => v.error = Some(e),
    }
}

/// The weights of a confirmed change, for the other director: each
/// realserver as the pair view last read it there, with the new weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerEdit {
    /// The other director.
    pub name: String,
    /// Each step: service, the realserver as read there, as it is to be.
    pub steps: Vec<(crate::model::ServiceKey, crate::model::DestSpec, crate::model::DestSpec)>,
}

/// The same weights on the pair view's other director, if the change only
/// sets weights and that director (as last read) has every realserver it
/// names, one of them with another weight.
pub fn peer_edit(state: &AppState, change: &crate::model::Change) -> Option<PeerEdit> {
    use crate::model::Change;
    // Only beside the director the change lands on, as the operator last saw them side by side.
    if state.pair.left != state.director {
        return None;
    }
    let name = state.pair.peer.clone().filter(|p| state.director.as_ref() != Some(p))?;
    let peer = &state.pair.read.as_ref()?.peer.snapshot;
    let mut steps = Vec::new();
    for c in change.steps() {
        let Change::EditDest { svc, before, after } = c else { return None };
        if !crate::remote::director::weight_only(before, after) {
            return None;
        }
        let there = peer
            .service(svc)?
            .destinations
            .iter()
            .find(|d| d.spec.addr == before.addr && d.spec.port == before.port)?;
        if there.spec.weight != after.weight {
            steps.push((*svc, there.spec.clone(), there.spec.clone().weight(after.weight)));
        }
    }
    (!steps.is_empty()).then_some(PeerEdit { name, steps })
}

/// How a row of the side-by-side table differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Alike on both.
    Same,
    /// On this director only.
    LocalOnly,
    /// On the other only.
    PeerOnly,
    /// On both, with other settings.
    Differs,
}

/// One row of the side-by-side table: a service, or one of its realservers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairRow {
    /// A realserver row (else a service).
    pub realserver: bool,
    /// The service or realserver, as the table names it.
    pub name: String,
    /// This director's settings and connections (None: it lacks it).
    pub local: Option<String>,
    /// The other's.
    pub peer: Option<String>,
    /// How they differ.
    pub mark: Mark,
    /// The settings that differ (`weight 1 ≠ 0`).
    pub what: String,
}

/// The rows of the side-by-side table, services in key order, each followed
/// by its realservers by address.
pub fn rows(read: &PairRead) -> Vec<PairRow> {
    use crate::model::diff::diff;
    use crate::model::ipvsadm::{key_args, service_options, OptionStyle};
    let (a, b) = (&read.local.snapshot, &read.peer.snapshot);
    let differences = diff(a, b);
    let mut keys: Vec<_> = a.services.iter().chain(&b.services).map(|s| s.spec.key).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for key in keys {
        let (x, y) = (a.service(&key), b.service(&key));
        let name = key_args(&key);
        let side = |s: Option<&crate::model::Service>| {
            s.map(|s| {
                format!(
                    "{}, {} conns",
                    service_options(&s.spec, OptionStyle::Short),
                    s.active_conns() + s.inact_conns()
                )
            })
        };
        let here: Vec<_> = differences.iter().filter(|d| d.service == name).collect();
        let mark_of = |rs: Option<&str>| {
            here.iter().find(|d| d.realserver.as_deref() == rs).map_or((Mark::Same, String::new()), |d| {
                let mark = match d.what {
                    "only-in-a" => Mark::LocalOnly,
                    "only-in-b" => Mark::PeerOnly,
                    _ => Mark::Differs,
                };
                let what =
                    d.fields.iter().map(|f| format!("{} {} ≠ {}", f.name, f.a, f.b)).collect::<Vec<_>>().join(", ");
                (mark, what)
            })
        };
        let (mark, what) = mark_of(None);
        out.push(PairRow { realserver: false, name: name.clone(), local: side(x), peer: side(y), mark, what });
        let mut dests: Vec<_> =
            x.into_iter().chain(y).flat_map(|s| s.destinations.iter().map(|d| (d.spec.addr, d.spec.port))).collect();
        dests.sort();
        dests.dedup();
        for (addr, port) in dests {
            let find = |s: Option<&crate::model::Service>| {
                s.and_then(|s| s.destinations.iter().find(|d| d.spec.addr == addr && d.spec.port == port)).map(|d| {
                    let fwd = match d.spec.forward {
                        crate::model::ForwardMethod::Route => "DR".to_string(),
                        crate::model::ForwardMethod::Masq => "NAT".to_string(),
                        crate::model::ForwardMethod::Tunnel => "TUN".to_string(),
                        other => other.to_string(),
                    };
                    format!("{fwd} w {}, {} conns", d.spec.weight, d.active_conns + d.inact_conns)
                })
            };
            let rs = crate::model::fmt_addr_port(&addr, port);
            let (mark, what) = mark_of(Some(&rs));
            out.push(PairRow { realserver: true, name: rs, local: find(x), peer: find(y), mark, what });
        }
    }
    out
}
