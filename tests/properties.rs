//! Property tests (the hardening issue): the netlink attribute writer and
//! parser agree on every service and realserver spec they can express, and no
//! bytes make the parser panic; the console's pure `update` never panics on
//! random keys and messages, and every change it emits keeps the identity of
//! what it edits, targets what the operator was shown (or adds something new,
//! or undoes an earlier change), and is never emitted when read-only; drawing
//! any state so reached at any terminal size never panics.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use lvstop::app::{update, AppState, Effect, Focus, Layer, Msg};
use lvstop::checks::{CheckReport, Command, Evidence, Finding, Fix, Host, Rule, Severity, Subject};
use lvstop::config::Config;
use lvstop::ipvs::codec::{dest_full, parse_daemon, parse_dest, parse_service, service_full, service_identity};
use lvstop::ipvs::wire::{dest as wdest, svc as wsvc, top as wtop};
use lvstop::model::{
    Change, Counters, DestSpec, Destination, Family, ForwardMethod, Info, Netmask, Protocol, Rates, Service,
    ServiceFlags, ServiceKey, ServiceSpec, Snapshot, Source, Timeouts, TunnelCsum, TunnelType,
};
use lvstop::netlink::{Attrs, TlvWriter, NLA_F_NESTED};
use lvstop::sys::load::Roles;
use lvstop::sys::nic::{CpuTimes, Nic, NicCounters, NicKind, SysSample};
use lvstop::ui::{render, Theme};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::Terminal;

/// `cases` cases (or `PROPTEST_CASES` for a longer hunt), no regression files
/// (a failure found here is kept as a plain `#[test]`).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(cases);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

// ---------------------------------------------------------------------------
// 1. Netlink: the writer and the parser.
// ---------------------------------------------------------------------------

fn any_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        any::<[u8; 16]>().prop_map(|b| IpAddr::V6(Ipv6Addr::from(b))),
    ]
}

fn any_family() -> impl Strategy<Value = Family> {
    prop_oneof![Just(Family::Inet), Just(Family::Inet6)]
}

/// Any key the writer can express: every protocol number, either family, any mark.
fn any_key() -> impl Strategy<Value = ServiceKey> {
    let protocol = prop_oneof![Just(6u16), Just(17), Just(132), any::<u16>()].prop_map(Protocol::from_number);
    prop_oneof![
        (protocol, any_ip(), any::<u16>()).prop_map(|(protocol, addr, port)| ServiceKey::Addr { protocol, addr, port }),
        (any_family(), any::<u32>()).prop_map(|(family, mark)| ServiceKey::Fwmark { family, mark }),
    ]
}

/// A scheduler or engine name: the usual ones, or any text without a NUL (the
/// wire's terminator), multi-byte characters included.
fn any_name() -> impl Strategy<Value = String> {
    prop_oneof![
        select(&["rr", "wrr", "lc", "wlc", "sh", "mh", "twos", "none", "sip"][..]).prop_map(String::from),
        "[^\\x00]{1,24}",
    ]
}

/// Any service spec the writer can express (flags and timeout unchecked; the
/// netmask of the key's family).
fn any_service_spec() -> impl Strategy<Value = ServiceSpec> {
    (
        any_key(),
        prop_oneof![Just(String::new()), any_name()],
        any::<u32>(),
        any::<u32>(),
        any::<[u8; 4]>(),
        any::<u8>(),
        proptest::option::of(any_name()),
    )
        .prop_map(|(key, scheduler, flags, timeout, mask4, prefix, pe_name)| ServiceSpec {
            key,
            scheduler,
            flags: ServiceFlags(flags),
            timeout,
            netmask: match key.family() {
                Family::Inet => Netmask::V4(Ipv4Addr::from(mask4)),
                Family::Inet6 => Netmask::V6(prefix),
            },
            pe_name,
        })
}

/// Any destination spec the writer can express: every forwarding value the
/// kernel's 3-bit field holds (unknown ones included), any weight and thresholds.
fn any_dest_spec() -> impl Strategy<Value = DestSpec> {
    (
        any_ip(),
        any::<u16>(),
        (0u32..8).prop_map(ForwardMethod::from_value),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        select(&[TunnelType::Ipip, TunnelType::Gue, TunnelType::Gre][..]),
        any::<u16>(),
        select(&[TunnelCsum::NoCsum, TunnelCsum::Csum, TunnelCsum::RemCsum][..]),
    )
        .prop_map(|(addr, port, forward, weight, u_thresh, l_thresh, tun_type, tun_port, tun_csum)| DestSpec {
            addr,
            port,
            forward,
            weight,
            u_thresh,
            l_thresh,
            tun_type,
            tun_port,
            tun_csum,
        })
}

/// How a reply carries its counters: not at all, 32-bit (old kernels; the byte
/// counters are 64-bit there too) or 64-bit.
#[derive(Debug, Clone)]
enum WireStats {
    Absent,
    Stats32([u64; 10]),
    Stats64([u64; 10]),
}

fn any_wire_stats() -> impl Strategy<Value = WireStats> {
    prop_oneof![
        Just(WireStats::Absent),
        any::<[u64; 10]>().prop_map(WireStats::Stats32),
        any::<[u64; 10]>().prop_map(WireStats::Stats64),
    ]
}

/// Append the stats attribute (`STATS` or `STATS64`) and return what it should parse to.
fn put_stats(w: &mut TlvWriter, stats: &WireStats, ty32: u16, ty64: u16) -> (Counters, Rates) {
    let (values, ty, wide) = match stats {
        WireStats::Absent => return (Counters::default(), Rates::default()),
        WireStats::Stats32(v) => (*v, ty32, false),
        WireStats::Stats64(v) => (*v, ty64, true),
    };
    let mut nested = TlvWriter::default();
    let mut got = [0u64; 10];
    for (i, v) in values.iter().enumerate() {
        let attr = i as u16 + 1;
        // In STATS the byte counters (INBYTES, OUTBYTES) are u64, the others u32.
        if wide || matches!(attr, 4 | 5) {
            nested.bytes(attr, &v.to_ne_bytes());
            got[i] = *v;
        } else {
            nested.u32(attr, *v as u32);
            got[i] = u64::from(*v as u32);
        }
    }
    w.bytes(ty | NLA_F_NESTED, &nested.into_inner());
    (
        Counters { conns: got[0], inpkts: got[1], outpkts: got[2], inbytes: got[3], outbytes: got[4] },
        Rates { cps: got[5], inpps: got[6], outpps: got[7], inbps: got[8], outbps: got[9] },
    )
}

