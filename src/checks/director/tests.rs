//! Tests of the director rules on fixtures.

use std::collections::BTreeMap;

use super::super::facts::{ConfSysctls, DirectorFacts, Iface};
use super::*;
use crate::checks::CLIENT_PROBE;
use crate::model::{Counters, DestSpec, Destination, Rates, Service, ServiceSpec};
use crate::sys::load::{DirectorLoad, NicPolicy};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn dest(addr: &str, port: u16, fwd: ForwardMethod, w: u32) -> Destination {
    Destination {
        spec: DestSpec::new(ip(addr), port, fwd).weight(w),
        active_conns: 2,
        inact_conns: 5,
        persist_conns: 0,
        stats: Counters::default(),
        rates: Rates::default(),
    }
}

fn snap(services: Vec<(ServiceSpec, Vec<Destination>)>) -> Snapshot {
    Snapshot {
        services: services
            .into_iter()
            .map(|(spec, destinations)| Service {
                spec,
                stats: Counters::default(),
                rates: Rates::default(),
                destinations: destinations.into(),
            })
            .collect(),
        ..Snapshot::empty()
    }
}

fn facts() -> DirectorFacts {
    let mut f = DirectorFacts::default();
    f.ifaces.insert(1, Iface { name: "lo".into(), flags: 0x49 });
    f.ifaces.insert(2, Iface { name: "eth0".into(), flags: 0x1003 });
    f.addrs.push(IfAddr { ifindex: 2, addr: ip("198.51.100.1"), prefix: 24, scope: 0, label: None });
    f.addrs.push(IfAddr { ifindex: 2, addr: ip("198.51.100.100"), prefix: 32, scope: 0, label: None });
    f.conf.insert("all".into(), ConfSysctls { log_martians: 1, ..Default::default() });
    f.conf.insert("eth0".into(), ConfSysctls::default());
    let onlink = Route { oif: Some(2), gateway: None, prefsrc: None, kind: 1 };
    f.routes.insert(ip("198.51.100.11"), Ok(onlink.clone()));
    f.routes.insert(ip("203.0.113.5"), Ok(Route { gateway: Some(ip("198.51.100.254")), ..onlink.clone() }));
    f.routes.insert(CLIENT_PROBE, Ok(onlink));
    f.neigh = BTreeMap::from([(ip("198.51.100.11"), "REACHABLE".to_string())]);
    f.vs.insert("expire_quiescent_template".into(), "0".into());
    f
}

fn ids(v: &[Finding]) -> Vec<&'static str> {
    let mut ids: Vec<_> = v.iter().map(|f| f.rule.id()).collect();
    ids.sort_unstable();
    ids
}

/// The director rules on the table and the facts.
fn judge(f: &DirectorFacts, s: &Snapshot) -> Vec<Finding> {
    check(&Ctx::new(s, Some(f), CLIENT_PROBE)).0
}

/// The director rules on a load measurement alone.
fn load_findings(load: &DirectorLoad, policy: &NicPolicy) -> Vec<Finding> {
    check(&Ctx { load: Some((load, policy)), ..Ctx::new(&Snapshot::empty(), None, CLIENT_PROBE) }).0
}

/// The director rules on a /proc/net/ip_vs_conn reading.
fn handshake(s: &Snapshot, conns: &ConnCounts) -> Vec<Finding> {
    check(&Ctx { conns: Some(conns), ..Ctx::new(s, None, CLIENT_PROBE) }).0
}

#[test]
fn a_clean_director_has_no_findings() {
    let s = snap(vec![(
        ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.100"), 80), "rr"),
        vec![dest("198.51.100.11", 80, ForwardMethod::Route, 1)],
    )]);
    assert_eq!(ids(&judge(&facts(), &s)), Vec::<&str>::new());
}

