//! Render snapshots (ratatui TestBackend + insta) of every view at 80x24 and
//! 160x48, and tiny terminals that must not panic.
#![allow(clippy::panic)] // a failing test panics

mod common;

use lvstop::app::{update, AppState, Msg};
use lvstop::ui::{render, Theme};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

fn draw(st: &AppState, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| render(st, &Theme::default_theme(), f)).expect("draw");
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn keys(st: &mut AppState, ks: &[KeyCode]) {
    for k in ks {
        update(st, Msg::Key(KeyEvent::new(*k, KeyModifiers::NONE)));
    }
}

fn views() -> Vec<(&'static str, AppState)> {
    use KeyCode::{Char, Tab};
    let mut out = Vec::new();
    let (st, _) = common::state(true);
    out.push(("services", st));
    let (mut st, _) = common::state(true);
    keys(&mut st, &[Tab, Char('j')]);
    out.push(("realservers", st));
    let (mut st, _) = common::state(true);
    keys(&mut st, &[Tab, Char('d')]);
    out.push(("confirm_drain", st));
    let (mut st, _) = common::state(true);
    keys(&mut st, &[Tab, Char('a'), Char('1'), Char('9'), Char('8')]);
    out.push(("form_add_realserver", st));
    let (mut st, _) = common::state(true);
    keys(&mut st, &[Char('?')]);
    out.push(("help", st));
    let (mut st, _) = common::state(true);
    keys(&mut st, &[Char('/'), Char('2'), Char('0'), Char('0'), Char('1')]);
    out.push(("filter", st));
    let (mut st, _) = common::state(false);
    keys(&mut st, &[Char('?')]);
    out.push(("read_only_help", st));
    let (st, _) = common::state(false);
    out.push(("read_only", st));
    out.push(("checks_markers", common::state_with_checks()));
    let (mut st, _) = common::state(true);
    keys(&mut st, &[Char('c')]);
    common::give_checks(&mut st, common::check_report());
    out.push(("checks_view", st));
    // A realserver that listens on none of 10 000 services: 20 findings, then the rest counted.
    let (mut st, _) = common::state(true);
    keys(&mut st, &[Char('c')]);
    let mut report = common::check_report();
    let vip: std::net::IpAddr = "203.0.113.1".parse().expect("ip");
    report.more.push(lvstop::checks::More {
        rule: lvstop::checks::Rule::RListen,
        host: lvstop::checks::Host::Realserver("198.51.100.11".parse().expect("ip")),
        severity: lvstop::checks::Severity::Error,
        subjects: (21..=10_000)
            .map(|port| lvstop::checks::Subject::Service(lvstop::model::ServiceKey::tcp(vip, port)))
            .collect(),
    });
    common::give_checks(&mut st, report);
    out.push(("checks_view_more", st));
    out.push(("loading", common::loading_state()));
    // The connections of the drained realserver (198.51.100.12): clients still there, then none.
    let (mut st, _) = common::state(true);
    keys(&mut st, &[Tab, Char('j'), Char('o')]);
    let read = conn_summary(&st, CONN_LINES);
    update(&mut st, Msg::Conns(Box::new(Ok(read))));
    out.push(("conns_drained", st));
    let (mut st, _) = common::state(true);
    keys(&mut st, &[Tab, Char('j'), Char('o')]);
    let read = conn_summary(&st, "");
    update(&mut st, Msg::Conns(Box::new(Ok(read))));
    out.push(("conns_safe_to_remove", st));
    // Which realserver a client is on, from anywhere.
    let (mut st, _) = common::state(true);
    keys(&mut st, &[Char(':')]);
    for c in "client 203.0.113.7".chars() {
        keys(&mut st, &[Char(c)]);
    }
    keys(&mut st, &[KeyCode::Enter]);
    let read = conn_summary(&st, CONN_LINES);
    update(&mut st, Msg::Conns(Box::new(Ok(read))));
    out.push(("conns_client", st));
    // This director beside lb2, which lacks a service, has another weight and holds no VIP.
    let (mut st, _) = common::state(true);
    st.settings.directors = vec!["lb2".into()];
    keys(&mut st, &[Char('P')]);
    update(&mut st, Msg::Pair(None, "lb2".into(), Box::new(Ok(pair_read()))));
    out.push(("pair", st));
    // keepalived manages the first service and configures a realserver the kernel lacks.
    let (mut st, _) = common::state(true);
    let key = common::snapshot().services[0].spec.key;
    let realservers = vec!["198.51.100.11:80".parse().expect("rs"), "198.51.100.19:80".parse().expect("rs")];
    let by = "keepalived (/etc/keepalived/keepalived.conf)".to_string();
    update(&mut st, Msg::Managed([(key, lvstop::sys::managed::Managed { by, realservers })].into()));
    keys(&mut st, &[Tab]);
    out.push(("keepalived_down", st));
    out
}