/// `attrs` nested in a top-level attribute `ty`, as a reply carries it.
fn in_reply(ty: u16, attrs: &[u8]) -> Vec<u8> {
    let mut w = TlvWriter::default();
    w.bytes(ty | NLA_F_NESTED, attrs);
    w.into_inner()
}

/// Every parser and accessor on `data` and on whatever it nests (two levels).
/// Errors are fine; a panic is not.
fn parse_everything(data: &[u8], depth: u8) {
    let Ok(a) = Attrs::parse("prop", data) else { return };
    let _ = parse_service(&a);
    let _ = parse_dest(&a, Family::Inet);
    let _ = parse_dest(&a, Family::Inet6);
    let _ = parse_daemon(&a);
    for ty in 0..34u16 {
        let _ = (a.opt_u8(ty), a.opt_u16(ty), a.opt_be16(ty), a.opt_u32(ty), a.u16(ty), a.be16(ty), a.u32(ty));
        let _ = (a.counter(ty), a.string(ty), a.opt_string(ty), a.addr(ty, 2), a.addr(ty, 10), a.addr(ty, 0));
        if depth < 2 {
            if let Some(inner) = a.get(ty) {
                parse_everything(inner, depth + 1);
            }
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// A service spec written as for an add or edit, and read back as a GET_SERVICE
    /// reply carries it (nested, with counters), is the same spec (the kernel's
    /// HASHED bit is never sent nor kept).
    #[test]
    fn service_specs_survive_the_writer_and_the_parser(spec in any_service_spec(), stats in any_wire_stats()) {
        let mut attrs = service_full(&spec);
        prop_assert!(attrs.starts_with(&service_identity(&spec.key)), "a full service starts with its identity");
        let mut tail = TlvWriter::default();
        let (counters, rates) = put_stats(&mut tail, &stats, wsvc::STATS, wsvc::STATS64);
        attrs.extend(tail.into_inner());
        let reply = in_reply(wtop::SERVICE, &attrs);
        let top = Attrs::parse("reply", &reply).expect("the reply parses");
        let nested = top.nested(wtop::SERVICE, "service").expect("the service parses").expect("a service");
        let got = parse_service(&nested).expect("a service the writer wrote parses");
        let mut want = spec.clone();
        want.flags.0 &= !ServiceFlags::HASHED;
        // Names come back with control characters escaped: the kernel's are outside data.
        want.scheduler = lvstop::text::sanitize(&want.scheduler);
        want.pe_name = want.pe_name.as_deref().map(lvstop::text::sanitize);
        prop_assert_eq!(got.spec, want);
        prop_assert_eq!(got.stats, counters);
        prop_assert_eq!(got.rates, rates);
        prop_assert!(got.destinations.is_empty());
    }

    /// A destination spec written as for an add or edit, and read back as a
    /// GET_DEST reply carries it (with its connection counts and counters, under
    /// a service of either family), is the same spec.
    #[test]
    fn dest_specs_survive_the_writer_and_the_parser(
        spec in any_dest_spec(),
        svc_family in any_family(),
        conns in any::<(u32, u32)>(),
        persist in proptest::option::of(any::<u32>()),
        stats in any_wire_stats(),
    ) {
        let mut attrs = dest_full(&spec);
        let mut tail = TlvWriter::default();
        tail.u32(wdest::ACTIVE_CONNS, conns.0).u32(wdest::INACT_CONNS, conns.1);
        if let Some(p) = persist {
            tail.u32(wdest::PERSIST_CONNS, p);
        }
        let (counters, rates) = put_stats(&mut tail, &stats, wdest::STATS, wdest::STATS64);
        attrs.extend(tail.into_inner());
        let reply = in_reply(wtop::DEST, &attrs);
        let top = Attrs::parse("reply", &reply).expect("the reply parses");
        let nested = top.nested(wtop::DEST, "destination").expect("the destination parses").expect("a destination");
        let got = parse_dest(&nested, svc_family).expect("a destination the writer wrote parses");
        let want = Destination {
            spec,
            active_conns: conns.0,
            inact_conns: conns.1,
            persist_conns: persist.unwrap_or(0),
            stats: counters,
            rates,
        };
        prop_assert_eq!(got, want);
    }

    /// Random bytes never make the attribute reader or the parsers panic.
    #[test]
    fn random_bytes_never_panic_the_parser(data in vec(any::<u8>(), 0..512)) {
        parse_everything(&data, 0);
    }

    /// Well-formed attribute lists of random types and payloads (what a kernel
    /// could send that is framed right but says anything) never panic the parsers.
    #[test]
    fn random_attributes_never_panic_the_parser(
        attrs in vec((0u16..40, any::<bool>(), vec(any::<u8>(), 0..24)), 0..24),
        wrap in any::<bool>(),
    ) {
        let mut w = TlvWriter::default();
        for (ty, nested, payload) in &attrs {
            w.bytes(if *nested { ty | NLA_F_NESTED } else { *ty }, payload);
        }
        let bytes = w.into_inner();
        parse_everything(&bytes, 0);
        if wrap {
            parse_everything(&in_reply(wtop::SERVICE, &bytes), 0);
        }
    }

    /// What the writer wrote, with random bytes changed and cut anywhere, never
    /// panics the parsers.
    #[test]
    fn damaged_encodings_never_panic_the_parser(
        spec in any_service_spec(),
        dest in any_dest_spec(),
        damage in vec((any::<Index>(), any::<u8>()), 0..8),
        cut in any::<Index>(),
    ) {
        for mut bytes in [service_full(&spec), dest_full(&dest), in_reply(wtop::SERVICE, &service_full(&spec))] {
            for (at, v) in &damage {
                let i = at.index(bytes.len());
                bytes[i] = *v;
            }
            let keep = cut.index(bytes.len() + 1);
            bytes.truncate(keep);
            parse_everything(&bytes, 0);
        }
    }
}

// ---------------------------------------------------------------------------
// 2 and 3. The console: random snapshots, keys and messages.
// ---------------------------------------------------------------------------

const VIPS: &[&str] = &["198.51.100.1", "198.51.100.2", "2001:db8::1", "2001:db8::2"];
const RIPS: &[&str] = &["10.0.0.1", "10.0.0.2", "10.0.0.3", "198.51.100.1", "2001:db8:1::1", "2001:db8:1::2"];

fn ip(s: &str) -> IpAddr {
    s.parse().expect("an address")
}

/// A key from a small pool, so that successive snapshots share services.
fn pool_key() -> impl Strategy<Value = ServiceKey> {
    prop_oneof![
        3 => (select(&[Protocol::Tcp, Protocol::Udp, Protocol::Sctp][..]), select(VIPS), select(&[0u16, 80, 443][..]))
            .prop_map(|(protocol, a, port)| ServiceKey::Addr { protocol, addr: ip(a), port }),
        1 => (any_family(), 1u32..4).prop_map(|(family, mark)| ServiceKey::Fwmark { family, mark }),
    ]
}

/// A counter: mostly small, sometimes anything a u32 holds, rarely anything at all.
fn counter() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 0u64..5000, 2 => any::<u32>().prop_map(u64::from), 1 => any::<u64>()]
}

