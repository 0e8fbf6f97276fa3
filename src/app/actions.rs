//! The main view's actions: a key from the keymap becomes a selection move,
//! an overlay, or a change (confirmed first when it is dangerous, or when a
//! daemon manages the service).

use ratatui::crossterm::event::KeyEvent;

use super::cmdline::{self, CmdLine, Target};
use super::form::{Form, FormKind};
use super::layer::{Layer, PromptKind};
use super::state::{AppState, Focus, Outcome, Pending};
use super::update::{info, push, quit, refresh_now, run_checks, Effect};
use crate::config::{Action, Context};
use crate::model::Change;
use crate::model::{Destination, Service};

/// What an action on "the realserver" says when none is targeted.
pub fn select_a_realserver(keys: &crate::config::Keymap) -> String {
    format!("select a realserver first ({} moves to the realservers)", keys.label(Action::Focus))
}

/// The one rule for every realserver action (`+ - w d r D`): it targets the
/// selected realserver, and only while the realservers pane has the focus.
pub fn target_dest(state: &AppState) -> Result<(&Service, &Destination), String> {
    match (state.sel.focus, state.selected_service(), state.selected_dest()) {
        (Focus::Dests, Some(s), Some(d)) => Ok((s, d)),
        _ => Err(select_a_realserver(&state.settings.keys)),
    }
}

/// Ask for confirmation if needed, else send.
pub(super) fn submit(state: &mut AppState, change: Change, is_undo: bool) -> Vec<Effect> {
    if let Err(why) = &state.settings.writable {
        let msg = format!("refused: {} (read-only: {why})", change.describe());
        info(state, msg, Outcome::Failed("read-only".into()));
        return Vec::new();
    }
    let managed: Vec<String> = change
        .services()
        .iter()
        .filter_map(|k| state.table.managed.get(k).map(|m| format!("{k} is managed by {}", m.by)))
        .collect();
    let warning =
        (!managed.is_empty()).then(|| format!("{}: the daemon may overwrite this change", managed.join("; ")));
    if change.is_dangerous() || warning.is_some() {
        // An undo restores this director's weights as they were; the other's
        // were its own, so an undo is never offered on both.
        let peer = if is_undo { None } else { super::pair::peer_edit(state, &change) };
        push(state, Layer::Confirm { change, warning, is_undo, peer });
        Vec::new()
    } else {
        send(state, change, is_undo)
    }
}

/// Send a change to the executor (which logs it before it is applied).
pub(super) fn send(state: &mut AppState, change: Change, is_undo: bool) -> Vec<Effect> {
    if state.settings.writable.is_err() {
        return Vec::new();
    }
    state.edits.last_id += 1;
    let id = state.edits.last_id;
    let label = if is_undo { format!("undo: {}", change.describe()) } else { change.describe() };
    info(state, label, Outcome::Pending);
    state.edits.pending.insert(id, Pending { change: change.clone(), is_undo });
    match &state.director {
        Some(name) => vec![Effect::ApplyRemote { id, director: name.clone(), change }],
        None => vec![Effect::Apply { id, change }],
    }
}

/// Set the targeted realserver's weight to `f(old weight)`.
pub(super) fn set_weight(state: &mut AppState, f: impl Fn(u32) -> u32) -> Vec<Effect> {
    match target_dest(state) {
        Ok((s, d)) => weight_change(state, s.spec.key, d.id(), f),
        Err(why) => {
            info(state, why, Outcome::Info);
            Vec::new()
        }
    }
}

