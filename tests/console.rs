//! Pure update tests: key → action → commands.
#![allow(clippy::panic)] // a failing test panics

mod common;

use lvstop::app::{update, Effect, Focus, Layer, Msg};
use lvstop::model::Change;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

/// `:line` typed and entered: what the command asks for.
fn typed(st: &mut lvstop::app::AppState, line: &str) -> Vec<Effect> {
    update(st, key(':'));
    for c in line.chars() {
        update(st, key(c));
    }
    update(st, code(KeyCode::Enter))
}

fn is_refresh(cmds: &[Effect]) -> bool {
    matches!(cmds, [Effect::Refresh(_)])
}

fn apply_of(cmds: &[Effect]) -> Option<&Change> {
    cmds.iter().find_map(|c| match c {
        Effect::Apply { change, .. } => Some(change),
        _ => None,
    })
}

#[test]
fn weight_up_is_sent_at_once_and_can_be_undone() {
    let (mut st, _) = common::state(true);
    update(&mut st, code(KeyCode::Tab));
    assert_eq!(st.sel.focus, Focus::Dests);
    let cmds = update(&mut st, key('+'));
    let Some(Change::EditDest { before, after, .. }) = apply_of(&cmds) else { panic!("no apply: {cmds:?}") };
    assert_eq!((before.weight, after.weight), (3, 4));
    let id = match &cmds[0] {
        Effect::Apply { id, .. } => *id,
        _ => 0,
    };
    let after =
        update(&mut st, Msg::Done { id, result: Ok(()), applied_steps: 0, log_incomplete: None, meanwhile: None });
    assert!(is_refresh(&after), "{after:?}");
    // u sends the inverse without confirmation (raising a weight back is not dangerous).
    let cmds = update(&mut st, key('u'));
    let Some(Change::EditDest { after, .. }) = apply_of(&cmds) else { panic!("undo sent nothing: {cmds:?}") };
    assert_eq!(after.weight, 3);
}

#[test]
fn drain_needs_confirmation_and_restore_remembers_the_weight() {
    let (mut st, _) = common::state(true);
    update(&mut st, code(KeyCode::Tab));
    let cmds = update(&mut st, key('d'));
    assert!(cmds.is_empty(), "drain sent before confirmation: {cmds:?}");
    let Some(Layer::Confirm { change, .. }) = st.layers.last() else { panic!("no confirmation") };
    assert_eq!(change.ipvsadm(), vec!["ipvsadm -e -t 198.51.100.100:80 -r 198.51.100.11:80 -g -w 0"]);
    // n cancels: nothing is sent.
    assert!(update(&mut st, key('n')).is_empty());
    assert!(st.layers.is_empty());
    update(&mut st, key('d'));
    let cmds = update(&mut st, key('y'));
    let Some(Effect::Apply { id, change }) = cmds.first() else { panic!("not sent after y") };
    assert_eq!(change.kind(), "drain");
    update(&mut st, Msg::Done { id: *id, result: Ok(()), applied_steps: 0, log_incomplete: None, meanwhile: None });
    // The kernel now reports weight 0; r restores 3.
    let mut snap = common::snapshot();
    snap.services[0].destinations[0].spec.weight = 0;
    let now = st.now;
    update(&mut st, Msg::Snapshot(Box::new(snap), now));
    let cmds = update(&mut st, key('r'));
    let Some(Change::EditDest { after, .. }) = apply_of(&cmds) else { panic!("restore sent nothing: {cmds:?}") };
    assert_eq!(after.weight, 3);
}

#[test]
fn dangerous_actions_all_ask_first() {
    for (keys, what) in [
        (vec![code(KeyCode::Tab), key('x')], "delete realserver"),
        (vec![key('x')], "delete service"),
        (vec![key('z')], "zero"),
        (vec![code(KeyCode::Tab), key('D')], "drain everywhere"),
        (vec![code(KeyCode::Tab), key('w'), code(KeyCode::Backspace), key('0'), code(KeyCode::Enter)], "weight 0"),
        (vec![key(':'), key('z'), key('e'), key('r'), key('o'), code(KeyCode::Enter)], ":zero"),
    ] {
        let (mut st, _) = common::state(true);
        let mut sent = Vec::new();
        for k in keys {
            sent.extend(update(&mut st, k));
        }
        assert!(apply_of(&sent).is_none(), "{what} was sent without confirmation");
        assert!(matches!(st.layers.last(), Some(Layer::Confirm { .. })), "{what}: no confirmation layer");
        let sent = update(&mut st, key('y'));
        assert!(apply_of(&sent).is_some(), "{what}: y did not send");
    }
}

#[test]
fn read_only_has_no_write_commands_at_all() {
    let (mut st, _) = common::state(false);
    let mut all = Vec::new();
    for k in ['+', '-', 'w', 'd', 'r', 'D', 'a', 'e', 'x', 'z', 'u', 'y', '\t'] {
        all.extend(update(&mut st, key(k)));
        all.extend(update(&mut st, code(KeyCode::Tab)));
        all.extend(update(&mut st, key(k)));
        st.layers.clear();
    }
    for line in [":weight 198.51.100.11 5", ":drain 198.51.100.11", ":zero"] {
        for c in line.chars() {
            all.extend(update(&mut st, key(c)));
        }
        all.extend(update(&mut st, code(KeyCode::Enter)));
        all.extend(update(&mut st, key('y')));
        st.layers.clear();
    }
    assert!(apply_of(&all).is_none(), "read-only produced a write: {all:?}");
    for a in lvstop::config::Action::ALL.iter().filter(|a| a.is_write()) {
        assert!(st.settings.keys.keys_of(*a).is_empty(), "{a:?} is bound in read-only mode");
    }
}

#[test]
fn command_line_weight_and_errors() {
    let (mut st, _) = common::state(true);
    for c in ":weight 198.51.100.13 7".chars() {
        update(&mut st, key(c));
    }
    let cmds = update(&mut st, code(KeyCode::Enter));
    let Some(Change::EditDest { before, after, .. }) = apply_of(&cmds) else { panic!("{cmds:?}") };
    assert_eq!((before.addr.to_string(), after.weight), ("198.51.100.13".to_string(), 7));
    for c in ":weight nohost 7".chars() {
        update(&mut st, key(c));
    }
    assert!(update(&mut st, code(KeyCode::Enter)).is_empty());
    let Some(Layer::Prompt { error: Some(e), .. }) = st.layers.last() else { panic!("no inline error") };
    assert!(e.contains("'nohost'"), "{e}");
}

#[test]
fn forms_validate_as_you_type() {
    let (mut st, _) = common::state(true);
    update(&mut st, code(KeyCode::Tab));
    update(&mut st, key('a'));
    let Some(Layer::Form(f)) = st.layers.last() else { panic!("no form") };
    assert!(f.error.is_some(), "an empty address must be flagged");
    for c in "198.51.100.15".chars() {
        update(&mut st, key(c));
    }
    let Some(Layer::Form(f)) = st.layers.last() else { panic!("form closed") };
    assert_eq!(f.error, None);
    // Weight 70000 is flagged on the weight field with the bad value.
    for _ in 0..3 {
        update(&mut st, code(KeyCode::Tab));
    }
    update(&mut st, code(KeyCode::Backspace));
    for c in "70000".chars() {
        update(&mut st, key(c));
    }
    let Some(Layer::Form(f)) = st.layers.last() else { panic!("form closed") };
    let (field, msg) = f.error.clone().expect("weight error");
    assert_eq!(field, lvstop::app::form::FieldId::Weight);
    assert!(msg.contains("'70000'"), "{msg}");
    assert!(update(&mut st, code(KeyCode::Enter)).is_empty(), "an invalid form was submitted");
    for _ in 0..4 {
        update(&mut st, code(KeyCode::Backspace));
    }
    let cmds = update(&mut st, code(KeyCode::Enter));
    let Some(Change::AddDest { dest, .. }) = apply_of(&cmds) else { panic!("{cmds:?}") };
    assert_eq!((dest.addr.to_string(), dest.weight), ("198.51.100.15".to_string(), 7));
}