#[test]
fn each_rule_fires_on_its_evidence() {
    let mut f = facts();
    f.ip_forward = 1;
    f.conf.insert("all".into(), ConfSysctls { log_martians: 0, ..Default::default() });
    f.vs.insert("run_estimation".into(), "0".into());
    let s = snap(vec![
        (
            ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.100"), 80), "rr").persistent(300),
            vec![dest("198.51.100.11", 80, ForwardMethod::Route, 0), dest("203.0.113.5", 80, ForwardMethod::Route, 1)],
        ),
        (
            ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.101"), 80), "rr"),
            vec![dest("198.51.100.11", 8080, ForwardMethod::Route, 1)],
        ),
    ]);
    let found = judge(&f, &s);
    assert_eq!(
        ids(&found),
        vec![
            "D-DRAIN",
            "D-ESTIMATION-OFF",
            "D-FWD-ON",
            "D-MARTIAN-LOG",
            "D-PORT-REMAP",
            "D-RS-OFFLINK",
            "D-VIP-ABSENT"
        ]
    );
    let off = found.iter().find(|x| x.rule == Rule::DRsOffLink).expect("offlink");
    assert_eq!((off.severity, off.evidence.to_string().as_str()), (Severity::Error, "route via 198.51.100.254"));
    let drain = found.iter().find(|x| x.rule == Rule::DDrain).expect("drain");
    assert_eq!(drain.severity, Severity::Warning, "persistent + expire_quiescent_template=0");
    assert!(drain.fix.to_string().contains("expire_quiescent_template=1"));
}

#[test]
fn vip_arp_and_forwarding_rules() {
    let mut f = facts();
    // VIP only on lo: nobody answers ARP for it.
    f.addrs.retain(|a| a.addr != ip("198.51.100.100"));
    f.addrs.push(IfAddr { ifindex: 1, addr: ip("198.51.100.100"), prefix: 32, scope: 0, label: None });
    let nat = snap(vec![(
        ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.100"), 80), "rr"),
        vec![dest("198.51.100.11", 8080, ForwardMethod::Masq, 1)],
    )]);
    assert_eq!(ids(&judge(&f, &nat)), vec!["D-FWD-NAT", "D-VIP-NOANSWER"]);
    // arp_ignore=8 on eth0 silences the VIP there too; strict rp_filter with clients routed elsewhere.
    let mut f = facts();
    f.conf.insert("eth0".into(), ConfSysctls { arp_ignore: 8, rp_filter: 1, ..Default::default() });
    f.routes.insert(CLIENT_PROBE, Ok(Route { oif: Some(3), gateway: Some(ip("192.0.2.1")), prefsrc: None, kind: 1 }));
    let dr = snap(vec![(
        ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.100"), 80), "rr"),
        vec![dest("198.51.100.11", 80, ForwardMethod::Route, 1)],
    )]);
    assert_eq!(ids(&judge(&f, &dr)), vec!["D-RPF-ASYM", "D-VIP-NOANSWER"]);
}

#[test]
fn load_and_drop_rules_use_the_configured_limits() {
    use crate::sys::load::{compute, NicPolicy, Roles};
    use crate::sys::nic::{Nic, NicCounters, NicKind, SysSample};
    let sample = |rx: u64, drops: u64, backlog: u64| {
        let mut s = SysSample { backlog_drops: Some(backlog), ..SysSample::default() };
        let counters = NicCounters { rx_packets: rx, drops, ..NicCounters::default() };
        let nic = |name: &str, ifindex| Nic {
            name: name.into(),
            ifindex,
            up: true,
            kind: NicKind::Device,
            speed_mbps: Some(1000),
            master: None,
            counters,
        };
        s.nics.insert("eth0".into(), nic("eth0", 2));
        s.nics.insert("eth1".into(), Nic { counters: NicCounters::default(), ..nic("eth1", 3) });
        s
    };
    let mut policy = NicPolicy::default();
    policy.limits.insert("eth0".into(), 100_000);
    // 75 000 pps of a 100 000 practical limit: warning; no drops.
    let load = compute(&sample(0, 0, 7), &sample(75_000, 0, 7), 1.0, &policy, &Roles::default());
    let found = load_findings(&load, &policy);
    assert_eq!(ids(&found), vec!["D-LOAD"]);
    assert_eq!(found[0].severity, Severity::Warning);
    assert!(
        found[0].evidence.to_string().contains("75000 pps")
            && found[0].evidence.to_string().contains("75% of practical limit 100000")
    );
    // 95 000 pps: error; drops on the NIC and in the backlog.
    let load = compute(&sample(0, 0, 7), &sample(95_000, 40, 9), 1.0, &policy, &Roles::default());
    let found = load_findings(&load, &policy);
    assert_eq!(ids(&found), vec!["D-LOAD", "D-NIC-DROPS", "D-NIC-DROPS"]);
    assert_eq!(found[0].severity, Severity::Error);
    assert_eq!(found[2].subject, Subject::Backlog);
    // Below the warning level and without drops: nothing.
    let load = compute(&sample(0, 0, 7), &sample(10_000, 0, 7), 1.0, &policy, &Roles::default());
    assert!(load_findings(&load, &policy).is_empty());
}

