//! A run of the checks: the I/O. Gather the director's facts, probe its VIPs
//! for ARP, measure its load and connection entries, and judge them all with
//! the director rules; then read each realserver over ssh and judge it.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::director::{self, Ctx, VipProbe};
use super::facts::{self, DirectorFacts};
use super::{realserver, CheckOptions, CheckReport, CLIENT_PROBE};

/// The most /proc/net/ip_vs_conn lines read for the rules on connection entries.
const CONN_LINES_MAX: u64 = 500_000;

/// Run every check: the director's, then (with `ssh`) the realservers' of
/// `snap` plus the extra targets, read over ssh.
/// The snapshot is shared, not copied: the console hands its table over and
/// takes it back when the run is done (every clone is dropped by then).
pub async fn run(snap: impl Into<std::sync::Arc<crate::model::Snapshot>>, opts: CheckOptions) -> CheckReport {
    let snap: std::sync::Arc<crate::model::Snapshot> = snap.into();
    let mut targets = realserver::targets(&snap);
    targets.extend(opts.extra_targets.iter().cloned());
    let mut rips = snap.rips();
    rips.extend(targets.iter().map(|t| t.rip));
    rips.sort();
    rips.dedup();
    // The DR path probe's targets: each DR realserver of each TCP service of
    // the table (either family), and the --realserver ones (IPv4 services).
    let mut paths: Vec<(IpAddr, IpAddr, u16)> = snap
        .services
        .iter()
        .filter_map(|s| match s.spec.key {
            crate::model::ServiceKey::Addr { protocol: crate::model::Protocol::Tcp, addr, port } if port != 0 => {
                Some((s, addr, port))
            }
            _ => None,
        })
        .flat_map(|(s, vip, port)| {
            s.destinations
                .iter()
                .filter(move |d| {
                    d.spec.forward == crate::model::ForwardMethod::Route && d.spec.addr.is_ipv4() == vip.is_ipv4()
                })
                .map(move |d| (d.spec.addr, vip, port))
        })
        .collect();
    for t in &opts.extra_targets {
        for s in t.serves.iter().filter(|s| !s.tunnel && s.protocol == crate::model::Protocol::Tcp && s.port != 0) {
            if t.rip.is_ipv4() {
                paths.push((t.rip, IpAddr::V4(s.vip), s.port));
            }
        }
    }
    paths.sort_unstable();
    paths.dedup();
    let ssh = opts.ssh.clone();
    let (mut report, director) = tokio::task::spawn_blocking({
        let snap = std::sync::Arc::clone(&snap);
        move || run_director(&snap, &opts, &rips, &paths)
    })
    .await
    .unwrap_or_else(|e| {
        (CheckReport { skipped: vec![format!("director checks: {e}")], ..CheckReport::default() }, Vec::new())
    });
    if let Some(cfg) = ssh {
        report.add_gathered(realserver::run_all(targets, director, cfg).await);
    } else {
        report.skipped.push("realserver checks over ssh: skipped (--no-ssh)".into());
        report.skipped_on_request += 1;
    }
    report.sort();
    report
}

/// The director checks against the local kernel and `snap`, including the
/// active ARP probe for every IPv4 VIP the director holds (plus the extra
/// VIPs), and the rules that compare two readings taken at least a second
/// apart (D-LOAD, D-NIC-DROPS, D-HANDSHAKE). Also returns the director's own
/// addresses with their prefix lengths, read once for all the rules.
fn run_director(
    snap: &crate::model::Snapshot,
    opts: &CheckOptions,
    rips: &[IpAddr],
    paths: &[(IpAddr, IpAddr, u16)],
) -> (CheckReport, Vec<(IpAddr, u8)>) {
    let window = crate::sys::load::LoadWindow::open();
    let readable = director::conns_readable(snap, CONN_LINES_MAX);
    let mut report = CheckReport::default();
    let mut vips = snap.vips();
    vips.extend_from_slice(&opts.extra_vips);
    vips.sort();
    vips.dedup();
    let facts = match facts::gather(rips, CLIENT_PROBE) {
        Ok(f) => Some(f),
        Err(e) => {
            report.skipped.push(format!("director checks: {e}"));
            None
        }
    };
    let probes = match &facts {
        Some(f) => probe_vips(f, &vips, rips, opts.listen_secs, &mut report.skipped),
        None => Vec::new(),
    };
    let paths = match &facts {
        Some(f) => probe_paths(f, &probes, paths, &vips, &mut report.skipped),
        None => Vec::new(),
    };
    // Rates need two readings: the second at least a second after the first.
    let load = window.close(&opts.nic, &vips, rips);
    // The connection entries, read once the load window has closed (their
    // age is what D-HANDSHAKE judges, not their change).
    let conns = match readable {
        Ok(false) => None,
        Ok(true) => match crate::sys::ipvs_proc::read_conns(CONN_LINES_MAX as usize) {
            Ok(c) => Some(c),
            Err(e) => {
                report.skipped.push(format!("D-HANDSHAKE, D-NODEST: {e}"));
                None
            }
        },
        Err(e) => {
            report.skipped.push(e);
            None
        }
    };
    let cx = Ctx {
        arp: &probes,
        load: Some((&load, &opts.nic)),
        conns: conns.as_ref(),
        paths: &paths,
        ..Ctx::new(snap, facts.as_ref(), CLIENT_PROBE)
    };
    report.add_gathered(director::check(&cx));
    let addrs = facts.map(|f| f.addrs.iter().map(|a| (a.addr, a.prefix)).collect()).unwrap_or_default();
    (report, addrs)
}