#[test]
fn filter_sort_and_navigation() {
    let (mut st, _) = common::state(true);
    for c in "/2001".chars() {
        update(&mut st, key(c));
    }
    assert_eq!(st.visible_services().len(), 1);
    update(&mut st, code(KeyCode::Esc));
    assert_eq!(st.visible_services().len(), 3);
    for c in "/drained".chars() {
        update(&mut st, key(c));
    }
    update(&mut st, code(KeyCode::Enter));
    assert_eq!(st.visible_services().len(), 1);
    assert_eq!(st.visible_dests().len(), 1);
    update(&mut st, key('/'));
    update(&mut st, code(KeyCode::Esc));
    update(&mut st, key('s'));
    update(&mut st, key('s'));
    update(&mut st, key('s'));
    assert_eq!(st.table.sort(), (lvstop::app::SortCol::Inactive, false));
    update(&mut st, key('j'));
    update(&mut st, key('G'));
    assert_eq!(st.selected_service().map(|s| s.spec.key.to_string()).as_deref(), Some("FWM 7"));
    assert_eq!(update(&mut st, key('q')), vec![Effect::Quit]);
}

#[test]
fn keepalived_managed_services_warn_before_any_edit() {
    let (mut st, _) = common::state(true);
    let key80 = common::snapshot().services[0].spec.key;
    let by = "keepalived (/etc/keepalived/keepalived.conf)".to_string();
    let managed = [(key80, lvstop::sys::managed::Managed { by, realservers: Vec::new() })].into();
    update(&mut st, Msg::Managed(managed));
    update(&mut st, code(KeyCode::Tab));
    let cmds = update(&mut st, key('+'));
    assert!(cmds.is_empty(), "an edit of a managed service went out unconfirmed");
    let Some(Layer::Confirm { warning: Some(w), .. }) = st.layers.last() else { panic!("no warning") };
    assert!(w.contains("keepalived"), "{w}");
}

#[test]
fn bottom_selects_the_last_realserver() {
    let (mut st, _) = common::state(true);
    update(&mut st, code(KeyCode::Tab));
    update(&mut st, Msg::Key(KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT)));
    assert_eq!(st.selected_dest().map(|d| d.spec.addr.to_string()).as_deref(), Some("198.51.100.14"));
    update(&mut st, key('g'));
    assert_eq!(st.selected_dest().map(|d| d.spec.addr.to_string()).as_deref(), Some("198.51.100.11"));
}

#[test]
fn checks_run_on_the_first_snapshot_and_on_c() {
    let (mut st, _) = common::state(true);
    let now = st.now;
    st.checks.at = None;
    let run_of = |cmds: &[Effect]| {
        cmds.iter().find_map(|c| match c {
            Effect::RunChecks { run, .. } => Some(*run),
            _ => None,
        })
    };
    let first = run_of(&update(&mut st, Msg::Snapshot(Box::new(common::snapshot()), now))).expect("a first run");
    // Not again until the interval has passed.
    assert_eq!(run_of(&update(&mut st, Msg::Snapshot(Box::new(common::snapshot()), now))), None);
    // One run at a time: c while the first runs asks for another, started when it ends.
    assert_eq!(run_of(&update(&mut st, key('c'))), None);
    assert!(matches!(st.layers.last(), Some(Layer::Checks)));
    let report = lvstop::checks::CheckReport::default();
    let second =
        run_of(&update(&mut st, Msg::Checks(Box::new(report.clone()), first, now))).expect("the run asked for");
    assert!(second > first);
    // c again re-runs once that one is done; any other key closes.
    update(&mut st, Msg::Checks(Box::new(common::check_report()), second, now));
    let third = run_of(&update(&mut st, key('c'))).expect("c re-runs");
    // A report of an older run never replaces a newer one.
    update(&mut st, Msg::Checks(Box::new(report.clone()), third, now));
    update(&mut st, Msg::Checks(Box::new(common::check_report()), second, now));
    assert_eq!(st.checks.report.as_ref().map(|r| r.findings.len()), Some(0), "the stale report replaced the newer one");
    update(&mut st, key('x'));
    assert!(st.layers.is_empty());
}

#[test]
fn every_realserver_action_targets_the_selected_realserver_and_only_with_the_realservers_focused() {
    use lvstop::app::actions::{select_a_realserver, target_dest};
    for k in ['+', '-', 'w', 'd', 'r', 'D'] {
        // The services pane has the focus: nothing is targeted, whatever the key.
        let (mut st, _) = common::state(true);
        assert!(target_dest(&st).is_err());
        assert!(update(&mut st, key(k)).is_empty(), "{k} acted from the services pane");
        assert!(st.layers.is_empty(), "{k} opened {:?} from the services pane", st.layers.last());
        let want = select_a_realserver(&st.settings.keys);
        assert_eq!(st.last_action.as_ref().map(|(t, _)| t.as_str()), Some(want.as_str()), "{k}");
        // The realservers pane has the focus: the selected (third) realserver is the target.
        update(&mut st, code(KeyCode::Tab));
        update(&mut st, key('j'));
        update(&mut st, key('j'));
        let (_, d) = target_dest(&st).expect("a target");
        assert_eq!(d.spec.addr.to_string(), "198.51.100.13", "{k}");
        let mut sent = update(&mut st, key(k));
        if let Some(Layer::Confirm { .. }) = st.layers.last() {
            sent.extend(update(&mut st, key('y')));
        } else if let Some(Layer::Prompt { .. }) = st.layers.last() {
            sent.extend(update(&mut st, key('9')));
            sent.extend(update(&mut st, code(KeyCode::Enter)));
        }
        let targets: Vec<String> = match apply_of(&sent) {
            Some(Change::EditDest { before, .. }) => vec![before.addr.to_string()],
            Some(Change::Batch { changes, .. }) => changes
                .iter()
                .filter_map(|c| match c {
                    Change::EditDest { before, .. } => Some(before.addr.to_string()),
                    _ => None,
                })
                .collect(),
            other => {
                // r on a realserver with no remembered weight says so and sends nothing.
                assert_eq!(k, 'r', "{k} sent {other:?}");
                assert!(st.last_action.as_ref().is_some_and(|(t, _)| t.contains("198.51.100.13")), "{k}");
                continue;
            }
        };
        assert!(!targets.is_empty() && targets.iter().all(|a| a == "198.51.100.13"), "{k}: {targets:?}");
    }
}

#[test]
fn locked_identity_fields_cannot_be_edited() {
    use lvstop::app::form::FieldId;
    let (mut st, _) = common::state(true);
    update(&mut st, code(KeyCode::Tab));
    update(&mut st, key('e'));
    let Some(Layer::Form(f)) = st.layers.last() else { panic!("no edit form") };
    assert_eq!(f.focus, FieldId::Method, "the cursor starts on the first field that can change");
    // Up from the first editable field wraps to the last, never onto address or port.
    for _ in 0..20 {
        update(&mut st, code(KeyCode::Up));
        let Some(Layer::Form(f)) = st.layers.last() else { panic!("form closed") };
        assert!(!matches!(f.focus, FieldId::Address | FieldId::Port), "the cursor reached {:?}", f.focus);
    }
    // Even with the cursor forced onto a locked field, no key edits it.
    let Some(Layer::Form(f)) = st.layers.last_mut() else { panic!("form closed") };
    f.focus = FieldId::Address;
    update(&mut st, code(KeyCode::Backspace));
    update(&mut st, Msg::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
    update(&mut st, key('9'));
    let Some(Layer::Form(f)) = st.layers.last() else { panic!("form closed") };
    assert_eq!(f.field(FieldId::Address).map(|x| x.value.as_str()), Some("198.51.100.11"));
    // The change keeps the realserver's identity.
    let cmds = update(&mut st, code(KeyCode::Enter));
    let Some(Change::EditDest { before, after, .. }) = apply_of(&cmds) else { panic!("{cmds:?}") };
    assert_eq!((before.addr, before.port), (after.addr, after.port));
}

#[test]
fn overlay_keys_come_from_the_keymap() {
    use lvstop::config::{Action, Key};
    let (mut st, _) = common::state(true);
    let k = |s: &str| Key::parse(s).expect("key");
    st.settings.keys.rebind(Action::ConfirmYes, &[k("o")]);
    st.settings.keys.rebind(Action::Submit, &[k("ctrl-s")]);
    update(&mut st, code(KeyCode::Tab));
    update(&mut st, key('d'));
    assert!(update(&mut st, key('y')).is_empty(), "y no longer confirms");
    assert!(matches!(st.layers.last(), Some(Layer::Confirm { .. })));
    assert!(apply_of(&update(&mut st, key('o'))).is_some(), "o confirms");
    // In a prompt, Enter is no longer bound: it is not typed either, and ctrl-s applies.
    update(&mut st, key('w'));
    update(&mut st, code(KeyCode::Backspace));
    update(&mut st, key('4'));
    assert!(update(&mut st, code(KeyCode::Enter)).is_empty());
    let cmds = update(&mut st, Msg::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)));
    let Some(Change::EditDest { after, .. }) = apply_of(&cmds) else { panic!("{cmds:?}") };
    assert_eq!(after.weight, 4);
}

