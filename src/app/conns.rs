//! The connections view: the kernel's connection entries of the selected
//! service or realserver, or of a client (`:client ADDR`), read on demand
//! while the view is open (every refresh interval), never with the main
//! table's refresh.

use std::net::SocketAddr;
use std::time::Instant;

use super::layer::{Layer, PromptKind};
use super::update::{push, Effect};
use super::{AppState, Focus, Outcome};
use crate::model::{ConnFilter, ConnSummary, Endpoint, Prefix, ServiceKey};

/// The most entries the view keeps and lists ("N more" beyond).
pub const CAP: usize = 300;

/// Whose connections the view shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnScope {
    /// Every entry of a service.
    Service(ServiceKey),
    /// The entries of one realserver of a service.
    Realserver(ServiceKey, SocketAddr),
    /// A client's entries, whatever the service: which realserver it is on.
    Client(Prefix),
}

impl ConnScope {
    /// The entries that belong to it. A firewall-mark service's entries carry
    /// the packets' own addresses, not the mark: they are selected by realserver.
    pub fn filter(&self) -> ConnFilter {
        let vip = |k: &ServiceKey| k.addr().map(|a| Endpoint::new(a, Some(k.port())));
        match self {
            ConnScope::Service(k) => ConnFilter { vip: vip(k), ..Default::default() },
            ConnScope::Realserver(k, rs) => ConnFilter {
                vip: vip(k),
                realserver: Some(Endpoint::new(rs.ip(), Some(rs.port()))),
                ..Default::default()
            },
            ConnScope::Client(p) => ConnFilter { client: Some(*p), ..Default::default() },
        }
    }

    /// The view's title.
    pub fn title(&self) -> String {
        match self {
            ConnScope::Service(k) => format!("Connections of {k}"),
            ConnScope::Realserver(k, rs) => format!("Connections of {rs} in {k}"),
            ConnScope::Client(p) => format!("Where client {p} is"),
        }
    }
}

/// The view's state.
#[derive(Debug, Clone, Default)]
pub struct ConnsView {
    /// Whose connections (None until the view is first opened).
    pub scope: Option<ConnScope>,
    /// The `/` filter: clients in this address or network.
    pub client: Option<Prefix>,
    /// The last reading.
    pub summary: Option<ConnSummary>,
    /// Why the last reading failed.
    pub error: Option<String>,
    /// A reading is on its way.
    pub reading: bool,
    /// When the last reading was asked for.
    pub asked_at: Option<Instant>,
    /// First entry shown.
    pub scroll: u16,
}

impl ConnsView {
    /// The filter of the next reading: the scope's and the `/` filter's.
    pub fn filter(&self) -> Option<ConnFilter> {
        let mut f = self.scope.as_ref()?.filter();
        if let Some(c) = self.client {
            f.client = Some(c);
        }
        Some(f)
    }
}

/// Whether the view is open.
pub fn is_open(state: &AppState) -> bool {
    state.layers.iter().any(|l| matches!(l, Layer::Conns))
}

/// Open the view on `scope` and read at once.
pub fn open(state: &mut AppState, scope: ConnScope) -> Vec<Effect> {
    if let Some(why) = super::director::host_only(state, "the connections view") {
        super::update::info(state, why, Outcome::Info);
        return Vec::new();
    }
    let v = &mut state.conns;
    if v.scope.as_ref() != Some(&scope) {
        *v = ConnsView { scope: Some(scope), ..ConnsView::default() };
    }
    if !is_open(state) {
        push(state, Layer::Conns);
    }
    read_now(state)
}

/// Open the view on the selected realserver (realservers focused) or service.
pub fn open_selected(state: &mut AppState) -> Vec<Effect> {
    let dest = (state.sel.focus == Focus::Dests)
        .then(|| state.selected_dest().map(|d| SocketAddr::new(d.spec.addr, d.spec.port)));
    let scope = match (state.selected_service().map(|s| s.spec.key), dest.flatten()) {
        (Some(k), Some(rs)) => ConnScope::Realserver(k, rs),
        (Some(k), None) => ConnScope::Service(k),
        (None, _) => {
            super::update::info(state, "connections: select a service first", Outcome::Info);
            return Vec::new();
        }
    };
    open(state, scope)
}

/// Read again now, unless a reading is on its way.
pub fn read_now(state: &mut AppState) -> Vec<Effect> {
    let v = &mut state.conns;
    let Some(filter) = v.filter() else { return Vec::new() };
    if v.reading {
        return Vec::new();
    }
    v.reading = true;
    v.asked_at = Some(state.now);
    vec![Effect::ReadConns(filter)]
}

/// While the view is open, read again once an interval has passed.
pub fn poll(state: &mut AppState, now: Instant) -> Vec<Effect> {
    let due = state.conns.asked_at.is_none_or(|t| now.saturating_duration_since(t) >= state.settings.interval);
    if is_open(state) && due {
        return read_now(state);
    }
    Vec::new()
}

/// A reading came back.
pub fn on_read(state: &mut AppState, read: Result<ConnSummary, String>) {
    let v = &mut state.conns;
    v.reading = false;
    match read {
        Ok(s) => {
            v.scroll = v.scroll.min(u16::try_from(s.entries.len()).unwrap_or(u16::MAX));
            v.summary = Some(s);
            v.error = None;
        }
        Err(e) => v.error = Some(e),
    }
}

/// The `/` filter typed in the view: an address or network, or nothing.
pub fn set_client(state: &mut AppState, text: &str) -> Result<Vec<Effect>, String> {
    let text = text.trim();
    state.conns.client = if text.is_empty() { None } else { Some(Prefix::parse(text)?) };
    state.conns.scroll = 0;
    state.conns.reading = false;
    Ok(read_now(state))
}

/// Open the `/` prompt of the view.
pub fn prompt(state: &mut AppState) {
    let text = state.conns.client.map(|c| c.to_string()).unwrap_or_default();
    push(state, Layer::Prompt { kind: PromptKind::ConnClient, text, error: None });
}
