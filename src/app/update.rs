//! The pure update function: `update(&mut AppState, Msg) -> Vec<Effect>`.
//! Messages in, effects (work for the event loop's workers) out; no I/O, no
//! clock (time arrives in messages), no terminal.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::layer::{Intent, Layer, Scroll};
use super::state::{AppState, Outcome, Pending, HISTORY};
use crate::config::SparkSource;
use crate::model::Change;
use crate::model::{KeySet, ServiceKey, Snapshot};

/// Input to the update function.
#[derive(Debug)]
pub enum Msg {
    /// A key press.
    Key(KeyEvent),
    /// The terminal's size (columns, rows), at start and on every resize.
    Resize(u16, u16),
    /// Time passes (redraw highlights, refresh age).
    Tick(Instant),
    /// The refresh interval has passed (at this moment).
    Poll(Instant),
    /// A complete snapshot (every service's realservers read).
    Snapshot(Box<Snapshot>, Instant),
    /// A refresh: every service with its counters and rates, and the
    /// realservers of the services listed (the others keep those last read).
    Refreshed(Box<Snapshot>, Vec<ServiceKey>, Instant),
    /// A refresh of the services listed only, each with its realservers (a
    /// listed service missing from the snapshot is gone); the rest of the
    /// table stays as last read.
    ReadAlone(Box<Snapshot>, Vec<ServiceKey>, Instant),
    /// The poller failed.
    SnapshotFailed(String, Instant),
    /// The executor finished change `id`.
    Done {
        /// Change id.
        id: u64,
        /// Ok (applied), or why not.
        result: Result<(), String>,
        /// For a batch that failed part-way: how many of its first steps were applied.
        applied_steps: usize,
        /// Applied, but its result could not be written to the audit log: why.
        log_incomplete: Option<String>,
        /// Not applied because the object changed since the operator saw it: the object now.
        meanwhile: Option<crate::model::Current>,
    },
    /// A save finished.
    Saved(PathBuf, Result<(), String>),
    /// A reading of the connection entries for the connections view.
    Conns(Box<Result<crate::model::ConnSummary, String>>),
    /// The other director's answer to [`Effect::ApplyPeer`]: its name and
    /// how many weights were set, or why not.
    PeerApplied(String, Result<usize, String>),
    /// Another director's whole table, read through its agent for the main view.
    DirectorRead(String, Box<Result<Snapshot, String>>, Instant),
    /// A reading of the pair view: the director on its left (None: this
    /// host), the other, and what was read.
    Pair(Option<String>, String, Box<Result<super::pair::PairRead, String>>),
    /// Services managed by keepalived/ldirectord.
    Managed(HashMap<ServiceKey, crate::sys::managed::Managed>),
    /// A reading of the interfaces and CPU, with the interfaces' roles if looked up.
    Sys(Box<crate::sys::nic::SysSample>, Option<crate::sys::load::Roles>, Instant),
    /// The report of check run number `run` (see [`Effect::RunChecks`]).
    Checks(Box<crate::checks::CheckReport>, u64, Instant),
    /// The complete snapshot a check run read for itself: it fills in the
    /// realservers of the services the table has not read yet (none is
    /// missing from then on, so the periodic runs judge the table).
    CheckTable(Box<Snapshot>),
    /// SIGINT, SIGTERM or SIGHUP.
    Quit,
}