#[test]
fn the_visible_rows_follow_the_snapshot_filter_and_sort() {
    let (mut st, t0) = common::state(true);
    assert_eq!(st.visible_services().len(), 3);
    // A snapshot without the IPv6 service: the visible rows follow at once.
    let mut snap = common::snapshot();
    snap.services.remove(1);
    update(&mut st, Msg::Snapshot(Box::new(snap), t0));
    let shown: Vec<String> = st.visible_services().map(|s| s.spec.key.to_string()).collect();
    assert_eq!(shown, vec!["TCP 198.51.100.100:80", "FWM 7"]);
    // The selection is kept by identity when the rows around it change.
    update(&mut st, key('G'));
    update(&mut st, Msg::Snapshot(Box::new(common::snapshot()), t0));
    assert_eq!(st.selected_service().map(|s| s.spec.key.to_string()).as_deref(), Some("FWM 7"));
    assert_eq!(st.selected_service_pos(), Some(2));
}

#[test]
fn one_refresh_at_a_time_and_a_failure_does_not_stop_them() {
    let (mut st, t0) = common::state(true);
    assert!(is_refresh(&update(&mut st, Msg::Poll(t0))));
    assert!(update(&mut st, Msg::Poll(t0)).is_empty(), "a second refresh while one is on its way");
    assert!(update(&mut st, Msg::Key(KeyEvent::new(KeyCode::F(5), KeyModifiers::NONE))).is_empty());
    update(&mut st, Msg::SnapshotFailed("netlink: EINTR".into(), t0));
    assert!(is_refresh(&update(&mut st, Msg::Poll(t0))), "the failure ended that refresh");
    update(&mut st, Msg::Snapshot(Box::new(common::snapshot()), t0));
    assert!(is_refresh(&update(&mut st, Msg::Poll(t0))));
}

#[test]
fn a_refresh_never_moves_the_selected_realserver() {
    let (mut st, t0) = common::state(true);
    update(&mut st, code(KeyCode::Tab));
    assert_eq!(st.selected_dest().map(|d| d.spec.addr.to_string()).as_deref(), Some("198.51.100.11"));
    // keepalived adds a realserver that sorts first: the cursor stays on the one the operator saw.
    let mut snap = common::snapshot();
    let mut first = snap.services[0].destinations[0].clone();
    first.spec.addr = "198.51.100.2".parse().expect("ip");
    snap.services[0].destinations.insert(0, first);
    update(&mut st, Msg::Snapshot(Box::new(snap), t0));
    assert_eq!(st.selected_dest().map(|d| d.spec.addr.to_string()).as_deref(), Some("198.51.100.11"));
}

#[test]
fn the_weight_prompt_keeps_the_realserver_it_was_opened_for() {
    let (mut st, t0) = common::state(true);
    update(&mut st, code(KeyCode::Tab));
    update(&mut st, key('w'));
    // The realserver vanishes while the prompt is open: nothing is sent to another one.
    let mut snap = common::snapshot();
    snap.services[0].destinations.remove(0);
    update(&mut st, Msg::Snapshot(Box::new(snap), t0));
    update(&mut st, code(KeyCode::Backspace));
    update(&mut st, key('9'));
    assert!(apply_of(&update(&mut st, code(KeyCode::Enter))).is_none());
    let said = st.last_action.as_ref().map(|(t, _)| t.clone()).unwrap_or_default();
    assert!(said.contains("198.51.100.11:80 is no longer in"), "{said}");
}

#[test]
fn a_change_applied_without_its_log_line_is_still_undoable() {
    let (mut st, _) = common::state(true);
    update(&mut st, code(KeyCode::Tab));
    let cmds = update(&mut st, key('+'));
    let Some(Effect::Apply { id, .. }) = cmds.first() else { panic!("{cmds:?}") };
    let note = Some("cannot write the audit log /x: disk full".to_string());
    update(&mut st, Msg::Done { id: *id, result: Ok(()), applied_steps: 0, log_incomplete: note, meanwhile: None });
    let (text, outcome) = st.last_action.clone().expect("told");
    assert!(text.contains("3 → 4") && matches!(&outcome, lvstop::app::Outcome::Failed(e) if e.contains("disk full")));
    let cmds = update(&mut st, key('u'));
    assert!(matches!(apply_of(&cmds), Some(Change::EditDest { after, .. }) if after.weight == 3), "{cmds:?}");
}

#[test]
fn a_change_to_a_row_that_vanished_is_refused_not_moved() {
    let (mut st, t0) = common::state(true);
    update(&mut st, code(KeyCode::Tab));
    update(&mut st, key('j'));
    update(&mut st, key('j'));
    assert_eq!(st.selected_dest().map(|d| d.spec.addr.to_string()).as_deref(), Some("198.51.100.13"));
    let mut snap = common::snapshot();
    snap.services[0].destinations.retain(|d| d.spec.addr.to_string() != "198.51.100.13");
    update(&mut st, Msg::Snapshot(Box::new(snap), t0));
    assert!(apply_of(&update(&mut st, key('+'))).is_none(), "+ went to the row the cursor fell back to");
    let said = st.last_action.as_ref().map(|(t, _)| t.clone()).unwrap_or_default();
    assert!(said.contains("198.51.100.13:80 is gone"), "{said}");
    // Undo is about its own record, never refused for the selection.
    let (mut other, t1) = common::state(true);
    update(&mut other, code(KeyCode::Tab));
    update(&mut other, key('j'));
    update(&mut other, key('j'));
    update(&mut other, key('x'));
    let cmds = update(&mut other, key('y'));
    let Some(Effect::Apply { id, .. }) = cmds.first() else { panic!("{cmds:?}") };
    update(&mut other, Msg::Done { id: *id, result: Ok(()), applied_steps: 0, log_incomplete: None, meanwhile: None });
    let mut gone = common::snapshot();
    gone.services[0].destinations.retain(|d| d.spec.addr.to_string() != "198.51.100.13");
    update(&mut other, Msg::Snapshot(Box::new(gone), t1));
    assert!(matches!(apply_of(&update(&mut other, key('u'))), Some(Change::AddDest { .. })), "undo of the delete");
    // Pressed again, it acts on the row now shown.
    let cmds = update(&mut st, key('+'));
    let Some(Change::EditDest { before, .. }) = apply_of(&cmds) else { panic!("{cmds:?}") };
    assert_eq!(Some(before.addr), st.selected_dest().map(|d| d.spec.addr));
}

