//! The pure update function: `update(&mut AppState, Msg) -> Vec<Effect>`.
//! Messages in, effects (work for the event loop's workers) out; no I/O, no
//! clock (time arrives in messages), no terminal.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::layer::{Intent, Layer, Scroll};
use super::state::{AppState, Outcome, Pending, HISTORY};
use crate::config::SparkSource;
use crate::model::Change;
use crate::model::{ServiceKey, Snapshot};

/// Input to the update function.
#[derive(Debug)]
pub enum Msg {
    /// A key press.
    Key(KeyEvent),
    /// The terminal's size (columns, rows), at start and on every resize.
    Resize(u16, u16),
    /// Time passes (redraw highlights, refresh age).
    Tick(Instant),
    /// The refresh interval has passed.
    Poll,
    /// A new snapshot from the poller.
    Snapshot(Box<Snapshot>, Instant),
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
    /// Services managed by keepalived/ldirectord.
    Managed(HashMap<ServiceKey, String>),
    /// A reading of the interfaces and CPU, with the interfaces' roles if looked up.
    Sys(Box<crate::sys::nic::SysSample>, Option<crate::sys::load::Roles>, Instant),
    /// The report of check run number `run` (see [`Effect::RunChecks`]).
    Checks(Box<crate::checks::CheckReport>, u64, Instant),
    /// SIGINT, SIGTERM or SIGHUP.
    Quit,
}