/// Work for the event loop's workers.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Refresh the table now, reading the realservers of the services named.
    Refresh(crate::model::Want),
    /// Audit, then apply a change (never emitted when read-only).
    Apply {
        /// Id echoed in `Msg::Done`.
        id: u64,
        /// The change.
        change: Change,
    },
    /// Read the interfaces and CPU, and which interfaces carry these VIPs and
    /// reach these realservers.
    SampleSys {
        /// Service addresses and realserver addresses whose interfaces to look
        /// up, when they changed or the last lookup is 10 s old (else None).
        roles_for: Option<(Vec<std::net::IpAddr>, Vec<std::net::IpAddr>)>,
    },
    /// Run the LVS-DR checks on a complete snapshot: `table` when given, else
    /// one read for them; the report comes back as `Msg::Checks` with `run`.
    RunChecks {
        /// The run's number.
        run: u64,
        /// The table shown, for a periodic run once every service's
        /// realservers are in it (each read within [`ROUND_SECONDS`], those on
        /// screen every refresh): reading every service's realservers again
        /// for the checks was a tenth of what the console cost a second at
        /// 1000 services. A run the operator asks for reads everything.
        table: Option<Box<Snapshot>>,
    },
    /// Read the connection entries that pass this filter, for the
    /// connections view (at most [`super::conns::CAP`] kept); the reading
    /// comes back as `Msg::Conns`.
    ReadConns(crate::model::ConnFilter),
    /// Read the director the main view shows (None: this host; its complete
    /// table and addresses) and the named other one (through its agent) for
    /// the pair view; the reading comes back as `Msg::Pair`.
    ReadPair(Option<String>, String),
    /// Read another director's whole table through its agent; it comes back
    /// as `Msg::DirectorRead`.
    ReadDirector(String),
    /// Apply a change on another director through its agent (logged here
    /// before it is sent, and there); the answer comes back as `Msg::Done`.
    ApplyRemote {
        /// Its id, as for `Apply`.
        id: u64,
        /// The director.
        director: String,
        /// The change.
        change: Change,
    },
    /// Set these weights on another director through its agent (logged
    /// here before it is sent, and there by the agent); the answer comes
    /// back as `Msg::PeerApplied`.
    ApplyPeer(super::pair::PeerEdit),
    /// Write rules to a file.
    Save {
        /// Where.
        path: PathBuf,
        /// Replace an existing file (`:save!`); a new one only otherwise.
        replace: bool,
        /// `ipvsadm -R` rules.
        rules: String,
    },
    /// Exit.
    Quit,
}

pub(super) fn info(state: &mut AppState, text: impl Into<String>, outcome: Outcome) {
    state.last_action = Some((text.into(), outcome));
}

/// Apply one message.
pub fn update(state: &mut AppState, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Tick(now) => {
            state.now = now;
            Vec::new()
        }
        Msg::Resize(w, h) => {
            state.viewport = (w, h);
            rescroll(state);
            if state.layers.iter().any(|l| matches!(l, Layer::Help)) {
                state.help_scroll = state.help_scroll.min(crate::ui::help_scroll_max(state, state.viewport));
            }
            Vec::new()
        }
        Msg::Quit => quit(state),
        Msg::Poll(now) => {
            let mut effects = refresh(state, now);
            effects.extend(super::conns::poll(state, now));
            effects.extend(super::pair::poll(state, now));
            effects
        }
        Msg::DirectorRead(name, read, now) => {
            if state.director.as_deref() != Some(name.as_str()) {
                // Asked for before a switch: not the table shown now.
                return Vec::new();
            }
            match *read {
                Ok(snap) => on_snapshot(state, snap, None, false, now),
                Err(e) => read_failed(state, e, now),
            }
        }
        Msg::PeerApplied(name, result) => {
            match result {
                // The undo stack is the shown director's: u does not reach the other.
                Ok(n) => info(state, format!("{name}: {n} weight(s) set (u undoes the change here only)"), Outcome::Ok),
                Err(e) => info(state, format!("{name}: weights not set"), Outcome::Failed(e)),
            }
            Vec::new()
        }
        Msg::Pair(left, peer, read) => {
            super::pair::on_read(state, left.as_deref(), &peer, *read);
            Vec::new()
        }
        Msg::Conns(read) => {
            super::conns::on_read(state, *read);
            Vec::new()
        }
        // This host's reads: one asked for before a switch to another director
        // is not the table shown now (never shown under its name, nor acted on).
        Msg::Snapshot(..) | Msg::Refreshed(..) | Msg::ReadAlone(..) | Msg::SnapshotFailed(..) | Msg::CheckTable(_)
            if state.director.is_some() =>
        {
            Vec::new()
        }
        Msg::Snapshot(snap, now) => on_snapshot(state, *snap, None, false, now),
        Msg::Refreshed(snap, read, now) => on_snapshot(state, *snap, Some(read), false, now),
        Msg::ReadAlone(snap, read, now) => on_snapshot(state, *snap, Some(read), true, now),
        Msg::Sys(sample, roles, now) => {
            if let Some(r) = roles {
                state.nics.roles = r;
            }
            on_sys(state, *sample, now);
            Vec::new()
        }
        Msg::SnapshotFailed(e, now) => read_failed(state, e, now),
        Msg::Checks(report, run, now) => on_checks(state, *report, run, now),
        Msg::CheckTable(snap) => {
            fill_unread(state, *snap);
            Vec::new()
        }
        Msg::Managed(m) => {
            state.managed_here.clone_from(&m);
            if state.director.is_none() {
                state.table.managed = m;
            }
            Vec::new()
        }
        Msg::Saved(path, r) => {
            match r {
                Ok(()) => info(state, format!("saved the rules to {}", path.display()), Outcome::Ok),
                Err(e) => info(state, format!("save to {}", path.display()), Outcome::Failed(e)),
            }
            Vec::new()
        }
        Msg::Done { id, result, applied_steps, log_incomplete, meanwhile } => {
            on_done(state, id, result, applied_steps, log_incomplete, meanwhile.as_ref())
        }
        Msg::Key(k) if k.kind == KeyEventKind::Release => Vec::new(),
        Msg::Key(k) => on_key(state, &k),
    }
}

