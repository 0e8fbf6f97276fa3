//! The pair rules (P-*): two directors read together, each through lvstop
//! (its agent over ssh, or this host): their tables, the VIPs they hold, and
//! their connection sync.

use std::net::IpAddr;

use super::{Evidence, Finding, Fix, Host, Rule, Severity, Subject};
use crate::checks::fix::Command;
use crate::model::{Snapshot, SyncState};
use crate::remote::director::HeldAddr;

/// One director as the pair rules see it.
pub struct Director<'a> {
    /// Its name (`local`, a name from `[directors]`).
    pub name: &'a str,
    /// Its table.
    pub table: &'a Snapshot,
    /// The addresses it holds (None: not known, as for a dump file).
    pub addresses: Option<&'a [HeldAddr]>,
}

/// The connections a director holds: ActiveConn + InActConn over every realserver.
pub fn conns(s: &Snapshot) -> u64 {
    s.services.iter().map(|s| s.active_conns() + s.inact_conns()).sum()
}

/// A director's daemons, as the evidence words them.
pub fn daemons(s: &Snapshot) -> String {
    if s.daemons.is_empty() {
        return "no sync daemon".into();
    }
    let each = s.daemons.iter().map(|d| {
        let state = match d.state {
            SyncState::Master => "master".to_string(),
            SyncState::Backup => "backup".to_string(),
            SyncState::Unknown(v) => format!("state {v}"),
        };
        format!("{state} on {} syncid {}", crate::text::sanitize(&d.mcast_ifn), d.sync_id)
    });
    each.collect::<Vec<_>>().join(", ")
}

fn finding(rule: Rule, severity: Severity, subject: Subject, evidence: Evidence, message: String, fix: Fix) -> Finding {
    Finding { rule, severity, host: Host::Pair, subject, evidence, message, fix }
}

/// The findings of every pair rule on directors `a` and `b`.
pub fn judge(a: &Director<'_>, b: &Director<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    drift(a, b, &mut out);
    vips(&[a, b], &mut out);
    sync(a, b, &mut out);
    sync(b, a, &mut out);
    out
}

fn drift(a: &Director<'_>, b: &Director<'_>, out: &mut Vec<Finding>) {
    let found = crate::model::diff::diff(a.table, b.table);
    if found.is_empty() {
        return;
    }
    let count = |what: &str| found.iter().filter(|d| d.what == what).count();
    let evidence = Evidence::Drift {
        a: a.name.to_string(),
        b: b.name.to_string(),
        only_a: count("only-in-a"),
        only_b: count("only-in-b"),
        differ: count("differs"),
    };
    out.push(finding(
        Rule::PDrift,
        Severity::Error,
        Subject::Table,
        evidence,
        format!("the tables of {} and {} differ: a failover changes what clients get", a.name, b.name),
        Fix::run(Command::lvstop_diff(a.name, b.name))
            .then_advice("lists each difference with the ipvsadm command that makes the second like the first"),
    ));
}