fn counters() -> impl Strategy<Value = (Counters, Rates)> {
    vec(counter(), 10).prop_map(|v| {
        (
            Counters { conns: v[0], inpkts: v[1], outpkts: v[2], inbytes: v[3], outbytes: v[4] },
            Rates { cps: v[5], inpps: v[6], outpps: v[7], inbps: v[8], outbps: v[9] },
        )
    })
}

fn pool_dest() -> impl Strategy<Value = Destination> {
    (
        (select(RIPS), select(&[0u16, 80, 443, 8080][..]), (0u32..8).prop_map(ForwardMethod::from_value)),
        prop_oneof![4 => 0u32..5, 1 => Just(65535u32), 1 => any::<u32>()],
        prop_oneof![3 => Just(0u32), 1 => 0u32..200, 1 => any::<u32>()],
        prop_oneof![3 => Just(0u32), 1 => 0u32..200, 1 => any::<u32>()],
        (
            select(&[TunnelType::Ipip, TunnelType::Gue, TunnelType::Gre][..]),
            prop_oneof![Just(0u16), any::<u16>()],
            select(&[TunnelCsum::NoCsum, TunnelCsum::Csum, TunnelCsum::RemCsum][..]),
        ),
        (prop_oneof![0u32..100, any::<u32>()], prop_oneof![0u32..100, any::<u32>()], 0u32..10),
        counters(),
    )
        .prop_map(|((a, port, forward), weight, u_thresh, l_thresh, tun, conns, (stats, rates))| Destination {
            spec: DestSpec {
                addr: ip(a),
                port,
                forward,
                weight,
                u_thresh,
                l_thresh,
                tun_type: tun.0,
                tun_port: tun.1,
                tun_csum: tun.2,
            },
            active_conns: conns.0,
            inact_conns: conns.1,
            persist_conns: conns.2,
            stats,
            rates,
        })
}

fn pool_service() -> impl Strategy<Value = Service> {
    (
        pool_key(),
        select(&["rr", "wrr", "wlc", "sh", "mh", "none"][..]),
        prop_oneof![3 => (0u32..0x40).prop_map(|f| f & ServiceFlags::KNOWN), 1 => any::<u32>()],
        select(&[0u32, 1, 300, 86400 * 31, u32::MAX][..]),
        prop_oneof![3 => Just(None), 1 => (any::<[u8; 4]>(), any::<u8>()).prop_map(Some)],
        proptest::option::of(Just("sip")),
        prop_oneof![1 => vec(pool_dest(), 0..1), 4 => vec(pool_dest(), 1..5)],
        counters(),
    )
        .prop_map(|(key, sched, flags, timeout, mask, pe, destinations, (stats, rates))| Service {
            spec: ServiceSpec {
                key,
                scheduler: sched.to_string(),
                flags: ServiceFlags(flags & !ServiceFlags::HASHED),
                timeout,
                netmask: match (mask, key.family()) {
                    (None, f) => Netmask::default_for(f),
                    (Some((m, _)), Family::Inet) => Netmask::V4(Ipv4Addr::from(m)),
                    (Some((_, p)), Family::Inet6) => Netmask::V6(p),
                },
                pe_name: pe.map(String::from),
            },
            stats,
            rates,
            destinations: destinations.into(),
        })
}

/// A snapshot as the poller delivers one: services unique by key and sorted,
/// realservers unique by address and port.
fn pool_snapshot() -> impl Strategy<Value = Snapshot> {
    (
        prop_oneof![1 => vec(pool_service(), 0..1), 12 => vec(pool_service(), 1..5)],
        prop::bool::weighted(0.1),
        proptest::option::of((any::<u32>(), any::<u32>())),
        any::<bool>(),
    )
        .prop_map(|(mut services, procfs, info, timeouts)| {
            services.sort_by_key(|s| s.spec.key);
            services.dedup_by_key(|s| s.spec.key);
            for s in &mut services {
                s.destinations.sort_by_key(Destination::id);
                s.destinations.dedup_by_key(|d| d.id());
            }
            let mut snap = Snapshot {
                source: if procfs {
                    Source::Procfs { reason: "no CAP_NET_ADMIN: run lvstop with sudo".into() }
                } else {
                    Source::Netlink
                },
                info: info.map(|(version_code, conn_tab_size)| Info { version_code, conn_tab_size }),
                timeouts: timeouts.then_some(Timeouts { tcp: 900, tcp_fin: 120, udp: 300 }),
                daemons: Vec::new(),
                services,
                totals: None,
            };
            snap.sort();
            snap
        })
}