pub(super) fn quit(state: &mut AppState) -> Vec<Effect> {
    state.quit = true;
    vec![Effect::Quit]
}

/// The services the services pane shows (at least 8, for a screen not laid out yet).
fn pane_rows(state: &AppState) -> usize {
    state.services_pane_rows().max(8)
}

/// Every service's realservers are read again at least this often, off screen
/// too (on screen, every refresh).
const ROUND_SECONDS: usize = 120;

/// One refresh in `max(LIST_EVERY, n / LIST_PER_TICK)` lists every service
/// (one dump, with the round-robin slice of realservers); the others read the
/// services on screen alone. Listing 1000 services costs as much CPU as the
/// console may spend in a second; 10 000, more. Up to [`LIST_ALWAYS`]
/// services, and right after a change, every refresh lists them (a service
/// added shows at once).
const LIST_EVERY: usize = 5;
/// See [`LIST_EVERY`].
const LIST_ALWAYS: usize = 200;
/// See [`LIST_EVERY`].
const LIST_PER_TICK: usize = 2000;

/// The table's read failed at `now` (this host's, or the director's shown).
fn read_failed(state: &mut AppState, e: String, now: Instant) -> Vec<Effect> {
    state.now = now;
    refreshed(state, now);
    state.table.error = Some(e);
    Vec::new()
}

/// Ask for a refresh unless one is on its way: every service with its
/// counters and rates, and the realservers of the services the screen can
/// show, the selected one, those with a drain in progress and a round-robin
/// slice of the rest (all of them within [`ROUND_SECONDS`] refreshes); every
/// service's when an action waits for them.
pub(super) fn refresh(state: &mut AppState, now: Instant) -> Vec<Effect> {
    if state.table.refreshing || state.table.reads.not_before.is_some_and(|t| now < t) {
        return Vec::new();
    }
    state.table.refreshing = true;
    state.table.reads.asked_at = Some(now);
    let rows = pane_rows(state);
    let n = state.table.snapshot().map(|s| s.services.len());
    let want = match n {
        _ if state.table.reads.want_all => crate::model::Want::All,
        None => crate::model::Want::First(rows),
        Some(n) => {
            let mut keys = state.table.around_selection(rows);
            keys.extend(state.edits.drained.keys().map(|(svc, _, _)| *svc));
            let every = if n <= LIST_ALWAYS { 1 } else { n.div_ceil(LIST_PER_TICK).max(LIST_EVERY) as u64 };
            let list = state.table.reads.ticks % every == 0 || std::mem::take(&mut state.table.reads.list_next);
            state.table.reads.ticks += 1;
            if list {
                let slice = (n.div_ceil(ROUND_SECONDS) * every as usize).min(n);
                let from = state.table.reads.rr % n.max(1);
                if let Some(snap) = state.table.snapshot() {
                    keys.extend(snap.services.iter().cycle().skip(from).take(slice).map(|s| s.spec.key));
                }
                state.table.reads.rr = (from + slice) % n.max(1);
            }
            keys.sort_unstable();
            keys.dedup();
            if list {
                crate::model::Want::Keys(keys)
            } else {
                crate::model::Want::Alone(keys)
            }
        }
    };
    match &state.director {
        // Another director: its agent sends its whole table.
        Some(name) => vec![Effect::ReadDirector(name.clone())],
        None => vec![Effect::Refresh(want)],
    }
}

