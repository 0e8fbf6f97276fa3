//! The pure update function: `update(&mut AppState, Msg) -> Vec<Command>`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::change::Change;
use super::cmdline::{self, CmdLine};
use super::form::{Form, FormEvent, FormKind};
use super::state::{AppState, Focus, Layer, Outcome, Pending, PromptKind, HISTORY};
use crate::config::{Action, Key, SparkSource};
use crate::model::{ServiceKey, Snapshot};

/// Input to the update function.
#[derive(Debug)]
pub enum Msg {
    /// A key press.
    Key(KeyEvent),
    /// Time passes (redraw highlights, refresh age).
    Tick(Instant),
    /// A new snapshot from the poller.
    Snapshot(Box<Snapshot>, Instant),
    /// The poller failed.
    SnapshotFailed(String, Instant),
    /// The executor finished change `id`.
    Done {
        /// Change id.
        id: u64,
        /// Ok, or the error message.
        result: Result<(), String>,
    },
    /// A save finished.
    Saved(PathBuf, Result<(), String>),
    /// Services managed by keepalived/ldirectord.
    Managed(HashMap<ServiceKey, String>),
    /// A reading of the interfaces and CPU, with the interfaces' roles if looked up.
    Sys(Box<crate::sys::nic::SysSample>, Option<crate::sys::load::Roles>, Instant),
    /// A check report.
    Checks(Box<crate::checks::CheckReport>, Instant),
    /// SIGINT, SIGTERM or SIGHUP.
    Quit,
}

/// Work for the event loop's workers.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Take a snapshot now.
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
    /// Run the LVS-DR checks on this snapshot.
    RunChecks(Box<Snapshot>),
    /// Write rules to a file.
    Save {
        /// Where.
        path: PathBuf,
        /// `ipvsadm -R` rules.
        rules: String,
    },
    /// Exit.
    Quit,
}

fn info(state: &mut AppState, text: impl Into<String>, outcome: Outcome) {
    state.last_action = Some((text.into(), outcome));
}

/// Apply one message.
pub fn update(state: &mut AppState, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Tick(now) => {
            state.now = now;
            Vec::new()
        }
        Msg::Quit => {
            state.quit = true;
            vec![Command::Quit]
        }
        Msg::Snapshot(snap, now) => {
            on_snapshot(state, *snap, now);
            let (vips, rips) = state.snapshot.as_ref().map(|s| (s.vips(), s.rips())).unwrap_or_default();
            let roles_stale = state.roles_at.is_none_or(|t| now.saturating_duration_since(t).as_secs() >= 10);
            let roles_for = (roles_stale || state.roles_key != (vips.clone(), rips.clone())).then(|| {
                state.roles_key = (vips.clone(), rips.clone());
                state.roles_at = Some(now);
                (vips, rips)
            });
            let mut cmds = vec![Command::SampleSys { roles_for }];
            if state.checks_at.is_none_or(|t| now.saturating_duration_since(t) >= state.check_every) {
                state.checks_at = Some(now);
                if let Some(s) = &state.snapshot {
                    cmds.push(Command::RunChecks(Box::new(s.clone())));
                }
            }
            cmds
        }
        Msg::Sys(sample, roles, now) => {
            if let Some(r) = roles {
                state.roles = r;
            }
            let roles = std::mem::take(&mut state.roles);
            on_sys(state, *sample, &roles, now);
            state.roles = roles;
            Vec::new()
        }
        Msg::SnapshotFailed(e, now) => {
            state.now = now;
            state.snapshot_error = Some(e);
            Vec::new()
        }
        Msg::Checks(report, now) => {
            state.markers = crate::checks::Markers::new(&report);
            state.checks = Some(*report);
            state.checks_at = Some(now);
            Vec::new()
        }
        Msg::Managed(m) => {
            state.managed = m;
            Vec::new()
        }
        Msg::Saved(path, r) => {
            match r {
                Ok(()) => info(state, format!("saved the rules to {}", path.display()), Outcome::Ok),
                Err(e) => info(state, format!("save to {}", path.display()), Outcome::Failed(e)),
            }
            Vec::new()
        }
        Msg::Done { id, result } => on_done(state, id, result),
        Msg::Key(k) if k.kind == KeyEventKind::Release => Vec::new(),
        Msg::Key(k) => on_key(state, &k),
    }
}

