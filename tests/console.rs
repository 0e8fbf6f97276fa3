//! Pure update tests: key → action → commands.
#![allow(clippy::panic)] // a failing test panics

mod common;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use lvstop::app::{update, Command, Focus, Layer, Msg};
use lvstop::model::Change;

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn apply_of(cmds: &[Command]) -> Option<&Change> {
    cmds.iter().find_map(|c| match c {
        Command::Apply { change, .. } => Some(change),
        _ => None,
    })
}

#[test]
fn weight_up_is_sent_at_once_and_can_be_undone() {
    let (mut st, _) = common::state(true);
    update(&mut st, code(KeyCode::Tab));
    assert_eq!(st.focus, Focus::Dests);
    let cmds = update(&mut st, key('+'));
    let Some(Change::EditDest { before, after, .. }) = apply_of(&cmds) else { panic!("no apply: {cmds:?}") };
    assert_eq!((before.weight, after.weight), (3, 4));
    let id = match &cmds[0] {
        Command::Apply { id, .. } => *id,
        _ => 0,
    };
    assert_eq!(update(&mut st, Msg::Done { id, result: Ok(()) }), vec![Command::Refresh]);
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
    let Some(Command::Apply { id, change }) = cmds.first() else { panic!("not sent after y") };
    assert_eq!(change.kind(), "drain");
    update(&mut st, Msg::Done { id: *id, result: Ok(()) });
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
        assert!(st.keys.keys_of(*a).is_empty(), "{a:?} is bound in read-only mode");
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
    assert_eq!(f.fields[field].label, "weight");
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
    assert_eq!(st.sort, lvstop::app::SortCol::Inactive);
    update(&mut st, key('j'));
    update(&mut st, key('G'));
    assert_eq!(st.selected_service().map(|s| s.spec.key.to_string()).as_deref(), Some("FWM 7"));
    assert_eq!(update(&mut st, key('q')), vec![Command::Quit]);
}

#[test]
fn keepalived_managed_services_warn_before_any_edit() {
    let (mut st, _) = common::state(true);
    let key80 = common::snapshot().services[0].spec.key;
    st.managed.insert(key80, "keepalived (/etc/keepalived/keepalived.conf)".into());
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
    st.checks_at = None;
    let cmds = update(&mut st, Msg::Snapshot(Box::new(common::snapshot()), now));
    assert!(cmds.iter().any(|c| matches!(c, Command::RunChecks(_))), "{cmds:?}");
    // Not again until the interval has passed.
    let cmds = update(&mut st, Msg::Snapshot(Box::new(common::snapshot()), now));
    assert!(!cmds.iter().any(|c| matches!(c, Command::RunChecks(_))));
    let cmds = update(&mut st, key('c'));
    assert!(matches!(st.layers.last(), Some(Layer::Checks)));
    assert!(cmds.iter().any(|c| matches!(c, Command::RunChecks(_))));
    // c again re-runs, any other key closes.
    assert!(update(&mut st, key('c')).iter().any(|c| matches!(c, Command::RunChecks(_))));
    update(&mut st, key('x'));
    assert!(st.layers.is_empty());
}