/// Set realserver `dest` of `svc` to `f(its weight)`, if it is still there.
pub(super) fn weight_change(
    state: &mut AppState,
    svc: crate::model::ServiceKey,
    dest: super::state::DestId,
    f: impl Fn(u32) -> u32,
) -> Vec<Effect> {
    let found = state
        .table
        .snapshot()
        .and_then(|s| s.service(&svc))
        .and_then(|s| s.destinations.iter().find(|d| d.id() == dest).map(|d| d.spec.clone()));
    let Some(d) = found else {
        let gone = format!("{} is no longer in {svc}: nothing changed", crate::model::fmt_addr_port(&dest.0, dest.1));
        info(state, gone, Outcome::Info);
        return Vec::new();
    };
    let w = f(d.weight).min(crate::model::WEIGHT_MAX);
    if w == d.weight {
        info(state, format!("{} already has weight {w}", d.addr_port()), Outcome::Info);
        return Vec::new();
    }
    let change = Change::EditDest { svc, before: d.clone(), after: d.weight(w) };
    submit(state, change, false)
}

/// Several changes as one (or none).
fn batch(label: String, changes: Vec<Change>) -> Option<Change> {
    match changes.len() {
        0 => None,
        1 => changes.into_iter().next(),
        _ => Some(Change::Batch { label, changes }),
    }
}

/// The changes that give back the remembered weights of `t` wherever it is drained.
fn restore_changes(state: &AppState, t: Target) -> Vec<Change> {
    let Some(snap) = state.table.snapshot() else { return Vec::new() };
    t.find(snap)
        .into_iter()
        .filter_map(|(svc, d)| {
            let w = *state.edits.drained.get(&(svc, d.spec.addr, d.spec.port))?;
            Some(Change::EditDest { svc, before: d.spec.clone(), after: d.spec.clone().weight(w) })
        })
        .collect()
}

pub(super) fn run_cmdline(state: &mut AppState, c: CmdLine) -> Vec<Effect> {
    if state.table.snapshot().is_none() {
        info(state, "no snapshot yet", Outcome::Info);
        return Vec::new();
    }
    // What acts on every service that has a realserver, or writes them all,
    // waits for a refresh that reads every service's realservers.
    let whole = matches!(c, CmdLine::Weight(..) | CmdLine::Drain(_) | CmdLine::Restore(_) | CmdLine::Save(..));
    if whole && !state.table.reads.complete {
        info(state, "reading every service's realservers first…", Outcome::Pending);
        state.edits.deferred = Some(c);
        state.table.reads.want_all = true;
        return refresh_now(state);
    }
    let Some(snap) = state.table.snapshot() else { return Vec::new() };
    let change = match c {
        CmdLine::Quit => return quit(state),
        CmdLine::Client(p) => return super::conns::open(state, super::conns::ConnScope::Client(p)),
        CmdLine::Pair(name) => return super::pair::open(state, &name),
        CmdLine::Director(name) => return super::director::switch(state, &name),
        CmdLine::Help => {
            open_help(state);
            return Vec::new();
        }
        CmdLine::Save(path, replace) => {
            return match crate::report::save_rules(snap) {
                Ok(rules) => vec![Effect::Save { path, replace, rules }],
                Err(why) => {
                    info(state, format!("save to {}", path.display()), Outcome::Failed(why));
                    Vec::new()
                }
            };
        }
        CmdLine::Zero => Some(Change::Zero(None)),
        CmdLine::Weight(t, w) => {
            batch(format!("weight {} → {w}", t.addr), cmdline::weight_changes(snap, t, |_| Some(w)))
        }
        CmdLine::Drain(t) => {
            let changes = cmdline::weight_changes(snap, t, |_| Some(0));
            if changes.is_empty() {
                info(state, format!("{} is already drained everywhere", t.addr), Outcome::Info);
                return Vec::new();
            }
            batch(format!("drain {} in every service", t.addr), changes)
        }
        CmdLine::Restore(t) => batch(format!("restore {}", t.addr), restore_changes(state, t)),
    };
    if let Some(c) = change {
        submit(state, c, false)
    } else {
        info(state, "nothing to change: no matching realserver (or no remembered weight)", Outcome::Info);
        Vec::new()
    }
}

