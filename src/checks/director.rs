//! Director rules (D-*): one pure function per rule, judged on a [`Ctx`] (the
//! gathered facts, the IPVS table, and what was measured: ARP probes, load,
//! connection counts), listed in [`RULES`]. The rules about what the director
//! measures over time are in `readings`.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::facts::DirectorFacts;
use super::fix::{AddrOp, Command, Dev, Fix};
use super::{Evidence, Finding, Host, Rule, Severity, Subject, Sysctl};
use crate::model::{Destination, ForwardMethod, Service, ServiceFlags, ServiceKey, Snapshot};
use crate::sys::rtnl::{IfAddr, Route};

mod readings;
#[cfg(test)]
mod tests;

pub use readings::{conns_readable, is_link_local, ConnCounts, VipProbe, HANDSHAKE_MIN};

/// What the director rules judge.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The IPVS table.
    pub snap: &'a Snapshot,
    /// The director's sysctls, addresses, routes and neighbours; none when
    /// they could not be read (the rules that need them find nothing).
    pub facts: Option<&'a DirectorFacts>,
    /// The off-link address whose route stands for the clients'.
    pub probe: IpAddr,
    /// What the ARP probes of the VIPs heard.
    pub arp: &'a [VipProbe],
    /// The load between two readings, and the thresholds it is judged by.
    pub load: Option<(&'a crate::sys::load::DirectorLoad, &'a crate::sys::load::NicPolicy)>,
    /// /proc/net/ip_vs_conn counted per realserver, when read.
    pub conns: Option<&'a ConnCounts>,
    /// What the DR path probes got back.
    pub paths: &'a [PathProbe],
}

/// One DR path probe: a SYN to VIP:PORT framed to a realserver's MAC, and the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathProbe {
    /// The realserver.
    pub rip: IpAddr,
    /// The service's virtual address.
    pub vip: IpAddr,
    /// The service's port.
    pub port: u16,
    /// The index of the director interface it was sent on.
    pub ifindex: u32,
    /// What came back.
    pub answer: crate::sys::synprobe::PathAnswer,
}

impl<'a> Ctx<'a> {
    /// A context with the table and the facts only.
    pub fn new(snap: &'a Snapshot, facts: Option<&'a DirectorFacts>, probe: IpAddr) -> Self {
        Ctx { snap, facts, probe, arp: &[], load: None, conns: None, paths: &[] }
    }

    fn dests(&self) -> impl Iterator<Item = (&'a Service, &'a Destination)> {
        self.snap.services.iter().flat_map(|s| s.destinations.iter().map(move |d| (s, d)))
    }

    /// The DR realservers' addresses, each once, in table order.
    fn dr_rips(&self) -> Vec<IpAddr> {
        let mut seen = BTreeSet::new();
        self.dests()
            .filter(|(_, d)| d.spec.forward == ForwardMethod::Route && seen.insert(d.spec.addr))
            .map(|(_, d)| d.spec.addr)
            .collect()
    }
}