#[test]
fn a_batch_that_fails_part_way_keeps_and_can_undo_what_was_applied() {
    // .14 in two services: D drains it in both, as a batch of two steps.
    let (mut st, id, changes) = drained_in_two();
    assert_eq!(changes.len(), 2);
    done(&mut st, id, Err("step 2 of 2 failed: no such realserver".to_string()), 1);
    let (text, outcome) = st.last_action.clone().expect("told");
    assert!(text.contains("first 1 steps"), "{text}");
    assert!(matches!(&outcome, lvstop::app::Outcome::Failed(e) if e.contains("step 2 of 2") && e.contains("u undoes")));
    // u restores the one realserver that was drained, and only it.
    let cmds = update(&mut st, key('u'));
    let undo = apply_of(&cmds).or_else(|| match st.layers.last() {
        Some(Layer::Confirm { change, .. }) => Some(change),
        _ => None,
    });
    let Some(Change::Batch { changes, .. }) = undo.cloned() else { panic!("{cmds:?} {:?}", st.layers.last()) };
    assert_eq!(changes.len(), 1, "{changes:?}");
}

/// A drain of one realserver in two services whose first step finds it
/// already drained (keepalived did it) still drains it in the second: the
/// batch is asked again with its second step, never taken for done. One that
/// finds the last step already made says what was applied.
#[test]
fn a_batch_whose_first_step_was_already_made_meanwhile_is_asked_again_for_the_rest() {
    let drained = |c: &Change| match c {
        Change::EditDest { svc, after, .. } => lvstop::model::Current::Dest { svc: *svc, dest: after.clone() },
        other => panic!("{other:?}"),
    };
    let (mut st, id, changes) = drained_in_two();
    assert_eq!(changes.len(), 2);
    let meanwhile = Some(drained(&changes[0]));
    let err = Err("realserver … changed meanwhile … nothing was changed".to_string());
    update(&mut st, Msg::Done { id, result: err.clone(), applied_steps: 0, log_incomplete: None, meanwhile });
    let Some(Layer::Confirm { change: Change::Batch { changes: rest, .. }, .. }) = st.layers.last().cloned() else {
        panic!("the second step is asked again: {:?} {:?}", st.layers.last(), st.last_action)
    };
    assert_eq!(rest, vec![changes[1].clone()]);
    // The first step applied, the second already made: nothing is asked, and the
    // operator is told the first was applied and can be undone.
    let (mut st, id, changes) = drained_in_two();
    let meanwhile = Some(drained(&changes[1]));
    update(&mut st, Msg::Done { id, result: err, applied_steps: 1, log_incomplete: None, meanwhile });
    assert!(!matches!(st.layers.last(), Some(Layer::Confirm { .. })), "{:?}", st.layers);
    let (text, _) = st.last_action.clone().expect("told");
    assert!(text.contains("first 1 steps") && text.contains("u undoes"), "{text}");
    assert_eq!(st.edits.undo.len(), 1);
}

#[test]
fn an_edit_that_finds_its_realserver_changed_meanwhile_is_put_again_on_what_is_there_now() {
    let (mut st, _) = common::state(true);
    update(&mut st, code(KeyCode::Tab));
    let cmds = update(&mut st, key('+'));
    let Some(Effect::Apply { id, change: Change::EditDest { svc, before, after } }) = cmds.first().cloned() else {
        panic!("{cmds:?}")
    };
    assert_eq!((before.weight, after.weight), (3, 4));
    // Meanwhile keepalived set weight 7 and an upper threshold: nothing was sent.
    let mut now = before.clone();
    now.weight = 7;
    now.u_thresh = 100;
    let err = Err("realserver … changed meanwhile … nothing was changed".to_string());
    let meanwhile = Some(lvstop::model::Current::Dest { svc, dest: now.clone() });
    update(&mut st, Msg::Done { id, result: err, applied_steps: 0, log_incomplete: None, meanwhile });
    assert!(matches!(&st.last_action, Some((_, lvstop::app::Outcome::Failed(e))) if e.contains("changed meanwhile")));
    // Asked again: the operator's change (weight 4) on top of what is there now (threshold kept).
    let Some(Layer::Confirm { change, warning, is_undo: false, .. }) = st.layers.last().cloned() else {
        panic!("{:?}", st.layers.last())
    };
    assert!(warning.is_some_and(|w| w.contains("changed meanwhile")));
    let mut want = now.clone();
    want.weight = 4;
    assert_eq!(change, Change::EditDest { svc, before: now.clone(), after: want.clone() });
    let cmds = update(&mut st, key('y'));
    assert_eq!(apply_of(&cmds), Some(&Change::EditDest { svc, before: now.clone(), after: want }));
    // Someone already made the very change: nothing is asked, nothing sent.
    let Some(Effect::Apply { id, .. }) = cmds.first().cloned() else { panic!("{cmds:?}") };
    let mut same = now.clone();
    same.weight = 4;
    let meanwhile = Some(lvstop::model::Current::Dest { svc, dest: same });
    let cmds = update(
        &mut st,
        Msg::Done { id, result: Err("changed".into()), applied_steps: 0, log_incomplete: None, meanwhile },
    );
    assert!(apply_of(&cmds).is_none() && !matches!(st.layers.last(), Some(Layer::Confirm { .. })));
    assert!(st.last_action.as_ref().is_some_and(|(t, _)| t.contains("already as you asked")), "{:?}", st.last_action);
}

/// The executor's answer names the object it found changed; an answer about
/// the same realserver in another service (or any other object) asks nothing
/// and sends nothing: the change failed, and is not put again on an object the
/// operator did not choose. A property test found the console asking to edit
/// the realserver of another service.
#[test]
fn a_change_meanwhile_to_the_same_realserver_in_another_service_is_not_asked_again() {
    let (mut st, id, svc, before) = weight_up_sent();
    let mut other = svc;
    let lvstop::model::ServiceKey::Addr { port, .. } = &mut other else { panic!("{svc:?}") };
    *port += 1;
    let mut now = before.clone();
    now.weight = 7;
    let meanwhile = Some(lvstop::model::Current::Dest { svc: other, dest: now });
    let err = Err("realserver … changed meanwhile … nothing was changed".to_string());
    let cmds = update(&mut st, Msg::Done { id, result: err, applied_steps: 0, log_incomplete: None, meanwhile });
    assert!(apply_of(&cmds).is_none() && !matches!(st.layers.last(), Some(Layer::Confirm { .. })), "{:?}", st.layers);
    assert!(
        matches!(&st.last_action, Some((_, lvstop::app::Outcome::Failed(e))) if e.contains("changed meanwhile")),
        "{:?}",
        st.last_action
    );
}

/// A table of `n` services with two realservers each.
fn big_table(n: u16) -> lvstop::model::Snapshot {
    let mut snap = common::snapshot();
    let first = snap.services[0].clone();
    snap.services.clear();
    for port in 1..=n {
        let mut s = first.clone();
        s.spec.key = lvstop::model::ServiceKey::tcp("198.51.100.100".parse().expect("ip"), port);
        s.destinations.truncate(2);
        snap.services.push(s);
    }
    snap
}