/// Move the cursor in the focused list: by `delta` rows, or to the first or last.
fn move_sel(state: &mut AppState, to: Move) {
    let (len, cur) = match state.sel.focus {
        Focus::Services => (state.visible_services().len(), state.selected_service_pos()),
        Focus::Dests => (state.visible_dests().len(), state.selected_dest_pos()),
    };
    if len == 0 {
        return;
    }
    let i = match to {
        Move::First => 0,
        Move::Last => len - 1,
        Move::By(delta) => cur.unwrap_or(0).saturating_add_signed(delta).min(len - 1),
    };
    match state.sel.focus {
        Focus::Services => {
            let key = state.table.service_key_at(i);
            if state.sel.service != key {
                state.sel.service = key;
                state.sel.dest = None;
            }
        }
        Focus::Dests => state.sel.dest = state.table.dest_id_at(i),
    }
    state.reselect();
}

/// The selected service or realserver, if a refresh removed it since the
/// operator chose it.
fn vanished_selection(state: &AppState) -> Option<String> {
    let shown_svc = state.selected_service().map(|s| s.spec.key);
    if let Some(k) = state.sel.service.filter(|k| shown_svc != Some(*k)) {
        return Some(format!("service {k} is gone (or filtered out)"));
    }
    let shown = state.selected_dest().map(Destination::id);
    let id = state.sel.dest.filter(|id| shown != Some(*id))?;
    Some(format!(
        "realserver {} is gone from {} (or filtered out)",
        crate::model::fmt_addr_port(&id.0, id.1),
        shown_svc?
    ))
}

#[derive(Clone, Copy)]
enum Move {
    By(isize),
    First,
    Last,
}

/// Open the help at its top.
fn open_help(state: &mut AppState) {
    state.help_scroll = 0;
    push(state, Layer::Help);
}

/// A key in the main view.
pub(super) fn main_key(state: &mut AppState, k: &KeyEvent) -> Vec<Effect> {
    let Some(action) = state.settings.keys.action_of(Context::Main, k) else {
        return Vec::new();
    };
    // A selected row that a refresh removed: a change is refused rather than
    // sent to the row the cursor fell back to.
    let vanished = vanished_selection(state);
    // Pin the selection to what is shown, so a refresh cannot move it under the operator.
    state.sel.service = state.selected_service().map(|s| s.spec.key);
    state.sel.dest = state.selected_dest().map(Destination::id);
    // Undo acts on its own record, not on the selection.
    if let Some(gone) = vanished.filter(|_| action.is_write() && action != Action::Undo) {
        info(state, format!("{gone}: nothing changed; the cursor is on what is there now, press again"), Outcome::Info);
        return Vec::new();
    }
    let moved = |state: &mut AppState, to| {
        move_sel(state, to);
        Vec::new()
    };
    match action {
        Action::Quit => quit(state),
        Action::Help => {
            open_help(state);
            Vec::new()
        }
        Action::Up => moved(state, Move::By(-1)),
        Action::Down => moved(state, Move::By(1)),
        Action::PageUp => moved(state, Move::By(-10)),
        Action::PageDown => moved(state, Move::By(10)),
        Action::Top => moved(state, Move::First),
        Action::Bottom => moved(state, Move::Last),
        Action::Focus => {
            state.sel.focus = match state.sel.focus {
                Focus::Services if state.visible_dests().len() > 0 => Focus::Dests,
                _ => Focus::Services,
            };
            Vec::new()
        }
        Action::Filter => {
            let text = state.table.filter().to_string();
            push(state, Layer::Prompt { kind: PromptKind::Filter, text, error: None });
            Vec::new()
        }
        Action::Sort | Action::SortReverse => {
            let (col, rev) = state.table.sort();
            let (col, rev) = if action == Action::Sort { (col.next(), rev) } else { (col, !rev) };
            state.table.set_sort(col, rev, &state.sel);
            Vec::new()
        }
        Action::Refresh => {
            state.table.reads.list_next = true;
            refresh_now(state)
        }
        Action::Checks => {
            state.checks.scroll = 0;
            push(state, Layer::Checks);
            super::update::rescroll(state);
            run_checks(state)
        }
        Action::Connections => super::conns::open_selected(state),
        Action::Pair => super::pair::open_default(state),
        Action::NextDirector => super::director::next(state),
        Action::NicPanel => {
            state.nics.show = !state.nics.show;
            Vec::new()
        }
        Action::CommandLine => {
            push(state, Layer::Prompt { kind: PromptKind::Command, text: String::new(), error: None });
            Vec::new()
        }
        // Overlay actions never reach the main view; write actions are not bound when read-only.
        Action::ConfirmYes
        | Action::ConfirmNo
        | Action::Submit
        | Action::InputCancel
        | Action::NextField
        | Action::PrevField
        | Action::DeleteChar
        | Action::ClearField => Vec::new(),
        _ if !state.is_writable() => Vec::new(),
        write => write_key(state, write),
    }
}