/// A check report about addresses of the pools, with odd texts.
fn any_report() -> impl Strategy<Value = CheckReport> {
    let text = prop_oneof!["[ -~]{0,80}", "\\PC{0,40}", Just("x".repeat(500))];
    let subject = prop_oneof![
        select(VIPS).prop_map(|a| Subject::Vip(ip(a))),
        pool_key().prop_map(Subject::Service),
        (select(RIPS), proptest::option::of(any::<u16>()), proptest::option::of(pool_key()))
            .prop_map(|(a, port, service)| Subject::Realserver { addr: ip(a), port, service }),
        "[a-z0-9.]{0,20}".prop_map(Subject::Interface),
        Just(Subject::Backlog),
        Just(Subject::DefaultRoute),
    ];
    let finding = (
        select(Rule::ALL),
        select(&[Severity::Info, Severity::Warning, Severity::Error][..]),
        proptest::option::of(select(RIPS)),
        subject,
        text.clone(),
        prop_oneof![text.clone().prop_map(Fix::advice), select(RIPS).prop_map(|a| Fix::run(Command::ping(ip(a))))],
    )
        .prop_map(|(rule, severity, host, subject, message, fix)| Finding {
            rule,
            severity,
            host: host.map_or(Host::Director, |a| Host::Realserver(ip(a))),
            subject,
            evidence: Evidence::NotConfigured,
            message,
            fix,
        });
    (vec(finding, 0..12), vec(text, 0..3)).prop_map(|(findings, skipped)| {
        let mut r = CheckReport { findings, more: Vec::new(), skipped, skipped_on_request: 0 };
        r.sort();
        r
    })
}

fn any_sys() -> impl Strategy<Value = (SysSample, Option<Roles>)> {
    const NAMES: &[&str] = &["eth0", "eth1", "bond0", "bond0.100", "lo", "a-very-long-interface-name"];
    let nic = (
        select(NAMES),
        0u32..4,
        any::<bool>(),
        0u8..5,
        proptest::option::of(prop_oneof![Just(0u64), Just(1000), Just(10_000), Just(400_000)]),
        vec(counter(), 6),
    )
        .prop_map(move |(name, ifindex, up, kind, speed_mbps, c)| Nic {
            name: name.to_string(),
            ifindex,
            up,
            kind: match kind {
                0 => NicKind::Device,
                1 => NicKind::Loopback,
                2 => NicKind::Bond {
                    mode: "active-backup".into(),
                    slaves: vec!["eth0".into(), "eth1".into()],
                    active: Some("eth1".into()),
                },
                3 => NicKind::Vlan { parent: "bond0".into() },
                _ => NicKind::Bridge,
            },
            speed_mbps,
            master: None,
            counters: NicCounters {
                rx_packets: c[0],
                tx_packets: c[1],
                rx_bytes: c[2],
                tx_bytes: c[3],
                drops: c[4],
                errors: c[5],
            },
        });
    (
        vec(nic, 0..6),
        proptest::option::of(0.0f64..=100.0),
        proptest::option::of((counter(), counter())),
        proptest::option::of(counter()),
        proptest::option::of((select(NAMES), select(VIPS))),
    )
        .prop_map(|(nics, cpu_busy, cpu, backlog_drops, roles)| {
            let sample = SysSample {
                nics: nics.into_iter().map(|n| (n.name.clone(), n)).collect(),
                cpu_busy,
                cpu: cpu.map(|(total, softirq)| CpuTimes { total, softirq }),
                backlog_drops,
            };
            let roles = roles.map(|(name, vip)| {
                let mut r = Roles::default();
                r.vips.insert(name.to_string(), vec![ip(vip)]);
                r.to_realservers.push("bond0.100".into());
                r
            });
            (sample, roles)
        })
}

/// One thing that happens to the console.
#[derive(Debug, Clone)]
enum Step {
    /// A key press (or release).
    Key(KeyEvent),
    /// Text typed key by key (addresses, numbers, command lines).
    Type(String),
    /// Keys pressed one after the other: after Esc if `close`, and after Tab
    /// if the focus is not on the realservers (`dests` true) or the services
    /// (false) as wanted.
    Gesture { close: bool, dests: Option<bool>, keys: Vec<KeyEvent> },
    /// A refresh delivers a snapshot.
    Snapshot(Box<Snapshot>),
    /// The terminal is resized.
    Resize(u16, u16),
    /// Time passes (seconds).
    Tick(u64),
    /// The refresh interval passes.
    Poll,
    /// A refresh fails.
    SnapshotFailed(String),
    /// The executor answers one of the pending changes (or an unknown id).
    Done { pick: usize, ok: bool, applied_steps: usize, log_incomplete: bool },
    /// A check run ends.
    Checks(Box<CheckReport>, u8),
    /// keepalived's services (picked among the current ones).
    Managed(Vec<Index>),
    /// A save ends.
    Saved(bool),
    /// An interface reading.
    Sys(Box<(SysSample, Option<Roles>)>),
}

fn key_event(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, modifiers)
}

/// Keys: the bound ones often, any character sometimes, the named keys, control keys.
fn any_key_event() -> impl Strategy<Value = KeyEvent> {
    let bound: Vec<char> = "q?jkgG/sSnc:+=-wdrDaexzuyYN ".chars().collect();
    let named = vec![
        KeyCode::Enter,
        KeyCode::Esc,
        KeyCode::Tab,
        KeyCode::BackTab,
        KeyCode::Backspace,
        KeyCode::Delete,
        KeyCode::Up,
        KeyCode::Down,
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::Home,
        KeyCode::End,
        KeyCode::PageUp,
        KeyCode::PageDown,
        KeyCode::F(1),
        KeyCode::F(5),
        KeyCode::Insert,
    ];
    prop_oneof![
        8 => select(bound).prop_map(|c| key_event(KeyCode::Char(c), KeyModifiers::NONE)),
        2 => any::<char>().prop_map(|c| key_event(KeyCode::Char(c), KeyModifiers::NONE)),
        6 => select(named).prop_map(|k| key_event(k, KeyModifiers::NONE)),
        1 => select(vec!['r', 'u', 'a', 'x', 'c']).prop_map(|c| key_event(KeyCode::Char(c), KeyModifiers::CONTROL)),
        1 => select(vec!['G', 'S', 'D', 'Y', 'N']).prop_map(|c| key_event(KeyCode::Char(c), KeyModifiers::SHIFT)),
        1 => any::<char>().prop_map(|c| key_event(KeyCode::Char(c), KeyModifiers::ALT)),
        1 => select(vec!['y', 'd', 'x', 'q']).prop_map(|c| {
            KeyEvent::new_with_kind(KeyCode::Char(c), KeyModifiers::NONE, KeyEventKind::Release)
        }),
    ]
}