fn on_snapshot(state: &mut AppState, snap: Snapshot, now: Instant) {
    state.now = now;
    if let Some(old) = &state.snapshot {
        for s in &snap.services {
            let prev = old.service(&s.spec.key);
            if prev.is_none() && !old.services.is_empty() {
                state.flashes.insert((s.spec.key, None), now);
            }
            for d in &s.destinations {
                let before = prev.and_then(|p| {
                    p.destinations.iter().find(|o| o.spec.addr == d.spec.addr && o.spec.port == d.spec.port)
                });
                let changed = match before {
                    Some(b) => b.spec != d.spec || b.state() != d.state(),
                    None => prev.is_some(),
                };
                if changed {
                    state.flashes.insert((s.spec.key, Some((d.spec.addr, d.spec.port))), now);
                }
            }
        }
    }
    for s in &snap.services {
        let v = match state.spark {
            SparkSource::Cps => s.rates.cps,
            SparkSource::Pps => s.rates.inpps,
        };
        let h = state.history.entry(s.spec.key).or_default();
        h.push_back(v);
        while h.len() > HISTORY {
            h.pop_front();
        }
    }
    state.history.retain(|k, _| snap.service(k).is_some());
    let flash_for = state.flash_for;
    state.flashes.retain(|_, t| now.saturating_duration_since(*t) < flash_for);
    state.snapshot = Some(snap);
    state.snapshot_at = Some(now);
    state.snapshot_error = None;
}

fn on_sys(state: &mut AppState, sample: crate::sys::nic::SysSample, roles: &crate::sys::load::Roles, now: Instant) {
    if let Some((prev, at)) = &state.sys_prev {
        let secs = now.saturating_duration_since(*at).as_secs_f64();
        if secs > 0.05 {
            let load = crate::sys::load::compute(prev, &sample, secs, &state.nic_policy, roles);
            for n in &load.nics {
                let h = state.nic_history.entry(n.name.clone()).or_default();
                h.push_back(n.pps());
                while h.len() > HISTORY {
                    h.pop_front();
                }
            }
            state.nic_history.retain(|k, _| load.nics.iter().any(|n| &n.name == k));
            state.load = Some(load);
        }
    }
    state.sys_prev = Some((sample, now));
}

fn on_done(state: &mut AppState, id: u64, result: Result<(), String>) -> Vec<Command> {
    let Some(Pending { change, is_undo }) = state.pending.remove(&id) else {
        return Vec::new();
    };
    let label = if is_undo { format!("undo: {}", change.describe()) } else { change.describe() };
    match result {
        Ok(()) => {
            remember_drains(state, &change);
            if !is_undo {
                if let Some(inv) = change.inverse() {
                    state.undo.push(inv);
                }
            }
            info(state, label, Outcome::Ok);
        }
        Err(e) => info(state, label, Outcome::Failed(e)),
    }
    vec![Command::Refresh]
}

fn remember_drains(state: &mut AppState, change: &Change) {
    match change {
        Change::EditDest { svc, before, after } => {
            let k = (*svc, after.addr, after.port);
            if after.weight == 0 && before.weight != 0 {
                state.drained.insert(k, before.weight);
            } else if after.weight != 0 {
                state.drained.remove(&k);
            }
        }
        Change::Batch { changes, .. } => changes.iter().for_each(|c| remember_drains(state, c)),
        _ => {}
    }
}

fn on_key(state: &mut AppState, k: &KeyEvent) -> Vec<Command> {
    if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
        state.quit = true;
        return vec![Command::Quit];
    }
    let Some(top) = state.layers.pop() else {
        return main_key(state, k);
    };
    match top {
        Layer::Help => Vec::new(),
        Layer::Checks => {
            let scroll = &mut state.checks_scroll;
            let to = match k.code {
                KeyCode::Char('c') => {
                    state.layers.push(Layer::Checks);
                    return state
                        .snapshot
                        .as_ref()
                        .map(|s| vec![Command::RunChecks(Box::new(s.clone()))])
                        .unwrap_or_default();
                }
                KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
                KeyCode::Down | KeyCode::Char('j') => scroll.saturating_add(1),
                KeyCode::PageUp => scroll.saturating_sub(10),
                KeyCode::PageDown | KeyCode::Char(' ') => scroll.saturating_add(10),
                KeyCode::Home | KeyCode::Char('g') => 0,
                KeyCode::End | KeyCode::Char('G') => u16::MAX,
                _ => return Vec::new(),
            };
            *scroll = to.min(state.checks_scroll_max.get());
            state.layers.push(Layer::Checks);
            Vec::new()
        }
        Layer::Confirm { change, warning, is_undo } => match k.code {
            KeyCode::Char('y' | 'Y') | KeyCode::Enter => send(state, change, is_undo),
            KeyCode::Char('n' | 'N' | 'q') | KeyCode::Esc => {
                info(state, format!("cancelled: {}", change.describe()), Outcome::Info);
                Vec::new()
            }
            _ => {
                state.layers.push(Layer::Confirm { change, warning, is_undo });
                Vec::new()
            }
        },
        Layer::Form(mut form) => match form.handle_key(k) {
            FormEvent::Stay => {
                state.layers.push(Layer::Form(form));
                Vec::new()
            }
            FormEvent::Cancel => Vec::new(),
            FormEvent::Submit(change) => submit(state, change, false),
        },
        Layer::Prompt { kind, mut text, .. } => match k.code {
            KeyCode::Esc => {
                if kind == PromptKind::Filter {
                    state.filter.clear();
                }
                Vec::new()
            }
            KeyCode::Enter => prompt_done(state, kind, &text),
            KeyCode::Backspace => {
                text.pop();
                reprompt(state, kind, text);
                Vec::new()
            }
            KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
                if text.len() < 200 {
                    text.push(c);
                }
                reprompt(state, kind, text);
                Vec::new()
            }
            _ => {
                reprompt(state, kind, text);
                Vec::new()
            }
        },
    }
}

