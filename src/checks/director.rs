//! Director rules (D-*), from ../shared/docs/lvs-dr-checks.md §3.2, judged on
//! gathered facts and the IPVS table.

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
    let vips: BTreeSet<IpAddr> = snap
        .services
        .iter()
        .filter_map(|s| match s.spec.key {
            ServiceKey::Addr { addr, .. } => Some(addr),
            ServiceKey::Fwmark { .. } => None,
        })
        .collect();
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
    let forwarding: Vec<String> = facts.conf.iter().filter(|(d, c)| *d != "all" && *d != "lo" && c.forwarding != 0).map(|(d, _)| d.clone()).collect();
    if facts.ip_forward != 0 && !has_nat && !snap.services.is_empty() {
        out.push(f(
            "D-FWD-ON",
            Severity::Warning,
            "net.ipv4.ip_forward".into(),
            format!("ip_forward=1 (forwarding on {})", if forwarding.is_empty() { "no device".into() } else { forwarding.join(", ") }),
            "IP forwarding is on but LVS-DR and LVS-TUN do not need it: the director routes anything sent to its MAC".into(),
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
                    format!("realserver {rip} is not on the director's segment: DR frames would go to the gateway's MAC"),
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
                None if !facts.routes.get(&rip).is_some_and(|r| r.as_ref().is_ok_and(|r| r.gateway.is_some())) => out.push(f(
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
                    format!("ipvsadm -e {} -r {}:{port} {} -w {}", svc.spec.key.ipvsadm_args(), crate::model::fmt_addr_port(&rip, port).rsplit_once(':').map_or(String::new(), |(a, _)| a.to_string()), d.spec.forward.ipvsadm_switch(), d.spec.weight),
                ));
            }
        }
        if d.spec.weight == 0 {
            let quiescent = facts.vs.get("expire_quiescent_template").map(String::as_str);
            let sev = if svc.spec.flags.is_persistent() && quiescent == Some("0") { Severity::Warning } else { Severity::Info };
            let mut msg = format!("draining {} of {}: {} active, {} inactive connections", d.spec.addr_port(), svc.spec.key, d.active_conns, d.inact_conns);
            if sev == Severity::Warning {
                msg.push_str("; persistent clients still land here while their templates live");
            }
            out.push(f(
                "D-DRAIN",
                sev,
                format!("realserver {} of {}", d.spec.addr_port(), svc.spec.key),
                format!("weight 0, expire_quiescent_template={}, expire_nodest_conn={}", quiescent.unwrap_or("?"), facts.vs.get("expire_nodest_conn").map_or("?", String::as_str)),
                msg,
                if sev == Severity::Warning { "sysctl -w net.ipv4.vs.expire_quiescent_template=1".into() } else { "sysctl -w net.ipv4.vs.expire_nodest_conn=1   (reschedules port-reuse SYNs)".into() },
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