/// The DR path probe (D-DR-PATH) of each `(rip, vip, port)`: a SYN from the
/// director's address on the realserver's segment, framed to the
/// realserver's MAC (from the ARP probe's questions, else the neighbour
/// table), on the interface the route to it takes; each interface's
/// realservers in one packet socket, the interfaces at once. What cannot be
/// probed (no MAC, no CAP_NET_RAW) is added to `skipped`; an off-link
/// realserver is D-RS-OFFLINK's finding.
fn probe_paths(
    facts: &DirectorFacts,
    arp: &[VipProbe],
    paths: &[(IpAddr, IpAddr, u16)],
    vips: &[IpAddr],
    skipped: &mut Vec<String>,
) -> Vec<director::PathProbe> {
    use crate::sys::synprobe::{PathTarget, MAX_TARGETS};
    // The interface each realserver is on, and the director's address there of its family.
    let on_segment = |rip: IpAddr| -> Option<(u32, IpAddr)> {
        let route = facts.routes.get(&rip).and_then(|r| r.as_ref().ok())?;
        let ifindex = route.oif.filter(|_| route.gateway.is_none())?;
        let dip = facts.addrs.iter().find(|a| {
            a.ifindex == ifindex
                && a.addr.is_ipv4() == rip.is_ipv4()
                && !vips.contains(&a.addr)
                && !a.addr.is_loopback()
                && !director::is_link_local(&a.addr)
        })?;
        Some((ifindex, dip.addr))
    };
    // MACs: the ARP probe's answers, the neighbour table, else (IPv6) a neighbour solicitation.
    let mut macs: BTreeMap<IpAddr, crate::sys::arp::Mac> = facts
        .neigh_macs
        .iter()
        .filter(|(ip, _)| paths.iter().any(|(r, _, _)| r == ip))
        .map(|(ip, m)| (*ip, *m))
        .collect();
    for p in arp {
        for (mac, ips) in &p.heard.who {
            macs.extend(ips.iter().map(|ip| (IpAddr::V4(*ip), *mac)));
        }
    }
    let mut ask: BTreeMap<(u32, IpAddr), Vec<std::net::Ipv6Addr>> = BTreeMap::new();
    for &(rip, _, _) in paths {
        if let (IpAddr::V6(r6), Some(seg), false) = (rip, on_segment(rip), macs.contains_key(&rip)) {
            let asked = ask.entry(seg).or_default();
            if !asked.contains(&r6) {
                asked.push(r6);
            }
        }
    }
    for ((ifindex, dip), rips) in ask {
        let IpAddr::V6(dip6) = dip else { continue };
        match crate::sys::synprobe::solicit(&facts.name(ifindex), dip6, &rips, Duration::from_millis(700)) {
            Ok(found) => macs.extend(found.into_iter().map(|(ip, m)| (IpAddr::V6(ip), m))),
            Err(e) => skipped.push(format!("D-DR-PATH on {}: {e}", facts.name(ifindex))),
        }
    }
    let mut by_iface: BTreeMap<(u32, IpAddr), Vec<PathTarget>> = BTreeMap::new();
    let mut unprobed = BTreeMap::new();
    for &(rip, vip, port) in paths {
        // Off the director's segments DR cannot reach it at all: D-RS-OFFLINK says so.
        let Some(seg) = on_segment(rip) else { continue };
        let Some(mac) = macs.get(&rip).copied() else {
            unprobed.insert(rip, "its MAC is unknown (it answered neither ARP nor neighbour solicitation)");
            continue;
        };
        by_iface.entry(seg).or_default().push(PathTarget { rip, mac, vip, port });
    }
    for (rip, why) in unprobed {
        skipped.push(format!("D-DR-PATH for {rip}: {why}"));
    }
    let results: Vec<_> = std::thread::scope(|scope| {
        let running: Vec<_> = by_iface
            .into_iter()
            .map(|((ifindex, dip), mut targets)| {
                if targets.len() > MAX_TARGETS {
                    skipped.push(format!(
                        "D-DR-PATH: {} realservers past the first {MAX_TARGETS} not probed",
                        targets.len() - MAX_TARGETS
                    ));
                    targets.truncate(MAX_TARGETS);
                }
                let name = facts.name(ifindex);
                let handle = scope.spawn({
                    let (name, targets) = (name.clone(), targets.clone());
                    move || crate::sys::synprobe::probe(&name, dip, &targets, Duration::from_secs(1))
                });
                (ifindex, name, targets, handle)
            })
            .collect();
        running
            .into_iter()
            .map(|(ifindex, name, targets, h)| {
                (ifindex, name, targets, h.join().unwrap_or_else(|_| Err("the probe thread failed".into())))
            })
            .collect()
    });
    let mut out = Vec::new();
    for (ifindex, name, targets, result) in results {
        match result {
            Ok(answers) => out.extend(targets.iter().zip(answers).map(|(t, answer)| director::PathProbe {
                rip: t.rip,
                vip: t.vip,
                port: t.port,
                ifindex,
                answer,
            })),
            Err(e) => skipped.push(format!("D-DR-PATH on {name}: {e}")),
        }
    }
    out
}

