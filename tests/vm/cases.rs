//! The VM test cases. Each starts from a table it loads itself.

use std::net::IpAddr;
use std::time::Duration;

use lvstop::ipvs::{IpvsError, NetlinkIpvs};
use lvstop::lab::topology::{rip, rip6, CLIENT, VIP, VIP6};
use lvstop::model::{
    DestSpec, ForwardMethod, Netmask, ServiceFlags, ServiceKey, ServiceSpec, Snapshot, Timeouts, TunnelCsum, TunnelType,
};

use super::ipvsadm::{self, Format};
use super::util::{ensure, load_rules, lvstop_bin, nl, sh, sh_in, sh_status};
use super::Case;

/// Every case, in the order they run.
pub const ALL: &[Case] = &[
    Case { name: "vm_rich_table_matches_ipvsadm", run: rich_table_matches_ipvsadm },
    Case { name: "vm_lvstop_edits_seen_by_ipvsadm_and_back", run: edits_both_ways },
    Case { name: "vm_bad_input_and_races_leave_table_unchanged", run: bad_input_and_races },
    Case { name: "vm_save_then_restore_reproduces_the_table", run: save_restore_roundtrip },
    Case { name: "vm_dr_traffic_counters_match_ipvsadm", run: dr_traffic },
    Case { name: "vm_conns_agree_with_ipvsadm_entry_for_entry", run: conns_agree_with_ipvsadm },
    Case { name: "vm_unprivileged_user_gets_proc_fallback", run: unprivileged_fallback },
    Case { name: "vm_worker_thread_serves_async_callers", run: worker_thread },
    Case { name: "vm_service_with_400_realservers_spans_dump_chunks", run: large_service },
    Case { name: "vm_console_in_tmux_drives_the_real_kernel", run: console_in_tmux },
    Case { name: "vm_console_restores_the_terminal_on_signals", run: console_signals },
    Case { name: "vm_sigterm_during_a_batch_leaves_a_complete_audit_log", run: sigterm_during_a_batch },
    Case { name: "vm_large_table_changes_on_screen_show_within_a_refresh", run: large_table_on_screen },
    Case { name: "vm_director_panel_with_dr_traffic", run: director_panel },
    Case { name: "vm_director_checks_against_the_real_kernel", run: director_checks },
    Case { name: "vm_drain_and_failover_rules_with_real_traffic", run: drain_and_failover_rules },
    Case { name: "vm_dr_path_probe_names_each_broken_realserver", run: dr_path_probe },
    Case { name: "vm_console_connections_view_of_a_draining_realserver", run: console_connections_view },
    Case { name: "vm_two_directors_diff_over_ssh", run: super::directors::two_directors_diff },
    Case { name: "vm_keepalived_realservers_down_by_health_check", run: keepalived_down },
    Case { name: "vm_portable_binary_dumps_and_runs_with_group_capabilities", run: super::ship::portable_binary },
];

/// IPv4/IPv6 TCP/UDP/SCTP, fwmark v4/v6, persistence with netmask, one-packet,
/// sh and mh flags, a persistence engine, DR/NAT/TUN (ipip, gue, gre), mixed
/// family, thresholds, weights 0 and 65535.
pub const RICH: &str = "\
-A -t 198.51.100.100:80 -s wrr
-a -t 198.51.100.100:80 -r 198.51.100.11:80 -g -w 1
-a -t 198.51.100.100:80 -r 198.51.100.12:80 -g -w 0
-a -t 198.51.100.100:80 -r 198.51.100.13:80 -g -w 65535 -x 100 -y 50
-A -t 198.51.100.100:443 -s wlc -p 300 -M 255.255.255.0
-a -t 198.51.100.100:443 -r 198.51.100.11:443 -g -w 3
-a -t 198.51.100.100:443 -r 198.51.100.12:8443 -m -w 2
-A -u 198.51.100.100:53 -s rr -o
-a -u 198.51.100.100:53 -r 198.51.100.11:53 -g -w 1
-a -u 198.51.100.100:53 -r 198.51.100.12:53 -g -w 1
-A --sctp-service 198.51.100.100:3868 -s sh -b sh-port,sh-fallback
-a --sctp-service 198.51.100.100:3868 -r 198.51.100.12:3868 -g -w 1
-A -t 198.51.100.101:80 -s mh -b mh-port
-a -t 198.51.100.101:80 -r 198.51.100.11:80 -i -w 1 --tun-type ipip
-a -t 198.51.100.101:80 -r 198.51.100.12:80 -i -w 2 --tun-type gue --tun-port 6080 --tun-csum
-a -t 198.51.100.101:80 -r 198.51.100.13:80 -i -w 3 --tun-type gre --tun-nocsum
-a -t 198.51.100.101:80 -r [2001:db8::13]:80 -i -w 4
-A -u 198.51.100.100:5060 -s rr -p 60 --pe sip
-a -u 198.51.100.100:5060 -r 198.51.100.13:5060 -g -w 1
-A -t 198.51.100.102:0 -s lc -p 3600
-a -t 198.51.100.102:0 -r 198.51.100.11:0 -g -w 1
-A -f 1 -s rr -p 120
-a -f 1 -r 198.51.100.11:0 -g -w 1
-a -f 1 -r 198.51.100.12:0 -g -w 4
-A -f 2 -6 -s wlc
-a -f 2 -6 -r [2001:db8::11]:0 -g -w 1
-A -t [2001:db8::100]:80 -s wrr -p 600 -M 64
-a -t [2001:db8::100]:80 -r [2001:db8::11]:80 -g -w 1
-a -t [2001:db8::100]:80 -r [2001:db8::12]:80 -m -w 0 -x 10 -y 5
-A -u [2001:db8::100]:53 -s sed
-a -u [2001:db8::100]:53 -r [2001:db8::13]:53 -g -w 1
-A --sctp-service [2001:db8::100]:3868 -s nq
-a --sctp-service [2001:db8::100]:3868 -r [2001:db8::11]:3868 -g -w 1
";

fn vip_key(port: u16) -> ServiceKey {
    ServiceKey::tcp(IpAddr::V4(VIP), port)
}

fn snapshot(ipvs: &mut NetlinkIpvs) -> Result<Snapshot, String> {
    ipvs.snapshot().map_err(|e| format!("lvstop snapshot failed: {e}"))
}

fn check(ipvs: &mut NetlinkIpvs, step: &str) -> Result<Snapshot, String> {
    ipvsadm::compare(|| snapshot(ipvs)).map_err(|e| format!("after {step}: lvstop and ipvsadm disagree:\n{e}"))
}

fn saved() -> Result<String, String> {
    let mut lines: Vec<String> = sh("ipvsadm -S -n")?.lines().map(str::to_string).collect();
    lines.sort();
    Ok(lines.join("\n") + &sh("ipvsadm -L -n --thresholds --exact")? + &sh("ipvsadm -L -n --tun-info")?)
}

fn rich_table_matches_ipvsadm() -> Result<(), String> {
    load_rules(RICH)?;
    let mut ipvs = nl()?;
    let snap = check(&mut ipvs, "loading the rich table")?;
    let expected_services = RICH.lines().filter(|l| l.starts_with("-A")).count();
    ensure(snap.services.len() == expected_services, || {
        format!("{} services, expected {expected_services}", snap.services.len())
    })?;
    // Spot checks of fields that ipvsadm's listing shows only indirectly.
    let s = snap.service(&vip_key(443)).ok_or("no TCP :443")?;
    ensure(s.spec.netmask == Netmask::V4("255.255.255.0".parse().map_err(|_| "mask")?), || {
        format!("{:?}", s.spec.netmask)
    })?;
    let mh = snap.service(&ServiceKey::tcp("198.51.100.101".parse().map_err(|_| "ip")?, 80)).ok_or("no mh")?;
    let gue = mh.destinations.iter().find(|d| d.spec.tun_type == TunnelType::Gue).ok_or("no gue")?;
    ensure(gue.spec.tun_port == 6080 && gue.spec.tun_csum == TunnelCsum::Csum, || format!("{:?}", gue.spec))?;
    ensure(mh.destinations.iter().any(|d| d.spec.addr.is_ipv6()), || "mixed-family destination missing".into())?;
    ensure(mh.spec.flags.has(ServiceFlags::SCHED2), || "mh-port flag lost".into())?;
    // The CLI shows the same table.
    let text = sh(&format!("{} dump", lvstop_bin()))?;
    for s in &snap.services {
        ensure(text.contains(&s.spec.key.to_string()), || format!("lvstop dump lacks {}:\n{text}", s.spec.key))?;
    }
    let json: serde_json::Value =
        serde_json::from_str(&sh(&format!("{} dump --json", lvstop_bin()))?).map_err(|e| e.to_string())?;
    ensure(json["schema"] == 2 && json["source"]["kind"] == "netlink", || format!("bad JSON header: {json}"))?;
    ensure(json["director"].is_null(), || "a plain dump measured the interfaces (that is --load's)".into())?;
    ensure(!text.contains("Director (over"), || format!("a plain dump printed the director section:\n{text}"))?;
    let n = json["services"].as_array().map_or(0, Vec::len);
    ensure(n == expected_services, || format!("JSON has {n} services"))?;
    ensure(json["services"][0]["destinations"][0]["stats"]["inpkts"].is_u64(), || "JSON lacks stats".into())
}

