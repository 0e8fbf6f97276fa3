//! Which director the main view shows: this host (read through the IPVS
//! worker), or another of `[directors]`, whose whole table its agent sends
//! every refresh and whose edits go through it (`:director NAME`, and a key
//! that cycles this host and each director in turn).
//!
//! A switch starts afresh: the table, the selection and the undo history
//! belong to the director they were made on, so none of them is carried to
//! another (an undo must never land on another director). This host's
//! interface panel, checks and connections view are not shown for another
//! director.

use super::update::{info, refresh_now, Effect};
use super::{AppState, Outcome};

/// The name the main view shows: the director's, or `local`.
pub fn shown(state: &AppState) -> &str {
    state.director.as_deref().unwrap_or("local")
}

/// Show director `name` (`local`: this host).
pub fn switch(state: &mut AppState, name: &str) -> Vec<Effect> {
    let target = match name {
        "local" => None,
        n if state.settings.directors.iter().any(|d| d == n) => Some(n.to_string()),
        n => {
            let mut known = vec!["local".to_string()];
            known.extend(state.settings.directors.iter().cloned());
            let msg = format!("director: '{}' is not a director: use {}", crate::text::sanitize(n), known.join(", "));
            info(state, msg, Outcome::Failed(String::new()));
            return Vec::new();
        }
    };
    if target == state.director {
        return Vec::new();
    }
    // A change in flight is answered for the director it went to: switching
    // would drop its result (applied? failed part-way?) and its undo.
    if !state.edits.pending.is_empty() {
        let msg = format!(
            "refused: {} change(s) sent to {} not answered yet: switch when they are (the status line says)",
            state.edits.pending.len(),
            shown(state)
        );
        info(state, msg, Outcome::Failed(String::new()));
        return Vec::new();
    }
    let dropped = state.edits.undo.len();
    state.director = target;
    state.table = super::table::TableView::default();
    if state.director.is_none() {
        state.table.managed = state.managed_here.clone();
    }
    state.sel = super::state::Selection { focus: super::Focus::Services, service: None, dest: None };
    let last_id = state.edits.last_id;
    state.edits = super::state::Edits { last_id, ..Default::default() };
    state.nics.load = None;
    state.nics.prev = None;
    state.layers.clear();
    // The pair view's reading was of the previous director beside its peer: only the peer's name is kept.
    state.pair = super::pair::PairView { peer: state.pair.peer.take(), ..Default::default() };
    let mut msg = format!("showing director {}", shown(state));
    if dropped > 0 {
        msg.push_str(&format!(" (the undo history of the previous one, {dropped} change(s), is dropped)"));
    }
    info(state, msg, Outcome::Info);
    refresh_now(state)
}

/// Show the next director: this host, then each of `[directors]` in turn.
pub fn next(state: &mut AppState) -> Vec<Effect> {
    if state.settings.directors.is_empty() {
        info(state, "director: no other director: name them in [directors] of the configuration", Outcome::Info);
        return Vec::new();
    }
    let mut all = vec!["local".to_string()];
    all.extend(state.settings.directors.iter().cloned());
    let at = all.iter().position(|n| n == shown(state)).unwrap_or(0);
    let name = all[(at + 1) % all.len()].clone();
    switch(state, &name)
}

/// Why a view of this host is not shown for another director, if it is one.
pub fn host_only(state: &AppState, what: &str) -> Option<String> {
    state
        .director
        .as_ref()
        .map(|d| format!("{what} reads this host, not director {d}: run lvstop on {d}, or :director local"))
}