#[test]
fn a_refresh_reads_the_realservers_on_screen_and_a_slice_of_the_rest() {
    use lvstop::model::{ServiceKey, Want};
    let (mut st, t0) = common::state(true);
    update(&mut st, Msg::Resize(160, 48));
    update(&mut st, Msg::Snapshot(Box::new(big_table(3000)), t0));
    let cmds = update(&mut st, Msg::Poll(t0));
    let Some(Effect::Refresh(Want::Keys(keys))) = cmds.first().cloned() else { panic!("{cmds:?}") };
    let port = |k: &ServiceKey| k.port();
    // The first screen (and the rows below it) and the round-robin slice of 3000 / 60.
    assert!(keys.iter().any(|k| port(k) == 1) && keys.iter().any(|k| port(k) == 40), "{keys:?}");
    assert!(keys.len() < 3000 / 10, "{} services' realservers read per refresh", keys.len());
    // A refresh that read some services: the others keep the realservers read before,
    // a new one shows as not read until it is.
    let mut next = big_table(3001);
    for s in &mut next.services {
        s.destinations.iter_mut().for_each(|d| d.active_conns = 77);
        if !keys.contains(&s.spec.key) {
            s.destinations.clear();
        }
    }
    update(&mut st, Msg::Refreshed(Box::new(next), keys.clone(), t0));
    let snap = st.table.snapshot().expect("table");
    let far = ServiceKey::tcp("198.51.100.100".parse().expect("ip"), 2000);
    assert_eq!(snap.service(&far).map(|s| s.destinations.len()), Some(2), "kept from before");
    assert_eq!(snap.service(&keys[0]).map(|s| s.destinations[0].active_conns), Some(77), "read now");
    let new = ServiceKey::tcp("198.51.100.100".parse().expect("ip"), 3001);
    assert!(st.table.reads.unread.contains(&new) && !st.table.reads.complete);
    assert!(st.table.history.len() <= 48, "history only for what the screen can show");
    // 3001 services: one refresh in two lists them all; the other reads the screen's alone.
    let cmds = update(&mut st, Msg::Poll(t0));
    let Some(Effect::Refresh(Want::Alone(alone))) = cmds.first().cloned() else { panic!("{cmds:?}") };
    assert!(alone.len() <= 25 && alone.iter().any(|k| port(k) == 1), "{alone:?}");
    // Read alone: port 1 changed, port 2 is gone; the rest of the table stays as it was.
    let mut first_only = big_table(1);
    first_only.services[0].destinations[0].active_conns = 5;
    let two = ServiceKey::tcp("198.51.100.100".parse().expect("ip"), 2);
    update(&mut st, Msg::ReadAlone(Box::new(first_only), vec![keys[0], two], t0));
    let snap = st.table.snapshot().expect("table");
    assert_eq!(snap.services.len(), 3000, "one gone of 3001");
    assert!(snap.service(&two).is_none());
    assert_eq!(snap.service(&keys[0]).map(|s| s.destinations[0].active_conns), Some(5));
    assert_eq!(snap.service(&far).map(|s| s.destinations.len()), Some(2), "kept from before");
    assert!(is_refresh(&update(&mut st, Msg::Poll(t0))));
}

#[test]
fn periodic_checks_judge_the_table_shown_once_every_realserver_is_in_it() {
    use lvstop::model::Want;
    let (mut st, t0) = common::state(true);
    update(&mut st, Msg::Resize(160, 48));
    st.checks.at = None;
    let table_of = |cmds: &[Effect]| {
        cmds.iter().find_map(|c| match c {
            Effect::RunChecks { run, table } => Some((*run, table.as_ref().map(|t| t.services.len()))),
            _ => None,
        })
    };
    // Every service's realservers read: the periodic run judges the table, no read of its own.
    let (first, table) = table_of(&update(&mut st, Msg::Snapshot(Box::new(big_table(500)), t0))).expect("a run");
    assert_eq!(table, Some(500));
    update(&mut st, Msg::Checks(Box::default(), first, t0));
    // The operator's c always reads everything afresh.
    let (second, table) = table_of(&update(&mut st, key('c'))).expect("c runs");
    assert_eq!(table, None);
    update(&mut st, Msg::Checks(Box::default(), second, t0));
    update(&mut st, key('x'));
    // A service whose realservers were never read: the next periodic run reads everything.
    let cmds = update(&mut st, Msg::Poll(t0));
    let Some(Effect::Refresh(Want::Keys(keys))) = cmds.first().cloned() else { panic!("{cmds:?}") };
    let later = t0 + std::time::Duration::from_secs(3600);
    let (_, table) =
        table_of(&update(&mut st, Msg::Refreshed(Box::new(big_table(501)), keys, later))).expect("a periodic run");
    assert!(!st.table.reads.unread.is_empty());
    assert_eq!(table, None);
    // That run's own complete read fills in what the table lacked, and nothing else:
    // from then on the periodic runs judge the table.
    let mut read = big_table(501);
    read.services.iter_mut().for_each(|s| s.destinations.iter_mut().for_each(|d| d.active_conns = 9));
    let before = st.table.snapshot().and_then(|t| t.services.first().map(|s| s.destinations[0].active_conns));
    update(&mut st, Msg::CheckTable(Box::new(read)));
    assert!(st.table.reads.unread.is_empty());
    let snap = st.table.snapshot().expect("table");
    assert_eq!(snap.services.first().map(|s| s.destinations[0].active_conns), before, "a read service was replaced");
    assert_eq!(snap.services.last().map(|s| s.destinations[0].active_conns), Some(9));
    let run = st.checks.running.expect("the run in flight");
    update(&mut st, Msg::Checks(Box::default(), run, later));
    let much_later = later + std::time::Duration::from_secs(3600);
    let cmds = update(&mut st, Msg::Poll(much_later));
    let Some(Effect::Refresh(Want::Keys(keys) | Want::Alone(keys))) = cmds.first().cloned() else { panic!("{cmds:?}") };
    let (_, table) =
        table_of(&update(&mut st, Msg::Refreshed(Box::new(big_table(501)), keys, much_later))).expect("a run");
    assert_eq!(table, Some(501));
}

#[test]
fn an_action_on_every_service_waits_for_every_services_realservers() {
    use lvstop::model::Want;
    let (mut st, t0) = common::state(true);
    update(&mut st, Msg::Resize(160, 48));
    update(&mut st, Msg::Snapshot(Box::new(big_table(500)), t0));
    // A partial refresh: the table is no longer complete.
    let cmds = update(&mut st, Msg::Poll(t0));
    let Some(Effect::Refresh(Want::Keys(keys))) = cmds.first().cloned() else { panic!("{cmds:?}") };
    update(&mut st, Msg::Refreshed(Box::new(big_table(500)), keys, t0));
    assert!(!st.table.reads.complete);
    update(&mut st, code(KeyCode::Tab));
    let cmds = update(&mut st, key('D'));
    assert_eq!(cmds, vec![Effect::Refresh(Want::All)], "D waits for every service's realservers");
    assert!(!matches!(st.layers.last(), Some(Layer::Confirm { .. })));
    let cmds = update(&mut st, Msg::Snapshot(Box::new(big_table(500)), t0));
    assert!(apply_of(&cmds).is_none());
    let Some(Layer::Confirm { change: Change::Batch { changes, .. }, .. }) = st.layers.last() else {
        panic!("no confirmation: {:?}", st.layers.last())
    };
    assert_eq!(changes.len(), 500, "the drain in every one of the 500 services");
}