fn edits_both_ways() -> Result<(), String> {
    sh("ipvsadm -C")?;
    let mut ipvs = nl()?;
    let key = vip_key(8080);
    let mut spec = ServiceSpec::new(key, "wlc");
    ipvs.add_service(&spec).map_err(|e| e.to_string())?;
    ensure(sh("ipvsadm -S -n")?.contains("-A -t 198.51.100.100:8080 -s wlc"), || {
        "service add not seen by ipvsadm".into()
    })?;
    check(&mut ipvs, "add service")?;
    let mut d1 = DestSpec::new(IpAddr::V4(rip(1)), 8080, ForwardMethod::Route);
    let d2 = DestSpec::new(IpAddr::V4(rip(2)), 9090, ForwardMethod::Masq).weight(3);
    for d in [&d1, &d2] {
        ipvs.add_dest(&key, d).map_err(|e| e.to_string())?;
    }
    check(&mut ipvs, "add realservers")?;
    d1.weight = 5;
    ipvs.edit_dest(&key, &d1).map_err(|e| e.to_string())?;
    ensure(sh("ipvsadm -S -n")?.contains("-r 198.51.100.11:8080 -g -w 5"), || "weight 5 not seen by ipvsadm".into())?;
    d1.u_thresh = 100;
    d1.l_thresh = 10;
    ipvs.edit_dest(&key, &d1).map_err(|e| e.to_string())?;
    check(&mut ipvs, "edit realserver")?;
    spec.scheduler = "sh".into();
    spec = spec.persistent(60);
    spec.netmask = Netmask::V4("255.255.255.0".parse().map_err(|_| "mask")?);
    spec.flags.0 |= ServiceFlags::SCHED2;
    ipvs.edit_service(&spec).map_err(|e| e.to_string())?;
    ensure(sh("ipvsadm -S -n")?.contains("-A -t 198.51.100.100:8080 -s sh -p 60 -M 255.255.255.0 -b sh-port"), || {
        format!("service edit not seen:\n{}", sh("ipvsadm -S -n").unwrap_or_default())
    })?;
    check(&mut ipvs, "edit service")?;
    ipvs.del_dest(&key, d2.addr, d2.port).map_err(|e| e.to_string())?;
    ensure(!sh("ipvsadm -S -n")?.contains("198.51.100.12:9090"), || "deleted realserver still listed".into())?;
    // IPv6, fwmark and tunnel destinations through lvstop.
    let key6 = ServiceKey::tcp(IpAddr::V6(VIP6), 443);
    let mut spec6 = ServiceSpec::new(key6, "rr").persistent(30);
    spec6.netmask = Netmask::V6(48);
    ipvs.add_service(&spec6).map_err(|e| e.to_string())?;
    let mut gue = DestSpec::new(IpAddr::V6(rip6(2)), 443, ForwardMethod::Tunnel);
    gue.tun_type = TunnelType::Gue;
    gue.tun_port = 5555;
    gue.tun_csum = TunnelCsum::RemCsum;
    ipvs.add_dest(&key6, &gue).map_err(|e| e.to_string())?;
    let fw = ServiceKey::fwmark(lvstop::model::Family::Inet6, 77);
    ipvs.add_service(&ServiceSpec::new(fw, "wrr")).map_err(|e| e.to_string())?;
    ipvs.add_dest(&fw, &DestSpec::new(IpAddr::V6(rip6(1)), 0, ForwardMethod::Route).weight(9))
        .map_err(|e| e.to_string())?;
    check(&mut ipvs, "IPv6, fwmark and GUE additions")?;
    // Timeouts.
    let before = ipvs.timeouts().map_err(|e| e.to_string())?;
    ipvs.set_timeouts(Timeouts { tcp: 1000, tcp_fin: 100, udp: 200 }).map_err(|e| e.to_string())?;
    ensure(sh("ipvsadm -L --timeout")?.contains("1000 100 200"), || "timeouts not seen by ipvsadm".into())?;
    check(&mut ipvs, "set timeouts")?;
    ipvs.set_timeouts(before).map_err(|e| e.to_string())?;
    // ipvsadm edits seen by the next lvstop snapshot.
    for (cmd, what) in [
        ("ipvsadm -e -t 198.51.100.100:8080 -r 198.51.100.11:8080 -g -w 7", "weight 7"),
        ("ipvsadm -A -u 198.51.100.100:4000 -s lc -o", "new UDP service"),
        ("ipvsadm -a -u 198.51.100.100:4000 -r 198.51.100.13:4000 -g -w 2", "new realserver"),
        ("ipvsadm -E -t 198.51.100.100:8080 -s rr", "scheduler change"),
        ("ipvsadm -d -f 77 -6 -r [2001:db8::11]:0", "realserver delete"),
        ("ipvsadm -D -t [2001:db8::100]:443", "service delete"),
    ] {
        sh(cmd)?;
        check(&mut ipvs, what)?;
    }
    let snap = snapshot(&mut ipvs)?;
    let s = snap.service(&key).ok_or("service 8080 vanished")?;
    ensure(s.spec.scheduler == "rr" && !s.spec.flags.is_persistent(), || format!("{:?}", s.spec))?;
    ensure(s.destinations.iter().any(|d| d.spec.weight == 7), || "weight 7 not seen".into())?;
    ipvs.del_service(&key).map_err(|e| e.to_string())?;
    ensure(!sh("ipvsadm -S -n")?.contains(":8080"), || "deleted service still listed".into())?;
    check(&mut ipvs, "delete service").map(|_| ())
}

fn expect_err(
    r: Result<(), IpvsError>,
    what: &str,
    ok: impl Fn(&IpvsError) -> bool,
    must_name: &[&str],
) -> Result<(), String> {
    match r {
        Ok(()) => Err(format!("{what}: succeeded, expected an error")),
        Err(e) if !ok(&e) => Err(format!("{what}: wrong error {e:?}")),
        Err(e) => {
            let msg = e.to_string();
            for n in must_name {
                ensure(msg.contains(n), || format!("{what}: message '{msg}' does not name '{n}'"))?;
            }
            Ok(())
        }
    }
}

fn bad_input_and_races() -> Result<(), String> {
    load_rules(RICH)?;
    let mut ipvs = nl()?;
    let key = vip_key(80);
    let before = saved()?;
    let unchanged = |what: &str| -> Result<(), String> {
        let now = saved()?;
        ensure(now == before, || format!("{what} changed the table:\nbefore:\n{before}\nafter:\n{now}"))
    };
    expect_err(
        ipvs.add_service(&ServiceSpec::new(key, "rr")),
        "duplicate service",
        |e| matches!(e, IpvsError::ServiceExists(_)),
        &["198.51.100.100:80", "already exists"],
    )?;
    unchanged("duplicate service")?;
    expect_err(
        ipvs.add_service(&ServiceSpec::new(vip_key(81), "nosuch")),
        "unknown scheduler",
        |e| matches!(e, IpvsError::UnknownScheduler(_)),
        &["'nosuch'"],
    )?;
    unchanged("unknown scheduler")?;
    let heavy = DestSpec::new(IpAddr::V4(rip(3)), 80, ForwardMethod::Route).weight(65536);
    expect_err(
        ipvs.add_dest(&key, &heavy),
        "weight 65536",
        |e| matches!(e, IpvsError::Validation(_)),
        &["weight", "'65536'", "0 to 65535"],
    )?;
    expect_err(
        ipvs.edit_dest(&key, &heavy),
        "edit to weight 65536",
        |e| matches!(e, IpvsError::Validation(_)),
        &["'65536'"],
    )?;
    unchanged("weight 65536")?;
    let remap = DestSpec::new(IpAddr::V4(rip(3)), 8080, ForwardMethod::Route);
    expect_err(
        ipvs.add_dest(&vip_key(443), &remap),
        "DR port remap",
        |e| matches!(e, IpvsError::Validation(_)),
        &["'8080'", "443"],
    )?;
    let mut v6 = ServiceSpec::new(ServiceKey::tcp(IpAddr::V6(VIP6), 8443), "rr").persistent(10);
    v6.netmask = Netmask::V6(129);
    expect_err(
        ipvs.add_service(&v6),
        "IPv6 prefix 129",
        |e| matches!(e, IpvsError::Validation(_)),
        &["'129'", "1 to 128"],
    )?;
    // The kernel's own EINVAL: a link-local IPv6 realserver.
    let v6key = ServiceKey::tcp(IpAddr::V6(VIP6), 80);
    let linklocal = DestSpec::new("fe80::99".parse().map_err(|_| "ip")?, 80, ForwardMethod::Route);
    expect_err(
        ipvs.add_dest(&v6key, &linklocal),
        "link-local realserver",
        |e| matches!(e, IpvsError::Invalid { .. }),
        &["fe80::99", "[2001:db8::100]:80"],
    )?;
    unchanged("invalid requests")?;
    // Races: ipvsadm deletes first, then lvstop acts on what it last saw.
    let snap = snapshot(&mut ipvs)?;
    let victim = snap
        .service(&key)
        .ok_or("no :80")?
        .destinations
        .iter()
        .find(|d| d.spec.addr == IpAddr::V4(rip(3)))
        .ok_or("no rs3")?
        .spec
        .clone();
    // A concurrent change (ipvsadm, as keepalived would) between the snapshot and an edit:
    // the edit made on what the operator saw is not applied blindly, nor is a delete.
    sh("ipvsadm -e -t 198.51.100.100:80 -r 198.51.100.13:80 -g -w 7 -x 100 -y 50")?;
    let concurrent = saved()?;
    let seen = lvstop::model::Change::EditDest { svc: key, before: victim.clone(), after: victim.clone().weight(9) };
    expect_err(
        ipvs.apply(&seen),
        "edit after a concurrent weight change",
        |e| matches!(e, IpvsError::ChangedMeanwhile { .. }),
        &["198.51.100.13:80", "changed meanwhile", "weight 7", "weight 65535"],
    )?;
    let gone = lvstop::model::Change::DelDest { svc: key, dest: victim.clone() };
    expect_err(
        ipvs.apply(&gone),
        "delete after a concurrent change",
        |e| matches!(e, IpvsError::ChangedMeanwhile { .. }),
        &[],
    )?;
    let svc_seen = snap.service(&key).ok_or("no :80")?.spec.clone();
    sh("ipvsadm -E -t 198.51.100.100:80 -s rr")?;
    let mut svc_after = svc_seen.clone();
    svc_after.scheduler = "lc".into();
    expect_err(
        ipvs.apply(&lvstop::model::Change::EditService { before: svc_seen.clone(), after: svc_after }),
        "service edit after a concurrent change",
        |e| matches!(e, IpvsError::ChangedMeanwhile { .. }),
        &["-s rr", "-s wrr"],
    )?;
    sh("ipvsadm -E -t 198.51.100.100:80 -s wrr")?;
    ensure(saved()? == concurrent, || "an edit on a stale view changed the table".into())?;
    // A service deleted on a stale view of its realservers: one added meanwhile
    // would go with it, and the undo (which adds back those seen) could not restore it.
    let fresh = snapshot(&mut ipvs)?;
    let svc = fresh.service(&key).ok_or("no :80")?;
    let dests = svc.destinations.iter().map(|d| d.spec.clone()).collect();
    let del = lvstop::model::Change::DelService { spec: svc.spec.clone(), dests };
    sh("ipvsadm -a -t 198.51.100.100:80 -r 198.51.100.19:80 -g -w 1")?;
    let with_new = saved()?;
    expect_err(
        ipvs.apply(&del),
        "service delete after a realserver was added",
        |e| matches!(e, IpvsError::RealserversChanged { .. }),
        &["198.51.100.100:80", "198.51.100.19:80", "nothing was deleted"],
    )?;
    ensure(saved()? == with_new, || "a delete on a stale view changed the table".into())?;
    sh("ipvsadm -d -t 198.51.100.100:80 -r 198.51.100.19:80")?;
    // Made again on the realserver as the error says it is now (what the console
    // puts to the operator), the edit goes through and keeps the concurrent thresholds.
    let Err(IpvsError::ChangedMeanwhile { current, .. }) = ipvs.apply(&seen) else {
        return Err("the stale edit was not refused the second time".into());
    };
    let again = seen.rebase(&current).ok_or("the edit has nothing left to do on what is there now")?;
    ipvs.apply(&again).map_err(|e| format!("edit made again on what is there now: {e}"))?;
    let (list, thresholds) = (sh("ipvsadm -L -n")?, sh("ipvsadm -L -n --thresholds --exact")?);
    let limits = thresholds.lines().find_map(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        (w.get(1) == Some(&"198.51.100.13:80")).then(|| (w.get(2).copied(), w.get(3).copied()))
    });
    ensure(ipvsadm_weight(&list, "198.51.100.13:80") == Some(9) && limits == Some((Some("100"), Some("50"))), || {
        format!("the edit made again did not land as weight 9 with thresholds 100/50:\n{list}\n{thresholds}")
    })?;
    sh("ipvsadm -d -t 198.51.100.100:80 -r 198.51.100.13:80")?;
    let after_delete = saved()?;
    let mut edited = victim.clone();
    edited.weight = 9;
    expect_err(
        ipvs.edit_dest(&key, &edited),
        "edit of a vanished realserver",
        |e| matches!(e, IpvsError::NoSuchDest { .. }),
        &["198.51.100.13:80", "198.51.100.100:80"],
    )?;
    expect_err(
        ipvs.del_dest(&key, victim.addr, victim.port),
        "delete of a vanished realserver",
        |e| matches!(e, IpvsError::NoSuchDest { .. }),
        &["198.51.100.13:80"],
    )?;
    ensure(saved()? == after_delete, || "a failed edit changed the table".into())?;
    sh("ipvsadm -D -t 198.51.100.100:80")?;
    let after_delete = saved()?;
    expect_err(
        ipvs.edit_service(&ServiceSpec::new(key, "rr")),
        "edit of a vanished service",
        |e| matches!(e, IpvsError::NoSuchService(_)),
        &["198.51.100.100:80"],
    )?;
    expect_err(
        ipvs.add_dest(&key, &victim),
        "add to a vanished service",
        |e| matches!(e, IpvsError::NoSuchService(_)),
        &["198.51.100.100:80"],
    )?;
    expect_err(
        ipvs.del_service(&key),
        "delete of a vanished service",
        |e| matches!(e, IpvsError::NoSuchService(_)),
        &["198.51.100.100:80"],
    )?;
    ensure(saved()? == after_delete, || "a failed request changed the table".into())?;
    check(&mut ipvs, "failed requests").map(|_| ())
}

