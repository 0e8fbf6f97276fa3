//! A fixed snapshot and state for the console tests (not a fake kernel: the
//! console is a pure function of its state; the VM tests cover the kernel).
#![allow(dead_code)]

use std::time::{Duration, Instant};

use lvstop::app::AppState;
use lvstop::config::Config;
use lvstop::model::{
    Counters, DestSpec, Destination, Family, ForwardMethod, Info, Rates, Service, ServiceKey, ServiceSpec, Snapshot,
    Source, Timeouts,
};
use lvstop::sys::load::Roles;
use lvstop::sys::nic::{CpuTimes, Nic, NicCounters, NicKind, SysSample};

fn dest(addr: &str, port: u16, fwd: ForwardMethod, weight: u32, active: u32, inact: u32, pps: u64) -> Destination {
    Destination {
        spec: DestSpec::new(addr.parse().expect("addr"), port, fwd).weight(weight),
        active_conns: active,
        inact_conns: inact,
        persist_conns: 0,
        stats: Counters {
            conns: u64::from(active + inact) * 10,
            inpkts: pps * 100,
            outpkts: 0,
            inbytes: pps * 6000,
            outbytes: 0,
        },
        rates: Rates { cps: pps / 10, inpps: pps, outpps: 0, inbps: pps * 60, outbps: 0 },
    }
}

/// Three services: a busy DR web service with every realserver state, an IPv6
/// persistent one and a fwmark one.
pub fn snapshot() -> Snapshot {
    let web = ServiceKey::tcp("198.51.100.100".parse().expect("ip"), 80);
    let mut over = dest("198.51.100.14", 80, ForwardMethod::Route, 5, 90, 20, 300);
    over.spec.u_thresh = 100;
    over.spec.l_thresh = 50;
    let services = vec![
        Service {
            spec: ServiceSpec::new(web, "wrr"),
            stats: Counters { conns: 123_456, inpkts: 9_876_543, outpkts: 0, inbytes: 1_234_567_890, outbytes: 0 },
            rates: Rates { cps: 120, inpps: 1500, outpps: 0, inbps: 90_000, outbps: 0 },
            destinations: vec![
                dest("198.51.100.11", 80, ForwardMethod::Route, 3, 40, 300, 700),
                dest("198.51.100.12", 80, ForwardMethod::Route, 0, 2, 40, 20),
                dest("198.51.100.13", 80, ForwardMethod::Route, 1, 0, 0, 0),
                over,
            ]
            .into(),
        },
        Service {
            spec: ServiceSpec::new(ServiceKey::tcp("2001:db8::100".parse().expect("ip"), 443), "wlc").persistent(300),
            stats: Counters::default(),
            rates: Rates { cps: 3, inpps: 40, outpps: 0, inbps: 3000, outbps: 0 },
            destinations: vec![dest("2001:db8::11", 443, ForwardMethod::Route, 1, 5, 9, 40)].into(),
        },
        Service {
            spec: ServiceSpec::new(ServiceKey::fwmark(Family::Inet, 7), "sh"),
            stats: Counters::default(),
            rates: Rates::default(),
            destinations: vec![dest("198.51.100.21", 0, ForwardMethod::Masq, 2, 0, 0, 0)].into(),
        },
    ];
    Snapshot {
        source: Source::Netlink,
        info: Some(Info { version_code: 0x0001_0201, conn_tab_size: 4096 }),
        timeouts: Some(Timeouts { tcp: 900, tcp_fin: 120, udp: 300 }),
        daemons: Vec::new(),
        services,
        totals: None,
    }
}

/// A state holding the snapshot, as of `t0`.
pub fn state(writable: bool) -> (AppState, Instant) {
    build(writable, true)
}

/// The same state before its first snapshot arrived.
pub fn loading_state() -> AppState {
    build(true, false).0
}

fn build(writable: bool, with_snapshots: bool) -> (AppState, Instant) {
    let t0 = Instant::now();
    let w = if writable { Ok(()) } else { Err("started with --read-only".to_string()) };
    let mut st = AppState::new(&Config::default(), w, "director1".into(), t0);
    if with_snapshots {
        lvstop::app::update(&mut st, lvstop::app::Msg::Snapshot(Box::new(snapshot()), t0));
    }
    // A second snapshot builds a little history for the sparklines.
    for i in (1..=5u64).filter(|_| with_snapshots) {
        let mut s = snapshot();
        s.services[0].rates.cps = 100 + i * 10;
        lvstop::app::update(&mut st, lvstop::app::Msg::Snapshot(Box::new(s), t0 + Duration::from_secs(i * 60)));
    }
    // Interface readings: eth0 (1 Gb/s) carries the VIP, bond0.100 reaches the
    // realservers (a VLAN on an active-backup bond of 10 Gb/s), veth9 has no speed.
    for i in 0..=5u64 {
        update_sys(&mut st, t0 + Duration::from_secs(i * 60), i);
    }
    st.now = t0 + Duration::from_secs(300);
    if with_snapshots {
        st.table.at = Some(st.now);
    }
    // The checks runs the snapshots started have ended (with nothing found).
    while let Some(run) = st.checks.running {
        lvstop::app::update(&mut st, lvstop::app::Msg::Checks(Box::default(), run, t0));
    }
    (st, t0)
}