fn any_text() -> impl Strategy<Value = String> {
    let words = &[
        "10.0.0.1",
        "10.0.0.9",
        "198.51.100.9",
        "2001:db8::9",
        "2001:db8:1::1",
        "80",
        "0",
        "443",
        "65535",
        "65536",
        "tun",
        "nat",
        "dr",
        "gue",
        "gre",
        "csum",
        "yes",
        "sh-port",
        "fwm",
        "fwm6",
        "udp",
        "sctp",
        "300",
        "255.255.255.0",
        "64",
        "sip",
        "weight 10.0.0.1 7",
        "w 10.0.0.2:80 0",
        "w [2001:db8:1::1]:443 5",
        "drain 10.0.0.1",
        "d 2001:db8:1::1",
        "restore 10.0.0.1",
        "r 10.0.0.2",
        "zero",
        "save /nonexistent/rules",
        "save! /nonexistent/rules",
        "help",
        "quit",
    ][..];
    prop_oneof![3 => select(words).prop_map(String::from), 1 => "[ -~]{0,12}", 1 => "\\PC{0,6}"]
}

fn plain(c: char) -> KeyEvent {
    key_event(KeyCode::Char(c), KeyModifiers::NONE)
}

fn code(k: KeyCode) -> KeyEvent {
    key_event(k, KeyModifiers::NONE)
}

fn typed(text: &str) -> Vec<KeyEvent> {
    text.chars().map(plain).collect()
}

/// What an operator does to change something: close what is open (mostly),
/// focus the services or the realservers (mostly), maybe move, then one of: a
/// write key and an answer to its confirmation; `w` and a weight; `:` and a
/// command; `a` or `e` and a form filled in (fields skipped with Tab or
/// cleared with Ctrl-U), submitted and confirmed, or not.
fn any_gesture() -> impl Strategy<Value = Step> {
    let (tab, down, end, esc, enter) =
        (code(KeyCode::Tab), code(KeyCode::Down), code(KeyCode::End), code(KeyCode::Esc), code(KeyCode::Enter));
    let clear = key_event(KeyCode::Char('u'), KeyModifiers::CONTROL);
    let moves = vec![vec![], vec![down], vec![end], vec![down, down]];
    let answer = select(vec![vec![], vec![plain('y')], vec![plain('n')], vec![enter], vec![esc]]);
    let direct = (select("+-=drDxzu".chars().collect::<Vec<_>>()), answer.clone()).prop_map(|(action, answer)| {
        let mut keys = vec![plain(action)];
        keys.extend(answer);
        keys
    });
    let weight = (any_text(), answer.clone()).prop_map(move |(text, answer)| {
        let mut keys = vec![plain('w'), clear];
        keys.extend(typed(&text));
        keys.push(enter);
        keys.extend(answer);
        keys
    });
    let command = (any_text(), answer.clone()).prop_map(move |(text, answer)| {
        let mut keys = vec![plain(':')];
        keys.extend(typed(&text));
        keys.push(enter);
        keys.extend(answer);
        keys
    });
    let value = prop_oneof![
        2 => select(&["10.0.0.9", "10.0.0.1", "198.51.100.7", "2001:db8::7", "2001:db8:1::9", "80", "0", "7", "tun", "sh", "yes", "300", "fwm"][..]).prop_map(String::from),
        1 => any_text(),
    ];
    let field =
        (prop_oneof![3 => Just(0usize), 1 => 1usize..4], any::<bool>(), value).prop_map(move |(skip, wipe, text)| {
            let mut keys = vec![tab; skip];
            if wipe {
                keys.push(clear);
            }
            keys.extend(typed(&text));
            keys
        });
    let submit = select(vec![vec![enter], vec![enter], vec![enter], vec![esc], vec![]]);
    let form = (select(vec!['a', 'e']), vec(field, 0..4), submit, answer).prop_map(
        move |(action, fields, submit, confirm)| {
            let mut keys = vec![plain(action)];
            keys.extend(fields.into_iter().flatten());
            keys.extend(submit);
            keys.extend(confirm);
            keys
        },
    );
    (
        prop::bool::weighted(0.8),
        proptest::option::of(prop::bool::weighted(0.7)),
        select(moves),
        prop_oneof![3 => direct, 1 => weight, 1 => command, 3 => form],
    )
        .prop_map(|(close, dests, mut keys, action)| {
            keys.extend(action);
            Step::Gesture { close, dests, keys }
        })
}

fn any_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        12 => any_key_event().prop_map(Step::Key),
        3 => any_text().prop_map(Step::Type),
        6 => any_gesture(),
        2 => pool_snapshot().prop_map(|s| Step::Snapshot(Box::new(s))),
        1 => (0u16..=320, 0u16..=130).prop_map(|(w, h)| Step::Resize(w, h)),
        1 => prop_oneof![0u64..3, Just(61), Just(3600)].prop_map(Step::Tick),
        1 => Just(Step::Poll),
        1 => "\\PC{0,60}".prop_map(Step::SnapshotFailed),
        3 => (any::<usize>(), prop::bool::weighted(0.7), 0usize..4, prop::bool::weighted(0.1))
            .prop_map(|(pick, ok, applied_steps, log_incomplete)| Step::Done { pick, ok, applied_steps, log_incomplete }),
        1 => (any_report(), any::<u8>()).prop_map(|(r, run)| Step::Checks(Box::new(r), run)),
        1 => vec(any::<Index>(), 0..3).prop_map(Step::Managed),
        1 => any::<bool>().prop_map(Step::Saved),
        1 => any_sys().prop_map(|s| Step::Sys(Box::new(s))),
    ]
}