/// The common snapshot here, and lb2's: a drained realserver restored there,
/// the fwmark service missing, a backup sync daemon; the VIPs held here.
fn pair_read() -> lvstop::app::pair::PairRead {
    use lvstop::model::{SyncDaemon, SyncState};
    use lvstop::remote::director::{HeldAddr, View};
    let local = common::snapshot();
    let mut peer = local.clone();
    peer.services[0].destinations[1].spec.weight = 1;
    peer.services.pop();
    let daemon = |state| SyncDaemon {
        state,
        mcast_ifn: "eth1".into(),
        sync_id: 7,
        sync_maxlen: None,
        mcast_group: None,
        mcast_port: None,
        mcast_ttl: None,
    };
    let mut local = local;
    local.daemons = vec![daemon(SyncState::Master)];
    peer.daemons = vec![daemon(SyncState::Backup)];
    let held = |a: &str| HeldAddr { ifname: "eth0".into(), addr: a.parse().expect("ip") };
    lvstop::app::pair::PairRead {
        local: View { snapshot: local, addresses: Some(vec![held("198.51.100.100"), held("2001:db8::100")]) },
        peer: View { snapshot: peer, addresses: Some(vec![held("198.51.100.2")]) },
    }
}

/// /proc/net/ip_vs_conn lines: clients on 198.51.100.12 (drained) and .11.
const CONN_LINES: &str = "\
TCP CB007107 D431 C6336464 0050 C633640C 0050 ESTABLISHED     899
TCP CB007107 D432 C6336464 0050 C633640C 0050 FIN_WAIT         71
TCP CB007107 0000 C6336464 0050 C633640C 0050 ASSURED         245
TCP CB007108 9C40 C6336464 0050 C633640C 0050 ESTABLISHED     612
TCP CB007109 9C41 C6336464 0050 C633640B 0050 ESTABLISHED     900
";

/// What the connections view's reading makes of `lines` with its own filter.
fn conn_summary(st: &AppState, lines: &str) -> lvstop::model::ConnSummary {
    let filter = st.conns.filter().expect("the view is open");
    let mut s = lvstop::model::ConnSummary::new(lvstop::app::conns::CAP);
    for l in lines.lines() {
        s.add(lvstop::sys::ipvs_proc::parse_conn_line(l).expect("parses").expect("an entry"), &filter);
    }
    s.finish()
}

#[test]
fn every_view_at_80x24_and_160x48() {
    for (name, st) in views() {
        for (w, h) in [(80, 24), (160, 48)] {
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), draw(&st, w, h));
        }
    }
}

#[test]
fn tiny_and_odd_sizes_never_panic() {
    for (_, st) in views() {
        for (w, h) in
            [(0, 0), (1, 1), (0, 10), (10, 0), (2, 30), (300, 2), (29, 7), (30, 8), (40, 9), (81, 25), (500, 200)]
        {
            draw(&st, w, h);
        }
    }
}

#[test]
fn no_color_and_every_theme_render() {
    let (st, _) = common::state(true);
    for t in [Theme::no_color(), Theme::builtin("light").expect("light"), Theme::builtin("high-contrast").expect("hc")]
    {
        let mut term = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
        term.draw(|f| render(&st, &t, f)).expect("draw");
    }
}