/// Give the state a check report, as the checks worker does.
pub fn give_checks(st: &mut AppState, report: lvstop::checks::CheckReport) {
    let now = st.now;
    let run = st.checks.running.unwrap_or(st.checks.last_run);
    lvstop::app::update(st, lvstop::app::Msg::Checks(Box::new(report), run, now));
}

fn sys_sample(i: u64) -> SysSample {
    let mut s = SysSample::default();
    let mk = |name: &str, idx: u32, kind: NicKind, speed: Option<u64>, pps: u64| Nic {
        name: name.into(),
        ifindex: idx,
        up: true,
        kind,
        speed_mbps: speed,
        master: None,
        counters: NicCounters {
            rx_packets: pps * 60 * i,
            tx_packets: pps * 60 * i,
            rx_bytes: pps * 60 * i * 80,
            tx_bytes: pps * 60 * i * 80,
            drops: 0,
            errors: 0,
        },
    };
    for n in [
        mk("eth0", 2, NicKind::Device, Some(1000), 1_100_000 + i * 20_000),
        mk("eth1", 3, NicKind::Device, Some(10000), 0),
        mk("eth2", 4, NicKind::Device, Some(10000), 0),
        mk(
            "bond0",
            5,
            NicKind::Bond {
                mode: "active-backup".into(),
                slaves: vec!["eth1".into(), "eth2".into()],
                active: Some("eth1".into()),
            },
            None,
            0,
        ),
        mk("bond0.100", 6, NicKind::Vlan { parent: "bond0".into() }, None, 400_000),
        mk("veth9", 7, NicKind::Device, None, 2_000),
        mk("lo", 1, NicKind::Loopback, None, 99),
    ] {
        s.nics.insert(n.name.clone(), n);
    }
    s.cpu = Some(CpuTimes { total: 10_000 * i, softirq: 1_200 * i });
    s.cpu_busy = Some(30.0);
    s
}

fn update_sys(st: &mut AppState, at: Instant, i: u64) {
    let mut roles = Roles::default();
    roles.vips.insert("eth0".into(), vec!["198.51.100.100".parse().expect("ip")]);
    roles.to_realservers.push("bond0.100".into());
    lvstop::app::update(st, lvstop::app::Msg::Sys(Box::new(sys_sample(i)), Some(roles), at));
}

/// A report with an error about a realserver and a warning about the director.
pub fn check_report() -> lvstop::checks::CheckReport {
    use lvstop::checks::{CheckReport, Command, Evidence, Finding, Fix, Host, Rule, Severity, Subject, Sysctl};
    let mut r = CheckReport::default();
    r.findings.push(Finding {
        rule: Rule::DRsOffLink,
        severity: Severity::Error,
        host: Host::Director,
        subject: Subject::realserver("198.51.100.13".parse().expect("ip")),
        evidence: Evidence::RouteVia { gateway: "198.51.100.254".parse().expect("ip") },
        message: "realserver 198.51.100.13 is not on the director's segment: DR frames would go to the gateway's MAC"
            .into(),
        fix: Fix::advice("put the realserver on the director's VLAN, or use tunnelling (ipvsadm -e … -i)"),
    });
    r.findings.push(Finding {
        rule: Rule::DFwdOn,
        severity: Severity::Warning,
        host: Host::Director,
        subject: Subject::Sysctl(Sysctl::Ipv4("ip_forward")),
        evidence: Evidence::Forwarding { ip_forward: 1, devices: vec!["eth0".into()] },
        message: "IP forwarding is on but LVS-DR and LVS-TUN do not need it".into(),
        fix: Fix::run(Command::sysctl([(Sysctl::Ipv4("ip_forward"), 0)])),
    });
    r
}

/// The realservers view with findings marked.
pub fn state_with_checks() -> AppState {
    let (mut st, _) = state(true);
    give_checks(&mut st, check_report());
    lvstop::app::update(
        &mut st,
        lvstop::app::Msg::Key(ratatui::crossterm::event::KeyEvent::new(
            ratatui::crossterm::event::KeyCode::Tab,
            ratatui::crossterm::event::KeyModifiers::NONE,
        )),
    );
    st
}

/// Run a shell command: stdout on success, the command and stderr on failure.
pub fn run(cmd: &str) -> Result<String, String> {
    let out = std::process::Command::new("sh").arg("-c").arg(cmd).output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("'{cmd}': {}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// Network namespaces created by a test, deleted (their processes killed,
/// with the scratch directory `/tmp/<dir>PID`) when it ends, however it ends.
pub struct Netns(pub Vec<String>, pub &'static str);

impl Drop for Netns {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = run(&format!("ip netns pids {n} | xargs -r kill; ip netns del {n}"));
        }
        let _ = std::fs::remove_dir_all(format!("/tmp/{}{}", self.1, std::process::id()));
    }
}