#[test]
fn handshake_rule_names_a_realserver_whose_syns_go_unanswered() {
    use crate::sys::ipvs_proc::ConnCount;
    let rs = ["198.51.100.11", "198.51.100.12", "198.51.100.13", "198.51.100.14"];
    let mut s = snap(vec![(
        ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.100"), 80), "wlc"),
        rs.iter().map(|a| dest(a, 80, ForwardMethod::Route, 1)).collect(),
    )]);
    assert_eq!(conns_readable(&s, 1000), Ok(true));
    assert!(conns_readable(&s, 10).expect_err("too big").contains("28 connections"));
    assert_eq!(conns_readable(&Snapshot::empty(), 10), Ok(false), "no table, nothing to read");
    let c = |syn_recv, stuck, total| ConnCount { syn_recv, stuck, total, ..ConnCount::default() };
    let counts = |v: [ConnCount; 4]| -> ConnCounts { rs.iter().zip(v).map(|(a, c)| ((ip(a), 80), c)).collect() };
    let named = |s: &Snapshot, after: &ConnCounts| -> Vec<String> {
        handshake(s, after).iter().filter(|f| f.rule == Rule::DHandshake).map(|f| f.subject.to_string()).collect()
    };
    let healthy = c(0, 0, 400);
    // Behind wlc a dead realserver holds a handful, all stuck, while its peers hold hundreds.
    let wlc = counts([c(2, 2, 2), healthy, healthy, healthy]);
    let found = handshake(&s, &wlc);
    assert_eq!(ids(&found), vec!["D-HANDSHAKE"]);
    assert!(found[0].subject.to_string().contains("198.51.100.11:80"), "{}", found[0].subject);
    let evidence = found[0].evidence.to_string();
    assert!(
        evidence.contains("2 of its 2 entries in SYN_RECV for 3+ s") && evidence.contains("its peers: 0 of 1200"),
        "{evidence}"
    );
    assert!(
        found[0].fix.to_string().contains("ipvsadm -e -t 198.51.100.100:80 -r 198.51.100.11:80 -g -w 0"),
        "{}",
        found[0].fix
    );
    // One that died holding connections: its stuck entries are few of its entries, but many.
    assert_eq!(named(&s, &counts([c(6, 6, 300), healthy, healthy, healthy])).len(), 1);
    // A healthy, lightly loaded realserver with one client that vanished after its SYN.
    assert!(named(&s, &counts([c(1, 1, 6), healthy, healthy, healthy])).is_empty());
    // Half-open entries mostly fresh (a burst of new clients): not stuck.
    assert!(named(&s, &counts([c(10, 2, 10), healthy, healthy, healthy])).is_empty());
    // Clients that vanish alike on every realserver (a SYN flood, scanners): none is named.
    assert!(named(&s, &counts([c(50, 50, 100); 4])).is_empty());
    assert!(named(&s, &counts([c(7, 6, 3000); 4])).is_empty());
    // No traffic at all: nothing.
    assert!(named(&s, &ConnCounts::new()).is_empty());
    // A service of one realserver: its stuck entries alone name it.
    s.services[0].destinations.truncate(1);
    assert_eq!(named(&s, &counts([c(3, 3, 4), healthy, healthy, healthy])).len(), 1);
}