fn reprompt(state: &mut AppState, kind: PromptKind, text: String) {
    let error = match kind {
        PromptKind::Filter => {
            state.filter.clone_from(&text);
            None
        }
        PromptKind::Weight => weight_of(&text).err(),
        PromptKind::Command => None,
    };
    state.layers.push(Layer::Prompt { kind, text, error });
}

fn weight_of(text: &str) -> Result<u32, String> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|w| *w <= 65535)
        .ok_or_else(|| format!("invalid weight '{}': use 0 to 65535", text.trim()))
}

fn prompt_done(state: &mut AppState, kind: PromptKind, text: &str) -> Vec<Command> {
    match kind {
        PromptKind::Filter => {
            state.filter = text.to_string();
            Vec::new()
        }
        PromptKind::Weight => match weight_of(text) {
            Ok(w) => set_weight(state, |_| w),
            Err(e) => {
                state.layers.push(Layer::Prompt { kind, text: text.to_string(), error: Some(e) });
                Vec::new()
            }
        },
        PromptKind::Command => match cmdline::parse(text) {
            Ok(c) => run_cmdline(state, c),
            Err(e) => {
                state.layers.push(Layer::Prompt { kind, text: text.to_string(), error: Some(e) });
                Vec::new()
            }
        },
    }
}

fn run_cmdline(state: &mut AppState, c: CmdLine) -> Vec<Command> {
    let Some(snap) = state.snapshot.as_ref() else {
        info(state, "no snapshot yet", Outcome::Info);
        return Vec::new();
    };
    let batch = |label: String, changes: Vec<Change>| match changes.len() {
        0 => None,
        1 => changes.into_iter().next(),
        _ => Some(Change::Batch { label, changes }),
    };
    let change = match c {
        CmdLine::Quit => {
            state.quit = true;
            return vec![Command::Quit];
        }
        CmdLine::Help => {
            state.layers.push(Layer::Help);
            return Vec::new();
        }
        CmdLine::Save(path) => {
            return vec![Command::Save { path, rules: crate::report::save_rules(snap) }];
        }
        CmdLine::Zero => Some(Change::Zero(None)),
        CmdLine::Weight(t, w) => {
            batch(format!("weight {} → {w}", t.addr), cmdline::weight_changes(snap, t, |_| Some(w)))
        }
        CmdLine::Drain(t) => batch(format!("drain {}", t.addr), cmdline::weight_changes(snap, t, |_| Some(0))),
        CmdLine::Restore(t) => {
            let drained = state.drained.clone();
            let changes = t
                .find(snap)
                .into_iter()
                .filter_map(|(svc, d)| {
                    let w = *drained.get(&(svc, d.spec.addr, d.spec.port))?;
                    Some(Change::EditDest { svc, before: d.spec.clone(), after: d.spec.clone().weight(w) })
                })
                .collect();
            batch(format!("restore {}", t.addr), changes)
        }
    };
    if let Some(c) = change {
        submit(state, c, false)
    } else {
        info(state, "nothing to change: no matching realserver (or no remembered weight)", Outcome::Info);
        Vec::new()
    }
}