/// A VIP to probe and the sender address to ask with.
type Probe = (Ipv4Addr, Ipv4Addr);

/// What an interface's probe heard, by VIP, or why it could not run.
type ProbeOutcome = Result<BTreeMap<Ipv4Addr, crate::sys::arp::ProbeResult>, String>;

/// Probe each IPv4 VIP on the interfaces that hold it, all in one listening
/// window (every interface at once, each interface's VIPs in one socket), of
/// at least `listen_secs` in all, for ARP frames that carry a VIP as their
/// sender. Probes that cannot run are added to `skipped`.
fn probe_vips(
    facts: &DirectorFacts,
    vips: &[IpAddr],
    rips: &[IpAddr],
    listen_secs: u32,
    skipped: &mut Vec<String>,
) -> Vec<VipProbe> {
    let v4 = |a: &IpAddr| match a {
        IpAddr::V4(x) => Some(*x),
        IpAddr::V6(_) => None,
    };
    // Each interface's VIPs, each with its sender: another IPv4 address of
    // that interface (the DIP), else 0.0.0.0; never a VIP.
    let mut by_iface: BTreeMap<u32, Vec<Probe>> = BTreeMap::new();
    for vip in vips.iter().filter_map(v4) {
        for a in facts.addrs.iter().filter(|a| a.addr == IpAddr::V4(vip)) {
            if facts.ifaces.get(&a.ifindex).is_none_or(super::facts::Iface::is_noarp) {
                continue;
            }
            let mut own = facts.addrs.iter().filter(|b| b.ifindex == a.ifindex && !vips.contains(&b.addr));
            let sender = own.find_map(|b| v4(&b.addr)).unwrap_or(Ipv4Addr::UNSPECIFIED);
            let probes = by_iface.entry(a.ifindex).or_default();
            if !probes.iter().any(|(v, _)| *v == vip) {
                probes.push((vip, sender));
            }
        }
    }
    // One listening window for every VIP: the interfaces at once, each
    // interface's VIPs in one socket; `listen_secs` is the whole time.
    let listen = Duration::from_secs(u64::from(listen_secs));
    let results: Vec<(String, Vec<Probe>, ProbeOutcome)> = std::thread::scope(|scope| {
        let running: Vec<_> = by_iface
            .into_iter()
            .map(|(ifindex, probes)| {
                let name = facts.name(ifindex);
                // The realservers on this interface's segment, asked for in the same window to name MACs.
                let on_link = |r: &Ipv4Addr| {
                    let route = facts.routes.get(&IpAddr::V4(*r));
                    route.is_some_and(|rt| rt.as_ref().is_ok_and(|rt| rt.gateway.is_none() && rt.oif == Some(ifindex)))
                };
                let others: Vec<Ipv4Addr> = rips.iter().filter_map(v4).filter(on_link).take(64).collect();
                let handle = scope.spawn({
                    let (name, probes) = (name.clone(), probes.clone());
                    move || crate::sys::arp::probe(&name, &probes, &others, 2, Duration::from_millis(700), listen)
                });
                (name, probes, handle)
            })
            .collect();
        running
            .into_iter()
            .map(|(name, probes, h)| {
                let r = h.join().unwrap_or_else(|_| Err("the probe thread failed".into()));
                (name, probes, r)
            })
            .collect()
    });
    let mut out = Vec::new();
    for (name, probes, result) in results {
        match result {
            Err(e) => {
                for (vip, _) in probes {
                    skipped.push(format!("D-ARP-FOREIGN for {vip} on {name}: {e}"));
                }
            }
            Ok(mut heard) => {
                for (vip, _) in probes {
                    if let Some(h) = heard.remove(&vip) {
                        out.push(VipProbe { vip, interface: name.clone(), heard: h });
                    }
                }
            }
        }
    }
    out
}