#[test]
fn a_long_checks_view_scrolls_to_its_last_finding_and_back() {
    use KeyCode::{Char, Down, End, Home, Up};
    let (mut st, _) = common::state(true);
    // The scroll limit follows the size the state is told (Msg::Resize).
    update(&mut st, Msg::Resize(100, 40));
    keys(&mut st, &[Char('c')]);
    let mut report = common::check_report();
    let model = report.findings[1].clone();
    for i in 0..30 {
        report.findings.push(lvstop::checks::Finding { message: format!("finding number {i:02}"), ..model.clone() });
    }
    common::give_checks(&mut st, report);
    let first = draw(&st, 80, 24);
    assert!(first.contains("D-RS-OFFLINK") && !first.contains("finding number 29"), "{first}");
    assert!(first.contains("1/"), "the footer shows the position: {first}");
    keys(&mut st, &[End]);
    let big = draw(&st, 100, 40);
    assert!(big.contains("finding number 29") && !big.contains("finding number 10"), "{big}");
    // Smaller: the same End reaches the last finding at the new size.
    update(&mut st, Msg::Resize(80, 24));
    keys(&mut st, &[End]);
    let last = draw(&st, 80, 24);
    assert!(last.contains("finding number 29") && !last.contains("D-RS-OFFLINK"), "{last}");
    keys(&mut st, &[Up, Up, Down]);
    assert!(draw(&st, 80, 24).contains("finding number 28"));
    keys(&mut st, &[Home]);
    assert_eq!(draw(&st, 80, 24), first);
    // Scrolling keys keep the view open; another key closes it.
    assert!(matches!(st.layers.last(), Some(lvstop::app::Layer::Checks)));
    keys(&mut st, &[Char('x')]);
    assert!(st.layers.is_empty());
}

#[test]
fn the_help_scrolls_to_its_last_key_on_an_80x24_terminal() {
    use KeyCode::{Char, Down, End, Home};
    let (mut st, _) = common::state(true);
    update(&mut st, Msg::Resize(80, 24));
    keys(&mut st, &[Char('?')]);
    let first = draw(&st, 80, 24);
    assert!(first.contains("quit lvstop") && !first.contains("undo the last change"), "{first}");
    assert!(first.contains("1/") && first.contains("other keys close"), "the footer shows the position: {first}");
    keys(&mut st, &[End]);
    let last = draw(&st, 80, 24);
    assert!(last.contains("undo the last change") && !last.contains("quit lvstop"), "{last}");
    keys(&mut st, &[Home, Down]);
    let second = draw(&st, 80, 24);
    assert!(!second.contains("quit lvstop") && second.contains("show this help"), "{second}");
    // Scrolling keys keep it open; another key closes it; opened again, it starts at its top.
    keys(&mut st, &[End]);
    assert!(matches!(st.layers.last(), Some(lvstop::app::Layer::Help)));
    keys(&mut st, &[Char('x')]);
    assert!(st.layers.is_empty());
    keys(&mut st, &[Char('?')]);
    assert_eq!(draw(&st, 80, 24), first);
    // Scrolled to its end, then enlarged: the first key up moves it at once.
    keys(&mut st, &[End]);
    update(&mut st, Msg::Resize(80, 30));
    keys(&mut st, &[KeyCode::Up]);
    assert_eq!(st.help_scroll, lvstop::ui::help_scroll_max(&st, (80, 30)) - 1);
    // Tall enough, it all shows and there is nothing to scroll: any key, a movement too, closes it.
    update(&mut st, Msg::Resize(160, 48));
    let tall = draw(&st, 160, 48);
    assert!(tall.contains("quit lvstop") && tall.contains("undo the last change"), "{tall}");
    assert!(tall.contains("any key closes this help") && !tall.contains("other keys close"), "{tall}");
    keys(&mut st, &[Down]);
    assert!(st.layers.is_empty());
}