#[test]
fn arp_probe_results_name_who_answers_and_who_announces() {
    use crate::sys::arp::{Mac, ProbeResult};
    let (rs, stranger) = (Mac([2, 0, 0, 0, 0, 0x0b]), Mac([2, 0, 0, 0, 0, 0x0c]));
    let mut f = facts();
    f.neigh_macs = vec![(ip("198.51.100.9"), rs), (ip("fe80::b"), rs)];
    let heard = ProbeResult {
        own: Some(Mac([2, 0, 0, 0, 0, 1])),
        vip_answers: [rs].into(),
        vip_announcers: [stranger].into(),
        who: BTreeMap::from([(rs, ["198.51.100.11".parse().expect("ip")].into())]),
    };
    let probes = [VipProbe { vip: "198.51.100.100".parse().expect("ip"), interface: "eth0".into(), heard }];
    let s = Snapshot::empty();
    let found = check(&Ctx { arp: &probes, ..Ctx::new(&s, Some(&f), CLIENT_PROBE) }).0;
    assert_eq!(ids(&found), vec!["D-ARP-ANNOUNCE", "D-ARP-FOREIGN"]);
    let foreign = &found[0];
    assert_eq!((foreign.rule, foreign.severity), (Rule::DArpForeign, Severity::Error));
    assert_eq!(foreign.subject, Subject::Vip(ip("198.51.100.100")));
    // Named by the probe's own questions and the neighbour table (not by a link-local address), in text order.
    assert_eq!(
        foreign.evidence.to_string(),
        "02:00:00:00:00:0b (realserver 198.51.100.11, 198.51.100.9) answers ARP for 198.51.100.100 on eth0"
    );
    assert_eq!(
        foreign.message,
        "ARP problem: realserver 198.51.100.11, 198.51.100.9 answers ARP for VIP 198.51.100.100, so clients or the router may bypass the director"
    );
    assert_eq!(
        foreign.fix.to_string(),
        "on realserver 198.51.100.11, 198.51.100.9: sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2; \
         then here: arping -U -c 3 -I eth0 198.51.100.100"
    );
    let announce = &found[1];
    assert_eq!(
        announce.evidence.to_string(),
        "02:00:00:00:00:0c (an unknown host) sends ARP requests as 198.51.100.100 on eth0"
    );
    assert_eq!(
        announce.fix.to_string(),
        "on an unknown host: sysctl -w net.ipv4.conf.all.arp_announce=2; then here: arping -U -c 3 -I eth0 198.51.100.100"
    );
}

#[test]
fn fixes_and_evidence_read_as_the_report_always_showed_them() {
    let mut f = facts();
    f.ip_forward = 1;
    f.conf.insert("all".into(), ConfSysctls { accept_local: 1, ..Default::default() });
    f.routes.insert(ip("198.51.100.12"), Err("no route to host".into()));
    f.neigh.insert(ip("198.51.100.13"), "FAILED".into());
    f.routes.insert(ip("198.51.100.13"), Ok(Route { oif: Some(2), gateway: None, prefsrc: None, kind: 1 }));
    let s = snap(vec![
        (
            ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.100"), 80), "rr"),
            vec![
                dest("198.51.100.11", 80, ForwardMethod::Route, 1),
                dest("198.51.100.12", 80, ForwardMethod::Route, 1),
                dest("198.51.100.13", 80, ForwardMethod::Route, 1),
            ],
        ),
        (
            ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.101"), 80), "rr"),
            vec![dest("198.51.100.11", 80, ForwardMethod::Route, 0)],
        ),
    ]);
    let found = judge(&f, &s);
    let text = |rule: Rule| -> Vec<(String, String, String)> {
        let of = found.iter().filter(|x| x.rule == rule);
        of.map(|x| (x.subject.to_string(), x.evidence.to_string(), x.fix.to_string())).collect()
    };
    let t = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        text(Rule::DVipAbsent),
        vec![t("VIP 198.51.100.101", "not configured", "ip addr add 198.51.100.101/32 dev <client-facing interface>")]
    );
    assert_eq!(
        text(Rule::DFwdOn),
        vec![t(
            "net.ipv4.ip_forward",
            "ip_forward=1 (forwarding on no device)",
            "sysctl -w net.ipv4.ip_forward=0   (and persist it in /etc/sysctl.d/)"
        )]
    );
    assert_eq!(
        text(Rule::DRsOffLink),
        vec![t(
            "realserver 198.51.100.12",
            "no route to host",
            "ip route get 198.51.100.12   (add an address in the realserver's subnet to the director)"
        )]
    );
    assert_eq!(
        text(Rule::DRsNeigh),
        vec![
            t("realserver 198.51.100.12", "not in the neighbour table", "ping -c1 198.51.100.12"),
            t("realserver 198.51.100.13", "neighbour FAILED", "check its VLAN and cabling; ping -c1 198.51.100.13")
        ]
    );
    assert_eq!(
        text(Rule::DDrain),
        vec![t(
            "realserver 198.51.100.11:80 of TCP 198.51.100.101:80",
            "weight 0, expire_quiescent_template=0, expire_nodest_conn=?",
            "sysctl -w net.ipv4.vs.expire_nodest_conn=1   (reschedules port-reuse SYNs)"
        )]
    );
    assert_eq!(
        text(Rule::DAcceptLocal),
        vec![t(
            "net.ipv4.conf.*.accept_local",
            "accept_local=1 on all, ip_forward=1",
            "point the realservers' default route at the real router, then sysctl -w net.ipv4.conf.all.accept_local=0"
        )]
    );
    assert_eq!(
        text(Rule::DMartianLog),
        vec![t("net.ipv4.conf.all.log_martians", "log_martians=0", "sysctl -w net.ipv4.conf.all.log_martians=1")]
    );
}

