//! The DR path probe (D-DR-PATH), for real, in network namespaces on this
//! host: a director namespace holding the VIP on a bridge and three
//! realservers on it — one healthy (VIP on lo, a server on VIP:80) whose
//! firewall drops every other SYN (the first one lost, as on a busy network:
//! the probe's second SYN must reach it), one without the VIP, one with the
//! VIP and nothing listening. `lvstop check`
//! must name exactly the two broken ones, each with its cause, and nothing
//! for the healthy one; it needs no IPVS (the realservers are given with
//! `--realserver`), so it runs on any Linux host as root.
#![allow(clippy::panic)] // a failing test panics

mod common;

use std::process::Command;

use common::{run, Netns};

#[test]
fn the_dr_path_probe_names_the_realserver_without_the_vip_and_the_one_without_a_listener() {
    let id = std::process::id();
    let d = format!("lpd{id}");
    let rs: Vec<String> = (1..=3).map(|i| format!("lpr{i}-{id}")).collect();
    let _guard = Netns(std::iter::once(d.clone()).chain(rs.iter().cloned()).collect(), "lpr");
    let mut setup = format!(
        "ip netns add {d} && ip -n {d} link set lo up && ip -n {d} link add br0 type bridge && ip -n {d} link set br0 up && \
         ip -n {d} addr add 198.51.100.1/24 dev br0 && ip -n {d} addr add 198.51.100.100/32 dev br0"
    );
    for (i, r) in rs.iter().enumerate() {
        let n = i + 1;
        setup.push_str(&format!(
            " && ip netns add {r} && ip link add lpa{n}{id} type veth peer name eth0 netns {r} && ip link set lpa{n}{id} netns {d} && \
             ip -n {d} link set lpa{n}{id} master br0 up && ip -n {r} link set lo up && ip -n {r} link set eth0 up && \
             ip -n {r} addr add 198.51.100.1{n}/24 dev eth0 && \
             ip netns exec {r} sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2"
        ));
        // rs2 lacks the VIP; rs3 has it but serves nothing.
        if n != 2 {
            setup.push_str(&format!(" && ip -n {r} addr add 198.51.100.100/32 dev lo"));
        }
        if n == 1 {
            setup.push_str(&format!(
                " && ip netns exec {r} nft 'add table inet t; add chain inet t in {{ type filter hook input priority 0; }}; \
                 add rule inet t in tcp dport 80 tcp flags syn numgen inc mod 2 == 0 drop'"
            ));
        }
        if n != 3 {
            setup.push_str(&format!(
                " && mkdir -p /tmp/lpr{id} && ip netns exec {r} busybox httpd -p 80 -h /tmp/lpr{id}"
            ));
        }
    }
    if let Err(e) = run(&setup) {
        assert!(std::env::var_os("CI").is_none(), "network namespaces are required on CI: {e}");
        println!("SKIP: cannot create network namespaces here (need root, iproute2, nftables and busybox): {e}");
        return;
    }
    let out = Command::new("ip")
        .args(["netns", "exec", &d, env!("CARGO_BIN_EXE_lvstop"), "check", "--json", "--no-ssh"])
        .args(["--vip", "198.51.100.100"])
        .args([
            "--realserver",
            "198.51.100.11:80",
            "--realserver",
            "198.51.100.12:80",
            "--realserver",
            "198.51.100.13:80",
        ])
        .output()
        .expect("run lvstop check");
    // The healthy realserver's half-open connection was reset, not left to time out.
    let half_open = run(&format!("ip netns exec {} ss -Htn state syn-recv", rs[0])).unwrap_or_default();
    assert!(half_open.trim().is_empty(), "the probe left a half-open connection on rs1: {half_open}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("bad JSON ({e}): {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    let path: Vec<&serde_json::Value> =
        v["findings"].as_array().into_iter().flatten().filter(|f| f["id"] == "D-DR-PATH").collect();
    let of = |rip: &str| path.iter().find(|f| f["subject_text"].as_str().unwrap_or_default().contains(rip));
    assert_eq!(path.len(), 2, "exactly rs2 and rs3: {v:#}");
    assert!(of("198.51.100.11").is_none(), "the healthy realserver, its first SYN lost, is named: {v:#}");
    let no_vip = of("198.51.100.12:80").unwrap_or_else(|| panic!("rs2 (no VIP) not named: {v:#}"));
    assert_eq!(no_vip["evidence"]["answer"], "nothing", "{no_vip:#}");
    assert!(no_vip["fix"].as_str().unwrap_or_default().contains("ip addr add 198.51.100.100/32 dev lo"), "{no_vip:#}");
    let no_listener = of("198.51.100.13:80").unwrap_or_else(|| panic!("rs3 (no listener) not named: {v:#}"));
    assert_eq!(no_listener["evidence"]["answer"], "rst", "{no_listener:#}");
    assert!(no_listener["message"].as_str().unwrap_or_default().contains("nothing listens"), "{no_listener:#}");
    assert_eq!(out.status.code(), Some(1), "D-DR-PATH is an error");
}