fn specs(snap: &Snapshot) -> Vec<(ServiceSpec, Vec<DestSpec>)> {
    snap.services.iter().map(|s| (s.spec.clone(), s.destinations.iter().map(|d| d.spec.clone()).collect())).collect()
}

fn strip_thresholds(line: &str) -> String {
    let mut out = Vec::new();
    let mut words = line.split_whitespace();
    while let Some(w) = words.next() {
        if w == "-x" || w == "-y" {
            words.next();
        } else {
            out.push(w);
        }
    }
    out.join(" ")
}

fn save_restore_roundtrip() -> Result<(), String> {
    load_rules(RICH)?;
    let mut ipvs = nl()?;
    let before = snapshot(&mut ipvs)?;
    let ipvsadm_before = saved()?;
    let rules = sh(&format!("{} save", lvstop_bin()))?;
    // Apart from the thresholds lvstop keeps, the rules are ipvsadm's own.
    let mut ours: Vec<String> = rules.lines().map(strip_thresholds).collect();
    let mut theirs: Vec<String> = sh("ipvsadm -S -n")?.lines().map(strip_thresholds).collect();
    ours.sort();
    theirs.sort();
    ensure(ours == theirs, || {
        format!("lvstop save differs from ipvsadm -S -n:\n{}\n---\n{}", ours.join("\n"), theirs.join("\n"))
    })?;
    sh("ipvsadm -C")?;
    ensure(sh("ipvsadm -S -n")?.trim().is_empty(), || "ipvsadm -C left rules".into())?;
    sh_in("ipvsadm -R", Some(&rules))?;
    let after = check(&mut ipvs, "restore")?;
    ensure(specs(&before) == specs(&after), || {
        format!("restored table differs:\n{:#?}\n---\n{:#?}", specs(&before), specs(&after))
    })?;
    ensure(saved()? == ipvsadm_before, || "ipvsadm sees a different table after the restore".into())
}

fn dr_traffic() -> Result<(), String> {
    load_rules(
        "-A -t 198.51.100.100:80 -s rr
-a -t 198.51.100.100:80 -r 198.51.100.11:80 -g -w 1
-a -t 198.51.100.100:80 -r 198.51.100.12:80 -g -w 1
-a -t 198.51.100.100:80 -r 198.51.100.13:80 -g -w 1
-A -t [2001:db8::100]:80 -s wrr
-a -t [2001:db8::100]:80 -r [2001:db8::11]:80 -g -w 1
-a -t [2001:db8::100]:80 -r [2001:db8::12]:80 -g -w 2
",
    )?;
    let mut ipvs = nl()?;
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..30 {
        let body = sh(&format!("ip netns exec client curl -s -m 5 http://{VIP}/"))?;
        seen.insert(body.trim().to_string());
    }
    for _ in 0..9 {
        let body = sh(&format!("ip netns exec client curl -s -m 5 http://[{VIP6}]/"))?;
        seen.insert(format!("v6:{}", body.trim()));
    }
    ensure(seen.len() == 5, || format!("traffic did not reach every realserver through the VIPs: {seen:?}"))?;
    // A few long-lived connections to show ActiveConn, once the kernel has
    // them established (a loaded VM can take seconds).
    sh(&format!(
        "for i in 1 2 3; do ip netns exec client sh -c 'sleep 120 | busybox nc {VIP} 80' >/dev/null 2>&1 & done"
    ))?;
    wait_ipvsadm("three held connections and thirty closed ones", |s| {
        let sum = |column: usize| {
            let n = |l: &str| l.split_whitespace().nth(column).and_then(|n| n.parse::<u32>().ok()).unwrap_or(0);
            s.lines().filter(|l| l.contains("-> 198.51.100.1")).map(n).sum::<u32>()
        };
        sum(4) == 3 && sum(5) == 30
    })?;
    // The connection counts are live: taken now, before the comparison below
    // (which waits for the estimator) lets the held connections age.
    let live = snapshot(&mut ipvs)?;
    let s = live.service(&vip_key(80)).ok_or("no service")?;
    ensure(s.active_conns() == 3, || format!("ActiveConn {} expected 3 held connections", s.active_conns()))?;
    ensure(s.inact_conns() == 30, || format!("InActConn {} expected 30 closed connections", s.inact_conns()))?;
    // The kernel folds its per-CPU counters into the totals it reports from
    // its estimator timer (every 2 s, later on a loaded VM): wait until
    // ipvsadm's counters have caught up before comparing.
    wait_for(&format!("ipvsadm -L -n --stats --exact -t {VIP}:80"), "33 connections counted", |s| {
        let conns = |l: &str| l.split_whitespace().nth(2).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
        s.lines().find(|l| l.starts_with("TCP")).map(conns) == Some(33)
            && s.lines().filter(|l| l.contains("-> 198.51.100.1")).map(conns).sum::<u64>() == 33
    })?;
    let snap = check(&mut ipvs, "DR traffic")?;
    let s = snap.service(&vip_key(80)).ok_or("no service")?;
    ensure(s.stats.conns == 33, || {
        format!("service counted {} connections, expected 33 (30 requests + 3 held)", s.stats.conns)
    })?;
    ensure(s.destinations.iter().map(|d| d.stats.conns).sum::<u64>() == 33, || {
        "realserver conns do not add up".into()
    })?;
    for svc in &snap.services {
        ensure(svc.stats.outpkts == 0 && svc.stats.outbytes == 0, || {
            format!("{}: OutPkts must stay 0 in DR", svc.spec.key)
        })?;
        for d in &svc.destinations {
            ensure(d.stats.inpkts > 0, || format!("{} got no packets", d.spec.addr_port()))?;
            ensure(d.stats.outpkts == 0, || format!("{}: OutPkts {} in DR", d.spec.addr_port(), d.stats.outpkts))?;
        }
    }
    // Zero one service, then all.
    ipvs.zero(Some(&vip_key(80))).map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_secs(3));
    let snap = check(&mut ipvs, "DR traffic")?;
    ensure(snap.service(&vip_key(80)).is_some_and(|s| s.stats.conns == 0), || "zero did not clear the service".into())?;
    ensure(snap.services.iter().any(|s| s.stats.conns > 0), || "zeroing one service cleared the other".into())?;
    ipvs.zero(None).map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_secs(3));
    let snap = check(&mut ipvs, "DR traffic")?;
    ensure(snap.services.iter().all(|s| s.stats.conns == 0), || "zero all left counters".into())?;
    let _ = CLIENT;
    Ok(())
}

/// A DR service on VIP:80 (`v4`: its scheduler and options) with rs1 to rs3,
/// and an rr one on [VIP6]:80 with the first `v6` of them.
fn dr_rules(v4: &str, v6: u8) -> String {
    let mut r = format!("-A -t {VIP}:80 -s {v4}\n");
    for i in 1..=3 {
        r.push_str(&format!("-a -t {VIP}:80 -r {}:80 -g -w 1\n", rip(i)));
    }
    r.push_str(&format!("-A -t [{VIP6}]:80 -s rr\n"));
    for i in 1..=v6 {
        r.push_str(&format!("-a -t [{VIP6}]:80 -r [{}]:80 -g -w 1\n", rip6(i)));
    }
    r
}