/// A refresh asked for by the operator or an action (a change applied, an
/// action that waits for every service): at once, whatever the stretched
/// interval; its duration is not measured (the periodic refresh's is, also
/// when this one is refused because that one is on its way).
pub(super) fn refresh_now(state: &mut AppState) -> Vec<Effect> {
    state.table.reads.not_before = None;
    let effects = refresh(state, state.now);
    if !effects.is_empty() {
        state.table.reads.asked_at = None;
    }
    effects
}

/// A refresh came back (or failed) at `now`: how long it took, and when a
/// refresh took longer than the interval, the interval stretched to what it
/// took (the next starts no sooner than that long after this one ended), so
/// that a console on a table too large for its interval refreshes at most
/// half the time instead of back to back; the status line says so.
fn refreshed(state: &mut AppState, now: Instant) {
    let table = &mut state.table;
    table.refreshing = false;
    let Some(asked) = table.reads.asked_at.take() else { return };
    let took = now.saturating_duration_since(asked);
    let slow = took > state.settings.interval;
    table.reads.slow = slow.then_some(took);
    table.reads.not_before = slow.then(|| now + took);
}

/// The checks on a complete snapshot the worker reads for them: one run at a
/// time (asked again while one is in flight, the next starts when it ends).
pub(super) fn run_checks(state: &mut AppState) -> Vec<Effect> {
    if let Some(why) = super::director::host_only(state, "the checks") {
        info(state, why, Outcome::Info);
        return Vec::new();
    }
    start_checks(state, false)
}

/// [`run_checks`], or for a periodic run (`periodic`), on the table shown
/// when every service's realservers are in it.
fn start_checks(state: &mut AppState, periodic: bool) -> Vec<Effect> {
    let Some(snap) = state.table.snapshot() else { return Vec::new() };
    if state.checks.running.is_some() {
        state.checks.again = true;
        return Vec::new();
    }
    let table = (periodic && state.table.reads.unread.is_empty()).then(|| Box::new(snap.clone()));
    state.checks.last_run += 1;
    state.checks.running = Some(state.checks.last_run);
    vec![Effect::RunChecks { run: state.checks.last_run, table }]
}

/// The realservers of the services whose realservers the table has not read
/// yet, from `snap` (a complete read); the rest of the table stays as it is.
fn fill_unread(state: &mut AppState, mut snap: Snapshot) {
    let table = &mut state.table;
    if table.reads.unread.is_empty() {
        return;
    }
    let Some(mut whole) = table.take_snapshot() else { return };
    for s in &mut whole.services {
        if !table.reads.unread.contains(&s.spec.key) {
            continue;
        }
        if let Ok(i) = snap.services.binary_search_by(|x| x.spec.key.cmp(&s.spec.key)) {
            s.destinations = std::mem::take(&mut snap.services[i].destinations);
            table.reads.unread.remove(&s.spec.key);
        }
    }
    table.set_snapshot(whole, &state.sel);
}

fn on_checks(state: &mut AppState, report: crate::checks::CheckReport, run: u64, now: Instant) -> Vec<Effect> {
    let c = &mut state.checks;
    if c.running == Some(run) {
        c.running = None;
    }
    // An older run's report never replaces a newer one.
    if run >= c.shown_run {
        c.shown_run = run;
        c.markers = crate::checks::Markers::new(&report);
        c.report = Some(report);
        c.at = Some(now);
        rescroll(state);
    }
    if state.checks.running.is_none() && std::mem::take(&mut state.checks.again) {
        return run_checks(state);
    }
    Vec::new()
}

