//! The realserver rules: one pure function per rule, listed in [`RULES`] with
//! its scope. Host-wide rules run once per host, VIP rules once per VIP the
//! host serves, service rules once per service: so each finding is made once.

use std::net::{IpAddr, Ipv4Addr};

use super::parse::{in_prefix, Addr4, RemoteFacts, RouteGet};
use super::Serve;
use crate::checks::fix::{AddrOp, Command, Dev, Fix};
use crate::checks::{Evidence, Finding, Gather, Host, More, Rule, Severity, Subject, Sysctl, SysctlReading};
use crate::model::Protocol;

/// What the realserver rules judge.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The realserver.
    pub host: Host,
    /// What its script reported.
    pub facts: &'a RemoteFacts,
    /// The DR and tunnel services it is in.
    pub serves: &'a [Serve],
    /// The director's address on its segment, that the script asked the route to.
    pub dip: Option<Ipv4Addr>,
    /// The director's addresses with their prefix lengths.
    pub director: &'a [(IpAddr, u8)],
}

impl Ctx<'_> {
    fn found(
        &self,
        rule: Rule,
        severity: Severity,
        subject: Subject,
        evidence: Evidence,
        message: String,
        fix: Fix,
    ) -> Finding {
        Finding { rule, severity, host: self.host, subject, evidence, message, fix }
    }

    fn vip_on(&self, vip: Ipv4Addr) -> Vec<&Addr4> {
        self.facts.addrs.iter().filter(|a| a.addr == vip).collect()
    }

    /// The route to the DIP, if the script asked for it.
    fn dip_route(&self) -> Option<&RouteGet> {
        self.facts.route_dip.as_ref().filter(|r| Some(r.dst) == self.dip)
    }

    fn serves_dr(&self, vip: Option<Ipv4Addr>) -> bool {
        self.serves.iter().any(|s| !s.tunnel && vip.is_none_or(|v| s.vip == v))
    }
}