/// One connection entry as `ipvsadm -Lcn` and `lvstop conns --json` both
/// show it: protocol, state, client, virtual, realserver; and its expiry.
type ConnKey = (String, String, String, String, String);
type ConnRow = (ConnKey, u64);

fn ipvsadm_conns() -> Result<Vec<ConnRow>, String> {
    let text = sh("ipvsadm -Lcn")?;
    let mut rows = Vec::new();
    for line in text.lines().skip(2) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [pro, expire, state, client, virt, dest] = f[..] else { return Err(format!("ipvsadm -Lcn line: {line}")) };
        let (m, s) = expire.split_once(':').ok_or_else(|| format!("expiry in {line}"))?;
        let secs = m.parse::<u64>().map_err(|e| e.to_string())? * 60 + s.parse::<u64>().map_err(|e| e.to_string())?;
        rows.push(((pro.into(), state.into(), client.into(), virt.into(), dest.into()), secs));
    }
    rows.sort();
    Ok(rows)
}

fn lvstop_conns(args: &str) -> Result<(Vec<ConnRow>, serde_json::Value), String> {
    let json = sh(&format!("{} conns --json {args}", lvstop_bin()))?;
    let v: serde_json::Value = serde_json::from_str(&json).map_err(|e| format!("conns --json: {e}: {json}"))?;
    let mut rows = Vec::new();
    for c in v["connections"].as_array().ok_or("no connections array")? {
        let s = |k: &str| c[k].as_str().map(str::to_string).ok_or_else(|| format!("{k} missing in {c}"));
        let key = (s("protocol")?, s("state")?, s("client")?, s("virtual")?, s("realserver")?);
        let template = c["template"].as_bool().ok_or("template missing")?;
        ensure(template == (key.1 == "NONE" || key.1 == "ASSURED") && key.2.ends_with(":0") == template, || {
            format!("template flag wrong: {c}")
        })?;
        rows.push((key, c["expires_secs"].as_u64().ok_or("expires_secs missing")?));
    }
    rows.sort();
    Ok((rows, v))
}

/// A persistence template as ipvsadm lists it: client port 0, a template's
/// state (the kernel marks a template that has served a connection ASSURED).
fn is_template(r: &ConnRow) -> bool {
    matches!(r.0 .1.as_str(), "NONE" | "ASSURED") && r.0 .2.ends_with(":0")
}

fn conn_keys(r: &[ConnRow]) -> Vec<ConnKey> {
    r.iter().map(|(k, _)| k.clone()).collect()
}

/// `lvstop conns --json {args}` beside `ipvsadm -Lcn` read just before and
/// just after it, `keep` selecting from ipvsadm's list what the filter
/// should: the same entries, each expiry between ipvsadm's two readings of
/// it (a second either way: both print whole seconds). Read again when an
/// entry came or went meanwhile. With lvstop's JSON and ipvsadm's whole list.
fn conns_beside_ipvsadm(
    args: &str,
    keep: &dyn Fn(&ConnRow) -> bool,
) -> Result<(Vec<ConnRow>, serde_json::Value, Vec<ConnRow>), String> {
    let mut tries = 0;
    loop {
        tries += 1;
        let before = ipvsadm_conns()?;
        let (ours, doc) = lvstop_conns(args)?;
        let after = ipvsadm_conns()?;
        if conn_keys(&before) != conn_keys(&after) && tries < 3 {
            continue;
        }
        let (b, a): (Vec<ConnRow>, Vec<ConnRow>) =
            (before.iter().filter(|r| keep(r)).cloned().collect(), after.iter().filter(|r| keep(r)).cloned().collect());
        ensure(conn_keys(&ours) == conn_keys(&b), || format!("conns {args}:\n{ours:#?}\nipvsadm -Lcn:\n{b:#?}"))?;
        for (((k, x), (_, first)), (_, then)) in ours.iter().zip(&b).zip(&a) {
            ensure(*x <= first + 1 && x + 1 >= *then, || {
                format!("conns {args}: {k:?} expires in {x} s, ipvsadm says {first} s before and {then} s after")
            })?;
        }
        return Ok((ours, doc, before));
    }
}

/// DR traffic from two IPv4 and two IPv6 client addresses to a persistent
/// IPv4 service and an IPv6 one, some connections held open: `lvstop conns`
/// lists exactly what `ipvsadm -Lcn` lists, templates included, and its
/// filters select by client, realserver, state and template.
fn conns_agree_with_ipvsadm() -> Result<(), String> {
    load_rules(&dr_rules("rr -p 300", 2))?;
    sh("ip netns exec client ip addr add 198.51.100.51/24 dev eth0 2>/dev/null; \
        ip netns exec client ip addr add 2001:db8::51/64 dev eth0 nodad 2>/dev/null; true")?;
    for src in ["198.51.100.50", "198.51.100.51"] {
        for _ in 0..4 {
            sh(&format!("ip netns exec client curl -s -m 5 --interface {src} http://{VIP}/"))?;
        }
    }
    for src in ["2001:db8::50", "2001:db8::51"] {
        for _ in 0..3 {
            sh(&format!("ip netns exec client curl -s -m 5 -g --interface {src} 'http://[{VIP6}]/'"))?;
        }
    }
    sh(&format!(
        "for s in 198.51.100.50 198.51.100.51; do ip netns exec client sh -c \"sleep 120 | curl -s --interface $s telnet://{VIP}:80\" >/dev/null 2>&1 & done"
    ))?;
    wait_for("ipvsadm -Lcn", "two held connections", |s| s.matches("ESTABLISHED").count() == 2)?;
    let (ours, doc, _) = conns_beside_ipvsadm("", &|_| true)?;
    // 8 + 2 IPv4 connections and a template per IPv4 client; 6 IPv6 connections.
    let count = |f: &dyn Fn(&ConnRow) -> bool| ours.iter().filter(|r| f(r)).count();
    ensure(count(&is_template) == 2, || format!("two templates expected: {ours:#?}"))?;
    ensure(count(&|r| r.0 .1 == "ESTABLISHED") == 2, || format!("two held connections expected: {ours:#?}"))?;
    ensure(count(&|r| r.0 .2.starts_with("[2001:db8::")) == 6, || format!("six IPv6 entries expected: {ours:#?}"))?;
    ensure(doc["read"].as_u64() == Some(ours.len() as u64) && doc["matched"] == doc["read"], || {
        format!("tally: {doc}")
    })?;
    // Persistence: every connection of a client goes where its template points.
    for client in ["198.51.100.50", "198.51.100.51"] {
        let of = |r: &&ConnRow| r.0 .2.starts_with(&format!("{client}:"));
        let dests: std::collections::BTreeSet<&String> = ours.iter().filter(of).map(|r| &r.0 .4).collect();
        ensure(dests.len() == 1, || format!("{client} went to {dests:?} despite persistence"))?;
    }
    // Filters, each against the same selection made from ipvsadm's list.
    for (args, keep) in [
        ("--client 198.51.100.51", &(|r: &ConnRow| r.0 .2.starts_with("198.51.100.51:")) as &dyn Fn(&ConnRow) -> bool),
        ("--client 2001:db8::/120", &|r: &ConnRow| r.0 .2.starts_with("[2001:db8::")),
        ("--vip [2001:db8::100]:80", &|r: &ConnRow| r.0 .3 == "[2001:db8::100]:80"),
        ("--state established", &|r: &ConnRow| r.0 .1 == "ESTABLISHED"),
        ("--no-templates", &|r: &ConnRow| !is_template(r)),
        ("--realserver 198.51.100.12:80", &|r: &ConnRow| r.0 .4 == "198.51.100.12:80"),
    ] {
        let (_, doc, all) = conns_beside_ipvsadm(args, keep)?;
        ensure(doc["read"].as_u64() == Some(all.len() as u64), || format!("conns {args} read {}", doc["read"]))?;
    }
    let again = ipvsadm_conns()?;
    // The text form lists the same entries and says how many matched.
    let text = sh(&format!("{} conns --client 198.51.100.50", lvstop_bin()))?;
    let n = again.iter().filter(|r| r.0 .2.starts_with("198.51.100.50:")).count();
    ensure(
        text.lines().count() == n + 2
            && text.contains(&format!("{n} of {} entries (1 persistence template)", again.len())),
        || format!("conns text:\n{text}"),
    )?;
    // A bad filter value is named, with the fix; nothing printed on stdout.
    let (code, out, err) = sh_status(&format!("{} conns --client 198.51.100.0/40", lvstop_bin()));
    ensure(code == 2 && out.is_empty() && err.contains("198.51.100.0/40") && err.contains("0 to 32"), || {
        format!("bad --client: {code} {out} {err}")
    })?;
    Ok(())
}

/// A table /proc/net/ip_vs can express completely.
const PROC_RULES: &str = "\
-A -t 198.51.100.100:80 -s wrr
-a -t 198.51.100.100:80 -r 198.51.100.11:80 -g -w 1
-a -t 198.51.100.100:80 -r 198.51.100.12:80 -g -w 0
-a -t 198.51.100.100:80 -r 198.51.100.13:80 -g -w 65535
-A -t 198.51.100.100:443 -s wlc -p 300 -M 255.255.255.0
-a -t 198.51.100.100:443 -r 198.51.100.11:443 -g -w 3
-A -u 198.51.100.100:53 -s rr -o
-a -u 198.51.100.100:53 -r 198.51.100.12:53 -i -w 2
-A -f 5 -s rr -p 120
-a -f 5 -r 198.51.100.11:0 -g -w 1
-A -t [2001:db8::100]:80 -s wrr -p 600 -M 64
-a -t [2001:db8::100]:80 -r [2001:db8::11]:80 -g -w 1
";