/// The rows whose weight or state changed, and the services and realservers
/// that are new (none on the first snapshot); realservers only of the
/// services in `read` (all when None).
fn changed_rows(old: &Snapshot, new: &Snapshot, read: Option<&KeySet>) -> Vec<super::state::RowId> {
    let mut rows = Vec::new();
    // Both in key order: the old table is walked alongside.
    let mut olds = old.services.iter().peekable();
    for s in &new.services {
        while olds.next_if(|o| o.spec.key < s.spec.key).is_some() {}
        let prev = olds.peek().filter(|o| o.spec.key == s.spec.key).copied();
        if prev.is_none() && !old.services.is_empty() {
            rows.push((s.spec.key, None));
        }
        if read.is_some_and(|r| !r.contains(&s.spec.key)) {
            continue;
        }
        for d in &s.destinations {
            let before = prev.and_then(|p| p.destinations.iter().find(|o| o.id() == d.id()));
            let changed = match before {
                Some(b) => b.spec != d.spec || b.state() != d.state(),
                None => prev.is_some(),
            };
            if changed {
                rows.push((s.spec.key, Some(d.id())));
            }
        }
    }
    rows
}

/// `whole` (the table shown) with the services in `part` (read alone) put in,
/// and those of `read` that `part` lacks (gone) taken out; info, timeouts,
/// daemons and totals stay as the last list read them.
fn read_alone(whole: Option<Snapshot>, part: Snapshot, read: &KeySet) -> Snapshot {
    let Some(mut whole) = whole else { return part };
    let services = part.services;
    let gone: HashSet<&ServiceKey> =
        read.iter().filter(|k| services.binary_search_by(|s| s.spec.key.cmp(k)).is_err()).collect();
    whole.services.retain(|s| !gone.contains(&s.spec.key));
    for s in services {
        match whole.services.binary_search_by(|x| x.spec.key.cmp(&s.spec.key)) {
            Ok(i) => whole.services[i] = s,
            Err(i) => whole.services.insert(i, s),
        }
    }
    whole
}

/// A new table: complete (`read` None), or every service with the
/// realservers of those in `read`, the others keeping the realservers last
/// read (moved, not copied, from the table shown until now).
fn on_snapshot(
    state: &mut AppState,
    mut snap: Snapshot,
    read: Option<Vec<ServiceKey>>,
    alone: bool,
    now: Instant,
) -> Vec<Effect> {
    state.now = now;
    let rows = pane_rows(state);
    let table = &mut state.table;
    let read: Option<KeySet> = read.map(|r| r.into_iter().collect());
    let changed = table.snapshot().map(|old| changed_rows(old, &snap, read.as_ref())).unwrap_or_default();
    table.flashes.extend(changed.into_iter().map(|row| (row, now)));
    match &read {
        None => {
            table.reads.unread.clear();
            table.reads.complete = true;
        }
        Some(read) if alone => {
            snap = read_alone(table.take_snapshot(), snap, read);
            for k in read {
                table.reads.unread.remove(k);
            }
            table.reads.complete = false;
        }
        Some(read) => {
            // Both tables are in key order: the old one is walked alongside
            // (a table of 10 000 services is merged at every refresh), and
            // the services still unread are gathered afresh (one gone since
            // is not carried over).
            let mut old = table.take_snapshot();
            let mut old_services = old.as_mut().map(|o| o.services.iter_mut().peekable());
            let mut unread = KeySet::default();
            for s in &mut snap.services {
                let key = s.spec.key;
                if read.contains(&key) {
                    continue;
                }
                let kept = old_services.as_mut().and_then(|o| {
                    while o.next_if(|x| x.spec.key < key).is_some() {}
                    o.next_if(|x| x.spec.key == key).map(|x| std::mem::take(&mut x.destinations))
                });
                match kept {
                    Some(d) if !table.reads.unread.contains(&key) => s.destinations = d,
                    _ => {
                        unread.insert(key);
                    }
                }
            }
            table.reads.unread = unread;
            table.reads.complete = read.len() == snap.services.len();
        }
    }
    if table.reads.complete {
        table.reads.want_all = false;
    }
    // History is kept for the services the screen can show (and refreshed with them).
    table.set_snapshot(snap, &state.sel);
    let on_screen: KeySet = table.around_selection(rows).into_iter().collect();
    let spark = state.settings.spark;
    let points: Vec<(ServiceKey, u64)> = table
        .snapshot()
        .map(|snap| {
            let value = |s: &crate::model::Service| match spark {
                SparkSource::Cps => s.rates.cps,
                SparkSource::Pps => s.rates.inpps,
            };
            on_screen.iter().filter_map(|k| snap.service(k).map(|s| (*k, value(s)))).collect()
        })
        .unwrap_or_default();
    for (key, v) in points {
        let h = table.history.entry(key).or_default();
        h.push_back(v);
        while h.len() > HISTORY {
            h.pop_front();
        }
    }
    table.history.retain(|k, _| on_screen.contains(k));
    let flash_for = state.settings.flash_for;
    table.flashes.retain(|_, t| now.saturating_duration_since(*t) < flash_for);
    table.at = Some(now);
    table.error = None;
    refreshed(state, now);

    let nics = &mut state.nics;
    // Which interfaces carry the VIPs and reach the realservers: looked up
    // again every 10 s (every address of a large table is a cost per refresh).
    let roles_stale = nics.roles_at.is_none_or(|t| now.saturating_duration_since(t).as_secs() >= 10);
    let addrs = roles_stale.then(|| state.table.snapshot().map(|s| (s.vips(), s.rips())).unwrap_or_default());
    if addrs.is_some() {
        nics.roles_at = Some(now);
    }
    let roles_for = addrs;
    // This host's interfaces and checks belong to this host's table only.
    let local = state.director.is_none();
    let mut effects = if local { vec![Effect::SampleSys { roles_for }] } else { Vec::new() };
    if local && state.checks.at.is_none_or(|t| now.saturating_duration_since(t) >= state.settings.check_every) {
        state.checks.at = Some(now);
        effects.extend(start_checks(state, true));
    }
    if state.table.reads.want_all && !state.table.reads.complete {
        // An action waits for every service's realservers: read them now.
        effects.extend(refresh_now(state));
    } else if state.table.reads.complete {
        if let Some(c) = state.edits.deferred.take() {
            if state.layers.is_empty() {
                effects.extend(super::actions::run_cmdline(state, c));
            } else {
                // Its question would pop up over what is open and take keys meant for it.
                let msg = "not run: the command that waited for every realserver to be read, as a window is open now: run it again";
                info(state, msg, Outcome::Failed(String::new()));
            }
        }
    }
    effects
}