/// Work for the event loop's workers.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Take a snapshot now (unless one is already being taken).
    Refresh,
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
    /// Run the LVS-DR checks on this snapshot; the report comes back as `Msg::Checks` with `run`.
    RunChecks {
        /// The run's number.
        run: u64,
        /// The table to check.
        snapshot: Box<Snapshot>,
    },
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
            Vec::new()
        }
        Msg::Quit => quit(state),
        Msg::Poll => refresh(state),
        Msg::Snapshot(snap, now) => on_snapshot(state, *snap, now),
        Msg::Sys(sample, roles, now) => {
            if let Some(r) = roles {
                state.nics.roles = r;
            }
            on_sys(state, *sample, now);
            Vec::new()
        }
        Msg::SnapshotFailed(e, now) => {
            state.now = now;
            state.table.refreshing = false;
            state.table.error = Some(e);
            Vec::new()
        }
        Msg::Checks(report, run, now) => on_checks(state, *report, run, now),
        Msg::Managed(m) => {
            state.table.managed = m;
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

/// Ask for a snapshot unless one is on its way.
pub(super) fn refresh(state: &mut AppState) -> Vec<Effect> {
    if state.table.refreshing {
        return Vec::new();
    }
    state.table.refreshing = true;
    vec![Effect::Refresh]
}

/// The checks on the current snapshot: one run at a time (asked again while
/// one is in flight, the next starts when it ends).
pub(super) fn run_checks(state: &mut AppState) -> Vec<Effect> {
    let Some(snap) = state.table.snapshot() else { return Vec::new() };
    if state.checks.running.is_some() {
        state.checks.again = true;
        return Vec::new();
    }
    let snapshot = Box::new(snap.clone());
    state.checks.last_run += 1;
    state.checks.running = Some(state.checks.last_run);
    vec![Effect::RunChecks { run: state.checks.last_run, snapshot }]
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
/// that are new (none on the first snapshot).
fn changed_rows(old: &Snapshot, new: &Snapshot) -> Vec<super::state::RowId> {
    let mut rows = Vec::new();
    for s in &new.services {
        let prev = old.service(&s.spec.key);
        if prev.is_none() && !old.services.is_empty() {
            rows.push((s.spec.key, None));
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

fn on_snapshot(state: &mut AppState, snap: Snapshot, now: Instant) -> Vec<Effect> {
    state.now = now;
    let table = &mut state.table;
    let changed = table.snapshot().map(|old| changed_rows(old, &snap)).unwrap_or_default();
    table.flashes.extend(changed.into_iter().map(|row| (row, now)));
    for s in &snap.services {
        let v = match state.settings.spark {
            SparkSource::Cps => s.rates.cps,
            SparkSource::Pps => s.rates.inpps,
        };
        let h = table.history.entry(s.spec.key).or_default();
        h.push_back(v);
        while h.len() > HISTORY {
            h.pop_front();
        }
    }
    table.history.retain(|k, _| snap.service(k).is_some());
    let flash_for = state.settings.flash_for;
    table.flashes.retain(|_, t| now.saturating_duration_since(*t) < flash_for);
    let (vips, rips) = (snap.vips(), snap.rips());
    table.at = Some(now);
    table.error = None;
    table.refreshing = false;
    table.set_snapshot(snap, &state.sel);

    let nics = &mut state.nics;
    let roles_stale = nics.roles_at.is_none_or(|t| now.saturating_duration_since(t).as_secs() >= 10);
    let roles_for = (roles_stale || nics.roles_key.0 != vips || nics.roles_key.1 != rips).then(|| {
        nics.roles_key = (vips.clone(), rips.clone());
        nics.roles_at = Some(now);
        (vips, rips)
    });
    let mut effects = vec![Effect::SampleSys { roles_for }];
    if state.checks.at.is_none_or(|t| now.saturating_duration_since(t) >= state.settings.check_every) {
        state.checks.at = Some(now);
        effects.extend(run_checks(state));
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
    let again = meanwhile.map(|now| {
        let left = match &change {
            Change::Batch { label, changes } => {
                Change::Batch { label: label.clone(), changes: changes.iter().skip(applied_steps).cloned().collect() }
            }
            single => single.clone(),
        };
        left.rebase(now)
    });
    let effects = on_failure_or_done(state, change, is_undo, result, applied_steps, log_incomplete);
    match again {
        Some(Some(change)) => {
            let warning = "it changed meanwhile (keepalived or another operator?): confirm to make your change on it as it is now";
            push(state, Layer::Confirm { change, warning: Some(warning.into()), is_undo });
        }
        Some(None) => {
            if let Some((text, _)) = &state.last_action {
                let text = format!("{text}: it is already as you asked, nothing was sent");
                info(state, text, Outcome::Info);
            }
        }
        None => {}
    }
    effects
}

/// The outcome of a change that was applied, failed, or failed part-way.
fn on_failure_or_done(
    state: &mut AppState,
    change: Change,
    is_undo: bool,
    result: Result<(), String>,
    applied_steps: usize,
    log_incomplete: Option<String>,
) -> Vec<Effect> {
    // A batch that failed part-way: what was applied is kept (remembered
    // weights) and can be undone; the operator is told which steps.
    let change = match (&result, change) {
        (Err(e), Change::Batch { label, changes }) if applied_steps > 0 => {
            let applied: Vec<Change> = changes.into_iter().take(applied_steps).collect();
            let part = Change::Batch { label: format!("{label} (first {applied_steps} steps)"), changes: applied };
            remember_drains(state, &part);
            if !is_undo {
                if let Some(inv) = part.inverse() {
                    state.edits.undo.push(inv);
                }
            }
            let msg = format!("{e}; the first {applied_steps} were applied (u undoes them)");
            info(state, part.describe(), Outcome::Failed(msg));
            return refresh(state);
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
        Err(e) => info(state, label, Outcome::Failed(e)),
    }
    // Show the kernel's truth at once.
    refresh(state)
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

/// The checks view's scroll limit at the terminal's size, and the scroll within it.
fn rescroll(state: &mut AppState) {
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
        Intent::Cancelled(change) => {
            info(state, format!("cancelled: {}", change.describe()), Outcome::Info);
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
            let c = &mut state.checks;
            c.scroll = match to {
                Scroll::By(n) => c.scroll.saturating_add_signed(n.clamp(-1000, 1000) as i16),
                Scroll::Top => 0,
                Scroll::Bottom => u16::MAX,
            }
            .min(c.scroll_max);
            Vec::new()
        }
    }
}

/// Open an overlay.
pub(super) fn push(state: &mut AppState, layer: Layer) {
    state.layers.push(layer);
}