fn unprivileged_fallback() -> Result<(), String> {
    load_rules(PROC_RULES)?;
    for _ in 0..5 {
        sh(&format!("ip netns exec client curl -s -m 5 http://{VIP}/"))?;
    }
    let nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all";
    let (code, out, err) = sh_status(&format!("{nobody} {} dump", lvstop_bin()));
    ensure(code == 0, || format!("unprivileged dump failed ({code}): {err}"))?;
    ensure(out.contains("READ-ONLY"), || format!("no READ-ONLY marker:\n{out}"))?;
    ensure(err.contains("CAP_NET_ADMIN") && err.contains("setcap"), || {
        format!("the message does not name the fix: {err}")
    })?;
    let (code, json, _) = sh_status(&format!("{nobody} {} dump --json", lvstop_bin()));
    ensure(code == 0, || "unprivileged dump --json failed".into())?;
    let v: serde_json::Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
    ensure(v["source"]["kind"] == "procfs", || format!("source is {}", v["source"]))?;
    ensure(v["services"].as_array().map_or(0, Vec::len) == 5, || "wrong service count".into())?;
    // The /proc view itself agrees with ipvsadm on everything /proc carries.
    let snap = lvstop::sys::ipvs_proc::snapshot("test").map_err(|e| e.to_string())?;
    let problems = ipvsadm::diff(
        Format::Plain,
        &ipvsadm::list(Format::Plain)?,
        &ipvsadm::parse(&ipvsadm::render(&snap, Format::Plain))?,
    );
    ensure(problems.is_empty(), || problems.join("\n"))?;
    let (code, _, err) = sh_status(&format!("{nobody} {} save", lvstop_bin()));
    ensure(code != 0 && err.contains("setcap"), || format!("unprivileged save: code {code}, '{err}'"))?;
    // Netlink itself refuses, with the fix named.
    let (_, _, err) = sh_status(&format!("{nobody} ipvsadm -L -n"));
    ensure(!err.is_empty(), || "ipvsadm worked unprivileged?".into())
}

fn worker_thread() -> Result<(), String> {
    load_rules(RICH)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let (h, _) = lvstop::ipvs::IpvsHandle::spawn(false).map_err(|e| e.to_string())?;
    let key = vip_key(9000);
    rt.block_on(h.run(move |b| b.writer("add service")?.add_service(&ServiceSpec::new(key, "rr"))))
        .map_err(|e| e.to_string())?;
    let snap = ipvsadm::compare(|| rt.block_on(h.run(lvstop::ipvs::Backend::snapshot)).map_err(|e| e.to_string()))?;
    ensure(snap.service(&key).is_some(), || "service added through the worker is missing".into())
}

pub struct Tmux {
    pub session: &'static str,
}

impl Tmux {
    pub fn keys(&self, keys: &[&str]) -> Result<(), String> {
        for k in keys {
            sh(&format!("tmux send-keys -t {} '{k}'", self.session))?;
            std::thread::sleep(Duration::from_millis(150));
        }
        Ok(())
    }

    pub fn type_text(&self, text: &str) -> Result<(), String> {
        sh(&format!("tmux send-keys -t {} -l '{text}'", self.session)).map(|_| ())
    }

    pub fn screen(&self) -> Result<String, String> {
        sh(&format!("tmux capture-pane -p -t {}", self.session))
    }

