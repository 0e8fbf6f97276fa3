//! Director rules on what is measured rather than configured: what the ARP
//! probes heard (D-ARP-FOREIGN, D-ARP-ANNOUNCE), the load and drops between
//! two samples (D-LOAD, D-NIC-DROPS), and connection entries read twice
//! (D-HANDSHAKE).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use super::{found, Ctx};
use crate::checks::fix::{Command, Fix};
use crate::checks::{ArpKind, Evidence, Finding, Limit, MacOwner, Rate, Rule, Severity, Subject, Sysctl};
use crate::model::Snapshot;
use crate::sys::arp::{Mac, ProbeResult};
use crate::sys::ipvs_proc::ConnCount;

/// What an ARP probe of a VIP heard on one director interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipProbe {
    /// The VIP.
    pub vip: Ipv4Addr,
    /// The interface that holds it.
    pub interface: String,
    /// The frames heard.
    pub heard: ProbeResult,
}

/// /proc/net/ip_vs_conn entries counted per destination (address, port).
pub type ConnCounts = BTreeMap<(IpAddr, u16), ConnCount>;

/// IPv6 link-local addresses name no realserver an operator would recognise
/// (nor are they an address a realserver answers the DR path probe at).
pub fn is_link_local(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
}

/// Whose `mac` is: the realservers that answered the probe's own questions
/// from it, and the director's neighbours with that MAC.
fn owner(cx: &Ctx<'_>, p: &VipProbe, mac: Mac) -> MacOwner {
    let asked = p.heard.who.get(&mac).into_iter().flatten().map(|a| IpAddr::V4(*a));
    let neigh = cx.facts.map(|f| f.neigh_macs.as_slice()).unwrap_or_default();
    let known = neigh.iter().filter(|(ip, m)| *m == mac && !is_link_local(ip)).map(|(ip, _)| *ip);
    // Named in the order of their text, each once.
    let by_name: BTreeMap<String, IpAddr> = asked.chain(known).map(|a| (a.to_string(), a)).collect();
    MacOwner(by_name.into_values().collect())
}

/// Findings for the MACs that sent ARP of `kind` with a VIP as sender.
fn arp(cx: &Ctx<'_>, rule: Rule, kind: ArpKind, sysctls: &[(&'static str, u32)]) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in cx.arp {
        let macs = match kind {
            ArpKind::Answer => &p.heard.vip_answers,
            ArpKind::Announce => &p.heard.vip_announcers,
        };
        let vip = IpAddr::V4(p.vip);
        for mac in macs {
            let owner = owner(cx, p, *mac);
            let verb = kind.verb();
            let sysctls = sysctls.iter().map(|(k, v)| (Sysctl::conf("all", k), *v));
            out.push(found(
                rule,
                Severity::Error,
                Subject::Vip(vip),
                Evidence::Arp { arp: kind, mac: *mac, owner: owner.clone(), vip, interface: p.interface.clone() },
                format!("ARP problem: {owner} {verb} VIP {vip}, so clients or the router may bypass the director"),
                Fix::on(owner, Command::sysctl(sysctls)).then_step("then here", Command::arping(&p.interface, vip)),
            ));
        }
    }
    out
}

/// D-ARP-FOREIGN: another host answers ARP for a VIP (its arp_ignore is wrong).
pub(super) fn arp_foreign(cx: &Ctx<'_>) -> Vec<Finding> {
    arp(cx, Rule::DArpForeign, ArpKind::Answer, &[("arp_ignore", 1), ("arp_announce", 2)])
}

/// D-ARP-ANNOUNCE: another host sends ARP requests from a VIP (its arp_announce is wrong).
pub(super) fn arp_announce(cx: &Ctx<'_>) -> Vec<Finding> {
    arp(cx, Rule::DArpAnnounce, ArpKind::Announce, &[("arp_announce", 2)])
}