fn on_sys(state: &mut AppState, sample: crate::sys::nic::SysSample, now: Instant) {
    let nics = &mut state.nics;
    if let Some((prev, at)) = &nics.prev {
        let secs = now.saturating_duration_since(*at).as_secs_f64();
        if secs > 0.05 {
            let load = crate::sys::load::compute(prev, &sample, secs, &state.settings.nic_policy, &nics.roles);
            for n in &load.nics {
                let h = nics.history.entry(n.name.clone()).or_default();
                h.push_back(n.pps());
                while h.len() > HISTORY {
                    h.pop_front();
                }
            }
            nics.history.retain(|k, _| load.nics.iter().any(|n| &n.name == k));
            nics.load = Some(load);
        }
    }
    nics.prev = Some((sample, now));
}

fn on_done(
    state: &mut AppState,
    id: u64,
    result: Result<(), String>,
    applied_steps: usize,
    log_incomplete: Option<String>,
    meanwhile: Option<&crate::model::Current>,
) -> Vec<Effect> {
    let Some(Pending { change, is_undo }) = state.edits.pending.remove(&id) else {
        return Vec::new();
    };
    // The object changed since the operator saw it: what is left of the
    // change, made again on the object as it is now, is put to them again.
    // Only on that object: an answer about another (the same realserver in
    // another service) is no reason to ask, nor to say nothing is left.
    let again = meanwhile.and_then(|now| {
        let left = match &change {
            Change::Batch { label, changes } => {
                Change::Batch { label: label.clone(), changes: changes.iter().skip(applied_steps).cloned().collect() }
            }
            single => single.clone(),
        };
        left.is_about(now).then(|| left.rebase(now))
    });
    // Asked again only over the main view: a question that pops up over a
    // form, a prompt or another question would take keys meant for those.
    // Otherwise the error (changed meanwhile: look again and retry) stands.
    let ask = matches!(again, Some(Some(_))) && state.layers.is_empty();
    // A failed undo stays the next to undo, unless it is asked again or
    // nothing is left of it.
    let keep_undo = is_undo && !ask && !matches!(again, Some(None));
    let effects = on_failure_or_done(state, change, is_undo, result, applied_steps, log_incomplete, keep_undo);
    match again {
        Some(Some(change)) if ask => {
            let warning = "it changed meanwhile (keepalived or another operator?): confirm to make your change on it as it is now";
            push(state, Layer::Confirm { change, warning: Some(warning.into()), is_undo, peer: None });
        }
        Some(None) => {
            if let Some((text, _)) = &state.last_action {
                // What was applied of a batch stays said (u undoes it).
                let text = if applied_steps > 0 {
                    format!("{text}: the rest is already as you asked (u undoes the steps applied)")
                } else {
                    format!("{text}: it is already as you asked, nothing was sent")
                };
                info(state, text, Outcome::Info);
            }
        }
        Some(Some(_)) | None => {}
    }
    effects
}