/// Where a rule looks, and so how often it runs.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// Once per host.
    Host(fn(&Ctx<'_>) -> Vec<Finding>),
    /// Once per VIP the host serves.
    Vip(fn(&Ctx<'_>, Ipv4Addr) -> Vec<Finding>),
    /// Once per service the host is in.
    Service(fn(&Ctx<'_>, &Serve) -> Option<Finding>),
}

/// Every realserver rule, in the order they run.
pub const RULES: &[(Rule, Scope)] = &[
    (Rule::RVipAbsent, Scope::Vip(vip_absent)),
    (Rule::RVipArpDev, Scope::Vip(vip_arp_dev)),
    (Rule::RVipPrefix, Scope::Vip(vip_prefix)),
    (Rule::RArpIgnore8, Scope::Host(arp_ignore_8)),
    (Rule::RArpIgnore, Scope::Vip(arp_ignore)),
    (Rule::RArpAnnounce, Scope::Vip(arp_announce)),
    (Rule::RArpUnnumbered, Scope::Host(arp_unnumbered)),
    (Rule::RL2, Scope::Host(l2)),
    (Rule::RRpfStrict, Scope::Vip(rpf_strict)),
    (Rule::RRpfCounter, Scope::Host(rpf_counter)),
    (Rule::DBypass, Scope::Service(bypass)),
    (Rule::RRpfTun, Scope::Host(rpf_tun)),
    (Rule::RGwDirector, Scope::Host(gw_director)),
    (Rule::RListen, Scope::Service(listen)),
    (Rule::RFwd, Scope::Host(fwd)),
];

/// Run every realserver rule: the findings kept whole and the rest
/// ([`Gather`]: a host that serves 10 000 services may fail a
/// per-service rule for each).
pub fn check(cx: &Ctx<'_>) -> (Vec<Finding>, Vec<More>) {
    let mut vips: Vec<Ipv4Addr> = Vec::new();
    for s in cx.serves {
        if !vips.contains(&s.vip) {
            vips.push(s.vip);
        }
    }
    let mut out = Gather::default();
    for (_, scope) in RULES {
        match scope {
            Scope::Host(judge) => out.extend(judge(cx)),
            Scope::Vip(judge) => out.extend(vips.iter().flat_map(|v| judge(cx, *v))),
            Scope::Service(judge) => out.extend(cx.serves.iter().filter_map(|s| judge(cx, s))),
        }
    }
    out.finish()
}

/// R-VIP-ABSENT: the VIP is on no interface: the host drops DR traffic for it.
fn vip_absent(cx: &Ctx<'_>, vip: Ipv4Addr) -> Vec<Finding> {
    if !cx.vip_on(vip).is_empty() {
        return Vec::new();
    }
    vec![cx.found(
        Rule::RVipAbsent,
        Severity::Error,
        Subject::Vip(vip.into()),
        Evidence::NotConfigured,
        format!("VIP {vip} is missing on {}: it drops DR traffic for the VIP", cx.host),
        Fix::run(Command::ip_addr(AddrOp::Add, vip.into(), 32, Dev::Named("lo".into()))),
    )]
}

/// R-VIP-ARPDEV: the VIP on an interface that receives ARP: the host answers
/// for it whatever arp_ignore says.
fn vip_arp_dev(cx: &Ctx<'_>, vip: Ipv4Addr) -> Vec<Finding> {
    // The arptables/nftables way: the VIP may sit on an ARP interface when
    // ARP for it is dropped coming in and kept out going out.
    if arp_filtered(cx, vip) {
        return Vec::new();
    }
    let arp_devs = cx.facts.arp_devs();
    let on_arp = cx.vip_on(vip).into_iter().filter(|a| arp_devs.contains(&a.dev.as_str()));
    on_arp
        .map(|a| {
            cx.found(
                Rule::RVipArpDev,
                Severity::Error,
                Subject::Vip(vip.into()),
                Evidence::OnInterfaces { interfaces: vec![a.dev.clone()] },
                format!(
                    "VIP {vip} is on ARP-capable {}: {} answers ARP for it whatever arp_ignore says",
                    a.dev, cx.host
                ),
                Fix::run(Command::ip_addr(AddrOp::Del, vip.into(), a.prefix, Dev::Named(a.dev.clone())))
                    .then(Command::ip_addr(AddrOp::Add, vip.into(), 32, Dev::Named("lo".into()))),
            )
        })
        .collect()
}

/// Whether ARP for `vip` is suppressed by arptables or nftables both ways:
/// requests for it dropped coming in, and it kept out of the sender field
/// going out.
fn arp_filtered(cx: &Ctx<'_>, vip: Ipv4Addr) -> bool {
    cx.facts.arp_in_dropped.contains(&vip) && cx.facts.arp_out_rewritten.contains(&vip)
}

/// R-VIP-PREFIX: the VIP with a prefix shorter than /32 (not on an ARP
/// interface, R-VIP-ARPDEV's case): the whole prefix becomes local.
fn vip_prefix(cx: &Ctx<'_>, vip: Ipv4Addr) -> Vec<Finding> {
    let arp_devs = cx.facts.arp_devs();
    let short = cx.vip_on(vip).into_iter().filter(|a| a.prefix < 32 && !arp_devs.contains(&a.dev.as_str()));
    short
        .map(|a| {
            let dev = || Dev::Named(a.dev.clone());
            cx.found(
                Rule::RVipPrefix,
                Severity::Warning,
                Subject::Vip(vip.into()),
                Evidence::AddressOn { address: vip.into(), prefix: a.prefix, interface: a.dev.clone() },
                format!("VIP {vip}/{} on {} makes the whole prefix local on {}", a.prefix, a.dev, cx.host),
                Fix::run(Command::ip_addr(AddrOp::Del, vip.into(), a.prefix, dev())).then(Command::ip_addr(
                    AddrOp::Add,
                    vip.into(),
                    32,
                    dev(),
                )),
            )
        })
        .collect()
}

/// R-ARP-IGNORE-8: arp_ignore=8 on an ARP interface: the host answers no ARP
/// at all there, so its RIP is unreachable.
fn arp_ignore_8(cx: &Ctx<'_>) -> Vec<Finding> {
    let silent = cx.facts.arp_devs().into_iter().filter(|dev| cx.facts.e_max(dev, "arp_ignore") == 8);
    silent
        .map(|dev| {
            cx.found(
                Rule::RArpIgnore8,
                Severity::Error,
                Subject::Interface(dev.to_string()),
                Evidence::NoArp { arp_ignore: SysctlReading::effective(dev, "arp_ignore", 8) },
                format!("{} answers no ARP at all on {dev}: its RIP is unreachable", cx.host),
                Fix::run(Command::sysctl_all_and(dev, "arp_ignore", 1)),
            )
        })
        .collect()
}

/// With `vip` configured, each ARP interface and its effective `key` (none without the VIP).
fn arp_devs_when_vip<'a>(cx: &Ctx<'a>, vip: Ipv4Addr, key: &str) -> Vec<(&'a str, u32)> {
    if cx.vip_on(vip).is_empty() {
        return Vec::new();
    }
    cx.facts.arp_devs().into_iter().map(|dev| (dev, cx.facts.e_max(dev, key))).collect()
}

/// R-ARP-IGNORE: with the VIP configured, arp_ignore other than 1 or 2 (or 8,
/// R-ARP-IGNORE-8's case) on an ARP interface lets the host answer for the VIP.
fn arp_ignore(cx: &Ctx<'_>, vip: Ipv4Addr) -> Vec<Finding> {
    // arptables or nftables drops the ARP requests for the VIP: it is never answered.
    if cx.facts.arp_in_dropped.contains(&vip) {
        return Vec::new();
    }
    let answering = arp_devs_when_vip(cx, vip, "arp_ignore").into_iter().filter(|(_, ign)| !matches!(ign, 1 | 2 | 8));
    answering
        .map(|(dev, ign)| {
            cx.found(
                Rule::RArpIgnore,
                Severity::Error,
                Subject::Interface(dev.to_string()),
                Evidence::Sysctl(SysctlReading::effective(dev, "arp_ignore", ign)),
                format!("{} answers ARP for VIP {vip} on {dev}: the ARP problem", cx.host),
                Fix::run(Command::sysctl_all_and(dev, "arp_ignore", 1)),
            )
        })
        .collect()
}

/// R-ARP-ANNOUNCE: with the VIP configured, arp_announce other than 2 lets the
/// host send ARP requests from the VIP (a warning at 1 when the VIP is outside
/// the interface's subnets, which 1 then avoids).
fn arp_announce(cx: &Ctx<'_>, vip: Ipv4Addr) -> Vec<Finding> {
    // arptables or nftables keeps the VIP out of the sender of outgoing ARP.
    if cx.facts.arp_out_rewritten.contains(&vip) {
        return Vec::new();
    }
    let announcing = arp_devs_when_vip(cx, vip, "arp_announce").into_iter().filter(|(_, ann)| *ann != 2);
    announcing
        .map(|(dev, ann)| {
            let in_subnet = cx.facts.addrs.iter().filter(|a| a.dev == dev).any(|a| in_prefix(a.addr, a.prefix, vip));
            cx.found(
                Rule::RArpAnnounce,
                if ann == 1 && !in_subnet { Severity::Warning } else { Severity::Error },
                Subject::Interface(dev.to_string()),
                Evidence::Sysctl(SysctlReading::effective(dev, "arp_announce", ann)),
                format!("{} may send ARP requests with VIP {vip} as their sender on {dev}", cx.host),
                Fix::run(Command::sysctl_all_and(dev, "arp_announce", 2)),
            )
        })
        .collect()
}

/// R-ARP-UNNUMBERED: arp_ignore 1 and 2 answer only for addresses of the
/// receiving interface, so an ARP interface with carrier and no IPv4 address
/// answers nothing (8 is R-ARP-IGNORE-8; 3 and the reserved values still
/// answer for global addresses).
fn arp_unnumbered(cx: &Ctx<'_>) -> Vec<Finding> {
    let f = cx.facts;
    let arp_devs = f.arp_devs();
    let numbered = |d: &str| f.addrs.iter().any(|a| a.dev == d);
    let mut out = Vec::new();
    for dev in arp_devs.iter().filter(|d| f.has_carrier(d) && !numbered(d)) {
        let ign = f.e_max(dev, "arp_ignore");
        if !matches!(ign, 1 | 2) {
            continue;
        }
        // Off for all and this interface; the numbered ones keep their value.
        let keep = arp_devs.iter().filter(|d| numbered(d)).map(|d| (Sysctl::conf(*d, "arp_ignore"), ign));
        let settings = [(Sysctl::conf("all", "arp_ignore"), 0), (Sysctl::conf(*dev, "arp_ignore"), 0)];
        out.push(cx.found(
            Rule::RArpUnnumbered,
            Severity::Warning,
            Subject::Interface(dev.to_string()),
            Evidence::Unnumbered {
                arp_ignore: SysctlReading::effective(dev, "arp_ignore", ign),
                interface: dev.to_string(),
            },
            format!(
                "arp_ignore≥1 silences interface {dev}: it has no IPv4 address, so {} answers no ARP on it",
                cx.host
            ),
            Fix::run(Command::sysctl(settings.into_iter().chain(keep))),
        ));
    }
    out
}

/// R-L2: a DR realserver reaches the director through a gateway: it is not on
/// the director's segment.
fn l2(cx: &Ctx<'_>) -> Vec<Finding> {
    let Some((r, gw)) = cx.dip_route().and_then(|r| Some((r, r.via?))).filter(|_| cx.serves_dr(None)) else {
        return Vec::new();
    };
    vec![cx.found(
        Rule::RL2,
        Severity::Error,
        Subject::RouteToDirector(r.dst.into()),
        Evidence::Route { destination: r.dst.into(), gateway: Some(gw.into()), interface: r.dev.clone() },
        format!("{} is not on the director's segment: it reaches the director's {} via gateway {gw}", cx.host, r.dst),
        Fix::advice("put the realserver on the director's VLAN (an on-link route to the director), or use tunnelling (ipvsadm -e … -i)"),
    )]
}

/// R-RPF-STRICT: strict rp_filter on the interface toward the director, with
/// the route back to the clients leaving by another: client packets from the
/// director fail the reverse-path check.
fn rpf_strict(cx: &Ctx<'_>, vip: Ipv4Addr) -> Vec<Finding> {
    let Some(r) = cx.dip_route().filter(|_| cx.serves_dr(Some(vip))) else { return Vec::new() };
    let rpf = cx.facts.e_max(&r.dev, "rp_filter");
    let Some(c) = cx.facts.route_client.as_ref().filter(|c| rpf == 1 && c.dev != r.dev) else { return Vec::new() };
    let (din, dout, probe) = (&r.dev, &c.dev, c.dst);
    vec![cx.found(
        Rule::RRpfStrict,
        Severity::Error,
        Subject::Interface(din.clone()),
        Evidence::RpfStrict {
            rp_filter: SysctlReading::effective(din, "rp_filter", rpf),
            director_interface: din.clone(),
            client_probe: probe.into(),
            client_interface: dout.clone(),
        },
        format!(
            "strict rp_filter on {} drops client packets from the director on {din} (the route back to clients leaves by {dout}); \
             confirm: ip route get {vip} from {probe} iif {} fails",
            cx.host,
            crate::checks::shell_quote(din)
        ),
        Fix::run(Command::sysctl_all_and(din, "rp_filter", 2)),
    )]
}

/// R-RPF-COUNTER: the rp_filter drop counter rose between the two readings.
fn rpf_counter(cx: &Ctx<'_>) -> Vec<Finding> {
    let (Some(before), Some(after)) = cx.facts.rpf_drops else { return Vec::new() };
    if after <= before {
        return Vec::new();
    }
    vec![cx.found(
        Rule::RRpfCounter,
        Severity::Warning,
        Subject::TcpExt("IPReversePathFilter"),
        Evidence::CounterRise { before, after },
        format!("rp_filter is dropping packets on {}", cx.host),
        Fix::run(Command::sysctl([(Sysctl::conf("all", "log_martians"), 1)]))
            .then(Command::kernel_log_grep("martian source")),
    )]
}

/// D-BYPASS: many more ESTABLISHED sockets on VIP:port than the director
/// counts for this realserver: clients reach it directly.
fn bypass(cx: &Ctx<'_>, s: &Serve) -> Option<Finding> {
    let active = s.active_conns.filter(|_| s.port != 0)?;
    let sockets = cx.facts.established.get(&(s.vip, s.port)).copied().unwrap_or(0);
    if sockets < 10 || sockets <= 2 * u64::from(active) + 10 {
        return None;
    }
    Some(cx.found(
        Rule::DBypass,
        Severity::Warning,
        Subject::Service(s.key()),
        Evidence::Bypass { sockets, address: s.vip.into(), port: s.port, active_conns: active },
        "clients reach RS directly: ARP problem or router pinned to an RS MAC".into(),
        Fix::advice("run lvstop check (D-ARP-FOREIGN) and fix the realserver's arp_ignore/arp_announce"),
    ))
}

/// R-RPF-TUN: a tunnel realserver's tunl0 with strict rp_filter, or loose
/// without an address: it drops the decapsulated packets.
fn rpf_tun(cx: &Ctx<'_>) -> Vec<Finding> {
    let rpf = cx.facts.e_max("tunl0", "rp_filter");
    let has_address = cx.facts.addrs.iter().any(|a| a.dev == "tunl0");
    if !cx.serves.iter().any(|s| s.tunnel) || !(rpf == 1 || (rpf == 2 && !has_address)) {
        return Vec::new();
    }
    vec![cx.found(
        Rule::RRpfTun,
        Severity::Error,
        Subject::Interface("tunl0".into()),
        Evidence::RpfTun { rp_filter: rpf, has_address },
        format!("{}'s tunl0 drops the decapsulated packets (reverse-path filter)", cx.host),
        Fix::run(Command::sysctl_all_and("tunl0", "rp_filter", 0)),
    )]
}

/// R-GW-DIRECTOR: the default route points at the director, which drops the
/// replies as martians (their source, the VIP, is local there).
fn gw_director(cx: &Ctx<'_>) -> Vec<Finding> {
    let Some(gw) = cx.facts.gateway.filter(|gw| cx.director.iter().any(|(a, _)| *a == IpAddr::V4(*gw))) else {
        return Vec::new();
    };
    vec![cx.found(
        Rule::RGwDirector,
        Severity::Warning,
        Subject::DefaultRoute,
        Evidence::DefaultRoute { gateway: gw.into() },
        format!(
            "{}'s replies go via the director ({gw}), which drops them as martians (source VIP is local there)",
            cx.host
        ),
        Fix::run(Command::default_via_router()),
    )]
}

/// R-LISTEN: no TCP (or UDP) socket listens on VIP:port or the wildcard (a
/// RIP-only bind resets DR traffic). SCTP sockets are not read.
fn listen(cx: &Ctx<'_>, s: &Serve) -> Option<Finding> {
    let sockets = match s.protocol {
        Protocol::Tcp => &cx.facts.listen,
        Protocol::Udp => &cx.facts.udp_listen,
        _ => return None,
    };
    let (vip, port) = (s.vip, s.port);
    if port == 0 || sockets.iter().any(|(a, p)| *p == port && (*a == vip || a.is_unspecified())) {
        return None;
    }
    Some(cx.found(
        Rule::RListen,
        Severity::Error,
        Subject::Service(s.key()),
        Evidence::NoListener { protocol: s.protocol, address: vip.into(), port },
        format!("nothing on {} listens on VIP {vip} port {port} (a RIP-only bind resets DR traffic)", cx.host),
        Fix::advice("bind the service to the VIP or to 0.0.0.0"),
    ))
}

/// R-FWD: forwarding on: if the VIP vanishes, the host routes VIP traffic back out.
fn fwd(cx: &Ctx<'_>) -> Vec<Finding> {
    if cx.facts.sysctl.get("ip_forward") != Some(&1) {
        return Vec::new();
    }
    let message = format!("if the VIP vanishes, {} will route VIP traffic back out", cx.host);
    vec![Finding::sysctl(Rule::RFwd, Severity::Info, cx.host, Sysctl::Ipv4("ip_forward"), 1, 0, message)]
}