#[test]
fn the_confirmation_of_a_large_batch_keeps_its_keys_on_screen() {
    use KeyCode::{Char, Tab};
    let (mut st, _) = common::state(true);
    // The first realserver in 120 services: D drains it everywhere, 120 steps.
    let mut snap = common::snapshot();
    let first = snap.services[0].clone();
    for port in 1..=120u16 {
        let mut s = first.clone();
        s.spec.key = lvstop::model::ServiceKey::tcp("198.51.100.100".parse().expect("ip"), port);
        snap.services.push(s);
    }
    snap.services.sort_by_key(|s| s.spec.key);
    let now = st.now;
    update(&mut st, Msg::Snapshot(Box::new(snap), now));
    keys(&mut st, &[Tab, Char('D')]);
    let screen = draw(&st, 80, 24);
    assert!(screen.contains("apply") && screen.contains("cancel"), "{screen}");
    assert!(screen.contains("more"), "{screen}");
}

#[test]
fn the_dump_table_reads_like_ipvsadm() {
    insta::assert_snapshot!("dump_text", lvstop::report::dump_text(&common::snapshot()));
}

#[test]
fn a_name_that_is_not_ascii_is_laid_out_by_its_characters() {
    // A scheduler's name comes from the kernel: its width is its characters,
    // not its bytes, and the columns after it stay aligned.
    let named = |name: &str| {
        let mut snap = common::snapshot();
        snap.services[0].spec.scheduler = name.to_string();
        lvstop::report::dump_text(&snap)
    };
    let ascii = named("wrrxyz");
    assert!(ascii.contains("wrrxyz"), "{ascii}");
    assert_eq!(named("wrr\u{e9}\u{e8}\u{2014}"), ascii.replace("wrrxyz", "wrr\u{e9}\u{e8}\u{2014}"));
}

#[test]
fn the_saved_rules_read_like_ipvsadm_s() {
    insta::assert_snapshot!("save_rules", lvstop::report::save_rules(&common::snapshot()).expect("savable"));
}

#[test]
fn the_json_dump_keeps_its_documented_shape() {
    // Exactly as written (keys in their order), a key to a line so that a change shows line by line.
    let json = lvstop::report::dump_json(&common::snapshot(), None);
    let _: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    insta::assert_snapshot!("dump_json", json.replace(",\"", ",\n\""));
}

#[test]
fn a_refresh_longer_than_the_interval_stretches_it_and_says_so() {
    use lvstop::app::Effect;
    use std::time::Duration;
    let is_refresh = |e: Vec<Effect>| matches!(e.as_slice(), [Effect::Refresh(_)]);
    let (mut st, t0) = common::state(true);
    let interval = lvstop::config::Config::default().interval;
    let took = interval * 3;
    assert!(is_refresh(update(&mut st, Msg::Poll(t0))));
    update(&mut st, Msg::Snapshot(Box::new(common::snapshot()), t0 + took));
    let screen = draw(&st, 160, 48);
    assert!(screen.contains(&format!("│ refresh {:.1} s", took.as_secs_f64())), "{screen}");
    // The next refresh waits as long as the last one took, not one interval.
    let done = t0 + took;
    assert!(update(&mut st, Msg::Poll(done + interval)).is_empty(), "stretched");
    assert!(is_refresh(update(&mut st, Msg::Poll(done + took))));
    // A quick one: the interval is itself again, and the status line quiet.
    let quick = done + took + Duration::from_millis(100);
    update(&mut st, Msg::Snapshot(Box::new(common::snapshot()), quick));
    assert!(!draw(&st, 160, 48).contains("│ refresh "));
    assert!(is_refresh(update(&mut st, Msg::Poll(quick + interval))));
}

#[test]
fn a_refresh_asked_for_is_served_at_once_whatever_the_stretched_interval() {
    use lvstop::app::Effect;
    let (mut st, t0) = common::state(true);
    let took = lvstop::config::Config::default().interval * 3;
    update(&mut st, Msg::Poll(t0));
    update(&mut st, Msg::Snapshot(Box::new(common::snapshot()), t0 + took));
    let f5 = update(&mut st, Msg::Key(KeyEvent::new(KeyCode::F(5), KeyModifiers::NONE)));
    assert!(matches!(f5.as_slice(), [Effect::Refresh(_)]), "{f5:?}");
}