/// A rule's judgement.
pub type Judge = fn(&Ctx<'_>) -> Vec<Finding>;

/// Every director rule, in the order they run.
pub const RULES: &[(Rule, Judge)] = &[
    (Rule::DVipAbsent, vip_absent),
    (Rule::DVipNoAnswer, vip_no_answer),
    (Rule::DFwdOn, fwd_on),
    (Rule::DFwdNat, fwd_nat),
    (Rule::DRsOffLink, rs_off_link),
    (Rule::DRsNeigh, rs_neigh),
    (Rule::DPortRemap, port_remap),
    (Rule::DDrain, drain),
    (Rule::DSchedFallback, sched_fallback),
    (Rule::DNoDest, readings::no_dest),
    (Rule::DConnReuse, conn_reuse),
    (Rule::DSloppy, sloppy),
    (Rule::DRpfAsym, rpf_asym),
    (Rule::DAcceptLocal, accept_local),
    (Rule::DMartianLog, martian_log),
    (Rule::DEstimationOff, estimation_off),
    (Rule::DArpForeign, readings::arp_foreign),
    (Rule::DArpAnnounce, readings::arp_announce),
    (Rule::DLoad, readings::load),
    (Rule::DNicDrops, readings::nic_drops),
    (Rule::DHandshake, readings::handshake),
    (Rule::DDrPath, readings::dr_path),
    (Rule::DIfName, if_name),
];

/// Run every director rule: the findings kept whole and the rest
/// ([`super::Gather`]: a per-service rule may fail for each of 10 000).
pub fn check(cx: &Ctx<'_>) -> (Vec<Finding>, Vec<super::More>) {
    let mut out = super::Gather::default();
    for (_, judge) in RULES {
        out.extend(judge(cx));
    }
    out.finish()
}

/// A finding about the director.
fn found(rule: Rule, severity: Severity, subject: Subject, evidence: Evidence, message: String, fix: Fix) -> Finding {
    Finding { rule, severity, host: Host::Director, subject, evidence, message, fix }
}

/// D-VIP-ABSENT: a service's VIP is on no interface of the director.
fn vip_absent(cx: &Ctx<'_>) -> Vec<Finding> {
    let Some(f) = cx.facts else { return Vec::new() };
    let absent = cx.snap.vips().into_iter().filter(|vip| !f.addrs.iter().any(|a| a.addr == *vip));
    absent
        .map(|vip| {
            found(
                Rule::DVipAbsent,
                Severity::Error,
                Subject::Vip(vip),
                Evidence::NotConfigured,
                format!("VIP {vip} is not configured on the director: it cannot receive the service's traffic (or this director is a VRRP backup)"),
                Fix::run(Command::ip_addr(AddrOp::Add, vip, if vip.is_ipv4() { 32 } else { 128 }, Dev::ClientFacing)),
            )
        })
        .collect()
}

/// D-VIP-NOANSWER: an IPv4 VIP only on loopback/NOARP devices, or where
/// arp_ignore forbids the reply (8; 3 for a host-scope address).
fn vip_no_answer(cx: &Ctx<'_>) -> Vec<Finding> {
    let Some(f) = cx.facts else { return Vec::new() };
    let mut out = Vec::new();
    for vip in cx.snap.vips().into_iter().filter(IpAddr::is_ipv4) {
        let on: Vec<_> = f.addrs.iter().filter(|a| a.addr == vip).collect();
        let answers = |a: &&IfAddr| {
            f.ifaces.get(&a.ifindex).is_some_and(|iface| {
                let ign = f.e_max(&iface.name, |c| c.arp_ignore);
                !(iface.is_noarp() || ign == 8 || (ign == 3 && a.scope == 254))
            })
        };
        if on.is_empty() || on.iter().any(answers) {
            continue;
        }
        out.push(found(
            Rule::DVipNoAnswer,
            Severity::Error,
            Subject::Vip(vip),
            Evidence::OnInterfaces { interfaces: on.iter().map(|a| f.name(a.ifindex)).collect() },
            format!("the director will not answer ARP for VIP {vip}: it is only on a loopback/NOARP device, or arp_ignore forbids the reply"),
            Fix::run(Command::ip_addr(AddrOp::Add, vip, 32, Dev::ClientFacing))
                .then(Command::sysctl([(Sysctl::conf("all", "arp_ignore"), 1)])),
        ));
    }
    out
}

fn has_nat(cx: &Ctx<'_>) -> bool {
    cx.dests().any(|(_, d)| d.spec.forward == ForwardMethod::Masq)
}

/// D-FWD-ON: forwarding on, though no NAT realserver needs it.
fn fwd_on(cx: &Ctx<'_>) -> Vec<Finding> {
    let Some(f) = cx.facts.filter(|f| f.ip_forward != 0) else { return Vec::new() };
    if has_nat(cx) || cx.snap.services.is_empty() {
        return Vec::new();
    }
    let devices = f.conf.iter().filter(|(d, c)| *d != "all" && *d != "lo" && c.forwarding != 0);
    vec![found(
        Rule::DFwdOn,
        Severity::Warning,
        Subject::Sysctl(Sysctl::Ipv4("ip_forward")),
        Evidence::Forwarding { ip_forward: f.ip_forward, devices: devices.map(|(d, _)| d.clone()).collect() },
        "IP forwarding is on but LVS-DR and LVS-TUN do not need it: the director routes anything sent to its MAC"
            .into(),
        Fix::run(Command::sysctl([(Sysctl::Ipv4("ip_forward"), 0)])).aside("and persist it in /etc/sysctl.d/"),
    )]
}

/// D-FWD-NAT: a NAT realserver with forwarding off.
fn fwd_nat(cx: &Ctx<'_>) -> Vec<Finding> {
    let Some(f) = cx.facts.filter(|f| f.ip_forward == 0) else { return Vec::new() };
    if !has_nat(cx) {
        return Vec::new();
    }
    let message = "a NAT (masquerading) realserver exists but forwarding is off: its replies cannot pass the director";
    let ip_forward = Sysctl::Ipv4("ip_forward");
    vec![Finding::sysctl(Rule::DFwdNat, Severity::Error, Host::Director, ip_forward, f.ip_forward, 1, message.into())]
}

/// D-RS-OFFLINK: a DR realserver reached through a gateway, or not at all.
fn rs_off_link(cx: &Ctx<'_>) -> Vec<Finding> {
    let Some(f) = cx.facts else { return Vec::new() };
    let mut out = Vec::new();
    for rip in cx.dr_rips() {
        match f.routes.get(&rip) {
            Some(Ok(Route { gateway: Some(gateway), .. })) => out.push(found(
                Rule::DRsOffLink,
                Severity::Error,
                Subject::realserver(rip),
                Evidence::RouteVia { gateway: *gateway },
                format!("realserver {rip} is not on the director's segment: DR frames would go to the gateway's MAC"),
                Fix::advice("put the realserver on the director's VLAN, or use tunnelling (ipvsadm -e … -i)"),
            )),
            Some(Err(e)) => out.push(found(
                Rule::DRsOffLink,
                Severity::Error,
                Subject::realserver(rip),
                Evidence::Error { error: e.clone() },
                format!("the director has no route to realserver {rip}"),
                Fix::run(Command::route_get(rip)).aside("add an address in the realserver's subnet to the director"),
            )),
            _ => {}
        }
    }
    out
}

/// D-RS-NEIGH: a DR realserver whose neighbour entry failed (error), or that
/// has none yet though it is on-link (info).
fn rs_neigh(cx: &Ctx<'_>) -> Vec<Finding> {
    let Some(f) = cx.facts else { return Vec::new() };
    let mut out = Vec::new();
    for rip in cx.dr_rips() {
        let via_gateway = f.routes.get(&rip).is_some_and(|r| r.as_ref().is_ok_and(|r| r.gateway.is_some()));
        let neighbour = |state: Option<&str>| Evidence::Neighbour { state: state.map(String::from) };
        match f.neigh.get(&rip).map(String::as_str) {
            Some(st @ ("FAILED" | "INCOMPLETE")) => out.push(found(
                Rule::DRsNeigh,
                Severity::Error,
                Subject::realserver(rip),
                neighbour(Some(st)),
                format!("no layer-2 reachability to realserver {rip}"),
                Fix::advice("check its VLAN and cabling").then(Command::ping(rip)),
            )),
            None if !via_gateway => out.push(found(
                Rule::DRsNeigh,
                Severity::Info,
                Subject::realserver(rip),
                neighbour(None),
                format!("realserver {rip} has no neighbour entry yet (no traffic sent to it recently)"),
                Fix::run(Command::ping(rip)),
            )),
            _ => {}
        }
    }
    out
}

/// A destination of a service, as a subject.
fn dest_subject(svc: &Service, d: &Destination) -> Subject {
    Subject::Realserver { addr: d.spec.addr, port: Some(d.spec.port), service: Some(svc.spec.key) }
}

/// D-PORT-REMAP: a DR or tunnel destination on another port than the service's.
fn port_remap(cx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (svc, d) in cx.dests() {
        let ServiceKey::Addr { port, .. } = svc.spec.key else { continue };
        if !d.spec.forward.is_one_way() || d.spec.port == port {
            continue;
        }
        let (key, rip) = (&svc.spec.key, d.spec.addr);
        out.push(found(
            Rule::DPortRemap,
            Severity::Error,
            dest_subject(svc, d),
            Evidence::PortRemap { port: d.spec.port, service_port: port },
            "DR and tunnelling cannot remap ports: the realserver must listen on VIP:service-port".into(),
            Fix::run(Command::ipvsadm_delete(key, rip, d.spec.port)).then(Command::ipvsadm_add(
                key,
                rip,
                port,
                d.spec.forward,
                d.spec.weight,
            )),
        ));
    }
    out
}

/// D-DRAIN: a destination with weight 0; a warning when persistence templates
/// outlive it (expire_quiescent_template=0).
fn drain(cx: &Ctx<'_>) -> Vec<Finding> {
    let Some(f) = cx.facts else { return Vec::new() };
    let vs = |k: &str| f.vs.get(k).cloned();
    let mut out = Vec::new();
    for (svc, d) in cx.dests().filter(|(_, d)| d.spec.weight == 0) {
        let quiescent = vs("expire_quiescent_template");
        let persistent = svc.spec.flags.is_persistent() && quiescent.as_deref() == Some("0");
        let mut message = format!(
            "draining {} of {}: {} active, {} inactive connections",
            d.spec.addr_port(),
            svc.spec.key,
            d.active_conns,
            d.inact_conns
        );
        let (severity, fix) = if persistent {
            message.push_str("; persistent clients still land here while their templates live");
            (Severity::Warning, Fix::run(Command::sysctl([(Sysctl::Vs("expire_quiescent_template"), 1)])))
        } else {
            let fix = Fix::run(Command::sysctl([(Sysctl::Vs("expire_nodest_conn"), 1)]));
            (Severity::Info, fix.aside("reschedules port-reuse SYNs"))
        };
        // With the connection table read: the templates that still send
        // their clients here, and until when.
        let templates = cx.conns.map(|c| {
            let c = c.get(&(d.spec.addr, d.spec.port)).copied().unwrap_or_default();
            (c.templates, c.last_template_secs)
        });
        if persistent {
            match templates {
                Some((0, _)) => message.push_str("; no persistence template points at it any more"),
                Some((n, last)) => message.push_str(&format!(
                    "; {n} persistence {} here, the last for {} (longer while those clients reconnect)",
                    if n == 1 { "template still sends its client" } else { "templates still send their clients" },
                    crate::model::fmt_mmss(last)
                )),
                None => {}
            }
        }
        let evidence = Evidence::Drain {
            weight: d.spec.weight,
            expire_quiescent_template: quiescent,
            expire_nodest_conn: vs("expire_nodest_conn"),
            templates,
        };
        out.push(found(Rule::DDrain, severity, dest_subject(svc, d), evidence, message, fix));
    }
    out
}

/// D-SCHED-FALLBACK: a sh or mh service without its fallback flag and a
/// destination it cannot use (weight 0, or over its upper threshold): the
/// clients that hash to it are refused (ICMP port unreachable) instead of
/// being sent to another. A drained destination keeps its place in the
/// table (sh keeps one bucket for it, mh every slot it had).
fn sched_fallback(cx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for svc in &cx.snap.services {
        let sched = svc.spec.scheduler.as_str();
        if !matches!(sched, "sh" | "mh") {
            continue;
        }
        let name = format!("{sched}-fallback");
        let Some(bit) = ServiceFlags::parse_sched_flag(sched, &name) else { continue };
        if svc.spec.flags.has(bit) {
            continue;
        }
        let unusable = |d: &&Destination| d.spec.weight == 0 || d.state() == crate::model::DestState::Overloaded;
        for d in svc.destinations.iter().filter(unusable) {
            let mut fixed = svc.spec.clone();
            fixed.flags = ServiceFlags(fixed.flags.0 | bit);
            let why = if d.spec.weight == 0 { "has weight 0" } else { "is over its connection threshold" };
            out.push(found(
                Rule::DSchedFallback,
                Severity::Error,
                dest_subject(svc, d),
                Evidence::SchedFallback { scheduler: sched.to_string(), weight: d.spec.weight },
                format!(
                    "{} {why}: the clients {sched} sends to it are refused (ICMP port unreachable), \
                     not moved, without {name}",
                    d.spec.addr_port()
                ),
                Fix::run(Command::ipvsadm_edit_service(&fixed)),
            ));
        }
    }
    out
}

/// D-CONN-REUSE: conn_reuse_mode=0 on a kernel from 5.9 on. kube-proxy set it
/// to 0 to avoid a one-second delay of SYNs that reuse a client port, which
/// later kernels no longer have; with it, such a SYN keeps going to the
/// realserver of the old entry, drained or removed.
fn conn_reuse(cx: &Ctx<'_>) -> Vec<Finding> {
    let Some(f) = cx.facts else { return Vec::new() };
    if f.vs.get("conn_reuse_mode").map(String::as_str) != Some("0") || f.kernel.is_some_and(|k| k < (5, 9)) {
        return Vec::new();
    }
    let kernel = f.kernel.map_or_else(|| "this kernel".to_string(), |(a, b)| format!("Linux {a}.{b}"));
    let message = format!(
        "conn_reuse_mode=0: a new connection that reuses a client port goes to the realserver of the old entry, \
         drained or removed; {kernel} has no reason for 0 (the one-second SYN delay it avoided is gone since 5.9)"
    );
    vec![Finding::sysctl(
        Rule::DConnReuse,
        Severity::Warning,
        Host::Director,
        Sysctl::Vs("conn_reuse_mode"),
        0,
        1,
        message,
    )]
}

/// D-SLOPPY: a mh service, no connection sync, sloppy_tcp=0: after a failover
/// the other director does not schedule the established connections' packets
/// (they are not SYNs), so they are reset; with sloppy_tcp=1 it schedules them,
/// and mh sends each to the same realserver when both directors have the same
/// realservers in the same order.
fn sloppy(cx: &Ctx<'_>) -> Vec<Finding> {
    let Some(f) = cx.facts else { return Vec::new() };
    let mh: Vec<&Service> = cx.snap.services.iter().filter(|s| s.spec.scheduler == "mh").collect();
    let synced = cx
        .snap
        .daemons
        .iter()
        .any(|d| matches!(d.state, crate::model::SyncState::Backup | crate::model::SyncState::Master));
    if mh.is_empty() || synced {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (key, proto) in [("sloppy_tcp", crate::model::Protocol::Tcp), ("sloppy_sctp", crate::model::Protocol::Sctp)] {
        let uses = |s: &&&Service| match s.spec.key {
            ServiceKey::Addr { protocol, .. } => protocol == proto,
            ServiceKey::Fwmark { .. } => proto == crate::model::Protocol::Tcp,
        };
        let Some(first) = mh.iter().find(uses) else { continue };
        if f.vs.get(key).map(String::as_str) != Some("0") {
            continue;
        }
        let message = format!(
            "{} uses mh without connection sync and {key}=0: after a failover the other director resets every \
             established connection instead of sending it to the same realserver",
            first.spec.key
        );
        out.push(Finding::sysctl(Rule::DSloppy, Severity::Warning, Host::Director, Sysctl::Vs(key), 0, 1, message));
    }
    out
}

/// D-RPF-ASYM: strict rp_filter on a VIP interface whose clients are routed elsewhere.
fn rpf_asym(cx: &Ctx<'_>) -> Vec<Finding> {
    let Some(f) = cx.facts else { return Vec::new() };
    let Some(Ok(client_route)) = f.routes.get(&cx.probe) else { return Vec::new() };
    let mut out = Vec::new();
    for vip in cx.snap.vips().into_iter().filter(IpAddr::is_ipv4) {
        for a in f.addrs.iter().filter(|a| a.addr == vip) {
            let dev = f.name(a.ifindex);
            let rp_filter = f.e_max(&dev, |c| c.rp_filter);
            if rp_filter != 1 || client_route.oif.is_none_or(|o| o == a.ifindex) {
                continue;
            }
            out.push(found(
                Rule::DRpfAsym,
                Severity::Warning,
                Subject::Interface(dev.clone()),
                Evidence::RpfAsym { rp_filter, client_interface: f.name(client_route.oif.unwrap_or(0)) },
                format!("strict rp_filter may drop client traffic for VIP {vip} arriving on {dev}"),
                Fix::run(Command::sysctl_all_and(&dev, "rp_filter", 2)),
            ));
        }
    }
    out
}

/// D-ACCEPT-LOCAL: accept_local with forwarding, as for being the realservers' gateway.
fn accept_local(cx: &Ctx<'_>) -> Vec<Finding> {
    let Some(f) = cx.facts.filter(|f| f.ip_forward != 0) else { return Vec::new() };
    let devices: Vec<String> = f.conf.iter().filter(|(_, c)| c.accept_local != 0).map(|(d, _)| d.clone()).collect();
    if devices.is_empty() {
        return Vec::new();
    }
    vec![found(
        Rule::DAcceptLocal,
        Severity::Warning,
        Subject::Sysctl(Sysctl::conf("*", "accept_local")),
        Evidence::AcceptLocal { devices, ip_forward: f.ip_forward },
        "the director looks set up to forward realserver replies (director as their gateway): LVS-DR loses its point"
            .into(),
        Fix::advice("point the realservers' default route at the real router")
            .and_then(Command::sysctl([(Sysctl::conf("all", "accept_local"), 0)])),
    )]
}

/// D-MARTIAN-LOG: martians are dropped without a trace.
fn martian_log(cx: &Ctx<'_>) -> Vec<Finding> {
    let Some(f) = cx.facts else { return Vec::new() };
    if cx.snap.services.is_empty() || f.e_or("all", |c| c.log_martians) {
        return Vec::new();
    }
    let message = "packets dropped as martians (rp_filter, own source address) leave no trace";
    let log_martians = Sysctl::conf("all", "log_martians");
    vec![Finding::sysctl(Rule::DMartianLog, Severity::Info, Host::Director, log_martians, 0, 1, message.into())]
}

/// D-IFNAME: a director interface whose name is not one lvstop accepts
/// ([`crate::text::valid_ifname`]): shown escaped, never placed in a command.
fn if_name(cx: &Ctx<'_>) -> Vec<Finding> {
    let Some(f) = cx.facts else { return Vec::new() };
    f.ifaces
        .values()
        .filter(|i| !crate::text::valid_ifname(&i.name))
        .map(|i| {
            let shown = crate::text::sanitize(&i.name);
            found(
                Rule::DIfName,
                Severity::Warning,
                Subject::Interface(i.name.clone()),
                Evidence::InvalidName { name: i.name.clone() },
                format!(
                    "interface '{shown}' has a name that needs shell quoting or carries control characters: \
                     lvstop shows it escaped and puts no command for it"
                ),
                Fix::advice("rename it (ip link set dev <it> name <a plain name>), or find what created it"),
            )
        })
        .collect()
}

/// D-ESTIMATION-OFF: the rate estimator is off, so every rate reads 0.
fn estimation_off(cx: &Ctx<'_>) -> Vec<Finding> {
    let Some(f) = cx.facts else { return Vec::new() };
    if f.vs.get("run_estimation").map(String::as_str) != Some("0") {
        return Vec::new();
    }
    let message = "the IPVS rate estimator is off: every CPS/PPS/BPS rate reads 0 and counters freeze";
    let run_estimation = Sysctl::Vs("run_estimation");
    vec![Finding::sysctl(Rule::DEstimationOff, Severity::Warning, Host::Director, run_estimation, 0, 1, message.into())]
}