/// The outcome of a change that was applied, failed, or failed part-way.
/// `keep_undo`: a failed undo (what of it was not applied) goes back on the
/// undo stack, so that `u` never moves on to an older change in its place.
fn on_failure_or_done(
    state: &mut AppState,
    change: Change,
    is_undo: bool,
    result: Result<(), String>,
    applied_steps: usize,
    log_incomplete: Option<String>,
    keep_undo: bool,
) -> Vec<Effect> {
    // A batch that failed part-way: what was applied is kept (remembered
    // weights) and can be undone; the operator is told which steps.
    let change = match (&result, change) {
        (Err(e), Change::Batch { label, mut changes }) if applied_steps > 0 => {
            let rest = changes.split_off(applied_steps.min(changes.len()));
            let part = Change::Batch { label: format!("{label} (first {applied_steps} steps)"), changes };
            remember_drains(state, &part);
            let msg = if is_undo {
                if keep_undo && !rest.is_empty() {
                    state.edits.undo.push(Change::Batch { label, changes: rest });
                    format!("{e}; the first {applied_steps} were applied (u offers the rest again)")
                } else {
                    format!("{e}; the first {applied_steps} were applied")
                }
            } else {
                if let Some(inv) = part.inverse() {
                    state.edits.undo.push(inv);
                }
                format!("{e}; the first {applied_steps} were applied (u undoes them)")
            };
            info(state, part.describe(), Outcome::Failed(msg));
            state.table.reads.list_next = true;
            return refresh_now(state);
        }
        (_, change) => change,
    };
    let label = if is_undo { format!("undo: {}", change.describe()) } else { change.describe() };
    match result {
        Ok(()) => {
            remember_drains(state, &change);
            if !is_undo {
                if let Some(inv) = change.inverse() {
                    state.edits.undo.push(inv);
                }
            }
            // Applied is applied: undo and the remembered weight hold even when its log line is missing.
            let outcome = log_incomplete.map_or(Outcome::Ok, |e| Outcome::Failed(format!("applied, but {e}")));
            info(state, label, outcome);
        }
        Err(e) if keep_undo => {
            info(state, label, Outcome::Failed(format!("{e} (u offers this undo again)")));
            state.edits.undo.push(change);
        }
        Err(e) => info(state, label, Outcome::Failed(e)),
    }
    // Show the kernel's truth at once, every service listed (one may be new).
    state.table.reads.list_next = true;
    refresh_now(state)
}

fn remember_drains(state: &mut AppState, change: &Change) {
    match change {
        Change::EditDest { svc, before, after } => {
            let k = (*svc, after.addr, after.port);
            if after.weight == 0 && before.weight != 0 {
                state.edits.drained.insert(k, before.weight);
            } else if after.weight != 0 {
                state.edits.drained.remove(&k);
            }
        }
        Change::Batch { changes, .. } => changes.iter().for_each(|c| remember_drains(state, c)),
        _ => {}
    }
}