/// D-LOAD: an interface at or above the warning level of its packet limit.
pub(super) fn load(cx: &Ctx<'_>) -> Vec<Finding> {
    use crate::sys::load::Level;
    let Some((load, policy)) = cx.load else { return Vec::new() };
    let mut out = Vec::new();
    for n in load.nics.iter().filter(|n| n.up && n.level >= Level::Warning) {
        let line_pct = n.line_percent.unwrap_or(0.0);
        let sev = if n.level == Level::Critical || line_pct >= 90.0 { Severity::Error } else { Severity::Warning };
        let (percent, limit) = match (n.practical_percent, n.practical_pps, n.line_percent, n.line_rate_pps) {
            (Some(p), Some(pps), _, _) if p >= line_pct => (p, Limit::Practical { pps }),
            (_, _, Some(p), Some(pps)) => (p, Limit::LineRate { pps }),
            _ => (0.0, Limit::Unknown),
        };
        out.push(found(
            Rule::DLoad,
            sev,
            Subject::Interface(n.name.clone()),
            Evidence::Load {
                rate: Rate { value: n.pps(), unit: "pps" },
                interval_secs: load.interval_secs,
                percent,
                limit,
                warn_percent: policy.warn_percent,
                crit_percent: policy.crit_percent,
            },
            format!("{} is at {percent:.0}% of its packet limit: the director is near saturation", n.name),
            Fix::advice(format!(
                "spread the load (RSS queues and IRQ affinity over all CPUs, more directors), or if {0} really handles more, raise [nic.limits] \"{0}\" in lvstop.toml",
                n.name
            )),
        ));
    }
    out
}

/// D-NIC-DROPS: an interface, or a CPU's input backlog, dropping received packets.
pub(super) fn nic_drops(cx: &Ctx<'_>) -> Vec<Finding> {
    let Some((load, _)) = cx.load else { return Vec::new() };
    let drops = |value| Rate { value, unit: "drops/s" };
    let mut out = Vec::new();
    // At least one a second: a stray rx_dropped (unknown protocols, for one) is no alarm.
    for n in load.nics.iter().filter(|n| n.up && n.rates.drops_ps >= 1.0 && !n.rates.reset) {
        out.push(found(
            Rule::DNicDrops,
            Severity::Warning,
            Subject::Interface(n.name.clone()),
            Evidence::Drops {
                rate: drops(n.rates.drops_ps),
                counters: "rx_dropped + rx_missed_errors + rx_fifo_errors",
            },
            format!("{} is dropping received packets", n.name),
            Fix::run(Command::ethtool_stats(&n.name))
                .then_step("enlarge the RX ring", Command::ethtool_rx_ring(&n.name, 4096))
                .then_advice("spread IRQs over CPUs"),
        ));
    }
    if let Some(b) = load.backlog_drops_ps.filter(|b| *b >= 1.0) {
        out.push(found(
            Rule::DNicDrops,
            Severity::Warning,
            Subject::Backlog,
            Evidence::Drops { rate: drops(b), counters: "/proc/net/softnet_stat column 2" },
            "packets are dropped because a CPU's input backlog is full".into(),
            Fix::run(Command::sysctl([(Sysctl::Core("netdev_max_backlog"), 16384)]))
                .then_advice("spread RX over CPUs (RSS/RPS)"),
        ));
    }
    out
}

/// Whether /proc/net/ip_vs_conn is read for the rules on connection entries
/// (D-HANDSHAKE, D-NODEST, the templates of D-DRAIN): when there is a table,
/// and it holds at most `max` connections (`Err` says why it is not read).
/// The counters alone cannot single out a realserver that never answers:
/// since Linux 4.8 SYN_RECV entries count in ActiveConn, like ESTABLISHED ones.
pub fn conns_readable(snap: &Snapshot, max: u64) -> Result<bool, String> {
    let dests = || snap.services.iter().flat_map(|s| &s.destinations);
    let total: u64 = dests().map(|d| u64::from(d.active_conns) + u64::from(d.inact_conns)).sum();
    if total > max {
        return Err(format!(
            "D-HANDSHAKE, D-NODEST not run: {total} connections are more than the {max} lvstop reads from /proc/net/ip_vs_conn"
        ));
    }
    Ok(!snap.services.is_empty())
}