#[test]
fn the_connections_view_reads_on_demand_and_only_while_open() {
    use lvstop::model::ConnSummary;
    let (mut st, _) = common::state(true);
    let t0 = st.now;
    let reads = |cmds: &[Effect]| {
        cmds.iter()
            .filter_map(|c| match c {
                Effect::ReadConns(f) => Some(f.clone()),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    // The main table's refresh never reads the connections.
    assert!(reads(&update(&mut st, Msg::Poll(t0))).is_empty());
    // o on the drained realserver: its entries in its service, read at once.
    update(&mut st, code(KeyCode::Tab));
    update(&mut st, key('j'));
    let r = reads(&update(&mut st, key('o')));
    assert_eq!(r.len(), 1);
    let rs = "198.51.100.12:80".parse().expect("addr");
    let vip = "198.51.100.100:80".parse().expect("addr");
    let entry = |client: &str, realserver: std::net::SocketAddr| lvstop::model::ConnEntry {
        protocol: "TCP".into(),
        client: client.parse().expect("client"),
        virtual_addr: vip,
        realserver,
        state: "ESTABLISHED".into(),
        expires_secs: 100,
        template: false,
        fwmark: None,
        pe_name: None,
        pe_data: None,
    };
    assert!(r[0].matches(&entry("203.0.113.7:4000", rs)));
    assert!(!r[0].matches(&entry("203.0.113.7:4000", "198.51.100.11:80".parse().expect("addr"))));
    assert!(matches!(st.layers.last(), Some(Layer::Conns)));
    // One reading at a time; the next once the interval has passed.
    assert!(reads(&update(&mut st, Msg::Poll(t0))).is_empty());
    update(&mut st, Msg::Conns(Box::new(Ok(ConnSummary::new(10)))));
    assert!(reads(&update(&mut st, Msg::Poll(t0))).is_empty(), "not before the interval");
    let later = t0 + std::time::Duration::from_secs(5);
    assert_eq!(reads(&update(&mut st, Msg::Poll(later))).len(), 1);
    update(&mut st, Msg::Conns(Box::new(Err("cannot read /proc/net/ip_vs_conn".into()))));
    assert!(st.conns.error.is_some());
    // / filters by client; a bad value is refused inline, a good one reads again.
    update(&mut st, key('/'));
    for c in "203.0.113.0/40".chars() {
        update(&mut st, key(c));
    }
    assert!(reads(&update(&mut st, code(KeyCode::Enter))).is_empty());
    let Some(Layer::Prompt { error: Some(e), .. }) = st.layers.last() else { panic!("{:?}", st.layers) };
    assert!(e.contains("0 to 32"), "{e}");
    update(&mut st, code(KeyCode::Backspace));
    update(&mut st, code(KeyCode::Backspace));
    update(&mut st, key('2'));
    update(&mut st, key('4'));
    let r = reads(&update(&mut st, code(KeyCode::Enter)));
    assert_eq!(r.len(), 1);
    assert!(r[0].matches(&entry("203.0.113.7:4000", rs)) && !r[0].matches(&entry("203.0.114.7:4000", rs)));
    // Any other key closes it: nothing is read from then on.
    update(&mut st, Msg::Conns(Box::new(Ok(ConnSummary::new(10)))));
    update(&mut st, key('x'));
    assert!(st.layers.is_empty());
    let much_later = t0 + std::time::Duration::from_secs(60);
    assert!(reads(&update(&mut st, Msg::Poll(much_later))).is_empty());
    // :client ADDR from anywhere: that client's entries in every service.
    update(&mut st, key(':'));
    for c in "client 2001:db8::50".chars() {
        update(&mut st, key(c));
    }
    let r = reads(&update(&mut st, code(KeyCode::Enter)));
    assert_eq!(r.len(), 1);
    assert!(r[0].matches(&entry("[2001:db8::50]:4000", "[2001:db8::11]:443".parse().expect("addr"))));
    assert!(!r[0].matches(&entry("203.0.113.7:4000", rs)));
}

/// With the pair view read beside lb2, a drain's confirmation offers b (here
/// and on lb2, with lb2's own realserver as it was read there), and b sends
/// both; without a reading that has the realserver, no b.
#[test]
fn a_drain_can_be_sent_to_both_directors_in_one_confirmed_step() {
    use lvstop::remote::director::View;
    let (mut st, _) = common::state(true);
    st.settings.directors = vec!["lb2".into()];
    update(&mut st, key('P'));
    let mut peer = common::snapshot();
    peer.services[0].destinations[0].spec.u_thresh = 7; // lb2's own settings, kept
    let read = lvstop::app::pair::PairRead {
        local: View { snapshot: common::snapshot(), addresses: Some(Vec::new()) },
        peer: View { snapshot: peer.clone(), addresses: Some(Vec::new()) },
    };
    update(&mut st, Msg::Pair(None, "lb2".into(), Box::new(Ok(read))));
    update(&mut st, code(KeyCode::Esc));
    update(&mut st, code(KeyCode::Tab));
    update(&mut st, key('d'));
    let Some(Layer::Confirm { peer: Some(edit), .. }) = st.layers.last().cloned() else {
        panic!("no offer for lb2: {:?}", st.layers.last())
    };
    let there = peer.services[0].destinations[0].spec.clone();
    assert_eq!(edit.name, "lb2");
    assert_eq!(edit.steps, vec![(peer.services[0].spec.key, there.clone(), there.weight(0))]);
    let cmds = update(&mut st, key('b'));
    assert!(matches!(cmds.first(), Some(Effect::Apply { .. })), "{cmds:?}");
    assert!(matches!(cmds.get(1), Some(Effect::ApplyPeer(e)) if *e == edit), "{cmds:?}");
    update(&mut st, Msg::PeerApplied("lb2".into(), Err("director lb2: realserver changed meanwhile".into())));
    assert!(
        matches!(&st.last_action, Some((t, lvstop::app::Outcome::Failed(e))) if t.contains("lb2") && e.contains("meanwhile")),
        "{:?}",
        st.last_action
    );

    // lb2 without that realserver: a plain confirmation, and b does nothing.
    let (mut st, _) = common::state(true);
    st.settings.directors = vec!["lb2".into()];
    update(&mut st, key('P'));
    let mut lacking = common::snapshot();
    lacking.services[0].destinations.remove(0);
    let read = lvstop::app::pair::PairRead {
        local: View { snapshot: common::snapshot(), addresses: Some(Vec::new()) },
        peer: View { snapshot: lacking, addresses: Some(Vec::new()) },
    };
    update(&mut st, Msg::Pair(None, "lb2".into(), Box::new(Ok(read))));
    update(&mut st, code(KeyCode::Esc));
    update(&mut st, code(KeyCode::Tab));
    update(&mut st, key('d'));
    assert!(matches!(st.layers.last(), Some(Layer::Confirm { peer: None, .. })));
    assert!(update(&mut st, key('b')).is_empty());
}

/// `:director lb2` shows lb2's table, read through its agent: its reads and
/// edits go there, this host's checks and connections are not offered for
/// it, the undo history of this host is dropped, and a read of a director no
/// longer shown is ignored; `>` cycles this host and each director.
#[test]
fn another_director_in_the_main_view() {
    let (mut st, _) = common::state(true);
    st.settings.directors = vec!["lb2".into(), "lb3".into()];
    // An undoable change here first.
    update(&mut st, code(KeyCode::Tab));
    let cmds = update(&mut st, key('+'));
    let Some(Effect::Apply { id, .. }) = cmds.first() else { panic!("{cmds:?}") };
    update(&mut st, Msg::Done { id: *id, result: Ok(()), applied_steps: 0, log_incomplete: None, meanwhile: None });
    assert_eq!(st.edits.undo.len(), 1);
    let cmds = typed(&mut st, "director nosuch");
    assert!(cmds.is_empty());
    assert!(matches!(&st.last_action, Some((t, _)) if t.contains("'nosuch' is not a director: use local, lb2, lb3")));
    let cmds = typed(&mut st, "director lb2");
    assert_eq!(cmds, vec![Effect::ReadDirector("lb2".into())]);
    assert!(st.edits.undo.is_empty() && st.table.snapshot().is_none());
    let mut there = common::snapshot();
    there.services.truncate(1);
    let now = st.now;
    update(&mut st, Msg::DirectorRead("lb3".into(), Box::new(Ok(common::snapshot())), now));
    assert!(st.table.snapshot().is_none(), "a read of a director not shown was taken");
    // This host's reads asked for before the switch (a refresh, the checks' own
    // table, a failure) come back meanwhile: none is shown as lb2's.
    update(&mut st, Msg::Refreshed(Box::new(common::snapshot()), Vec::new(), now));
    update(&mut st, Msg::Snapshot(Box::new(common::snapshot()), now));
    update(&mut st, Msg::CheckTable(Box::new(common::snapshot())));
    update(&mut st, Msg::SnapshotFailed("netlink: EINTR".into(), now));
    assert!(st.table.snapshot().is_none() && st.table.error.is_none(), "this host's read taken as lb2's");
    assert!(st.table.refreshing, "lb2's read is still on its way");
    update(&mut st, Msg::DirectorRead("lb2".into(), Box::new(Ok(there)), now));
    assert_eq!(st.table.snapshot().map(|s| s.services.len()), Some(1));
    // Edits go to lb2; this host's checks and connections view are not offered.
    update(&mut st, code(KeyCode::Tab));
    update(&mut st, key('d'));
    let cmds = update(&mut st, key('y'));
    assert!(matches!(cmds.first(), Some(Effect::ApplyRemote { director, .. }) if director == "lb2"), "{cmds:?}");
    assert!(update(&mut st, key('c')).is_empty());
    assert!(matches!(&st.last_action, Some((t, _)) if t.contains("not director lb2")), "{:?}", st.last_action);
    assert!(update(&mut st, key('o')).is_empty());
    // > cycles: lb3, then this host; not before the delete sent to lb2 is answered.
    let Some(Effect::ApplyRemote { id, .. }) = cmds.first().cloned() else { panic!("{cmds:?}") };
    assert!(update(&mut st, key('>')).is_empty() && st.director.as_deref() == Some("lb2"));
    done(&mut st, id, Ok(()), 0);
    assert_eq!(update(&mut st, key('>')), vec![Effect::ReadDirector("lb3".into())]);
    let cmds = update(&mut st, key('>'));
    assert!(matches!(cmds.as_slice(), [Effect::Refresh(_)]), "{cmds:?}");
    assert_eq!(st.director, None);
}

/// With another director shown, the pair view puts that director on its
/// left (the one a confirmed weight is set on), never beside itself; a
/// reading of the pair as it was before the switch is not shown.
#[test]
fn the_pair_view_sets_the_director_shown_beside_another() {
    use lvstop::remote::director::View;
    let (mut st, _) = common::state(true);
    st.settings.directors = vec!["lb2".into(), "lb3".into()];
    // This host beside lb2, then lb2 shown: P pairs lb2 with the only other, lb3.
    assert_eq!(typed(&mut st, "pair lb2"), vec![Effect::ReadPair(None, "lb2".into())]);
    update(&mut st, code(KeyCode::Esc));
    typed(&mut st, "director lb2");
    let now = st.now;
    update(&mut st, Msg::DirectorRead("lb2".into(), Box::new(Ok(common::snapshot())), now));
    assert_eq!(update(&mut st, key('P')), vec![Effect::ReadPair(Some("lb2".into()), "lb3".into())]);
    let read = |peer_weight: u32| {
        let mut peer = common::snapshot();
        peer.services[0].destinations[0].spec.weight = peer_weight;
        lvstop::app::pair::PairRead {
            local: View { snapshot: common::snapshot(), addresses: Some(Vec::new()) },
            peer: View { snapshot: peer, addresses: Some(Vec::new()) },
        }
    };
    // The reading of this host beside lb3 (a pair not shown) is dropped; lb2's is taken.
    update(&mut st, Msg::Pair(None, "lb3".into(), Box::new(Ok(read(1)))));
    assert!(st.pair.read.is_none());
    update(&mut st, Msg::Pair(Some("lb2".into()), "lb3".into(), Box::new(Ok(read(7)))));
    assert!(st.pair.read.is_some());
    let screen = |st: &lvstop::app::AppState| {
        let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 48)).expect("terminal");
        t.draw(|f| lvstop::ui::render(st, &lvstop::ui::Theme::default_theme(), f)).expect("draw");
        let buf = t.backend().buffer().clone();
        buf.content().iter().map(ratatui::buffer::Cell::symbol).collect::<String>()
    };
    let shown = screen(&st);
    assert!(shown.contains("lb2 beside lb3") && !shown.contains("this director"), "{shown}");
    // A drain confirmed on lb2 is offered on lb3 too, and says where it lands.
    update(&mut st, code(KeyCode::Esc));
    update(&mut st, code(KeyCode::Tab));
    update(&mut st, key('d'));
    assert!(matches!(st.layers.last(), Some(Layer::Confirm { peer: Some(e), .. }) if e.name == "lb3"));
    let shown = screen(&st);
    assert!(shown.contains("applies it on director lb2 and on director lb3 too"), "{shown}");
    update(&mut st, code(KeyCode::Esc));
    // Never beside itself.
    assert!(typed(&mut st, "pair lb2").is_empty());
    assert!(matches!(&st.last_action, Some((t, _)) if t.contains("lb2 is the director shown")), "{:?}", st.last_action);
}

/// A pair read beside one director offers nothing once another is shown:
/// "on both" would send a change to two directors never seen side by side.
#[test]
fn a_pair_read_before_a_switch_offers_no_change_on_both() {
    use lvstop::remote::director::View;
    let (mut st, _) = common::state(true);
    st.settings.directors = vec!["lb2".into(), "lb3".into()];
    typed(&mut st, "pair lb2");
    let mut peer = common::snapshot();
    peer.services[0].destinations[0].spec.weight = 7;
    let read = lvstop::app::pair::PairRead {
        local: View { snapshot: common::snapshot(), addresses: Some(Vec::new()) },
        peer: View { snapshot: peer, addresses: Some(Vec::new()) },
    };
    update(&mut st, Msg::Pair(None, "lb2".into(), Box::new(Ok(read.clone()))));
    update(&mut st, code(KeyCode::Esc));
    typed(&mut st, "director lb3");
    let now = st.now;
    update(&mut st, Msg::DirectorRead("lb3".into(), Box::new(Ok(common::snapshot())), now));
    // Even a reading of the old pair arriving late.
    update(&mut st, Msg::Pair(None, "lb2".into(), Box::new(Ok(read))));
    update(&mut st, code(KeyCode::Tab));
    update(&mut st, key('d'));
    assert!(matches!(st.layers.last(), Some(Layer::Confirm { peer: None, .. })), "{:?}", st.layers.last());
    assert!(update(&mut st, key('b')).is_empty());
}

/// A table of two services with .14 in both, `D` on it confirmed: the
/// console, and the drain batch it sent.
fn drained_in_two() -> (lvstop::app::AppState, u64, Vec<Change>) {
    let (mut st, _) = common::state(true);
    let mut snap = common::snapshot();
    let mut second = snap.services[0].clone();
    second.spec.key = lvstop::model::ServiceKey::tcp("198.51.100.100".parse().expect("ip"), 443);
    snap.services.push(second);
    snap.services.sort_by_key(|s| s.spec.key);
    let now = st.now;
    update(&mut st, Msg::Snapshot(Box::new(snap), now));
    update(&mut st, code(KeyCode::Tab));
    update(&mut st, key('G'));
    update(&mut st, key('D'));
    let cmds = update(&mut st, key('y'));
    let Some(Effect::Apply { id, change: Change::Batch { changes, .. } }) = cmds.first().cloned() else {
        panic!("{cmds:?}")
    };
    (st, id, changes)
}

fn done(st: &mut lvstop::app::AppState, id: u64, result: Result<(), String>, applied_steps: usize) -> Vec<Effect> {
    update(st, Msg::Done { id, result, applied_steps, log_incomplete: None, meanwhile: None })
}

/// An undo that is cancelled, fails, or fails part-way stays the next to
/// undo (what is left of it): `u` never moves on to an older change in its
/// place, which it would send without a word when that one is harmless.
/// Found by an audit: the undo was off the stack as soon as `u` was pressed.
#[test]
fn an_undo_cancelled_or_failed_stays_the_next_to_undo() {
    let (mut st, id, changes) = drained_in_two();
    done(&mut st, id, Ok(()), 0);
    let depth = st.edits.undo.len();
    let Some(drain_undo) = st.edits.undo.last().cloned() else { panic!("no undo") };
    let Change::Batch { changes: restores, .. } = &drain_undo else { panic!("{drain_undo:?}") };
    assert_eq!(restores.len(), changes.len());
    // u asks (two services); n cancels: still the next to undo.
    update(&mut st, key('u'));
    assert!(matches!(st.layers.last(), Some(Layer::Confirm { is_undo: true, .. })), "{:?}", st.layers);
    update(&mut st, key('n'));
    assert_eq!((st.edits.undo.len(), st.edits.undo.last()), (depth, Some(&drain_undo)));
    // Asked again, confirmed, the first step applied and the second failed: the second stays.
    update(&mut st, key('u'));
    let cmds = update(&mut st, key('y'));
    let Some(Effect::Apply { id, .. }) = cmds.first().cloned() else { panic!("{cmds:?}") };
    done(&mut st, id, Err("step 2 of 2 failed: no such realserver".into()), 1);
    let (text, outcome) = st.last_action.clone().expect("told");
    assert!(
        matches!(&outcome, lvstop::app::Outcome::Failed(e) if e.contains("u offers the rest again")),
        "{text} {outcome:?}"
    );
    let Some(Change::Batch { changes: rest, .. }) = st.edits.undo.last().cloned() else {
        panic!("{:?}", st.edits.undo)
    };
    assert_eq!(rest, restores[1..].to_vec());
    // That one step is harmless: u sends it at once; it fails, and stays.
    let cmds = update(&mut st, key('u'));
    let Some(Effect::Apply { id, change }) = cmds.first().cloned() else { panic!("{cmds:?}") };
    assert_eq!(change, Change::Batch { label: change_label(&change), changes: restores[1..].to_vec() });
    done(&mut st, id, Err("no such realserver".into()), 0);
    assert_eq!(st.edits.undo.last(), Some(&change));
    assert!(st
        .last_action
        .as_ref()
        .is_some_and(|(_, o)| matches!(o, lvstop::app::Outcome::Failed(e) if e.contains("u offers this undo again"))));
}

fn change_label(c: &Change) -> String {
    match c {
        Change::Batch { label, .. } => label.clone(),
        other => panic!("{other:?}"),
    }
}

/// A "changed meanwhile" answer that arrives while a form, prompt or other
/// question is open is not asked over it (the keys typed there would answer
/// it): the error stands, nothing is sent.
#[test]
fn a_change_found_changed_meanwhile_is_not_asked_again_over_an_open_window() {
    let (mut st, id, svc, before) = weight_up_sent();
    // The operator opens the weight prompt for another change meanwhile.
    update(&mut st, key('w'));
    assert!(matches!(st.layers.last(), Some(Layer::Prompt { .. })), "{:?}", st.layers);
    let mut now = before.clone();
    now.weight = 7;
    let meanwhile = Some(lvstop::model::Current::Dest { svc, dest: now });
    let err = Err("realserver … changed meanwhile … nothing was changed: look again and retry".to_string());
    let cmds = update(&mut st, Msg::Done { id, result: err, applied_steps: 0, log_incomplete: None, meanwhile });
    assert!(apply_of(&cmds).is_none() && matches!(st.layers.last(), Some(Layer::Prompt { .. })), "{:?}", st.layers);
    assert!(matches!(&st.last_action, Some((_, lvstop::app::Outcome::Failed(e))) if e.contains("changed meanwhile")));
}

/// Switching the director shown while a change sent to it is unanswered is
/// refused: its answer (applied? failed part-way?) and its undo would be lost.
#[test]
fn the_director_is_not_switched_while_a_change_is_in_flight() {
    let (mut st, _) = common::state(true);
    st.settings.directors = vec!["lb2".into()];
    update(&mut st, code(KeyCode::Tab));
    let cmds = update(&mut st, key('+'));
    let Some(Effect::Apply { id, .. }) = cmds.first().cloned() else { panic!("{cmds:?}") };
    typed(&mut st, "director lb2");
    assert_eq!(st.director, None);
    assert!(matches!(&st.last_action, Some((t, _)) if t.contains("not answered yet")), "{:?}", st.last_action);
    done(&mut st, id, Ok(()), 0);
    typed(&mut st, "director lb2");
    assert_eq!(st.director.as_deref(), Some("lb2"));
}

/// Deleting a service whose realservers are not read yet is refused: the
/// kernel deletes them with it, and the undo could not add them back.
#[test]
fn a_service_whose_realservers_are_not_read_is_not_deleted() {
    let (mut st, t0) = common::state(true);
    let mut snap = common::snapshot();
    let mut unread = snap.services[0].clone();
    unread.spec.key = lvstop::model::ServiceKey::tcp("198.51.100.100".parse().expect("ip"), 8443);
    unread.destinations.clear();
    let read: Vec<_> = snap.services.iter().map(|s| s.spec.key).collect();
    snap.services.push(unread.clone());
    snap.services.sort_by_key(|s| s.spec.key);
    update(&mut st, Msg::Refreshed(Box::new(snap), read, t0));
    assert!(st.table.reads.unread.contains(&unread.spec.key));
    for _ in 0..10 {
        if st.selected_service().map(|s| s.spec.key) != Some(unread.spec.key) {
            update(&mut st, code(KeyCode::Down));
        }
    }
    assert_eq!(st.selected_service().map(|s| s.spec.key), Some(unread.spec.key));
    let cmds = update(&mut st, key('x'));
    assert!(apply_of(&cmds).is_none() && st.layers.is_empty(), "{cmds:?} {:?}", st.layers);
    assert!(matches!(&st.last_action, Some((t, _)) if t.contains("not read yet")), "{:?}", st.last_action);
}

/// A command put off until every realserver is read is not run when a
/// window is open by then: its question would take the keys meant for it.
#[test]
fn a_put_off_command_is_not_run_over_an_open_window() {
    let (mut st, t0) = common::state(true);
    let snap = common::snapshot();
    let keys: Vec<_> = snap.services.iter().map(|s| s.spec.key).collect();
    update(&mut st, Msg::Refreshed(Box::new(snap.clone()), keys[1..].to_vec(), t0));
    assert!(!st.table.reads.complete);
    typed(&mut st, "drain 198.51.100.14");
    assert!(st.edits.deferred.is_some(), "{:?}", st.last_action);
    update(&mut st, key('?'));
    let cmds = update(&mut st, Msg::Refreshed(Box::new(snap), keys, t0));
    assert!(apply_of(&cmds).is_none() && matches!(st.layers.last(), Some(Layer::Help)), "{:?}", st.layers);
    assert!(st.edits.deferred.is_none());
    assert!(matches!(&st.last_action, Some((t, _)) if t.starts_with("not run")), "{:?}", st.last_action);
}

/// With the pair view read beside lb2, a drain of .14 in two services is
/// offered on both; its undo (restoring this director's weights, a batch
/// confirmed) is not: lb2's weights were its own. What lb2 was sent is
/// said to be out of u's reach.
#[test]
fn an_undo_is_never_offered_on_both_directors() {
    use lvstop::remote::director::View;
    let (mut st, id, _) = drained_in_two();
    let Some(snap) = st.table.snapshot().cloned() else { panic!("no table") };
    done(&mut st, id, Ok(()), 0);
    st.settings.directors = vec!["lb2".into()];
    let mut peer = snap.clone();
    for s in &mut peer.services {
        s.destinations.iter_mut().for_each(|d| d.spec.weight = 0);
    }
    let read = lvstop::app::pair::PairRead {
        local: View { snapshot: snap, addresses: Some(Vec::new()) },
        peer: View { snapshot: peer, addresses: Some(Vec::new()) },
    };
    update(&mut st, key('P'));
    update(&mut st, Msg::Pair(None, "lb2".into(), Box::new(Ok(read))));
    update(&mut st, code(KeyCode::Esc));
    update(&mut st, key('u'));
    assert!(matches!(st.layers.last(), Some(Layer::Confirm { is_undo: true, peer: None, .. })), "{:?}", st.layers);
    update(&mut st, Msg::PeerApplied("lb2".into(), Ok(2)));
    assert!(matches!(&st.last_action, Some((t, _)) if t.contains("here only")), "{:?}", st.last_action);
}

/// `+` on the first realserver, sent: the console, the change's id, its
/// service and the realserver as it was.
fn weight_up_sent() -> (lvstop::app::AppState, u64, lvstop::model::ServiceKey, lvstop::model::DestSpec) {
    let (mut st, _) = common::state(true);
    update(&mut st, code(KeyCode::Tab));
    let cmds = update(&mut st, key('+'));
    let Some(Effect::Apply { id, change: Change::EditDest { svc, before, .. } }) = cmds.first().cloned() else {
        panic!("{cmds:?}")
    };
    (st, id, svc, before)
}
