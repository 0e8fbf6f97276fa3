//! Which realservers to read, and reading them over ssh.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use super::parse::in_prefix;
use super::{check, parse, script, Ctx, Serve, END};
use crate::checks::fix::{Command, Fix};
use crate::checks::{Evidence, Finding, Host, More, Rule, Severity, Subject, CLIENT_PROBE_V4};
use crate::model::{ForwardMethod, Protocol, ServiceKey, Snapshot};
use crate::remote::ReadError;

/// A realserver to read, with the services it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Its address.
    pub rip: IpAddr,
    /// Each DR/TUN service it is in.
    pub serves: Vec<Serve>,
}

/// The DR and tunnel realservers of a snapshot, by address. A realserver
/// listed in a service more than once (on several ports) serves it once, with
/// the director's ActiveConn of all its entries.
pub fn targets(snap: &Snapshot) -> Vec<Target> {
    let mut by: BTreeMap<IpAddr, Vec<Serve>> = BTreeMap::new();
    for s in &snap.services {
        let ServiceKey::Addr { protocol, addr: IpAddr::V4(vip), port } = s.spec.key else { continue };
        for d in s.destinations.iter().filter(|d| d.spec.forward.is_one_way()) {
            let serve = Serve {
                vip,
                port,
                tunnel: d.spec.forward == ForwardMethod::Tunnel,
                active_conns: (protocol == Protocol::Tcp).then_some(d.active_conns),
                protocol,
            };
            let serves = by.entry(d.spec.addr).or_default();
            // One serve per service: a RIP listed twice in it (two ports, or DR and tunnel) is
            // judged once, against its connections in all. A service's realservers come
            // together, so its serve, if any, is the RIP's last (a search through all of them
            // was quadratic: 5 × 10 000² / 2 comparisons a check run at 10 000 services).
            let same = |s: &&mut Serve| (s.vip, s.port, s.protocol) == (vip, port, protocol);
            match serves.last_mut().filter(same) {
                Some(s) => {
                    s.active_conns = s.active_conns.zip(serve.active_conns).map(|(a, b)| a.saturating_add(b));
                    s.tunnel |= serve.tunnel;
                }
                None => serves.push(serve),
            }
        }
    }
    by.into_iter().map(|(rip, serves)| Target { rip, serves }).collect()
}

/// The director's address on `rip`'s segment: the director address whose
/// prefix contains the RIP, else the first director IPv4 address; never a
/// VIP or a loopback address.
pub fn dip_for(rip: IpAddr, director: &[(IpAddr, u8)], vips: &[Ipv4Addr]) -> Option<Ipv4Addr> {
    let own = || {
        director.iter().filter_map(|(a, p)| match a {
            IpAddr::V4(a) if !a.is_loopback() && !vips.contains(a) => Some((*a, *p)),
            _ => None,
        })
    };
    let on_segment = match rip {
        IpAddr::V4(rip) => own().find(|(a, p)| in_prefix(*a, *p, rip)),
        IpAddr::V6(_) => None,
    };
    on_segment.or_else(|| own().next()).map(|(a, _)| a)
}

/// A realserver that was not read: R-UNREACHABLE (ssh failed) or
/// R-BAD-ANSWER (it answered, but not with the script's output).
fn unread(rule: Rule, rip: IpAddr, dest: &str, message: String, error: String, fix: Fix) -> Finding {
    let (host, subject) = (Host::Realserver(rip), Subject::Ssh(dest.to_string()));
    Finding { rule, severity: Severity::Warning, host, subject, message, evidence: Evidence::Error { error }, fix }
}

/// R-UNREACHABLE: `rip`, read as ssh destination `dest`, could not be read.
pub(super) fn unreachable(rip: IpAddr, dest: &str, error: String) -> Finding {
    let fix = Fix::step("check access without a prompt", Command::ssh_batch(dest))
        .paren("keys, known_hosts, [ssh] in lvstop.toml");
    unread(Rule::RUnreachable, rip, dest, format!("cannot read realserver {rip}: {error}"), error, fix)
}

/// R-BAD-ANSWER: `rip` answered over ssh, but not with the script's output.
pub(super) fn bad_answer(rip: IpAddr, dest: &str, error: String) -> Finding {
    let message = format!("realserver {rip} answered, but not as lvstop's check script does: {error}");
    let fix = Fix::advice(
        "run the script's commands over ssh by hand and read what comes back (lvstop check --explain R-BAD-ANSWER)",
    );
    unread(Rule::RBadAnswer, rip, dest, message, error, fix)
}

/// Read every target over ssh (a bounded number at once) and judge it. A host
/// that cannot be read is reported (R-UNREACHABLE), never waited on forever.
/// `director` holds the director's addresses with their prefix lengths.
/// Each host's findings past [`crate::checks::KEPT_PER_RULE`] of a rule come
/// back as [`More`].
pub async fn run_all(
    targets: Vec<Target>,
    director: Vec<(IpAddr, u8)>,
    cfg: crate::remote::SshConfig,
) -> (Vec<Finding>, Vec<More>) {
    let sem = Arc::new(tokio::sync::Semaphore::new(cfg.parallel.max(1)));
    let cfg = Arc::new(cfg);
    let director = Arc::new(director);
    let mut tasks = Vec::new();
    for t in targets {
        let (dest, user, port) = match cfg.hosts.get(&t.rip) {
            Some(None) => continue,
            Some(Some(h)) => (h.host.clone().unwrap_or_else(|| t.rip.to_string()), h.user.clone(), h.port),
            None => (t.rip.to_string(), None, None),
        };
        let vips: Vec<Ipv4Addr> = t.serves.iter().map(|s| s.vip).collect();
        let dip = dip_for(t.rip, &director, &vips);
        let (sem, cfg, director) = (sem.clone(), cfg.clone(), director.clone());
        tasks.push(tokio::spawn(async move {
            let Ok(_permit) = sem.acquire().await else { return (Vec::new(), Vec::new()) };
            let script = script(dip, CLIENT_PROBE_V4);
            match crate::remote::run(&dest, user.as_deref(), port, &script, END, &cfg).await.map(|text| parse(&text)) {
                Err(ReadError::Unreachable(e)) => (vec![unreachable(t.rip, &dest, e)], Vec::new()),
                Err(e @ ReadError::TooMuch(_)) => (vec![bad_answer(t.rip, &dest, e.to_string())], Vec::new()),
                Ok(Err(e)) => (vec![bad_answer(t.rip, &dest, e)], Vec::new()),
                Ok(Ok(facts)) => {
                    let host = Host::Realserver(t.rip);
                    check(&Ctx { host, facts: &facts, serves: &t.serves, dip, director: &director })
                }
            }
        }));
    }
    let (mut out, mut more) = (Vec::new(), Vec::new());
    for t in tasks {
        let (found, past) = t.await.unwrap_or_default();
        out.extend(found);
        more.extend(past);
    }
    (out, more)
}