#[test]
fn each_rule_of_the_table_finds_only_its_own() {
    let mut seen: Vec<Rule> = RULES.iter().map(|(r, _)| *r).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), RULES.len(), "each rule once");
    assert!(RULES.iter().all(|(r, _)| r.id().starts_with("D-")));
    let mut f = facts();
    f.ip_forward = 1;
    f.conf.insert("all".into(), ConfSysctls { accept_local: 1, ..Default::default() });
    f.vs.insert("run_estimation".into(), "0".into());
    let s = snap(vec![(
        ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.101"), 80), "rr"),
        vec![dest("203.0.113.5", 8080, ForwardMethod::Route, 0), dest("198.51.100.12", 80, ForwardMethod::Masq, 1)],
    )]);
    let cx = Ctx::new(&s, Some(&f), CLIENT_PROBE);
    let mut fired = 0;
    for (rule, judge) in RULES {
        for x in judge(&cx) {
            assert_eq!(x.rule, *rule, "{x:?}");
            assert_eq!(x.host, Host::Director);
            fired += 1;
        }
    }
    assert!(fired >= 5, "{fired}");
}

#[test]
fn an_interface_with_an_odd_name_is_reported_escaped_and_kept_out_of_commands() {
    let bad = "v;touch${IFS}/p\u{1b}";
    let mut f = facts();
    f.ifaces.insert(3, Iface { name: bad.into(), flags: 0x1003 });
    f.addrs.push(IfAddr { ifindex: 3, addr: ip("198.51.100.100"), prefix: 32, scope: 0, label: None });
    f.conf.insert(bad.into(), ConfSysctls { rp_filter: 1, ..Default::default() });
    let s = snap(vec![(
        ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.100"), 80), "rr"),
        vec![dest("198.51.100.11", 80, ForwardMethod::Route, 1)],
    )]);
    let found = judge(&f, &s);
    assert!(ids(&found).contains(&"D-IFNAME") && ids(&found).contains(&"D-RPF-ASYM"), "{:?}", ids(&found));
    let ifname = found.iter().find(|x| x.rule == Rule::DIfName).expect("D-IFNAME");
    assert!(ifname.evidence.to_string().contains(r"v;touch${IFS}/p\x1b"), "{}", ifname.evidence);
    assert!(crate::text::is_clean(&ifname.message) && crate::text::is_clean(&ifname.evidence.to_string()));
    for x in &found {
        assert!(!x.fix.to_string().contains("touch"), "{}: {}", x.rule, x.fix);
    }
    let rpf = found.iter().find(|x| x.rule == Rule::DRpfAsym).expect("D-RPF-ASYM");
    assert!(rpf.fix.to_string().contains("<interface with an invalid name>"), "{}", rpf.fix);
}