fn vips(directors: &[&Director<'_>], out: &mut Vec<Finding>) {
    if directors.iter().any(|d| d.addresses.is_none()) {
        return;
    }
    let mut vips: Vec<IpAddr> = directors.iter().flat_map(|d| d.table.vips()).collect();
    vips.sort();
    vips.dedup();
    let names: Vec<String> = directors.iter().map(|d| d.name.to_string()).collect();
    for vip in vips {
        let holders: Vec<String> = directors
            .iter()
            .filter_map(|d| {
                let on: Vec<&str> = d.addresses?.iter().filter(|h| h.addr == vip).map(|h| h.ifname.as_str()).collect();
                (!on.is_empty()).then(|| format!("{} ({})", d.name, crate::text::sanitize(&on.join(", "))))
            })
            .collect();
        let evidence = Evidence::Holders { holders: holders.clone(), directors: names.clone() };
        match holders.len() {
            0 => out.push(finding(
                Rule::PVipNone,
                Severity::Error,
                Subject::Vip(vip),
                evidence,
                format!("no director holds VIP {vip}: its services are down"),
                Fix::advice("check VRRP on both directors (journalctl -u keepalived): both BACKUP or FAULT, or keepalived stopped on the master"),
            )),
            1 => {}
            _ => out.push(finding(
                Rule::PVipSplit,
                Severity::Error,
                Subject::Vip(vip),
                evidence,
                format!("VIP {vip} is held by more than one director (VRRP split brain): clients reach either at random"),
                Fix::advice("let the directors hear each other's VRRP (protocol 112), then keep the VIP on the master only"),
            )),
        }
    }
}

/// The rules on `master`'s master daemons and `backup`'s backup daemons.
fn sync(master: &Director<'_>, backup: &Director<'_>, out: &mut Vec<Finding>) {
    let masters: Vec<_> = master.table.daemons.iter().filter(|d| d.state == SyncState::Master).collect();
    let backups: Vec<_> = backup.table.daemons.iter().filter(|d| d.state == SyncState::Backup).collect();
    let evidence = || Evidence::Sync {
        a: master.name.to_string(),
        a_daemons: daemons(master.table),
        a_conns: conns(master.table),
        b: backup.name.to_string(),
        b_daemons: daemons(backup.table),
        b_conns: conns(backup.table),
    };
    // Sync on one side only: the fix starts the missing daemon (`state`) on `on`.
    let one_sided = |what: String, on: &str, state: &'static str, d: &crate::model::SyncDaemon| {
        let message = format!("{what}: a failover to {} resets every connection", backup.name);
        let fix = Fix::on(on, Command::ipvsadm_start_daemon(state, &d.mcast_ifn, d.sync_id));
        finding(Rule::PSyncOneSided, Severity::Warning, Subject::Sync, evidence(), message, fix)
    };
    let Some(m) = masters.first() else {
        // A backup daemon with no master daemon on the other director: fed by nothing.
        if let Some(b) = backups.first() {
            let what =
                format!("{} runs a backup sync daemon but {} sends no connection state", backup.name, master.name);
            out.push(one_sided(what, master.name, "master", b));
        }
        return;
    };
    if backups.is_empty() {
        let what = format!("{} sends its connections' state but {} runs no backup daemon", master.name, backup.name);
        out.push(one_sided(what, backup.name, "backup", m));
        return;
    }
    if let Some(b) = backups.iter().find(|b| b.sync_id != 0 && masters.iter().all(|m| m.sync_id != b.sync_id)) {
        out.push(finding(
            Rule::PSyncId,
            Severity::Error,
            Subject::Sync,
            evidence(),
            format!(
                "{}'s backup daemon takes syncid {} only, {} sends syncid {}: every sync message is dropped",
                backup.name, b.sync_id, master.name, m.sync_id
            ),
            Fix::on(backup.name, Command::ipvsadm_start_daemon("backup", &b.mcast_ifn, m.sync_id))
                .aside("after ipvsadm --stop-daemon backup"),
        ));
        return;
    }
    let (cm, cb) = (conns(master.table), conns(backup.table));
    if cm >= 100 && cb * 10 < cm {
        out.push(finding(
            Rule::PSyncEmpty,
            Severity::Warning,
            Subject::Sync,
            evidence(),
            format!(
                "{} holds {cm} connections but {}, its sync backup, only {cb}: the sync messages do not arrive",
                master.name, backup.name
            ),
            Fix::advice("watch them on the backup (tcpdump -ni IFACE udp port 8848) and let them through"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        Counters, DestSpec, Destination, ForwardMethod, Rates, Service, ServiceKey, ServiceSpec, SyncDaemon,
    };

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn table(weight: u32, active: u32, daemons: &[(SyncState, u32)]) -> Snapshot {
        let dest = Destination {
            spec: DestSpec { weight, ..DestSpec::new(ip("198.51.100.11"), 80, ForwardMethod::Route) },
            active_conns: active,
            inact_conns: 0,
            persist_conns: 0,
            stats: Counters::default(),
            rates: Rates::default(),
        };
        Snapshot {
            services: vec![Service {
                spec: ServiceSpec::new(ServiceKey::tcp(ip("203.0.113.10"), 80), "wlc"),
                stats: Counters::default(),
                rates: Rates::default(),
                destinations: vec![dest].into(),
            }],
            daemons: daemons
                .iter()
                .map(|&(state, sync_id)| SyncDaemon {
                    state,
                    mcast_ifn: "eth1".into(),
                    sync_id,
                    sync_maxlen: None,
                    mcast_group: None,
                    mcast_port: None,
                    mcast_ttl: None,
                })
                .collect(),
            ..Snapshot::empty()
        }
    }

    fn held(on: bool) -> Vec<HeldAddr> {
        let mut v = vec![HeldAddr { ifname: "eth0".into(), addr: ip("198.51.100.2") }];
        if on {
            v.push(HeldAddr { ifname: "eth0".into(), addr: ip("203.0.113.10") });
        }
        v
    }

    /// The rules found on lb1 (`a`) and lb2 (`b`), with their evidence.
    fn rules(a: &Snapshot, a_vip: bool, b: &Snapshot, b_vip: bool) -> Vec<(Rule, String)> {
        let (ha, hb) = (held(a_vip), held(b_vip));
        let da = Director { name: "lb1", table: a, addresses: Some(&ha) };
        let db = Director { name: "lb2", table: b, addresses: Some(&hb) };
        judge(&da, &db).into_iter().map(|f| (f.rule, format!("{}: {} | {}", f.subject, f.evidence, f.fix))).collect()
    }

    #[test]
    fn a_healthy_pair_has_no_finding() {
        let (m, b) = (table(1, 500, &[(SyncState::Master, 7)]), table(1, 480, &[(SyncState::Backup, 7)]));
        assert_eq!(rules(&m, true, &b, false), vec![]);
        // A backup that takes every sync id (0) hears any master.
        assert_eq!(rules(&m, true, &table(1, 480, &[(SyncState::Backup, 0)]), false), vec![]);
    }

    #[test]
    fn each_pair_rule_names_what_it_read() {
        let m = table(1, 500, &[(SyncState::Master, 7)]);
        let drift = rules(&m, true, &table(0, 480, &[(SyncState::Backup, 7)]), false);
        assert_eq!(drift.len(), 1, "{drift:?}");
        assert_eq!(drift[0].0, Rule::PDrift);
        assert!(
            drift[0].1.contains("0 services or realservers only on lb1, 0 only on lb2, 1 with other settings"),
            "{drift:?}"
        );
        assert!(drift[0].1.contains("lvstop diff lb1 lb2"), "{drift:?}");

        let both = rules(&m, true, &table(1, 480, &[(SyncState::Backup, 7)]), true);
        assert_eq!(both.iter().map(|r| r.0).collect::<Vec<_>>(), vec![Rule::PVipSplit]);
        assert!(both[0].1.contains("VIP 203.0.113.10: on lb1 (eth0), lb2 (eth0)"), "{both:?}");
        let none = rules(&m, false, &table(1, 480, &[(SyncState::Backup, 7)]), false);
        assert_eq!(none.iter().map(|r| r.0).collect::<Vec<_>>(), vec![Rule::PVipNone]);
        assert!(none[0].1.contains("on none of lb1, lb2"), "{none:?}");

        let one_sided = rules(&m, true, &table(1, 0, &[]), false);
        assert_eq!(one_sided.iter().map(|r| r.0).collect::<Vec<_>>(), vec![Rule::PSyncOneSided]);
        assert!(
            one_sided[0].1.contains("on lb2: ipvsadm --start-daemon backup --mcast-interface eth1 --syncid 7"),
            "{one_sided:?}"
        );
        let fed_by_nothing = rules(&table(1, 0, &[]), true, &table(1, 0, &[(SyncState::Backup, 3)]), false);
        assert_eq!(fed_by_nothing.iter().map(|r| r.0).collect::<Vec<_>>(), vec![Rule::PSyncOneSided]);
        assert!(fed_by_nothing[0].1.contains("on lb1: ipvsadm --start-daemon master"), "{fed_by_nothing:?}");

        let other_id = rules(&m, true, &table(1, 480, &[(SyncState::Backup, 8)]), false);
        assert_eq!(other_id.iter().map(|r| r.0).collect::<Vec<_>>(), vec![Rule::PSyncId]);
        assert!(other_id[0].1.contains("--syncid 7"), "{other_id:?}");

        let empty = rules(&m, true, &table(1, 12, &[(SyncState::Backup, 7)]), false);
        assert_eq!(empty.iter().map(|r| r.0).collect::<Vec<_>>(), vec![Rule::PSyncEmpty]);
        assert!(
            empty[0].1.contains("lb1: master on eth1 syncid 7, 500 connections; lb2: backup on eth1 syncid 7, 12"),
            "{empty:?}"
        );
        // Few connections on the master: nothing to judge by.
        assert_eq!(
            rules(&table(1, 50, &[(SyncState::Master, 7)]), true, &table(1, 0, &[(SyncState::Backup, 7)]), false),
            vec![]
        );
    }

    #[test]
    fn without_addresses_the_vip_rules_are_not_judged() {
        let (a, b) = (table(1, 0, &[]), table(1, 0, &[]));
        let da = Director { name: "lb1", table: &a, addresses: None };
        let db = Director { name: "lb2", table: &b, addresses: Some(&[]) };
        assert!(judge(&da, &db).is_empty());
    }
}