/// Ask for confirmation if needed, else send.
fn submit(state: &mut AppState, change: Change, is_undo: bool) -> Vec<Command> {
    if let Err(why) = &state.writable {
        info(state, format!("refused: {} (read-only: {why})", change.describe()), Outcome::Failed("read-only".into()));
        return Vec::new();
    }
    let managed: Vec<String> = change
        .services()
        .iter()
        .filter_map(|k| state.managed.get(k).map(|by| format!("{k} is managed by {by}")))
        .collect();
    let warning =
        (!managed.is_empty()).then(|| format!("{}: the daemon may overwrite this change", managed.join("; ")));
    if change.is_dangerous() || warning.is_some() {
        state.layers.push(Layer::Confirm { change, warning, is_undo });
        Vec::new()
    } else {
        send(state, change, is_undo)
    }
}

fn send(state: &mut AppState, change: Change, is_undo: bool) -> Vec<Command> {
    if state.writable.is_err() {
        return Vec::new();
    }
    let id = state.next_id;
    state.next_id += 1;
    let label = if is_undo { format!("undo: {}", change.describe()) } else { change.describe() };
    info(state, label, Outcome::Pending);
    state.pending.insert(id, Pending { change: change.clone(), is_undo });
    vec![Command::Apply { id, change }]
}

fn set_weight(state: &mut AppState, f: impl Fn(u32) -> u32) -> Vec<Command> {
    let (Some(svc), Some(d)) = (state.selected_service(), state.selected_dest()) else {
        info(state, "select a realserver first (Tab moves to the realservers)", Outcome::Info);
        return Vec::new();
    };
    let w = f(d.spec.weight).min(65535);
    if w == d.spec.weight {
        info(state, format!("{} already has weight {w}", d.spec.addr_port()), Outcome::Info);
        return Vec::new();
    }
    let change = Change::EditDest { svc: svc.spec.key, before: d.spec.clone(), after: d.spec.clone().weight(w) };
    submit(state, change, false)
}

fn move_sel(state: &mut AppState, delta: isize, absolute: Option<bool>) {
    let step = |len: usize, cur: Option<usize>| -> Option<usize> {
        if len == 0 {
            return None;
        }
        Some(match absolute {
            Some(true) => 0,
            Some(false) => len - 1,
            None => {
                let cur = cur.unwrap_or(0) as isize;
                (cur + delta).clamp(0, len as isize - 1) as usize
            }
        })
    };
    match state.focus {
        Focus::Services => {
            let vis: Vec<ServiceKey> = state.visible_services().iter().map(|s| s.spec.key).collect();
            let cur = state.selected_service().and_then(|s| vis.iter().position(|k| *k == s.spec.key));
            if let Some(i) = step(vis.len(), cur) {
                if state.sel_svc != Some(vis[i]) {
                    state.sel_svc = Some(vis[i]);
                    state.sel_dest = None;
                }
            }
        }
        Focus::Dests => {
            let vis: Vec<_> = state.visible_dests().iter().map(|d| (d.spec.addr, d.spec.port)).collect();
            let cur = state.selected_dest().and_then(|d| vis.iter().position(|k| *k == (d.spec.addr, d.spec.port)));
            if let Some(i) = step(vis.len(), cur) {
                state.sel_dest = Some(vis[i]);
            }
        }
    }
}

