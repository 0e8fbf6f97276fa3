//! Benchmark (on the host, no kernel needed): what the console costs at
//! scale, with N services of 5 realservers each: a snapshot arriving
//! (`update`), a frame drawn into a 160x48 test terminal (`render`), the same
//! frame with the table sorted by ActiveConn, and a key press that moves the
//! cursor. Medians of repeated runs. Run with `cargo bench --bench frame`.
//! Figures, not assertions.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use lvstop::app::{update, AppState, Msg};
use lvstop::config::Config;
use lvstop::model::{
    Counters, DestSpec, Destination, ForwardMethod, Rates, Service, ServiceKey, ServiceSpec, Snapshot,
};
use lvstop::ui::{render, Theme};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

fn table(n: usize) -> Snapshot {
    let mut services: Vec<Service> = (0..n)
        .map(|i| {
            let vip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, (i % 250) as u8 + 1));
            let port = 1000 + (i / 250) as u16;
            Service {
                spec: ServiceSpec::new(ServiceKey::tcp(vip, port), "wlc"),
                stats: Counters::default(),
                rates: Rates { cps: (i * 7 % 101) as u64, inpps: (i * 13 % 997) as u64, ..Rates::default() },
                destinations: (0..5u8)
                    .map(|j| Destination {
                        spec: DestSpec::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, j + 1)), port, ForwardMethod::Route)
                            .weight(1),
                        active_conns: ((i + usize::from(j)) % 50) as u32,
                        inact_conns: (i % 20) as u32,
                        persist_conns: 0,
                        stats: Counters::default(),
                        rates: Rates::default(),
                    })
                    .collect(),
            }
        })
        .collect();
    // In the kernel's order, as a snapshot arrives.
    services.sort_by_key(|s| s.spec.key);
    Snapshot { services, ..Snapshot::empty() }
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

fn key(st: &mut AppState, c: char) {
    update(st, Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)));
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let theme = Theme::default_theme();
    println!(
        "{:>9} {:>12} {:>12} {:>10} {:>16} {:>10}",
        "services", "snapshot ms", "refresh ms", "frame ms", "frame sorted ms", "key ms"
    );
    let mut reports = Vec::new();
    for n in [1000, 10_000] {
        let snap = table(n);
        let now = Instant::now();
        let mut st = AppState::new(&Config::default(), Ok(()), "bench".into(), now);
        let mut term = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
        let mut arrive = Vec::new();
        for _ in 0..11 {
            let s = Box::new(snap.clone());
            let t = Instant::now();
            update(&mut st, Msg::Snapshot(s, now));
            arrive.push(t.elapsed());
        }
        let mut frame = |st: &AppState| {
            let mut v = Vec::new();
            for _ in 0..21 {
                let t = Instant::now();
                term.draw(|f| render(st, &theme, f)).expect("draw");
                v.push(t.elapsed());
            }
            median(v)
        };
        // A console refresh: every service, the realservers of 30 of them.
        let read: Vec<ServiceKey> = snap.services.iter().take(30).map(|s| s.spec.key).collect();
        let mut refreshed = Vec::new();
        for _ in 0..11 {
            let s = Box::new(snap.clone());
            let t = Instant::now();
            update(&mut st, Msg::Refreshed(s, read.clone(), now));
            refreshed.push(t.elapsed());
        }
        let plain = frame(&st);
        key(&mut st, 's');
        key(&mut st, 's');
        let sorted = frame(&st);
        let mut keys = Vec::new();
        for _ in 0..21 {
            let t = Instant::now();
            key(&mut st, 'j');
            keys.push(t.elapsed());
        }
        println!(
            "{n:>9} {:>12.2} {:>12.2} {plain:>10.2} {sorted:>16.2} {:>10.3}",
            median(arrive),
            median(refreshed),
            median(keys)
        );
        reports.push((n, snap));
    }
    // What `lvstop dump`, `dump --json` and `save` spend formatting (no kernel involved).
    println!("{:>9} {:>14} {:>14} {:>12}", "services", "dump text ms", "dump json ms", "save ms");
    for (n, snap) in reports {
        let time = |f: &dyn Fn() -> usize| {
            let mut v = Vec::new();
            for _ in 0..7 {
                let t = Instant::now();
                std::hint::black_box(f());
                v.push(t.elapsed());
            }
            median(v)
        };
        let text = time(&|| lvstop::report::dump_text(&snap).len());
        let json = time(&|| lvstop::report::dump_json(&snap, None).len());
        let save = time(&|| lvstop::report::save_rules(&snap).map_or(0, |s| s.len()));
        println!("{n:>9} {text:>14.2} {json:>14.2} {save:>12.2}");
    }
}