/// The fewest stuck SYN_RECV entries that name a realserver (a dead one
/// behind wlc, lc, sed or nq is given only a handful: its stuck entries count
/// as active connections and make it the busiest).
pub const HANDSHAKE_MIN: u32 = 2;

/// With peers that complete their handshakes, this many stuck entries name a
/// realserver whatever else it holds (one that died holding connections).
const HANDSHAKE_MANY: u64 = 5;

/// D-HANDSHAKE, judged on what the entries say rather than on a count: on a
/// DR director the client's ACK moves an entry out of SYN_RECV only if the
/// realserver answered its SYN, so an entry still in SYN_RECV
/// [`STUCK_SECS`](crate::sys::ipvs_proc::STUCK_SECS) after the client's last
/// SYN means it did not. A destination is named when it holds at least
/// [`HANDSHAKE_MIN`] stuck entries, they are most of its half-open ones, and
/// either they are at least half of all its entries or (at least
/// [`HANDSHAKE_MANY`] of them) their share is over four times its peers' in
/// the service. Clients that vanish after their SYN (scanners, a SYN flood)
/// leave stuck entries on every realserver alike: a share no larger than the
/// peers' names none.
pub(super) fn handshake(cx: &Ctx<'_>) -> Vec<Finding> {
    let Some(after) = cx.conns else { return Vec::new() };
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for svc in &cx.snap.services {
        let count = |d: &crate::model::Destination| after.get(&(d.spec.addr, d.spec.port)).copied().unwrap_or_default();
        for d in &svc.destinations {
            let key = (d.spec.addr, d.spec.port);
            let c = count(d);
            let (stuck, peers_stuck, peers_total) = svc
                .destinations
                .iter()
                .filter(|p| (p.spec.addr, p.spec.port) != key)
                .map(count)
                .fold((c.stuck, 0, 0), |(s, ps, pt), p| (s, ps + p.stuck, pt + p.total));
            let share = stuck as f64 / c.total.max(1) as f64;
            let peers_share = peers_stuck as f64 / peers_total.max(1) as f64;
            let named = stuck >= u64::from(HANDSHAKE_MIN)
                && 2 * stuck >= c.syn_recv
                && (share >= 0.5 || (stuck >= HANDSHAKE_MANY && peers_total > 0 && share > 4.0 * peers_share))
                && (peers_total == 0 || share > peers_share);
            if !named || !seen.insert(key) {
                continue;
            }
            let (addr, port) = key;
            let tunnel = d.spec.forward == crate::model::ForwardMethod::Tunnel;
            out.push(found(
                Rule::DHandshake,
                Severity::Error,
                Subject::Realserver { addr, port: Some(port), service: None },
                Evidence::Handshake {
                    stuck,
                    syn_recv: c.syn_recv,
                    total: c.total,
                    peers: (peers_total > 0).then_some((peers_stuck, peers_total)),
                },
                format!("realserver {addr} does not answer TCP handshakes: its clients' SYNs go unanswered"),
                Fix::step("check it", Command::check_realserver(svc.spec.key.addr(), addr, port, tunnel))
                    .paren("VIP on lo, a listener on VIP:port, rp_filter, its gateway")
                    .then_step(
                        "meanwhile drain it (d in the console)",
                        Command::ipvsadm_edit(&svc.spec.key, &d.spec.clone().weight(0)),
                    ),
            ));
        }
    }
    out
}