#[test]
fn a_refresh_reads_every_service_the_services_pane_shows_and_no_more_rows_than_it_has() {
    use lvstop::app::Effect;
    use lvstop::model::{ServiceKey, Want};
    let (_, t0) = common::state(true);
    let mut snap = common::snapshot();
    let first = snap.services[0].clone();
    snap.services = (1..=500)
        .map(|port| {
            let mut s = first.clone();
            s.spec.key = ServiceKey::tcp("198.51.100.100".parse().expect("ip"), port);
            s
        })
        .collect();
    for (w, h) in [(160, 48), (80, 24), (120, 40)] {
        for bottom in [false, true] {
            let (mut st, _) = common::state(true);
            update(&mut st, Msg::Snapshot(Box::new(snap.clone()), t0));
            update(&mut st, Msg::Resize(w, h));
            if bottom {
                for _ in 0..60 {
                    update(&mut st, Msg::Key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE)));
                }
            }
            let screen = draw(&st, w, h);
            // The services pane's rows: the first column of each is its key.
            let shown: std::collections::BTreeSet<u16> = screen
                .lines()
                .filter_map(|l| l.split("TCP 198.51.100.100:").nth(1))
                .filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
                .collect();
            assert!(shown.len() >= 5, "{w}x{h}: {shown:?}\n{screen}");
            assert_eq!(st.services_pane_rows(), shown.len(), "{w}x{h}: the pane's rows as laid out");
            let keys = match update(&mut st, Msg::Poll(t0)).as_slice() {
                [Effect::Refresh(Want::Alone(k) | Want::Keys(k))] => k.clone(),
                other => panic!("{other:?}"),
            };
            for port in &shown {
                let key = ServiceKey::tcp("198.51.100.100".parse().expect("ip"), *port);
                assert!(keys.contains(&key), "{w}x{h} bottom {bottom}: {port} shown, not read");
            }
        }
    }
}

#[test]
fn a_refresh_asked_for_while_one_is_on_its_way_keeps_its_duration_measured() {
    let (mut st, t0) = common::state(true);
    let took = lvstop::config::Config::default().interval * 3;
    update(&mut st, Msg::Poll(t0));
    // F5 while the periodic refresh is on its way: refused, and that one is still timed.
    assert!(update(&mut st, Msg::Key(KeyEvent::new(KeyCode::F(5), KeyModifiers::NONE))).is_empty());
    update(&mut st, Msg::Snapshot(Box::new(common::snapshot()), t0 + took));
    assert!(draw(&st, 160, 48).contains(&format!("│ refresh {:.1} s", took.as_secs_f64())));
}

/// A keymap that binds more keys to one action than the help's key column
/// holds lists them over several lines, right-aligned in the column: before,
/// they ran into the description, which the border then cut.
#[test]
fn the_help_lists_many_keys_of_one_action_over_several_lines() {
    use lvstop::config::keymap::{Action, Key};
    let (mut st, _) = common::state(true);
    let many: Vec<Key> = ["q", "ctrl-q", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12"]
        .iter()
        .map(|k| Key::parse(k).expect("a key"))
        .collect();
    st.settings.keys.rebind(Action::Quit, &many);
    update(&mut st, Msg::Resize(160, 60));
    keys(&mut st, &[KeyCode::Char('?')]);
    let screen = draw(&st, 160, 60);
    let rows: Vec<&str> = screen.lines().collect();
    let at = rows.iter().position(|r| r.contains("quit lvstop")).unwrap_or_else(|| panic!("{screen}"));
    // Every key shows, the description starts where the others' do, and the
    // key column holds no more than 24 columns of keys.
    let shown: String = rows[at..at + 3].join(" ");
    for k in ["ctrl-q", "f2", "f12"] {
        assert!(shown.split_whitespace().any(|w| w == k || w.trim_matches('│') == k), "{k}: {screen}");
    }
    let column = |r: &str, text: &str| r.find(text).map(|b| r[..b].chars().count());
    let quit = column(rows[at], "quit lvstop");
    let help = rows.iter().find_map(|r| column(r, "show this help"));
    assert_eq!(quit, help, "{screen}");
}
