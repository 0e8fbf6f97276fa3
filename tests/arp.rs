//! The ARP problem, for real, in network namespaces on this host: a director
//! namespace with a bridge holding the VIP, three realservers with the VIP on
//! lo, one of them without arp_ignore/arp_announce. `lvstop check` must name
//! exactly that one by MAC and RIP; fixed, it reports none.
#![allow(clippy::panic)] // a failing test panics

mod common;

use std::process::Command;

use common::run;

struct Netns(Vec<String>);

impl Drop for Netns {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = run(&format!("ip netns del {n}"));
        }
    }
}

fn check(director: &str) -> (i32, serde_json::Value) {
    let out = Command::new("ip")
        .args(["netns", "exec", director, env!("CARGO_BIN_EXE_lvstop"), "check", "--json", "--vip", "198.51.100.100"])
        .output()
        .expect("run lvstop check");
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("bad JSON ({e}): {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    (out.status.code().unwrap_or(-1), v)
}

#[test]
fn the_arp_probe_names_exactly_the_misconfigured_realserver() {
    let id = std::process::id();
    let d = format!("lvd{id}");
    let rs: Vec<String> = (1..=3).map(|i| format!("lvr{i}-{id}")).collect();
    let _guard = Netns(std::iter::once(d.clone()).chain(rs.iter().cloned()).collect());
    let mut setup = format!(
        "ip netns add {d} && ip -n {d} link set lo up && ip -n {d} link add br0 type bridge && ip -n {d} link set br0 up && \
         ip -n {d} addr add 198.51.100.1/24 dev br0 && ip -n {d} addr add 198.51.100.100/32 dev br0"
    );
    for (i, r) in rs.iter().enumerate() {
        let n = i + 1;
        setup.push_str(&format!(
            " && ip netns add {r} && ip link add lva{n}{id} type veth peer name eth0 netns {r} && ip link set lva{n}{id} netns {d} && \
             ip -n {d} link set lva{n}{id} master br0 up && ip -n {r} link set lo up && ip -n {r} link set eth0 up && \
             ip -n {r} addr add 198.51.100.1{n}/24 dev eth0 && ip -n {r} addr add 198.51.100.100/32 dev lo"
        ));
        if n != 3 {
            setup.push_str(&format!(
                " && ip netns exec {r} sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2"
            ));
        }
    }
    if let Err(e) = run(&setup) {
        assert!(std::env::var_os("CI").is_none(), "network namespaces are required on CI: {e}");
        println!("SKIP: cannot create network namespaces here (need root and iproute2): {e}");
        return;
    }
    // The director has talked to its realservers: they are in its neighbour table.
    for n in 1..=3 {
        run(&format!("ip netns exec {d} busybox ping -c 1 -W 2 198.51.100.1{n}")).expect("ping");
    }
    let mac3 = run(&format!("ip -n {} -o link show eth0", rs[2])).expect("link");
    let mac3 = mac3.split("link/ether ").nth(1).and_then(|s| s.split_whitespace().next()).expect("mac").to_string();

    let (code, v) = check(&d);
    let arp: Vec<&serde_json::Value> =
        v["findings"].as_array().map(|a| a.iter().filter(|f| f["id"] == "D-ARP-FOREIGN").collect()).unwrap_or_default();
    assert_eq!(arp.len(), 1, "expected one ARP offender: {v:#}");
    let value = arp[0]["value"].as_str().unwrap_or_default();
    assert!(value.contains(&mac3) && value.contains("198.51.100.13"), "the finding names {value}, not rs3 {mac3}");
    assert!(!value.contains("198.51.100.11") && !value.contains("198.51.100.12"), "{value}");
    assert_eq!(code, 1, "an ARP problem is an error");

    // Fixed, the probe finds nobody.
    run(&format!("ip netns exec {} sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2", rs[2]))
        .expect("fix");
    let (code, v) = check(&d);
    let left = v["findings"].as_array().map_or(0, |a| a.iter().filter(|f| f["id"] == "D-ARP-FOREIGN").count());
    assert_eq!(left, 0, "still flagged after the fix: {v:#}");
    assert_eq!(code, 0, "{v:#}");
}