/// The messages a step sends, given the state it reaches.
fn messages(st: &AppState, step: &Step, now: &mut Instant) -> Vec<Msg> {
    match step {
        Step::Key(k) => vec![Msg::Key(*k)],
        Step::Type(text) => text.chars().map(|c| Msg::Key(plain(c))).collect(),
        Step::Gesture { close, dests, keys } => {
            let esc = close.then_some(code(KeyCode::Esc));
            let tab = dests.filter(|d| *d != (st.sel.focus == Focus::Dests)).map(|_| code(KeyCode::Tab));
            esc.into_iter().chain(tab).chain(keys.iter().copied()).map(Msg::Key).collect()
        }
        // Half the time a refresh that read only some services' realservers
        // (every other one); the console keeps the others' from before.
        // A third of the time the services on screen read alone (the first three).
        Step::Snapshot(s) if s.services.len() % 3 == 2 => {
            let mut part = (**s).clone();
            part.services.truncate(3);
            let read = part.services.iter().map(|x| x.spec.key).collect();
            vec![Msg::ReadAlone(Box::new(part), read, *now)]
        }
        Step::Snapshot(s) if s.services.len() % 2 == 1 => {
            let read = s.services.iter().step_by(2).map(|x| x.spec.key).collect();
            vec![Msg::Refreshed(s.clone(), read, *now)]
        }
        Step::Snapshot(s) => vec![Msg::Snapshot(s.clone(), *now)],
        Step::Resize(w, h) => vec![Msg::Resize(*w, *h)],
        Step::Tick(secs) => {
            *now += Duration::from_secs(*secs);
            vec![Msg::Tick(*now)]
        }
        Step::Poll => vec![Msg::Poll(*now)],
        Step::SnapshotFailed(e) => vec![Msg::SnapshotFailed(e.clone(), *now)],
        Step::Done { pick, ok, applied_steps, log_incomplete } => {
            let mut ids: Vec<u64> = st.edits.pending.keys().copied().collect();
            ids.sort_unstable();
            let id = if ids.is_empty() { *pick as u64 } else { ids[pick % ids.len()] };
            vec![Msg::Done {
                id,
                result: if *ok { Ok(()) } else { Err("the kernel said no".into()) },
                applied_steps: *applied_steps,
                log_incomplete: log_incomplete.then(|| "the audit log is full".into()),
                // A failed change that found its object changed meanwhile: the object as a
                // snapshot the console holds has it (the console asks again on top of it).
                meanwhile: (!*ok && pick % 2 == 1).then(|| meanwhile(st, *pick)).flatten(),
            }]
        }
        Step::Checks(report, which) => {
            let run = st.checks.running.unwrap_or(st.checks.last_run + u64::from(which % 3));
            vec![Msg::Checks(report.clone(), run, *now)]
        }
        Step::Managed(picks) => {
            let keys: Vec<ServiceKey> =
                st.table.snapshot().map(|s| s.services.iter().map(|s| s.spec.key).collect()).unwrap_or_default();
            let managed = picks
                .iter()
                .filter(|_| !keys.is_empty())
                .map(|i| {
                    let realservers = vec!["198.51.100.250:80".parse().expect("rs")];
                    (keys[i.index(keys.len())], lvstop::sys::managed::Managed { by: "keepalived".into(), realservers })
                })
                .collect();
            vec![Msg::Managed(managed)]
        }
        Step::Saved(ok) => {
            vec![Msg::Saved("/nonexistent/rules".into(), if *ok { Ok(()) } else { Err("permission denied".into()) })]
        }
        Step::Sys(s) => vec![Msg::Sys(Box::new(s.0.clone()), s.1.clone(), *now)],
    }
}

/// A realserver or service of the snapshot the console holds, as an object
/// "now": often not the failed change's object, and then the console must not
/// put the change to the operator again on it.
fn meanwhile(st: &AppState, pick: usize) -> Option<lvstop::model::Current> {
    let snap = st.table.snapshot()?;
    let dests: Vec<_> =
        snap.services.iter().flat_map(|s| s.destinations.iter().map(move |d| (s.spec.key, d))).collect();
    if pick % 4 == 1 && !dests.is_empty() {
        let (svc, d) = dests[pick % dests.len()];
        return Some(lvstop::model::Current::Dest { svc, dest: d.spec.clone() });
    }
    let services = &snap.services;
    (!services.is_empty()).then(|| lvstop::model::Current::Service(services[pick % services.len()].spec.clone()))
}

/// A console as it starts: the settings, a first snapshot, the first check run answered.
fn start(writable: bool, weight_step: u32, first: &Snapshot, t0: Instant) -> AppState {
    let config = Config { weight_step, ..Config::default() };
    let w = if writable { Ok(()) } else { Err("started with --read-only".to_string()) };
    let mut st = AppState::new(&config, w, "director1".into(), t0);
    update(&mut st, Msg::Resize(80, 24));
    update(&mut st, Msg::Snapshot(Box::new(first.clone()), t0));
    st
}

/// The services and realservers of every snapshot the console held (or of one).
#[derive(Default)]
struct Seen {
    /// Each key's specs, each with its realservers as that snapshot had them.
    services: HashMap<ServiceKey, Vec<(ServiceSpec, Vec<DestSpec>)>>,
}

impl Seen {
    fn add(&mut self, snap: &Snapshot) {
        for s in &snap.services {
            let entry = (s.spec.clone(), s.destinations.iter().map(|d| d.spec.clone()).collect());
            let seen = self.services.entry(s.spec.key).or_default();
            if !seen.contains(&entry) {
                seen.push(entry);
            }
        }
    }

    fn of(snap: Option<&Snapshot>) -> Seen {
        let mut seen = Seen::default();
        if let Some(s) = snap {
            seen.add(s);
        }
        seen
    }

