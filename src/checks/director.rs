//! Director rules (D-*), judged on gathered facts and the IPVS table.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::facts::DirectorFacts;
use super::{Finding, Severity};
use crate::model::{ForwardMethod, ServiceKey, Snapshot};

fn f(id: &'static str, severity: Severity, subject: String, value: String, message: String, fix: String) -> Finding {
    Finding { id, severity, host: "director".into(), subject, value, message, fix }
}

/// Run every director rule.
pub fn check(facts: &DirectorFacts, snap: &Snapshot, probe: IpAddr) -> Vec<Finding> {
    let mut out = Vec::new();
    let vips = snap.vips();
    let dests = || snap.services.iter().flat_map(|s| s.destinations.iter().map(move |d| (s, d)));
    let has_nat = dests().any(|(_, d)| d.spec.forward == ForwardMethod::Masq);

    // D-VIP-ABSENT and D-VIP-NOANSWER.
    for vip in &vips {
        let on: Vec<_> = facts.addrs.iter().filter(|a| a.addr == *vip).collect();
        if on.is_empty() {
            out.push(f(
                "D-VIP-ABSENT",
                Severity::Error,
                format!("VIP {vip}"),
                "not configured".into(),
                format!("VIP {vip} is not configured on the director: it cannot receive the service's traffic (or this director is a VRRP backup)"),
                format!("ip addr add {vip}/{} dev <client-facing interface>", if vip.is_ipv4() { 32 } else { 128 }),
            ));
            continue;
        }
        if !vip.is_ipv4() {
            continue;
        }
        let answering: Vec<String> = on
            .iter()
            .filter_map(|a| {
                let iface = facts.ifaces.get(&a.ifindex)?;
                if iface.is_noarp() {
                    return None;
                }
                let ign = facts.e_max(&iface.name, |c| c.arp_ignore);
                let answers = !(ign == 8 || (ign == 3 && a.scope == 254));
                answers.then(|| iface.name.clone())
            })
            .collect();
        if answering.is_empty() {
            let devs: Vec<String> = on.iter().map(|a| facts.name(a.ifindex)).collect();
            out.push(f(
                "D-VIP-NOANSWER",
                Severity::Error,
                format!("VIP {vip}"),
                format!("on {}", devs.join(", ")),
                format!("the director will not answer ARP for VIP {vip}: it is only on a loopback/NOARP device, or arp_ignore forbids the reply"),
                format!("ip addr add {vip}/32 dev <client-facing interface>; sysctl -w net.ipv4.conf.all.arp_ignore=1"),
            ));
        }
    }

    // D-FWD-ON / D-FWD-NAT.
    let forwarding: Vec<String> = facts
        .conf
        .iter()
        .filter(|(d, c)| *d != "all" && *d != "lo" && c.forwarding != 0)
        .map(|(d, _)| d.clone())
        .collect();
    if facts.ip_forward != 0 && !has_nat && !snap.services.is_empty() {
        out.push(f(
            "D-FWD-ON",
            Severity::Warning,
            "net.ipv4.ip_forward".into(),
            format!(
                "ip_forward=1 (forwarding on {})",
                if forwarding.is_empty() { "no device".into() } else { forwarding.join(", ") }
            ),
            "IP forwarding is on but LVS-DR and LVS-TUN do not need it: the director routes anything sent to its MAC"
                .into(),
            "sysctl -w net.ipv4.ip_forward=0   (and persist it in /etc/sysctl.d/)".into(),
        ));
    }
    if facts.ip_forward == 0 && has_nat {
        out.push(f(
            "D-FWD-NAT",
            Severity::Error,
            "net.ipv4.ip_forward".into(),
            "ip_forward=0".into(),
            "a NAT (masquerading) realserver exists but forwarding is off: its replies cannot pass the director".into(),
            "sysctl -w net.ipv4.ip_forward=1".into(),
        ));
    }

    // D-RS-OFFLINK, D-RS-NEIGH, D-PORT-REMAP, D-DRAIN.
    let mut seen = BTreeSet::new();
    for (svc, d) in dests() {
        let rip = d.spec.addr;
        if d.spec.forward == ForwardMethod::Route && seen.insert(rip) {
            match facts.routes.get(&rip) {
                Some(Ok(r)) if r.gateway.is_some() => out.push(f(
                    "D-RS-OFFLINK",
                    Severity::Error,
                    format!("realserver {rip}"),
                    format!("route via {}", r.gateway.map(|g| g.to_string()).unwrap_or_default()),
                    format!(
                        "realserver {rip} is not on the director's segment: DR frames would go to the gateway's MAC"
                    ),
                    "put the realserver on the director's VLAN, or use tunnelling (ipvsadm -e … -i)".into(),
                )),
                Some(Err(e)) => out.push(f(
                    "D-RS-OFFLINK",
                    Severity::Error,
                    format!("realserver {rip}"),
                    e.clone(),
                    format!("the director has no route to realserver {rip}"),
                    format!("ip route get {rip}   (add an address in the realserver's subnet to the director)"),
                )),
                _ => {}
            }
            match facts.neigh.get(&rip).map(String::as_str) {
                Some(st @ ("FAILED" | "INCOMPLETE")) => out.push(f(
                    "D-RS-NEIGH",
                    Severity::Error,
                    format!("realserver {rip}"),
                    format!("neighbour {st}"),
                    format!("no layer-2 reachability to realserver {rip}"),
                    format!("check its VLAN and cabling; ping -c1 {rip}"),
                )),
                None if !facts.routes.get(&rip).is_some_and(|r| r.as_ref().is_ok_and(|r| r.gateway.is_some())) => out
                    .push(f(
                        "D-RS-NEIGH",
                        Severity::Info,
                        format!("realserver {rip}"),
                        "not in the neighbour table".into(),
                        format!("realserver {rip} has no neighbour entry yet (no traffic sent to it recently)"),
                        format!("ping -c1 {rip}"),
                    )),
                _ => {}
            }
        }
        if let ServiceKey::Addr { port, .. } = svc.spec.key {
            if d.spec.forward.is_one_way() && d.spec.port != port {
                out.push(f(
                    "D-PORT-REMAP",
                    Severity::Error,
                    format!("realserver {} of {}", d.spec.addr_port(), svc.spec.key),
                    format!("port {} ≠ service port {port}", d.spec.port),
                    "DR and tunnelling cannot remap ports: the realserver must listen on VIP:service-port".into(),
                    format!(
                        "ipvsadm -d {k} -r {}; ipvsadm -a {k} -r {} {} -w {}",
                        d.spec.addr_port(),
                        crate::model::fmt_addr_port(&rip, port),
                        d.spec.forward.ipvsadm_switch(),
                        d.spec.weight,
                        k = svc.spec.key.ipvsadm_args()
                    ),
                ));
            }
        }
        if d.spec.weight == 0 {
            let quiescent = facts.vs.get("expire_quiescent_template").map(String::as_str);
            let sev = if svc.spec.flags.is_persistent() && quiescent == Some("0") {
                Severity::Warning
            } else {
                Severity::Info
            };
            let mut msg = format!(
                "draining {} of {}: {} active, {} inactive connections",
                d.spec.addr_port(),
                svc.spec.key,
                d.active_conns,
                d.inact_conns
            );
            if sev == Severity::Warning {
                msg.push_str("; persistent clients still land here while their templates live");
            }
            out.push(f(
                "D-DRAIN",
                sev,
                format!("realserver {} of {}", d.spec.addr_port(), svc.spec.key),
                format!(
                    "weight 0, expire_quiescent_template={}, expire_nodest_conn={}",
                    quiescent.unwrap_or("?"),
                    facts.vs.get("expire_nodest_conn").map_or("?", String::as_str)
                ),
                msg,
                if sev == Severity::Warning {
                    "sysctl -w net.ipv4.vs.expire_quiescent_template=1".into()
                } else {
                    "sysctl -w net.ipv4.vs.expire_nodest_conn=1   (reschedules port-reuse SYNs)".into()
                },
            ));
        }
    }

    // D-RPF-ASYM: strict rp_filter on a VIP interface whose clients are routed elsewhere.
    if let Some(Ok(client_route)) = facts.routes.get(&probe) {
        for vip in vips.iter().filter(|v| v.is_ipv4()) {
            for a in facts.addrs.iter().filter(|a| a.addr == *vip) {
                let dev = facts.name(a.ifindex);
                if facts.e_max(&dev, |c| c.rp_filter) == 1 && client_route.oif.is_some_and(|o| o != a.ifindex) {
                    out.push(f(
                        "D-RPF-ASYM",
                        Severity::Warning,
                        format!("interface {dev}"),
                        format!("rp_filter=1, clients routed via {}", facts.name(client_route.oif.unwrap_or(0))),
                        format!("strict rp_filter may drop client traffic for VIP {vip} arriving on {dev}"),
                        format!("sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.{dev}.rp_filter=2"),
                    ));
                }
            }
        }
    }

    // D-ACCEPT-LOCAL and D-MARTIAN-LOG.
    let accept_local: Vec<&String> = facts.conf.iter().filter(|(_, c)| c.accept_local != 0).map(|(d, _)| d).collect();
    if !accept_local.is_empty() && facts.ip_forward != 0 {
        out.push(f(
            "D-ACCEPT-LOCAL",
            Severity::Warning,
            "net.ipv4.conf.*.accept_local".into(),
            format!("accept_local=1 on {}, ip_forward=1", accept_local.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")),
            "the director looks set up to forward realserver replies (director as their gateway): LVS-DR loses its point".into(),
            "point the realservers' default route at the real router, then sysctl -w net.ipv4.conf.all.accept_local=0".into(),
        ));
    }
    if !snap.services.is_empty() && !facts.e_or("all", |c| c.log_martians) {
        out.push(f(
            "D-MARTIAN-LOG",
            Severity::Info,
            "net.ipv4.conf.all.log_martians".into(),
            "log_martians=0".into(),
            "packets dropped as martians (rp_filter, own source address) leave no trace".into(),
            "sysctl -w net.ipv4.conf.all.log_martians=1".into(),
        ));
    }

    // Rates all zero: the estimator is off.
    if facts.vs.get("run_estimation").map(String::as_str) == Some("0") {
        out.push(f(
            "D-ESTIMATION-OFF",
            Severity::Warning,
            "net.ipv4.vs.run_estimation".into(),
            "run_estimation=0".into(),
            "the IPVS rate estimator is off: every CPS/PPS/BPS rate reads 0 and counters freeze".into(),
            "sysctl -w net.ipv4.vs.run_estimation=1".into(),
        ));
    }
    out
}

/// IPv6 link-local addresses name no realserver an operator would recognise.
fn is_link_local(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
}

/// D-LOAD and D-NIC-DROPS, judged on the load between two samples.
pub fn load_findings(load: &crate::sys::load::DirectorLoad, policy: &crate::sys::load::NicPolicy) -> Vec<Finding> {
    use crate::sys::load::Level;
    let mut out = Vec::new();
    for n in load.nics.iter().filter(|n| n.up) {
        let pps = n.pps();
        let line_pct = n.line_percent.unwrap_or(0.0);
        if n.level >= Level::Warning {
            let sev = if n.level == Level::Critical || line_pct >= 90.0 { Severity::Error } else { Severity::Warning };
            let (pct, of) = match (n.practical_percent, n.practical_pps, n.line_percent, n.line_rate_pps) {
                (Some(p), Some(l), _, _) if p >= n.line_percent.unwrap_or(0.0) => {
                    (p, format!("practical limit {l} pps"))
                }
                (_, _, Some(p), Some(l)) => (p, format!("line rate {l} pps")),
                _ => (0.0, "its limit".into()),
            };
            out.push(f(
                "D-LOAD",
                sev,
                format!("interface {}", n.name),
                format!(
                    "{pps:.0} pps over {:.1} s = {pct:.0}% of {of} (warn {:.0}%, critical {:.0}%)",
                    load.interval_secs, policy.warn_percent, policy.crit_percent
                ),
                format!("{} is at {pct:.0}% of its packet limit: the director is near saturation", n.name),
                format!(
                    "spread the load (RSS queues and IRQ affinity over all CPUs, more directors), or if {} really handles more, raise [nic.limits] \"{}\" in lvstop.toml",
                    n.name, n.name
                ),
            ));
        }
        // At least one a second: a stray rx_dropped (unknown protocols, for one) is no alarm.
        if n.rates.drops_ps >= 1.0 && !n.rates.reset {
            out.push(f(
                "D-NIC-DROPS",
                Severity::Warning,
                format!("interface {}", n.name),
                format!("{:.0} drops/s (rx_dropped + rx_missed_errors + rx_fifo_errors)", n.rates.drops_ps),
                format!("{} is dropping received packets", n.name),
                format!("ethtool -S {0}; enlarge the RX ring: ethtool -G {0} rx 4096; spread IRQs over CPUs", n.name),
            ));
        }
    }
    if let Some(b) = load.backlog_drops_ps.filter(|b| *b >= 1.0) {
        out.push(f(
            "D-NIC-DROPS",
            Severity::Warning,
            "CPU backlog".into(),
            format!("{b:.0} drops/s (/proc/net/softnet_stat column 2)"),
            "packets are dropped because a CPU's input backlog is full".into(),
            "sysctl -w net.core.netdev_max_backlog=16384; spread RX over CPUs (RSS/RPS)".into(),
        ));
    }
    out
}

/// Whether /proc/net/ip_vs_conn is worth reading for D-HANDSHAKE, and small
/// enough: some destination holds at least [`HANDSHAKE_MIN`] connections and
/// the table holds at most `max` (`Err` says why it is not read). The
/// counters alone cannot single out a realserver that fails handshakes: since
/// Linux 4.8 SYN_RECV entries count in ActiveConn, like ESTABLISHED ones.
pub fn handshake_readable(snap: &Snapshot, max: u64) -> Result<bool, String> {
    let dests = || snap.services.iter().flat_map(|s| &s.destinations);
    let total: u64 = dests().map(|d| u64::from(d.active_conns) + u64::from(d.inact_conns)).sum();
    if total > max {
        return Err(format!(
            "D-HANDSHAKE not run: {total} connections are more than the {max} lvstop reads from /proc/net/ip_vs_conn"
        ));
    }
    Ok(dests().any(|d| u64::from(d.active_conns) + u64::from(d.inact_conns) >= u64::from(HANDSHAKE_MIN)))
}

/// The fewest SYN_RECV entries that count as a pattern rather than noise.
pub const HANDSHAKE_MIN: u32 = 5;

/// D-HANDSHAKE: a destination with no established connection in either
/// reading, its entries not falling (by more than a tenth: old SYN_RECV
/// entries expire while new ones arrive), and more than 80% of them in SYN_RECV.
pub fn handshake(
    snap: &Snapshot,
    before: &std::collections::BTreeMap<(IpAddr, u16), crate::sys::ipvs_proc::ConnCount>,
    after: &std::collections::BTreeMap<(IpAddr, u16), crate::sys::ipvs_proc::ConnCount>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for svc in &snap.services {
        for d in &svc.destinations {
            let key = (d.spec.addr, d.spec.port);
            if !seen.insert(key) {
                continue;
            }
            let (Some(a), Some(b)) = (before.get(&key), after.get(&key)) else { continue };
            let share = b.syn_recv as f64 / b.total.max(1) as f64;
            if a.established == 0
                && b.established == 0
                && b.total + b.total / 10 >= a.total
                && b.syn_recv >= u64::from(HANDSHAKE_MIN)
                && share > 0.8
            {
                out.push(f(
                    "D-HANDSHAKE",
                    Severity::Error,
                    format!("realserver {}", d.spec.addr_port()),
                    format!(
                        "0 established, {} -> {} entries, {} SYN_RECV ({:.0}%) in /proc/net/ip_vs_conn",
                        a.total,
                        b.total,
                        b.syn_recv,
                        share * 100.0
                    ),
                    format!("realserver {} does not complete TCP handshakes: clients keep retrying their SYNs", d.spec.addr),
                    format!(
                        "check it: lvstop check --realserver {} (VIP on lo, a listener on VIP:port, rp_filter, its gateway); meanwhile drain it (d in the console): ipvsadm -e {}",
                        d.spec.addr_port(),
                        crate::report::dest_args(&svc.spec.key, &d.spec.clone().weight(0))
                    ),
                ));
            }
        }
    }
    out
}

/// D-ARP-FOREIGN and D-ARP-ANNOUNCE: probe each IPv4 VIP on the interfaces
/// that hold it, listening at least `listen_secs` in all for ARP frames that
/// carry the VIP as their sender. Returns the findings and the probes that
/// could not run.
pub fn arp_problem(
    facts: &DirectorFacts,
    vips: &[IpAddr],
    rips: &[IpAddr],
    listen_secs: u32,
) -> (Vec<Finding>, Vec<String>) {
    let (mut out, mut skipped) = (Vec::new(), Vec::new());
    let listen_until = std::time::Instant::now() + std::time::Duration::from_secs(u64::from(listen_secs));
    let neigh: Vec<(IpAddr, crate::sys::arp::Mac)> = facts.neigh_macs.clone();
    for vip in vips {
        let IpAddr::V4(v4) = vip else { continue };
        for a in facts.addrs.iter().filter(|a| a.addr == *vip) {
            let Some(iface) = facts.ifaces.get(&a.ifindex).filter(|i| !i.is_noarp()) else { continue };
            // The sender: another IPv4 address of this interface (the DIP), else 0.0.0.0; never the VIP.
            let sender = facts
                .addrs
                .iter()
                .filter(|b| b.ifindex == a.ifindex && b.addr != *vip)
                .find_map(|b| match b.addr {
                    IpAddr::V4(x) => Some(x),
                    IpAddr::V6(_) => None,
                })
                .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
            let others: Vec<std::net::Ipv4Addr> =
                rips.iter()
                    .filter_map(|r| match r {
                        IpAddr::V4(x) => Some(*x),
                        IpAddr::V6(_) => None,
                    })
                    .filter(|r| {
                        facts.routes.get(&IpAddr::V4(*r)).is_some_and(|rt| {
                            rt.as_ref().is_ok_and(|rt| rt.gateway.is_none() && rt.oif == Some(a.ifindex))
                        })
                    })
                    .take(64)
                    .collect();
            // `listen_secs` is the whole listening time, shared by every probe.
            let listen = listen_until.saturating_duration_since(std::time::Instant::now());
            match crate::sys::arp::probe(
                &iface.name,
                *v4,
                sender,
                &others,
                2,
                std::time::Duration::from_millis(700),
                listen,
            ) {
                Err(e) => skipped.push(format!("D-ARP-FOREIGN for {vip} on {}: {e}", iface.name)),
                Ok(r) => {
                    let who = |mac: &crate::sys::arp::Mac| {
                        let names: BTreeSet<String> = r
                            .who
                            .get(mac)
                            .into_iter()
                            .flatten()
                            .map(ToString::to_string)
                            .chain(
                                neigh
                                    .iter()
                                    .filter(|(ip, m)| m == mac && !is_link_local(ip))
                                    .map(|(ip, _)| ip.to_string()),
                            )
                            .collect();
                        if names.is_empty() {
                            "an unknown host".to_string()
                        } else {
                            format!("realserver {}", names.into_iter().collect::<Vec<_>>().join(", "))
                        }
                    };
                    // Answers mean arp_ignore is wrong there; requests sent from the VIP, arp_announce.
                    let kinds = [
                        (
                            "D-ARP-FOREIGN",
                            &r.vip_answers,
                            "answers ARP for",
                            "net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2",
                        ),
                        (
                            "D-ARP-ANNOUNCE",
                            &r.vip_announcers,
                            "sends ARP requests as",
                            "net.ipv4.conf.all.arp_announce=2",
                        ),
                    ];
                    for (id, macs, verb, sysctl) in kinds {
                        for mac in macs {
                            let who = who(mac);
                            out.push(f(
                                id,
                                Severity::Error,
                                format!("VIP {vip}"),
                                format!("{mac} ({who}) {verb} {vip} on {}", iface.name),
                                format!("ARP problem: {who} {verb} VIP {vip}, so clients or the router may bypass the director"),
                                format!("on {who}: sysctl -w {sysctl}; then here: arping -U -c 3 -I {} {vip}", iface.name),
                            ));
                        }
                    }
                }
            }
        }
    }
    (out, skipped)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::facts::{ConfSysctls, DirectorFacts, Iface};
    use super::*;
    use crate::model::{Counters, DestSpec, Destination, Rates, Service, ServiceSpec};
    use crate::sys::rtnl::{IfAddr, Route};

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
                    destinations,
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
        f.routes.insert(super::super::CLIENT_PROBE, Ok(onlink));
        f.neigh = BTreeMap::from([(ip("198.51.100.11"), "REACHABLE".to_string())]);
        f.vs.insert("expire_quiescent_template".into(), "0".into());
        f
    }

    fn ids(v: &[Finding]) -> Vec<&'static str> {
        let mut ids: Vec<_> = v.iter().map(|f| f.id).collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn a_clean_director_has_no_findings() {
        let s = snap(vec![(
            ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.100"), 80), "rr"),
            vec![dest("198.51.100.11", 80, ForwardMethod::Route, 1)],
        )]);
        assert_eq!(ids(&check(&facts(), &s, super::super::CLIENT_PROBE)), Vec::<&str>::new());
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
                vec![
                    dest("198.51.100.11", 80, ForwardMethod::Route, 0),
                    dest("203.0.113.5", 80, ForwardMethod::Route, 1),
                ],
            ),
            (
                ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.101"), 80), "rr"),
                vec![dest("198.51.100.11", 8080, ForwardMethod::Route, 1)],
            ),
        ]);
        let found = check(&f, &s, super::super::CLIENT_PROBE);
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
        let off = found.iter().find(|x| x.id == "D-RS-OFFLINK").expect("offlink");
        assert_eq!((off.severity, off.value.as_str()), (Severity::Error, "route via 198.51.100.254"));
        let drain = found.iter().find(|x| x.id == "D-DRAIN").expect("drain");
        assert_eq!(drain.severity, Severity::Warning, "persistent + expire_quiescent_template=0");
        assert!(drain.fix.contains("expire_quiescent_template=1"));
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
        assert_eq!(ids(&check(&f, &nat, super::super::CLIENT_PROBE)), vec!["D-FWD-NAT", "D-VIP-NOANSWER"]);
        // arp_ignore=8 on eth0 silences the VIP there too; strict rp_filter with clients routed elsewhere.
        let mut f = facts();
        f.conf.insert("eth0".into(), ConfSysctls { arp_ignore: 8, rp_filter: 1, ..Default::default() });
        f.routes.insert(
            super::super::CLIENT_PROBE,
            Ok(Route { oif: Some(3), gateway: Some(ip("192.0.2.1")), prefsrc: None, kind: 1 }),
        );
        let dr = snap(vec![(
            ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.100"), 80), "rr"),
            vec![dest("198.51.100.11", 80, ForwardMethod::Route, 1)],
        )]);
        assert_eq!(ids(&check(&f, &dr, super::super::CLIENT_PROBE)), vec!["D-RPF-ASYM", "D-VIP-NOANSWER"]);
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
        assert!(found[0].value.contains("75000 pps") && found[0].value.contains("75% of practical limit 100000"));
        // 95 000 pps: error; drops on the NIC and in the backlog.
        let load = compute(&sample(0, 0, 7), &sample(95_000, 40, 9), 1.0, &policy, &Roles::default());
        let found = load_findings(&load, &policy);
        assert_eq!(ids(&found), vec!["D-LOAD", "D-NIC-DROPS", "D-NIC-DROPS"]);
        assert_eq!(found[0].severity, Severity::Error);
        assert_eq!(found[2].subject, "CPU backlog");
        // Below the warning level and without drops: nothing.
        let load = compute(&sample(0, 0, 7), &sample(10_000, 0, 7), 1.0, &policy, &Roles::default());
        assert!(load_findings(&load, &policy).is_empty());
    }

    #[test]
    fn handshake_rule_wants_syn_recv_without_established() {
        use crate::sys::ipvs_proc::ConnCount;
        let mut s = snap(vec![(
            ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.100"), 80), "rr"),
            vec![
                dest("198.51.100.11", 80, ForwardMethod::Route, 1),
                dest("198.51.100.12", 80, ForwardMethod::Route, 1),
            ],
        )]);
        assert_eq!(handshake_readable(&s, 1000), Ok(true), "7 connections each");
        for d in &mut s.services[0].destinations {
            (d.active_conns, d.inact_conns) = (1, 1);
        }
        assert_eq!(handshake_readable(&s, 1000), Ok(false), "too few to judge");
        s.services[0].destinations[0].active_conns = 30;
        assert_eq!(handshake_readable(&s, 1000), Ok(true));
        assert!(handshake_readable(&s, 20).expect_err("too big").contains("33 connections"));
        let c = |established, syn_recv, total| ConnCount { established, syn_recv, total };
        let key = |a: &str| (ip(a), 80);
        let before = BTreeMap::from([(key("198.51.100.11"), c(0, 20, 22)), (key("198.51.100.12"), c(3, 20, 30))]);
        let after = BTreeMap::from([(key("198.51.100.11"), c(0, 28, 30)), (key("198.51.100.12"), c(3, 28, 40))]);
        let found = handshake(&s, &before, &after);
        assert_eq!(ids(&found), vec!["D-HANDSHAKE"]);
        assert!(found[0].subject.contains("198.51.100.11:80") && found[0].value.contains("22 -> 30 entries"));
        assert!(
            found[0].fix.contains("ipvsadm -e -t 198.51.100.100:80 -r 198.51.100.11:80 -g -w 0"),
            "{}",
            found[0].fix
        );
        // Mostly FIN_WAIT (short connections, healthy): no finding.
        let after = BTreeMap::from([(key("198.51.100.11"), c(0, 2, 30))]);
        assert!(handshake(&s, &before, &after).is_empty());
        // Falling: the pile-up is clearing.
        let after = BTreeMap::from([(key("198.51.100.11"), c(0, 17, 19))]);
        assert!(handshake(&s, &before, &after).is_empty());
    }
}