    /// Wait (up to 30 s) until the captured screen satisfies `ok`.
    pub fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> Result<String, String> {
        let mut last = String::new();
        for _ in 0..120 {
            last = self.screen()?;
            if ok(&last) {
                return Ok(last);
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Err(format!("the console never showed {what}; last screen:\n{last}"))
    }
}

/// The realserver row of `rip` on screen, as words.
fn screen_row(screen: &str, rip: &str) -> Vec<String> {
    screen
        .lines()
        .filter_map(|l| l.split('│').nth(1))
        .find(|cell| cell.trim_start().starts_with(rip))
        .map(|cell| cell.split_whitespace().filter(|w| *w != "!").map(str::to_string).collect())
        .unwrap_or_default()
}

fn wait_ipvsadm(what: &str, ok: impl Fn(&str) -> bool) -> Result<(), String> {
    wait_for("ipvsadm -L -n", what, ok)
}

/// Waits (up to 30 s: a loaded VM is slow) until the output of `cmd` satisfies `ok`.
fn wait_for(cmd: &str, what: &str, ok: impl Fn(&str) -> bool) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..120 {
        last = sh(cmd)?;
        if ok(&last) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Err(format!("ipvsadm never showed {what}:\n{last}"))
}

fn ipvsadm_weight(text: &str, rip: &str) -> Option<u32> {
    text.lines()
        .find(|l| l.contains(&format!("-> {rip}")))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|w| w.parse().ok())
}

fn console_in_tmux() -> Result<(), String> {
    load_rules(
        "-A -t 198.51.100.100:80 -s wrr
-a -t 198.51.100.100:80 -r 198.51.100.11:80 -g -w 3
-a -t 198.51.100.100:80 -r 198.51.100.12:80 -g -w 2
-a -t 198.51.100.100:80 -r 198.51.100.13:80 -g -w 1
",
    )?;
    sh(&format!(
        "(for i in $(seq 300); do ip netns exec client curl -s -m 2 http://{VIP}/ >/dev/null; sleep 0.1; done) >/dev/null 2>&1 &"
    ))?;
    let audit = "/tmp/lvstop-e2e/audit.log";
    let t = Tmux { session: "e2e" };
    sh(&format!(
        "LVSTOP_AUDIT_LOG={audit} tmux new-session -d -s {} -x 160 -y 48 '{} --interval 0.5'",
        t.session,
        lvstop_bin()
    ))?;
    t.wait("the service", |s| s.contains("TCP 198.51.100.100:80") && s.contains("198.51.100.13:80"))?;
    // Drain 198.51.100.11: Tab to the realservers, d, the confirmation shows the ipvsadm command, y.
    t.keys(&["Tab", "d"])?;
    t.wait("the drain confirmation", |s| s.contains("ipvsadm -e -t 198.51.100.100:80 -r 198.51.100.11:80 -g -w 0"))?;
    t.keys(&["y"])?;
    wait_ipvsadm("weight 0 on .11", |s| ipvsadm_weight(s, "198.51.100.11:80") == Some(0))?;
    t.wait("the drained state", |s| {
        let row = screen_row(s, "198.51.100.11:80");
        row.get(2).map(String::as_str) == Some("0")
            && (row.join(" ").contains("draining") || row.join(" ").contains("safe to remove"))
    })?;
    if let Ok(dir) = std::env::var("LVSTOP_OUT") {
        let _ = sh(&format!("mkdir -p {dir} && tmux capture-pane -e -p -t {} > {dir}/console.ans", t.session));
    }
    // Raise 198.51.100.12 from 2 to 3.
    t.keys(&["j", "+"])?;
    wait_ipvsadm("weight 3 on .12", |s| ipvsadm_weight(s, "198.51.100.12:80") == Some(3))?;
    t.wait("weight 3", |s| screen_row(s, "198.51.100.12:80").get(2).map(String::as_str) == Some("3"))?;
    // Add 198.51.100.14 with the form.
    t.keys(&["a"])?;
    t.wait("the add form", |s| s.contains("Add realserver to TCP 198.51.100.100:80"))?;
    t.type_text("198.51.100.14")?;
    t.keys(&["Enter"])?;
    wait_ipvsadm("the new realserver", |s| s.contains("198.51.100.14:80"))?;
    t.wait("the new realserver", |s| !screen_row(s, "198.51.100.14:80").is_empty())?;
    // Delete it (bottom row), confirmed.
    t.keys(&["G", "x"])?;
    t.wait("the delete confirmation", |s| s.contains("ipvsadm -d -t 198.51.100.100:80 -r 198.51.100.14:80"))?;
    t.keys(&["y"])?;
    wait_ipvsadm("the delete", |s| !s.contains("198.51.100.14:80"))?;
    t.wait("the realserver gone", |s| screen_row(s, "198.51.100.14:80").is_empty())?;
    // Undo the delete.
    t.keys(&["u"])?;
    wait_ipvsadm("the undone delete", |s| s.contains("198.51.100.14:80"))?;
    t.wait("the realserver back", |s| !screen_row(s, "198.51.100.14:80").is_empty())?;
    // The audit log holds every change, each logged before and after.
    let log = sh(&format!("cat {audit}"))?;
    let entries: Vec<serde_json::Value> =
        log.lines().map(serde_json::from_str).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    let ok: Vec<String> = entries
        .iter()
        .filter(|e| e["result"] == "ok")
        .map(|e| e["action"].as_str().unwrap_or("").to_string())
        .collect();
    ensure(ok == ["drain", "set-weight", "add-realserver", "delete-realserver", "add-realserver"], || {
        format!("audit log: {ok:?}\n{log}")
    })?;
    ensure(entries.iter().filter(|e| e["result"] == "sending").count() == 5, || {
        format!("changes not logged before sending:\n{log}")
    })?;
    t.keys(&["q"])?;
    for _ in 0..20 {
        if sh_status(&format!("tmux has-session -t {}", t.session)).0 != 0 {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Err("lvstop did not quit on q".into())
}

fn large_service() -> Result<(), String> {
    let mut rules = String::from("-A -t 198.51.100.100:80 -s wlc\n");
    for net in ["198.51.100", "203.0.113"] {
        for host in 1..=200 {
            rules.push_str(&format!("-a -t 198.51.100.100:80 -r {net}.{host}:80 -g -w {host}\n"));
        }
    }
    load_rules(&rules)?;
    let mut ipvs = nl()?;
    let snap = check(&mut ipvs, "400 realservers")?;
    let n = snap.services.first().map_or(0, |s| s.destinations.len());
    ensure(n == 400, || format!("{n} realservers listed, expected 400"))?;
    // 120 services: large enough for the parallel listing of destinations.
    let mut rules = String::new();
    for port in 1..=120u16 {
        rules.push_str(&format!("-A -t 198.51.100.100:{port} -s rr\n"));
        for host in 11..=13 {
            rules.push_str(&format!("-a -t 198.51.100.100:{port} -r 198.51.100.{host}:{port} -g -w {}\n", port % 7));
        }
    }
    load_rules(&rules)?;
    let snap = check(&mut ipvs, "120 services")?;
    ensure(snap.services.len() == 120 && snap.services.iter().all(|s| s.destinations.len() == 3), || {
        "services or realservers missing".into()
    })
}

/// SIGTERM, SIGHUP and SIGINT each end the console with the terminal restored:
/// the same termios settings as before (`stty -g`) and the alternate screen left.
fn console_signals() -> Result<(), String> {
    load_rules("-A -t 198.51.100.100:80 -s rr\n-a -t 198.51.100.100:80 -r 198.51.100.11:80 -g -w 1\n")?;
    for sig in ["TERM", "HUP", "INT"] {
        let t = Tmux { session: "sig" };
        sh("rm -f /tmp/stty.before /tmp/stty.after")?;
        sh(&format!(
            "tmux new-session -d -s sig -x 100 -y 30 'stty -g > /tmp/stty.before; {} --interval 0.5; echo exited=$?; stty -g > /tmp/stty.after; echo done; sleep 30'",
            lvstop_bin()
        ))?;
        t.wait("the console", |s| s.contains("TCP 198.51.100.100:80"))?;
        ensure(sh("tmux display -p -t sig '#{alternate_on}'")?.trim() == "1", || {
            "the console is not on the alternate screen".into()
        })?;
        sh(&format!("kill -{sig} $(pidof lvstop)"))?;
        let screen = t.wait(&format!("the shell after SIG{sig}"), |s| s.contains("done"))?;
        ensure(screen.contains("exited=0"), || format!("SIG{sig}: lvstop did not exit cleanly:\n{screen}"))?;
        let (before, after) = (sh("cat /tmp/stty.before")?, sh("cat /tmp/stty.after")?);
        ensure(before == after, || format!("SIG{sig}: terminal settings not restored: {before} became {after}"))?;
        ensure(sh("tmux display -p -t sig '#{alternate_on}'")?.trim() == "0", || {
            format!("SIG{sig}: alternate screen not left")
        })?;
        sh("tmux kill-session -t sig")?;
    }
    Ok(())
}

/// A table too large to list every second (500 services, listed one refresh
/// in five): a change ipvsadm makes to a realserver of a service on screen,
/// and a realserver it adds there, show (the refreshes in between read the
/// services on screen alone; `tests/console.rs` checks what one such refresh
/// changes).
fn large_table_on_screen() -> Result<(), String> {
    let mut rules = String::new();
    for port in 1..=500 {
        rules.push_str(&format!(
            "-A -t {VIP}:{port} -s rr\n-a -t {VIP}:{port} -r 198.51.100.11:{port} -g -w 5\n-a -t {VIP}:{port} -r 198.51.100.12:{port} -g -w 5\n"
        ));
    }
    load_rules(&rules)?;
    let t = Tmux { session: "big" };
    sh(&format!("tmux new-session -d -s big -x 160 -y 48 '{} --interval 1'", lvstop_bin()))?;
    t.wait("the services", |s| s.contains("Services (500)"))?;
    // The third service is on screen; its realservers are shown once it is selected.
    t.keys(&["j", "j"])?;
    t.wait("the third service's realservers", |s| !screen_row(s, "198.51.100.11:3").is_empty())?;
    sh(&format!(
        "ipvsadm -e -t {VIP}:3 -r 198.51.100.11:3 -g -w 9 && ipvsadm -a -t {VIP}:3 -r 198.51.100.13:3 -g -w 2"
    ))?;
    t.wait("the weight and the new realserver", |s| {
        screen_row(s, "198.51.100.11:3").get(2).map(String::as_str) == Some("9")
            && !screen_row(s, "198.51.100.13:3").is_empty()
    })?;
    sh("tmux kill-session -t big").map(|_| ())
}

/// SIGTERM while a batch is being applied (a drain of one realserver in 120
/// services, one audited step each): lvstop finishes the batch, or stops it
/// between two steps, before it exits, so every "sending" line of the audit log
/// has its result, and the kernel holds exactly what the log says was applied.
fn sigterm_during_a_batch() -> Result<(), String> {
    let mut rules = String::new();
    for port in 1..=120 {
        rules.push_str(&format!(
            "-A -t {VIP}:{port} -s rr\n-a -t {VIP}:{port} -r 198.51.100.11:{port} -g -w 5\n-a -t {VIP}:{port} -r 198.51.100.12:{port} -g -w 5\n"
        ));
    }
    load_rules(&rules)?;
    let dir = "/tmp/lvstop-sigterm";
    let audit = format!("{dir}/audit.log");
    sh(&format!("rm -rf {dir} && mkdir -p {dir}"))?;
    let t = Tmux { session: "term" };
    sh(&format!(
        "LVSTOP_AUDIT_LOG={audit} tmux new-session -d -s term -x 160 -y 48 '{} --interval 0.5; echo exited=$?; sleep 60'",
        lvstop_bin()
    ))?;
    t.wait("the services", |s| s.contains("198.51.100.11:1 "))?;
    t.keys(&["Tab", "D"])?;
    t.wait("the batch's confirmation", |s| s.contains("equivalent:"))?;
    // Confirm, and send SIGTERM as soon as the first step is logged: the batch is in flight.
    // lvstop is stopped while its log is counted, so the count is the log at the signal.
    sh(&format!(
        "tmux send-keys -t term y; for i in $(seq 500); do [ -s {audit} ] && break; sleep 0.01; done; \
         pid=$(pidof lvstop); kill -STOP $pid; wc -l < {audit} > {dir}/lines-at-sigterm; kill -TERM $pid; kill -CONT $pid"
    ))?;
    let screen = t.wait("lvstop's exit", |s| s.contains("exited="))?;
    sh("tmux kill-session -t term")?;
    ensure(screen.contains("exited=0"), || format!("lvstop did not exit cleanly after SIGTERM:\n{screen}"))?;
    let at_sigterm: usize =
        sh(&format!("cat {dir}/lines-at-sigterm"))?.trim().parse().map_err(|e| format!("lines at SIGTERM: {e}"))?;
    let log = sh(&format!("cat {audit}"))?;
    let entries: Vec<serde_json::Value> =
        log.lines().map(serde_json::from_str).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    let sending = entries.iter().filter(|e| e["result"] == "sending").count();
    let ok = entries.iter().filter(|e| e["result"] == "ok").count();
    ensure(entries.len() > at_sigterm, || {
        format!("the batch was not in flight at SIGTERM ({at_sigterm} lines then, {} now)", entries.len())
    })?;
    ensure(sending > 0 && sending * 2 == entries.len(), || {
        format!("{sending} 'sending' lines among {} lines: a change without its result\n{log}", entries.len())
    })?;
    let drained =
        sh("ipvsadm -S -n")?.lines().filter(|l| l.contains("-r 198.51.100.11:") && l.ends_with("-w 0")).count();
    ensure(drained == ok, || format!("{ok} steps logged as applied, {drained} realservers drained in the kernel"))
}

/// The director panel and `dump --json` show br0 (VIP and realservers) with the
/// real DR traffic's packet rate against a configured practical limit.
fn director_panel() -> Result<(), String> {
    load_rules("-A -t 198.51.100.100:80 -s rr\n-a -t 198.51.100.100:80 -r 198.51.100.11:80 -g -w 1\n-a -t 198.51.100.100:80 -r 198.51.100.12:80 -g -w 1\n")?;
    sh(
        "mkdir -p /tmp/nic && printf '[nic]\\nwarn-percent = 5.0\\n[nic.limits]\\nbr0 = 100\\n' > /tmp/nic/lvstop.toml",
    )?;
    sh(&format!("(for i in $(seq 150); do ip netns exec client curl -s -m 2 http://{VIP}/ >/dev/null; sleep 0.05; done) >/dev/null 2>&1 &"))?;
    // `--load` measures over one second: on a loaded VM the traffic may pause
    // in one, so up to five are taken until one saw packets on br0.
    let mut v = serde_json::Value::Null;
    for _ in 0..5 {
        let json = sh(&format!("LVSTOP_CONFIG=/tmp/nic/lvstop.toml {} dump --json --load", lvstop_bin()))?;
        v = serde_json::from_str(&json).map_err(|e| e.to_string())?;
        let br0_pps = v["director"]["nics"]
            .as_array()
            .and_then(|nics| nics.iter().find(|n| n["name"] == "br0").and_then(|n| n["rates"]["rx_pps"].as_f64()));
        if br0_pps.unwrap_or(0.0) > 1.0 {
            break;
        }
    }
    let nics = v["director"]["nics"].as_array().cloned().unwrap_or_default();
    let br0 = nics.iter().find(|n| n["name"] == "br0").ok_or_else(|| format!("no br0 in {}", v["director"]))?;
    ensure(br0["vips"].as_array().is_some_and(|a| a.iter().any(|x| x == "198.51.100.100")), || {
        format!("br0 does not carry the VIP: {br0}")
    })?;
    ensure(br0["to_realservers"] == true, || format!("br0 does not reach the realservers: {br0}"))?;
    ensure(br0["practical_pps"] == 100, || format!("limit not applied: {br0}"))?;
    ensure(br0["rates"]["rx_pps"].as_f64().unwrap_or(0.0) > 1.0, || format!("no traffic measured on br0: {br0}"))?;
    ensure(v["director"]["cpu_percent"].is_number(), || "no CPU figure".into())?;
    ensure(!nics.iter().any(|n| n["name"] == "lo"), || "loopback listed".into())?;
    let text = sh(&format!("LVSTOP_CONFIG=/tmp/nic/lvstop.toml {} dump --load", lvstop_bin()))?;
    ensure(text.contains("br0 [VIP, realservers]"), || format!("text dump lacks the director section:\n{text}"))?;
    // The text lists what the console's panel shows: no interface that is down (tunl0, gre0…).
    for n in nics.iter().filter(|n| n["up"] == false) {
        let name = n["name"].as_str().unwrap_or("?");
        ensure(!text.contains(&format!("  {name}")), || format!("dump --load lists {name}, which is down:\n{text}"))?;
    }
    let t = Tmux { session: "nic" };
    sh(&format!(
        "LVSTOP_CONFIG=/tmp/nic/lvstop.toml tmux new-session -d -s nic -x 160 -y 48 '{} --interval 0.5'",
        lvstop_bin()
    ))?;
    let screen = t.wait("the director panel with br0 over its limit", |s| {
        s.lines().any(|l| l.contains("│br0") && l.contains("VIP RS") && l.contains("% of 100"))
            && s.contains("⚠ br0 at")
    })?;
    if let Ok(dir) = std::env::var("LVSTOP_OUT") {
        let _ = sh(&format!("tmux capture-pane -e -p -t nic > {dir}/director.ans"));
    }
    sh("tmux kill-session -t nic")?;
    ensure(screen.contains("Director · CPU"), || "no CPU in the panel title".into())
}

fn findings(json: &str) -> Result<Vec<(String, String, String, String)>, String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("{e}: {json}"))?;
    Ok(v["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (s("id"), s("severity"), s("subject_text"), s("value"))
        })
        .collect())
}