    fn has_dest(&self, svc: &ServiceKey, d: &DestSpec) -> bool {
        self.services.get(svc).is_some_and(|v| v.iter().any(|(_, ds)| ds.contains(d)))
    }

    /// Whether `leaf` (not a batch) targets what these snapshots showed, as
    /// they showed it; an added service may be anything.
    fn shows(&self, leaf: &Change) -> bool {
        match leaf {
            Change::AddService(_) | Change::Zero(None) | Change::Batch { .. } => true,
            Change::EditService { before, .. } => {
                self.services.get(&before.key).is_some_and(|v| v.iter().any(|(s, _)| s == before))
            }
            Change::DelService { spec, dests } => {
                self.services.get(&spec.key).is_some_and(|v| v.iter().any(|(s, ds)| s == spec && ds == dests))
            }
            Change::AddDest { svc, .. } | Change::Zero(Some(svc)) => self.services.contains_key(svc),
            Change::EditDest { svc, before: d, .. } | Change::DelDest { svc, dest: d } => self.has_dest(svc, d),
        }
    }
}

fn leaves(c: &Change, out: &mut Vec<Change>) {
    match c {
        Change::Batch { changes, .. } => changes.iter().for_each(|c| leaves(c, out)),
        leaf => out.push(leaf.clone()),
    }
}

/// What the console has emitted so far, to judge the next change by.
#[derive(Default)]
struct Audit {
    /// Every snapshot the console held.
    seen: Seen,
    /// The inverses of every change sent (not undos): what an undo may be.
    undoable: Vec<Change>,
    /// The last change id.
    last_id: u64,
}

impl Audit {
    /// Check the effects of one message; `held` is the snapshot the console
    /// held before it and `top` the overlay that took it.
    fn check(
        &mut self,
        st: &AppState,
        effects: &[Effect],
        was_key: bool,
        top: Option<&Layer>,
        held: &Seen,
    ) -> Result<(), TestCaseError> {
        for e in effects {
            let Effect::Apply { id, change } = e else { continue };
            prop_assert!(st.is_writable(), "read-only, yet a change was emitted: {change:?}");
            prop_assert!(was_key, "a change emitted without a key: {change:?}");
            prop_assert!(*id > self.last_id, "change id {id} after {}", self.last_id);
            self.last_id = *id;
            let is_undo = st.edits.pending.get(id).map(|p| p.is_undo);
            prop_assert!(is_undo.is_some(), "an emitted change is not pending: {change:?}");
            let mut parts = Vec::new();
            leaves(change, &mut parts);
            for leaf in &parts {
                match leaf {
                    Change::EditService { before, after } => {
                        prop_assert_eq!(before.key, after.key, "an edit changed a service's identity");
                    }
                    Change::EditDest { before, after, .. } => {
                        prop_assert_eq!(
                            (before.addr, before.port),
                            (after.addr, after.port),
                            "an edit changed a realserver's identity"
                        );
                    }
                    _ => {}
                }
                if is_undo == Some(true) {
                    prop_assert!(self.undoable.contains(leaf), "an undo that undoes nothing sent: {leaf:?}");
                } else if matches!(top, None | Some(Layer::Prompt { .. })) {
                    // The main view, the weight prompt and the command line act on the current snapshot.
                    prop_assert!(held.shows(leaf), "not in the snapshot the console held: {leaf:?}");
                } else {
                    // A confirmation or a form acts on what the operator saw when it opened.
                    prop_assert!(self.seen.shows(leaf), "not in any snapshot the console held: {leaf:?}");
                }
            }
            if is_undo == Some(false) {
                if let Some(inverse) = change.inverse() {
                    leaves(&inverse, &mut self.undoable);
                }
            }
        }
        Ok(())
    }
}

/// Run `steps` on a console, checking every message's effects, and calling
/// `each` after every step.
fn drive(
    writable: bool,
    weight_step: u32,
    first: &Snapshot,
    steps: &[Step],
    mut each: impl FnMut(&mut AppState, usize),
) -> Result<AppState, TestCaseError> {
    let t0 = Instant::now();
    let mut now = t0;
    let mut st = start(writable, weight_step, first, t0);
    let mut audit = Audit::default();
    audit.seen.add(first);
    for (i, step) in steps.iter().enumerate() {
        for msg in messages(&st, step, &mut now) {
            if let Msg::Snapshot(s, _) = &msg {
                audit.seen.add(s);
            }
            // A key, or an action a key put off until every service's realservers were read.
            let was_key = matches!(msg, Msg::Key(_)) || st.edits.deferred.is_some();
            let top = st.layers.last().cloned();
            let deferred = st.edits.deferred.is_some();
            let mut held = Seen::of(st.table.snapshot());
            let refreshed = matches!(msg, Msg::Refreshed(..) | Msg::ReadAlone(..));
            let effects = update(&mut st, msg);
            if refreshed {
                // What the console shows now: the refresh merged with what it kept.
                if let Some(s) = st.table.snapshot() {
                    audit.seen.add(s);
                }
            }
            if deferred {
                // The put-off action works on the table that arrived whole.
                held = Seen::of(st.table.snapshot());
            }
            audit.check(&st, &effects, was_key, top.as_ref(), &held)?;
        }
        each(&mut st, i);
    }
    Ok(st)
}

proptest! {
    #![proptest_config(config(160))]

    /// Random keys and messages never panic `update`; every change it emits
    /// keeps what it edits the same object, targets what the operator was
    /// shown (or is an add, or undoes a change sent), and read-only emits none.
    #[test]
    fn update_keeps_identities_and_targets_and_read_only_writes_nothing(
        writable in prop::bool::weighted(0.75),
        weight_step in prop_oneof![Just(1u32), 1u32..10, any::<u32>()],
        first in pool_snapshot(),
        steps in vec(any_step(), 0..60),
    ) {
        drive(writable, weight_step, &first, &steps, |_, _| {})?;
    }
}

fn draw(st: &AppState, theme: &Theme, w: u16, h: u16) {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| render(st, theme, f)).expect("draw");
}