/// D-NODEST: connection entries (or persistence templates) that point at a
/// realserver no service has any more: it was removed with connections left.
/// With expire_nodest_conn=0 their packets are dropped until the entries
/// expire (an ESTABLISHED one after 15 minutes); with 1 they are expired (on
/// their next packet, or at once since Linux 5.9) and the client starts over.
pub(super) fn no_dest(cx: &Ctx<'_>) -> Vec<Finding> {
    let Some(conns) = cx.conns else { return Vec::new() };
    let known: BTreeSet<(IpAddr, u16)> = cx.dests().map(|(_, d)| (d.spec.addr, d.spec.port)).collect();
    let nodest = cx.facts.and_then(|f| f.vs.get("expire_nodest_conn").cloned());
    let mut out = Vec::new();
    for (&(addr, port), c) in conns {
        if known.contains(&(addr, port)) || c.total + c.templates == 0 {
            continue;
        }
        let last = c.last_conn_secs.max(c.last_template_secs);
        let dropped = nodest.as_deref() == Some("0");
        // The entries name the address and port the clients asked for, not the
        // service (a firewall-mark service covers several).
        let from = match (c.vip, c.other_vips) {
            (Some(vip), false) => format!("removed with connections left; they are to {vip}"),
            (Some(vip), true) => format!("removed with connections left; they are to {vip} and other addresses"),
            (None, _) => "removed with connections left".to_string(),
        };
        let mut message = format!(
            "{} connections still point at {}, which is in no service ({from})",
            c.total,
            crate::model::fmt_addr_port(&addr, port)
        );
        message.push_str(if dropped {
            ": their packets are dropped until the entries expire"
        } else {
            ": they are expired as their packets come"
        });
        let fix = Fix::run(Command::sysctl([(Sysctl::Vs("expire_nodest_conn"), 1)])).then_advice(
            "next time drain first (weight 0) and remove it once lvstop's connections view says safe to remove",
        );
        out.push(found(
            Rule::DNoDest,
            if dropped { Severity::Warning } else { Severity::Info },
            Subject::Realserver { addr, port: Some(port), service: None },
            Evidence::Orphans {
                entries: c.total,
                templates: c.templates,
                last_secs: last,
                expire_nodest_conn: nodest.clone(),
            },
            message,
            fix,
        ));
    }
    out
}

/// D-DR-PATH: a SYN to VIP:PORT from the director's address, framed to a
/// realserver's MAC as IPVS forwards a client's packet, got no SYN-ACK:
/// silence (the VIP is not on the realserver, or a firewall drops it), a RST
/// (nothing listens on VIP:PORT), or an ICMP error (a firewall rejects it).
pub(super) fn dr_path(cx: &Ctx<'_>) -> Vec<Finding> {
    use crate::sys::synprobe::PathAnswer;
    let mut out = Vec::new();
    for p in cx.paths {
        let (rip, vip) = (p.rip, p.vip);
        let to = crate::model::fmt_addr_port(&vip, p.port);
        let (answer, icmp, message, fix) = match p.answer {
            PathAnswer::Accepted => continue,
            PathAnswer::Silent => {
                let host = if vip.is_ipv4() { 32 } else { 128 };
                let add = Command::ip_addr(
                    crate::checks::fix::AddrOp::Add,
                    vip,
                    host,
                    crate::checks::fix::Dev::Named("lo".into()),
                );
                (
                    "nothing",
                    None,
                    format!(
                        "realserver {rip} answered neither of two SYNs for {to} sent to it as IPVS forwards one: \
                         the VIP is not on it (on lo), or a firewall drops it"
                    ),
                    Fix::on(rip, add).then_advice("or let its firewall accept the VIP's port"),
                )
            }
            PathAnswer::Reset => (
                "rst",
                None,
                format!(
                    "realserver {rip} refuses {to} (RST): it holds the VIP, but nothing listens on that port there"
                ),
                Fix::advice(
                    "start the service on the realserver listening on the VIP (or 0.0.0.0) and the service's port",
                ),
            ),
            PathAnswer::Unreachable { from, code } => (
                "icmp-unreachable",
                Some((from, code)),
                format!(
                    "a firewall rejects {to} on realserver {rip} (destination unreachable, code {code}, from {from})"
                ),
                Fix::advice("let the realserver's firewall accept the VIP's port (iptables -S, nft list ruleset)"),
            ),
        };
        out.push(found(
            Rule::DDrPath,
            Severity::Error,
            Subject::Realserver { addr: rip, port: Some(p.port), service: None },
            Evidence::PathProbe { vip: p.vip, port: p.port, answer, icmp },
            message,
            fix,
        ));
    }
    out
}