/// Director rules on a real IPVS table: a DR realserver behind a gateway,
/// ip_forward on, a VIP the director does not hold, a drained realserver;
/// fixed, the errors go away.
fn director_checks() -> Result<(), String> {
    sh("ip route replace 203.0.113.0/24 via 198.51.100.11 && sysctl -qw net.ipv4.ip_forward=1")?;
    load_rules(
        "-A -t 198.51.100.100:80 -s rr
-a -t 198.51.100.100:80 -r 198.51.100.11:80 -g -w 1
-a -t 198.51.100.100:80 -r 198.51.100.12:80 -g -w 0
-a -t 198.51.100.100:80 -r 203.0.113.5:80 -g -w 1
-A -t 198.51.100.101:80 -s rr
-a -t 198.51.100.101:80 -r 198.51.100.13:80 -g -w 1
",
    )?;
    sh(&format!("ip netns exec client curl -s -m 2 http://{VIP}/ >/dev/null || true"))?;
    let (code, json, err) = sh_status(&format!("{} check --json", lvstop_bin()));
    let found = findings(&json)?;
    let has = |id: &str, subject: &str| found.iter().any(|f| f.0 == id && f.2.contains(subject));
    let result = (|| {
        ensure(code == 1, || format!("check exited {code} with errors present: {err}"))?;
        ensure(has("D-RS-OFFLINK", "203.0.113.5"), || format!("no D-RS-OFFLINK: {found:?}"))?;
        ensure(found.iter().any(|f| f.0 == "D-RS-OFFLINK" && f.3 == "route via 198.51.100.11"), || {
            format!("D-RS-OFFLINK does not show the route read: {found:?}")
        })?;
        ensure(has("D-FWD-ON", "ip_forward"), || format!("no D-FWD-ON: {found:?}"))?;
        ensure(has("D-VIP-ABSENT", "198.51.100.101"), || format!("no D-VIP-ABSENT: {found:?}"))?;
        ensure(!has("D-VIP-ABSENT", "198.51.100.100"), || format!("the held VIP is reported absent: {found:?}"))?;
        ensure(has("D-DRAIN", "198.51.100.12:80"), || format!("no D-DRAIN: {found:?}"))?;
        ensure(!has("D-RS-OFFLINK", "198.51.100.11"), || {
            format!("an on-link realserver is reported off-link: {found:?}")
        })?;
        let text = sh_status(&format!("{} check", lvstop_bin())).1;
        ensure(text.contains("fix:  sysctl -w net.ipv4.ip_forward=0"), || {
            format!("text report lacks the fix:\n{text}")
        })?;
        // The console's checks view shows the same findings, and marks the realserver.
        let t = Tmux { session: "chk" };
        sh(&format!("tmux new-session -d -s chk -x 160 -y 48 '{} --interval 0.5'", lvstop_bin()))?;
        t.wait("the marked realserver", |s| s.contains("TCP 198.51.100.100:80 !"))?;
        t.keys(&["c"])?;
        t.wait("the checks view", |s| {
            s.contains("LVS-DR checks") && s.contains("D-RS-OFFLINK") && s.contains("D-FWD-ON")
        })?;
        if let Ok(dir) = std::env::var("LVSTOP_OUT") {
            let _ = sh(&format!("tmux capture-pane -e -p -t chk > {dir}/checks.ans"));
        }
        sh("tmux kill-session -t chk")?;
        // Fixed: no errors left, exit 0.
        sh("sysctl -qw net.ipv4.ip_forward=0 && ipvsadm -d -t 198.51.100.100:80 -r 203.0.113.5:80 && ipvsadm -D -t 198.51.100.101:80")?;
        let (code, json, _) = sh_status(&format!("{} check --json", lvstop_bin()));
        let left = findings(&json)?;
        ensure(code == 0 && left.iter().all(|f| f.1 != "error"), || {
            format!("errors left after the fixes ({code}): {left:?}")
        })?;
        ensure(!left.iter().any(|f| f.0 == "D-FWD-ON"), || format!("D-FWD-ON after the fix: {left:?}"))
    })();
    let _ = sh("ip route del 203.0.113.0/24; sysctl -qw net.ipv4.ip_forward=0");
    result
}

/// A check's findings with their message and fix.
fn findings_full(json: &str) -> Result<Vec<serde_json::Value>, String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("{e}: {json}"))?;
    Ok(v["findings"].as_array().cloned().unwrap_or_default())
}

/// The drain and failover rules on a real kernel with real traffic: a
/// persistent service whose drained realserver still gets its client (the
/// kernel keeps the template), a realserver removed with a connection left,
/// sh without sh-fallback and a drained realserver (the fix lvstop prints
/// silences it), mh without sync, conn_reuse_mode=0.
fn drain_and_failover_rules() -> Result<(), String> {
    load_rules(&format!(
        "-A -t {VIP}:80 -s rr -p 300
-a -t {VIP}:80 -r 198.51.100.11:80 -g -w 1
-a -t {VIP}:80 -r 198.51.100.12:80 -g -w 1
-A -t [{VIP6}]:80 -s sh
-a -t [{VIP6}]:80 -r [2001:db8::11]:80 -g -w 0
-a -t [{VIP6}]:80 -r [2001:db8::12]:80 -g -w 1
-A -t {VIP}:443 -s mh
-a -t {VIP}:443 -r 198.51.100.13:443 -g -w 1
"
    ))?;
    let result = (|| {
        sh("sysctl -qw net.ipv4.vs.conn_reuse_mode=0 net.ipv4.vs.expire_nodest_conn=0 net.ipv4.vs.sloppy_tcp=0 \
            net.ipv4.vs.expire_quiescent_template=0")?;
        let first = sh(&format!("ip netns exec client curl -s -m 5 http://{VIP}/"))?;
        let rs = first.trim().to_string();
        let rip = match rs.as_str() {
            "rs1" => "198.51.100.11",
            "rs2" => "198.51.100.12",
            other => return Err(format!("the client reached {other:?}")),
        };
        // Drained, the realserver still gets the persistent client: the kernel keeps its template.
        sh(&format!("ipvsadm -e -t {VIP}:80 -r {rip}:80 -g -w 0"))?;
        let again = sh(&format!("ip netns exec client curl -s -m 5 http://{VIP}/"))?;
        ensure(again.trim() == rs, || format!("after the drain the client went to {again:?}, not {rs}"))?;
        let (_, json, err) = sh_status(&format!("{} check --json --no-ssh", lvstop_bin()));
        let found = findings_full(&json).map_err(|e| format!("{e} {err}"))?;
        let one = |id: &str, subject: &str| {
            found
                .iter()
                .find(|f| f["id"] == id && f["subject_text"].as_str().unwrap_or_default().contains(subject))
                .cloned()
        };
        let drain = one("D-DRAIN", &format!("{rip}:80")).ok_or_else(|| format!("no D-DRAIN: {found:#?}"))?;
        let message = drain["message"].as_str().unwrap_or_default();
        ensure(message.contains("1 persistence template still sends its client here, the last for 4:"), || {
            format!("{drain:#}")
        })?;
        ensure(drain["evidence"]["templates"][0] == 1, || format!("one template expected: {drain:#}"))?;
        let fallback =
            one("D-SCHED-FALLBACK", "[2001:db8::11]:80").ok_or_else(|| format!("no D-SCHED-FALLBACK: {found:#?}"))?;
        ensure(one("D-SCHED-FALLBACK", "[2001:db8::12]").is_none(), || "the usable realserver is named".into())?;
        ensure(one("D-SLOPPY", "sloppy_tcp").is_some(), || format!("no D-SLOPPY: {found:#?}"))?;
        ensure(one("D-CONN-REUSE", "conn_reuse_mode").is_some(), || format!("no D-CONN-REUSE: {found:#?}"))?;
        // The fix lvstop prints, run as printed, silences D-SCHED-FALLBACK.
        let fix = fallback["fix"].as_str().unwrap_or_default().to_string();
        ensure(fix.starts_with("ipvsadm -E ") && fix.contains("sh-fallback"), || format!("fix: {fix}"))?;
        sh(&fix)?;
        ensure(sh("ipvsadm -L -n")?.contains("sh-fallback"), || "the fix did not set the flag".into())?;
        // A realserver removed with a connection left: its entries stay, their packets dropped.
        sh(&format!("ip netns exec client sh -c \"sleep 120 | curl -s telnet://{VIP}:80\" >/dev/null 2>&1 &"))?;
        wait_for("ipvsadm -Lcn", "the held connection", |s| {
            s.lines().any(|l| l.contains("ESTABLISHED") && l.contains(&format!("{VIP}:80")))
        })?;
        sh(&format!("ipvsadm -e -t {VIP}:80 -r {rip}:80 -g -w 1"))?;
        let held = sh(&format!("{} conns --json --state established --vip {VIP}:80", lvstop_bin()))?;
        let held: serde_json::Value = serde_json::from_str(&held).map_err(|e| e.to_string())?;
        let held_rs = held["connections"][0]["realserver"].as_str().unwrap_or_default().to_string();
        ensure(!held_rs.is_empty(), || format!("no held connection: {held}"))?;
        sh(&format!("ipvsadm -d -t {VIP}:80 -r {held_rs}"))?;
        let (_, json, _) = sh_status(&format!("{} check --json --no-ssh", lvstop_bin()));
        let found = findings_full(&json)?;
        let nodest = found
            .iter()
            .find(|f| f["id"] == "D-NODEST" && f["subject_text"].as_str().unwrap_or_default().contains(&held_rs))
            .ok_or_else(|| format!("no D-NODEST for {held_rs}: {found:#?}"))?;
        ensure(
            nodest["severity"] == "warning"
                && nodest["fix"].as_str().unwrap_or_default().contains("expire_nodest_conn=1")
                && nodest["message"].as_str().unwrap_or_default().contains(&format!("they are to {VIP}:80)")),
            || format!("{nodest:#}"),
        )?;
        ensure(!found.iter().any(|f| f["id"] == "D-SCHED-FALLBACK"), || {
            format!("D-SCHED-FALLBACK after its fix: {found:#?}")
        })?;
        // With expire_nodest_conn=1 the kernel expires them (5.9+): nothing left to report.
        sh("sysctl -qw net.ipv4.vs.expire_nodest_conn=1 net.ipv4.vs.conn_reuse_mode=1; sleep 1")?;
        sh(&format!("ip netns exec client curl -s -m 2 http://{VIP}/ >/dev/null || true"))?;
        let (_, json, _) = sh_status(&format!("{} check --json --no-ssh", lvstop_bin()));
        let found = findings_full(&json)?;
        ensure(!found.iter().any(|f| f["id"] == "D-CONN-REUSE"), || format!("D-CONN-REUSE after its fix: {found:#?}"))?;
        Ok(())
    })();
    let _ =
        sh("sysctl -qw net.ipv4.vs.conn_reuse_mode=1 net.ipv4.vs.expire_nodest_conn=0; pkill -xf 'sleep 120'; true");
    result
}