fn main_key(state: &mut AppState, k: &KeyEvent) -> Vec<Command> {
    let Some(action) = Key::from_event(k).and_then(|key| state.keys.action(&key)) else {
        return Vec::new();
    };
    // Pin the selection to what is shown, so a refresh cannot move it under the operator.
    if state.sel_svc.is_none() {
        state.sel_svc = state.selected_service().map(|s| s.spec.key);
    }
    match action {
        Action::Quit => {
            state.quit = true;
            vec![Command::Quit]
        }
        Action::Help => {
            state.layers.push(Layer::Help);
            Vec::new()
        }
        Action::Up => {
            move_sel(state, -1, None);
            Vec::new()
        }
        Action::Down => {
            move_sel(state, 1, None);
            Vec::new()
        }
        Action::PageUp => {
            move_sel(state, -10, None);
            Vec::new()
        }
        Action::PageDown => {
            move_sel(state, 10, None);
            Vec::new()
        }
        Action::Top => {
            move_sel(state, 0, Some(true));
            Vec::new()
        }
        Action::Bottom => {
            move_sel(state, 0, Some(false));
            Vec::new()
        }
        Action::Focus => {
            state.focus = match state.focus {
                Focus::Services if !state.visible_dests().is_empty() => Focus::Dests,
                _ => Focus::Services,
            };
            Vec::new()
        }
        Action::Filter => {
            let text = state.filter.clone();
            state.layers.push(Layer::Prompt { kind: PromptKind::Filter, text, error: None });
            Vec::new()
        }
        Action::Sort => {
            state.sort = state.sort.next();
            Vec::new()
        }
        Action::SortReverse => {
            state.sort_rev = !state.sort_rev;
            Vec::new()
        }
        Action::Refresh => vec![Command::Refresh],
        Action::Checks => {
            state.checks_scroll = 0;
            state.layers.push(Layer::Checks);
            state.snapshot.as_ref().map(|s| vec![Command::RunChecks(Box::new(s.clone()))]).unwrap_or_default()
        }
        Action::NicPanel => {
            state.show_nics = !state.show_nics;
            Vec::new()
        }
        Action::Command => {
            state.layers.push(Layer::Prompt { kind: PromptKind::Command, text: String::new(), error: None });
            Vec::new()
        }
        _ if !state.is_writable() => Vec::new(),
        Action::WeightUp => {
            let step = state.weight_step;
            set_weight(state, |w| w.saturating_add(step))
        }
        Action::WeightDown => {
            let step = state.weight_step;
            set_weight(state, |w| w.saturating_sub(step))
        }
        Action::WeightSet => {
            if let Some(d) = state.selected_dest().filter(|_| state.focus == Focus::Dests) {
                let text = d.spec.weight.to_string();
                state.layers.push(Layer::Prompt { kind: PromptKind::Weight, text, error: None });
            } else {
                info(state, "select a realserver first (Tab moves to the realservers)", Outcome::Info);
            }
            Vec::new()
        }
        Action::Drain => {
            if state.focus != Focus::Dests {
                info(state, "select a realserver first (Tab moves to the realservers)", Outcome::Info);
                return Vec::new();
            }
            set_weight(state, |_| 0)
        }
        Action::Restore => {
            let (Some(svc), Some(d)) = (state.selected_service(), state.selected_dest()) else {
                return Vec::new();
            };
            let key = (svc.spec.key, d.spec.addr, d.spec.port);
            if let Some(&w) = state.drained.get(&key) {
                let change = Change::EditDest { svc: key.0, before: d.spec.clone(), after: d.spec.clone().weight(w) };
                submit(state, change, false)
            } else {
                let msg = format!("no remembered weight for {}: press w to set one", d.spec.addr_port());
                info(state, msg, Outcome::Info);
                Vec::new()
            }
        }
        Action::DrainEverywhere => {
            let Some(d) = state.selected_dest().filter(|_| state.focus == Focus::Dests) else {
                info(state, "select a realserver first (Tab moves to the realservers)", Outcome::Info);
                return Vec::new();
            };
            let t = cmdline::Target { addr: d.spec.addr, port: None };
            let changes =
                state.snapshot.as_ref().map(|s| cmdline::weight_changes(s, t, |_| Some(0))).unwrap_or_default();
            if changes.is_empty() {
                info(state, format!("{} is already drained everywhere", t.addr), Outcome::Info);
                return Vec::new();
            }
            submit(state, Change::Batch { label: format!("drain {} in every service", t.addr), changes }, false)
        }
        Action::Add => {
            let kind = match (state.focus, state.selected_service()) {
                (Focus::Dests, Some(s)) => FormKind::AddDest(s.spec.clone()),
                _ => FormKind::AddService,
            };
            state.layers.push(Layer::Form(Form::new(kind)));
            Vec::new()
        }
        Action::Edit => {
            let kind = match (state.focus, state.selected_service(), state.selected_dest()) {
                (Focus::Dests, Some(s), Some(d)) => Some(FormKind::EditDest(s.spec.clone(), d.spec.clone())),
                (Focus::Services, Some(s), _) => Some(FormKind::EditService(s.spec.clone())),
                _ => None,
            };
            if let Some(kind) = kind {
                state.layers.push(Layer::Form(Form::new(kind)));
            }
            Vec::new()
        }
        Action::Delete => {
            let change = match (state.focus, state.selected_service(), state.selected_dest()) {
                (Focus::Dests, Some(s), Some(d)) => Some(Change::DelDest { svc: s.spec.key, dest: d.spec.clone() }),
                (Focus::Services, Some(s), _) => Some(Change::DelService {
                    spec: s.spec.clone(),
                    dests: s.destinations.iter().map(|d| d.spec.clone()).collect(),
                }),
                _ => None,
            };
            change.map(|c| submit(state, c, false)).unwrap_or_default()
        }
        Action::Zero => match state.selected_service() {
            Some(s) => {
                let c = Change::Zero(Some(s.spec.key));
                submit(state, c, false)
            }
            None => Vec::new(),
        },
        Action::Undo => {
            if let Some(c) = state.undo.pop() {
                submit(state, c, true)
            } else {
                info(state, "nothing to undo", Outcome::Info);
                Vec::new()
            }
        }
    }
}