/// A changing action (never reached when read-only).
fn write_key(state: &mut AppState, action: Action) -> Vec<Effect> {
    let step = state.settings.weight_step;
    match action {
        Action::WeightUp => set_weight(state, |w| w.saturating_add(step)),
        Action::WeightDown => set_weight(state, |w| w.saturating_sub(step)),
        Action::Drain => set_weight(state, |_| 0),
        Action::WeightSet => {
            match target_dest(state) {
                Ok((s, d)) => {
                    let (kind, text) = (PromptKind::Weight(s.spec.key, d.id()), d.spec.weight.to_string());
                    push(state, Layer::Prompt { kind, text, error: None });
                }
                Err(why) => info(state, why, Outcome::Info),
            }
            Vec::new()
        }
        Action::Restore => {
            let (svc, d) = match target_dest(state) {
                Ok((s, d)) => (s.spec.key, d.spec.clone()),
                Err(why) => {
                    info(state, why, Outcome::Info);
                    return Vec::new();
                }
            };
            if let Some(&w) = state.edits.drained.get(&(svc, d.addr, d.port)) {
                submit(state, Change::EditDest { svc, before: d.clone(), after: d.weight(w) }, false)
            } else {
                let set = state.settings.keys.label(Action::WeightSet);
                info(
                    state,
                    format!("no remembered weight for {}: press {set} to set one", d.addr_port()),
                    Outcome::Info,
                );
                Vec::new()
            }
        }
        Action::DrainEverywhere => {
            let t = match target_dest(state) {
                Ok((_, d)) => Target { addr: d.spec.addr, port: None },
                Err(why) => {
                    info(state, why, Outcome::Info);
                    return Vec::new();
                }
            };
            run_cmdline(state, CmdLine::Drain(t))
        }
        Action::Add => {
            let kind = match (state.sel.focus, state.selected_service()) {
                (Focus::Dests, Some(s)) => FormKind::AddDest(s.spec.clone()),
                _ => FormKind::AddService,
            };
            push(state, Layer::Form(Form::new(kind)));
            Vec::new()
        }
        Action::Edit => {
            let kind = match (state.sel.focus, state.selected_service(), state.selected_dest()) {
                (Focus::Dests, Some(s), Some(d)) => Some(FormKind::EditDest(s.spec.clone(), d.spec.clone())),
                (Focus::Services, Some(s), _) => Some(FormKind::EditService(s.spec.clone())),
                _ => None,
            };
            if let Some(kind) = kind {
                push(state, Layer::Form(Form::new(kind)));
            }
            Vec::new()
        }
        Action::Delete => {
            // Deleting a service deletes its realservers; its undo adds back those
            // read: with none read yet, it could not.
            if let (Focus::Services, Some(s)) = (state.sel.focus, state.selected_service()) {
                if state.table.reads.unread.contains(&s.spec.key) {
                    let msg = format!(
                        "refused: the realservers of {} are not read yet (its undo could not add them back): press {} again in a moment",
                        s.spec.key,
                        state.settings.keys.label(Action::Delete)
                    );
                    info(state, msg, Outcome::Failed(String::new()));
                    return refresh_now(state);
                }
            }
            let change = match (state.sel.focus, state.selected_service(), state.selected_dest()) {
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
            if let Some(c) = state.edits.undo.pop() {
                submit(state, c, true)
            } else {
                info(state, "nothing to undo", Outcome::Info);
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}