#[test]
fn drain_and_failover_safety_rules() {
    use crate::model::{ServiceFlags, SyncDaemon, SyncState};
    use crate::sys::ipvs_proc::ConnCount;
    let mut f = facts();
    f.kernel = Some((6, 1));
    for (k, v) in [("expire_nodest_conn", "0"), ("conn_reuse_mode", "0"), ("sloppy_tcp", "0"), ("sloppy_sctp", "0")] {
        f.vs.insert(k.into(), v.into());
    }
    let sh = ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.100"), 80), "sh");
    let mut mh = ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.100"), 443), "mh");
    mh.flags = ServiceFlags(mh.flags.0 | ServiceFlags::parse_sched_flag("mh", "mh-fallback").expect("flag"));
    let persistent = ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.100"), 8080), "wlc").persistent(300);
    let s = snap(vec![
        (
            sh,
            vec![
                dest("198.51.100.11", 80, ForwardMethod::Route, 0),
                dest("198.51.100.12", 80, ForwardMethod::Route, 1),
            ],
        ),
        (mh, vec![dest("198.51.100.11", 443, ForwardMethod::Route, 0)]),
        (persistent, vec![dest("198.51.100.11", 8080, ForwardMethod::Route, 0)]),
    ]);
    let conns: ConnCounts = BTreeMap::from([
        (
            (ip("198.51.100.11"), 8080),
            ConnCount { total: 3, templates: 2, last_template_secs: 250, ..Default::default() },
        ),
        // Removed from every service with connections left.
        (
            (ip("198.51.100.13"), 80),
            ConnCount {
                total: 4,
                last_conn_secs: 880,
                templates: 1,
                last_template_secs: 90,
                vip: "198.51.100.100:80".parse().ok(),
                ..Default::default()
            },
        ),
    ]);
    let found = check(&Ctx { conns: Some(&conns), ..Ctx::new(&s, Some(&f), CLIENT_PROBE) }).0;
    let of = |r: Rule| found.iter().filter(|x| x.rule == r).collect::<Vec<_>>();
    // sh without sh-fallback and a drained realserver: its clients are refused. mh has the flag.
    let fb = of(Rule::DSchedFallback);
    assert_eq!(fb.len(), 1, "{found:#?}");
    assert_eq!(fb[0].severity, Severity::Error);
    assert!(fb[0].subject.to_string().contains("198.51.100.11:80"), "{}", fb[0].subject);
    assert_eq!(fb[0].fix.to_string(), "ipvsadm -E -t 198.51.100.100:80 -s sh -b sh-fallback");
    // The persistent service's drained realserver: how many templates, until when.
    let drain = of(Rule::DDrain).into_iter().find(|x| x.subject.to_string().contains(":8080")).expect("drain");
    assert!(
        drain.message.contains("2 persistence templates still send their clients here, the last for 4:10"),
        "{}",
        drain.message
    );
    // The removed realserver's connections are dropped until they expire.
    let nodest = of(Rule::DNoDest);
    assert_eq!(nodest.len(), 1, "{found:#?}");
    assert_eq!(nodest[0].severity, Severity::Warning);
    assert!(
        nodest[0].message.contains(
            "4 connections still point at 198.51.100.13:80, which is in no service (removed with connections left; they are to 198.51.100.100:80)"
        ),
        "{}",
        nodest[0].message
    );
    assert!(
        nodest[0].evidence.to_string().contains("4 connections and 1 persistence templates"),
        "{}",
        nodest[0].evidence
    );
    assert!(nodest[0].evidence.to_string().contains("the last for 14:40"), "{}", nodest[0].evidence);
    assert!(nodest[0].fix.to_string().contains("sysctl -w net.ipv4.vs.expire_nodest_conn=1"));
    // conn_reuse_mode=0 on 6.1; mh without sync and sloppy_tcp=0 (no SCTP service: no sloppy_sctp).
    assert_eq!(of(Rule::DConnReuse).len(), 1);
    let sloppy = of(Rule::DSloppy);
    assert_eq!(sloppy.len(), 1);
    assert!(sloppy[0].fix.to_string().contains("sloppy_tcp=1"));
    // With expire_nodest_conn=1, a sync daemon, an old kernel: those rules fall silent or soften.
    f.vs.insert("expire_nodest_conn".into(), "1".into());
    f.kernel = Some((5, 4));
    let mut synced = s.clone();
    synced.daemons.push(SyncDaemon {
        state: SyncState::Backup,
        mcast_ifn: "eth0".into(),
        sync_id: 1,
        sync_maxlen: None,
        mcast_group: None,
        mcast_port: None,
        mcast_ttl: None,
    });
    let found = check(&Ctx { conns: Some(&conns), ..Ctx::new(&synced, Some(&f), CLIENT_PROBE) }).0;
    let of = |r: Rule| found.iter().filter(|x| x.rule == r).collect::<Vec<_>>();
    assert_eq!(of(Rule::DNoDest)[0].severity, Severity::Info);
    assert!(of(Rule::DConnReuse).is_empty() && of(Rule::DSloppy).is_empty(), "{found:#?}");
    assert_eq!(crate::checks::facts::kernel_version("6.1.0-57-amd64\n"), Some((6, 1)));
    assert_eq!(crate::checks::facts::kernel_version("4.18.0-553.el8_10.x86_64"), Some((4, 18)));
}