/// The checks view's scroll limit at the terminal's size, and the scroll
/// within it; worked out only while the view is open (wrapping a long report
/// is the dearest thing the console does), and when it opens.
pub(super) fn rescroll(state: &mut AppState) {
    if !state.layers.iter().any(|l| matches!(l, Layer::Checks)) {
        return;
    }
    let (w, h) = state.viewport;
    let rows = crate::ui::checks_rows(state.checks.report.as_ref(), w);
    state.checks.scroll_max = rows.saturating_sub(h.saturating_sub(2));
    state.checks.scroll = state.checks.scroll.min(state.checks.scroll_max);
}

fn on_key(state: &mut AppState, k: &KeyEvent) -> Vec<Effect> {
    // Ctrl-C always quits, whatever is on top and however the keys are bound.
    if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
        return quit(state);
    }
    let keys = &state.settings.keys;
    let Some(top) = state.layers.last_mut() else {
        return super::actions::main_key(state, k);
    };
    let reply = top.on_key(k, keys);
    if reply.close {
        state.layers.pop();
    }
    reply.intent.map(|i| on_intent(state, i)).unwrap_or_default()
}

fn on_intent(state: &mut AppState, intent: Intent) -> Vec<Effect> {
    match intent {
        Intent::Send { change, is_undo } => super::actions::send(state, change, is_undo),
        Intent::SendBoth { change, is_undo, peer } => {
            let mut effects = super::actions::send(state, change, is_undo);
            if !effects.is_empty() {
                effects.push(Effect::ApplyPeer(peer));
            }
            effects
        }
        Intent::Cancelled { change, is_undo } => {
            if is_undo {
                // Still the next to undo: u offers it again, never an older change instead.
                info(state, format!("cancelled: undo: {} (u offers it again)", change.describe()), Outcome::Info);
                state.edits.undo.push(change);
            } else {
                info(state, format!("cancelled: {}", change.describe()), Outcome::Info);
            }
            Vec::new()
        }
        Intent::Submit(change) => super::actions::submit(state, change, false),
        Intent::Filter(text) => {
            state.table.set_filter(text, &state.sel);
            Vec::new()
        }
        Intent::Weight { svc, dest, weight } => super::actions::weight_change(state, svc, dest, |_| weight),
        Intent::CmdLine(c) => super::actions::run_cmdline(state, c),
        Intent::RunChecks => run_checks(state),
        Intent::Scroll(to) => {
            state.checks.scroll = scrolled(state.checks.scroll, to, state.checks.scroll_max);
            Vec::new()
        }
        Intent::HelpScroll(to) => {
            let max = crate::ui::help_scroll_max(state, state.viewport);
            if max == 0 {
                // All of it shows: as its footer says, any key closes it.
                if matches!(state.layers.last(), Some(Layer::Help)) {
                    state.layers.pop();
                }
            } else {
                state.help_scroll = scrolled(state.help_scroll, to, max);
            }
            Vec::new()
        }
        Intent::ConnsScroll(to) => {
            let v = &mut state.conns;
            let max = v.summary.as_ref().map_or(0, |s| u16::try_from(s.entries.len()).unwrap_or(u16::MAX));
            v.scroll = scrolled(v.scroll, to, max);
            Vec::new()
        }
        Intent::ReadConns => super::conns::read_now(state),
        Intent::ReadPair => super::pair::read_now(state),
        Intent::PairScroll(to) => {
            let v = &mut state.pair;
            let max = u16::try_from(v.rows.len()).unwrap_or(u16::MAX);
            v.scroll = scrolled(v.scroll, to, max);
            Vec::new()
        }
        Intent::ConnsPrompt => {
            super::conns::prompt(state);
            Vec::new()
        }
        Intent::ConnsClient(text) => super::conns::set_client(state, &text).unwrap_or_else(|e| {
            info(state, "connections filter", Outcome::Failed(e));
            Vec::new()
        }),
    }
}

/// Open an overlay.
pub(super) fn push(state: &mut AppState, layer: Layer) {
    state.layers.push(layer);
}

/// A scrolling view's first line after `to`, at most `max`.
fn scrolled(at: u16, to: Scroll, max: u16) -> u16 {
    match to {
        Scroll::By(n) => at.saturating_add_signed(n.clamp(-1000, 1000) as i16),
        Scroll::Top => 0,
        Scroll::Bottom => u16::MAX,
    }
    .min(max)
}