/// Kill the lab's HTTP server in realserver namespace `ns` (its sshd stays).
fn kill_httpd(ns: &str) -> String {
    format!("for p in $(ip netns pids {ns}); do grep -q httpd /proc/$p/cmdline 2>/dev/null && kill $p; done; true")
}

/// D-DR-PATH against the real IPVS table, IPv4 and IPv6: rs1 healthy, rs2
/// without the VIP on lo, rs3 with nothing listening on port 80; each named
/// exactly, by its answer, and none once they are repaired.
fn dr_path_probe() -> Result<(), String> {
    load_rules(&dr_rules("rr", 3))?;
    let broken = (|| {
        sh(&format!("ip netns exec rs2 ip addr del {VIP}/32 dev lo; ip netns exec rs2 ip addr del {VIP6}/128 dev lo"))?;
        sh(&kill_httpd("rs3"))?;
        wait_for("ip netns exec rs3 ss -Htln 'sport = :80'", "rs3 without a listener", |s| s.trim().is_empty())?;
        // The probe gives each realserver a second to answer a SYN, and another to a
        // second SYN: a loaded VM may still be later, so the check runs up to three times.
        let mut last = String::new();
        for _ in 0..3 {
            let (code, json, err) = sh_status(&format!("{} check --json --no-ssh", lvstop_bin()));
            let found = findings_full(&json).map_err(|e| format!("{e} {err}"))?;
            let path: Vec<&serde_json::Value> = found.iter().filter(|f| f["id"] == "D-DR-PATH").collect();
            let of = |rip: &str| path.iter().find(|f| f["subject_text"].as_str().unwrap_or_default().contains(rip));
            let answers = [
                ("198.51.100.12:80", "nothing"),
                ("198.51.100.13:80", "rst"),
                ("[2001:db8::12]:80", "nothing"),
                ("[2001:db8::13]:80", "rst"),
            ];
            if path.len() == 4
                && answers.iter().all(|(rip, answer)| of(rip).is_some_and(|f| f["evidence"]["answer"] == *answer))
            {
                ensure(code == 1, || format!("D-DR-PATH is an error, exit {code}"))?;
                // The healthy realserver's half-open connections were reset.
                return wait_for(
                    "ip netns exec rs1 ss -Htn state syn-recv",
                    "rs1 without half-open connections",
                    |s| s.trim().is_empty(),
                );
            }
            last = format!("{path:#?}");
        }
        Err(format!("rs2 (nothing) and rs3 (rst), in each family, expected; last:\n{last}"))
    })();
    let _ = sh(&format!(
        "ip netns exec rs2 ip addr add {VIP}/32 dev lo 2>/dev/null; ip netns exec rs2 ip addr add {VIP6}/128 dev lo nodad 2>/dev/null; \
         ip netns exec rs3 busybox httpd -p 80 -h /tmp/lab/rs3; true"
    ));
    broken?;
    let mut found = Vec::new();
    for _ in 0..3 {
        let (_, json, _) = sh_status(&format!("{} check --json --no-ssh", lvstop_bin()));
        found = findings_full(&json)?;
        if !found.iter().any(|f| f["id"] == "D-DR-PATH") {
            return Ok(());
        }
    }
    Err(format!("D-DR-PATH after the repair: {found:#?}"))
}

/// The console's connections view (o) against the real kernel: a drained
/// realserver with a client still on it lists that client and its entry; when
/// the connection is gone (its entry expired), it says safe to remove; and
/// `:client ADDR` finds the client's realserver.
fn console_connections_view() -> Result<(), String> {
    load_rules(&format!(
        "-A -t {VIP}:80 -s rr
-a -t {VIP}:80 -r 198.51.100.11:80 -g -w 0
"
    ))?;
    // A TCP timeout of 2 s after FIN (ipvsadm --set tcp tcpfin udp) lets the entry go quickly.
    sh("ipvsadm --set 900 2 300")?;
    let t = Tmux { session: "cv" };
    let result = (|| {
        // A client held on the realserver (until the test ends it); then drained.
        let held_client = format!(
            "ipvsadm -e -t {VIP}:80 -r 198.51.100.11:80 -g -w 1; \
             ip netns exec client sh -c \"sleep 300 | curl -s telnet://{VIP}:80\" >/dev/null 2>&1 &"
        );
        let established = |s: &str| s.lines().any(|l| l.contains("ESTABLISHED") && l.contains("198.51.100.11:80"));
        sh(&held_client)?;
        wait_for("ipvsadm -Lcn", "the client's connection", established)?;
        sh(&format!("ipvsadm -e -t {VIP}:80 -r 198.51.100.11:80 -g -w 0"))?;
        sh(&format!("tmux new-session -d -s cv -x 160 -y 48 '{} --interval 0.5'", lvstop_bin()))?;
        t.wait("the drained realserver", |s| s.contains("198.51.100.11:80"))?;
        t.keys(&["Tab", "o"])?;
        let screen = t.wait("the connections of the drained realserver", |s| {
            s.contains("Connections of 198.51.100.11:80")
                && s.contains("ESTABLISHED")
                && s.contains("drained: 1 client")
        })?;
        ensure(screen.contains("198.51.100.50:"), || format!("the client is not listed:\n{screen}"))?;
        // The client leaves (its FIN moves the entry to FIN_WAIT, 2 s here); once
        // the entry has expired the view says so.
        sh("pkill -x curl; true")?;
        let screen =
            t.wait("safe to remove", |s| s.contains("no connection or persistence template left: safe to remove"))?;
        ensure(!screen.contains("ESTABLISHED"), || format!("an entry is still listed:\n{screen}"))?;
        t.keys(&["Escape"])?;
        // Restored, it takes a new client: `:client` finds it there.
        sh(&held_client)?;
        wait_for("ipvsadm -Lcn", "the new client's connection", established)?;
        t.keys(&[":"])?;
        t.type_text("client 198.51.100.50")?;
        t.keys(&["Enter"])?;
        t.wait("where the client is", |s| {
            s.contains("Where client 198.51.100.50 is") && s.contains("198.51.100.11:80") && s.contains("ESTABLISHED")
        })?;
        Ok(())
    })();
    if result.is_err() {
        if let Ok(dir) = std::env::var("LVSTOP_OUT") {
            let _ = sh(&format!("tmux capture-pane -p -t cv > {dir}/conns-view.txt"));
        }
    }
    let _ = sh("tmux kill-session -t cv; ipvsadm --set 900 120 300; pkill -x curl; pkill -xf 'sleep 300'; true");
    result
}

/// A keepalived (a stand-in process of that name, as root, started with `-f`
/// and its own file) that configures three realservers of a service, one of
/// which the kernel's table lacks (its health check removed it): the console
/// marks the service managed, by that file, and shows the third "down (check)".
fn keepalived_down() -> Result<(), String> {
    load_rules(
        "-A -t 198.51.100.100:80 -s wlc
-a -t 198.51.100.100:80 -r 198.51.100.11:80 -g -w 1
-a -t 198.51.100.100:80 -r 198.51.100.12:80 -g -w 1
",
    )?;
    sh("mkdir -p /tmp/kd && printf '#!/bin/sh\\nsleep 600\\n' > /tmp/kd/keepalived && chmod +x /tmp/kd/keepalived")?;
    let conf = "virtual_server 198.51.100.100 80 {
    lb_algo wlc
    lb_kind DR
    protocol TCP
    real_server 198.51.100.11 80 { TCP_CHECK { connect_timeout 3 } }
    real_server 198.51.100.12 80 { TCP_CHECK { connect_timeout 3 } }
    real_server 198.51.100.13 80 { TCP_CHECK { connect_timeout 3 } }
}
";
    std::fs::write("/tmp/kd/lb.conf", conf).map_err(|e| e.to_string())?;
    sh("(/tmp/kd/keepalived -f /tmp/kd/lb.conf >/dev/null 2>&1 &)")?;
    // The console looks for keepalived when it starts: the stand-in must be running by then.
    wait_for("pgrep -f '^/bin/sh /tmp/kd/keepalived' || true", "the keepalived stand-in", |s| !s.trim().is_empty())?;
    let t = Tmux { session: "kd" };
    sh(&format!("tmux new-session -d -s kd -x 160 -y 48 '{} --interval 1'", lvstop_bin()))?;
    let r = (|| {
        t.wait("the table", |s| s.contains("198.51.100.12:80"))?;
        t.keys(&["Tab"])?;
        let s = t.wait("the down realserver", |s| s.contains("down (check)"))?;
        ensure(s.contains("managed by keepalived (/tmp/kd/lb.conf)"), || format!("no managed title:\n{s}"))?;
        let row = s.lines().find(|l| l.contains("down (check)")).unwrap_or_default();
        ensure(row.contains("198.51.100.13:80"), || format!("the down row: {row}"))?;
        ensure(!s.lines().any(|l| l.contains("198.51.100.11:80") && l.contains("down")), || s.clone())?;
        // Once the kernel has it again (the check passed), the row is the kernel's.
        sh("ipvsadm -a -t 198.51.100.100:80 -r 198.51.100.13:80 -g -w 1")?;
        t.wait("the realserver back", |s| !s.contains("down (check)") && s.contains("198.51.100.13:80"))?;
        Ok(())
    })();
    let _ = sh_status("tmux kill-session -t kd; pkill -f '^/bin/sh /tmp/kd/keepalived'");
    r
}