proptest! {
    #![proptest_config(config(64))]

    /// Any state the keys and messages reach draws at any size, tiny ones
    /// included, told of the size (Msg::Resize) or not yet.
    #[test]
    fn rendering_any_state_at_any_size_never_panics(
        writable in prop::bool::weighted(0.75),
        first in pool_snapshot(),
        steps in vec(any_step(), 0..40),
        sizes in vec((1u16..=300, 1u16..=120, any::<bool>()), 1..6),
        theme in select(&["default", "no-color", "light", "high-contrast"][..]),
    ) {
        let theme = match theme {
            "default" => Theme::default_theme(),
            "no-color" => Theme::no_color(),
            name => Theme::builtin(name).expect("a built-in theme"),
        };
        let mut show = |st: &mut AppState, i: usize| {
            let (w, h, told) = sizes[i % sizes.len()];
            if told {
                update(st, Msg::Resize(w, h));
            }
            draw(st, &theme, w, h);
        };
        let mut st = drive(writable, 1, &first, &steps, &mut show)?;
        for i in 0..sizes.len() {
            show(&mut st, i);
        }
    }
}

// ---------------------------------------------------------------------------
// Regressions: what the properties found, kept as plain tests.
// ---------------------------------------------------------------------------

/// A snapshot of one service with two realservers, with counters and rates near u64::MAX.
fn huge_counters_snapshot(cps: u64) -> Snapshot {
    let huge = Rates { cps, inpps: u64::MAX - 1, outpps: 0, inbps: u64::MAX, outbps: 0 };
    let dest = |a: &str| Destination {
        spec: DestSpec::new(ip(a), 80, ForwardMethod::Route),
        active_conns: 1,
        inact_conns: 0,
        persist_conns: 0,
        stats: Counters { conns: u64::MAX, ..Counters::default() },
        rates: huge,
    };
    Snapshot {
        services: vec![Service {
            spec: ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.1"), 80), "wrr"),
            stats: Counters::default(),
            rates: huge,
            destinations: vec![dest("10.0.0.1"), dest("10.0.0.2")].into(),
        }],
        ..Snapshot::empty()
    }
}

/// The services' sparkline scaled rates near u64::MAX with `x * 7`: an
/// overflow panic (debug builds) once a refresh reported such a rate.
#[test]
fn a_rate_near_u64_max_draws_its_sparkline() {
    let snapshot = |cps| {
        let mut s = huge_counters_snapshot(cps);
        s.services[0].destinations.clear();
        Box::new(s)
    };
    let t0 = Instant::now();
    let mut st = start(true, 1, &snapshot(u64::MAX), t0);
    update(&mut st, Msg::Snapshot(snapshot(u64::MAX / 3), t0 + Duration::from_secs(1)));
    draw(&st, &Theme::default_theme(), 160, 48);
}

/// A realserver's share summed its service's realservers' packet rates (or
/// connection counts) with an overflowing `sum()`: a panic (debug builds) when
/// they add up past u64::MAX.
#[test]
fn realserver_shares_of_rates_near_u64_max_draw() {
    let mut snap = huge_counters_snapshot(1);
    let st = start(true, 1, &snap, Instant::now());
    draw(&st, &Theme::default_theme(), 160, 48);
    // No packets: the share is of the connections, which overflowed the same way.
    for d in &mut snap.services[0].destinations {
        d.rates.inpps = 0;
    }
    let st = start(true, 1, &snap, Instant::now());
    draw(&st, &Theme::default_theme(), 160, 48);
}

proptest! {
    #![proptest_config(config(256))]

    /// A snapshot written as `lvstop dump --json` (what a director's agent
    /// sends) reads back as the same snapshot.
    #[test]
    fn a_dump_document_reads_back_as_the_same_snapshot(snap in pool_snapshot()) {
        let json = lvstop::report::dump_json(&snap, None);
        prop_assert_eq!(lvstop::model::json::parse_dump(&json), Ok(snap));
    }

    /// Two directors whose tables differ only in counters, rates and
    /// connection counts are the same to `lvstop diff`; every service of
    /// one only is named with the command that adds or removes it.
    #[test]
    fn diff_compares_configuration_only(a in pool_snapshot(), b in pool_snapshot(), n in any::<u32>()) {
        let mut busy = a.clone();
        for s in &mut busy.services {
            s.stats.conns = s.stats.conns.wrapping_add(u64::from(n));
            for d in &mut s.destinations {
                d.active_conns = n;
                d.rates.inpps = u64::from(n);
            }
        }
        prop_assert!(lvstop::model::diff::diff(&a, &busy).is_empty());
        let found = lvstop::model::diff::diff(&a, &b);
        for s in &a.services {
            let added = found.iter().any(|d| d.realserver.is_none() && d.what == "only-in-a" && d.command.starts_with("ipvsadm -A "));
            if b.service(&s.spec.key).is_none() {
                prop_assert!(added, "{:?} only in a", s.spec.key);
            }
        }
        let removed = found.iter().filter(|d| d.what == "only-in-b" && d.realserver.is_none()).count();
        prop_assert_eq!(removed, b.services.iter().filter(|s| a.service(&s.spec.key).is_none()).count());
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// A change as the console sends it to another director's agent reads
    /// back as the same change.
    #[test]
    fn a_change_sent_to_an_agent_reads_back_as_itself(s in pool_service(), d in pool_dest(), e in pool_dest()) {
        let changes = vec![
            lvstop::model::Change::AddService(s.spec.clone()),
            lvstop::model::Change::EditDest { svc: s.spec.key, before: d.spec.clone(), after: e.spec.clone() },
            lvstop::model::Change::DelService { spec: s.spec.clone(), dests: vec![d.spec.clone(), e.spec.clone()] },
            lvstop::model::Change::Zero(Some(s.spec.key)),
        ];
        let batch = lvstop::model::Change::Batch { label: "drain \u{1b}x".into(), changes: changes.clone() };
        for c in changes.into_iter().chain([batch]) {
            let json = serde_json::to_string(&c).expect("json");
            prop_assert_eq!(serde_json::from_str::<lvstop::model::Change>(&json).expect("reads back"), c);
        }
    }
}
