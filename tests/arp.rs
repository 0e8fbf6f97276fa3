//! The ARP problem, for real, in network namespaces on this host: a director
//! namespace with a bridge holding the VIP, three realservers with the VIP on
//! lo (each serving port 80, so that the DR path probe finds them healthy),
//! one of them without arp_ignore/arp_announce. `lvstop check` must name
//! exactly that one by MAC and RIP; fixed, it reports none.
#![allow(clippy::panic)] // a failing test panics

mod common;

use std::process::Command;

use common::{run, Netns};

fn check(director: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let out = Command::new("ip")
        .args(["netns", "exec", director, env!("CARGO_BIN_EXE_lvstop"), "check", "--json", "--vip", "198.51.100.100"])
        .args(extra)
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
    let _guard = Netns(std::iter::once(d.clone()).chain(rs.iter().cloned()).collect(), "lva");
    let mut setup = format!(
        "ip netns add {d} && ip -n {d} link set lo up && ip -n {d} link add br0 type bridge && ip -n {d} link set br0 up && \
         ip -n {d} addr add 198.51.100.1/24 dev br0 && ip -n {d} addr add 198.51.100.100/32 dev br0 && \
         ip -n {d} addr add 198.51.100.101/32 dev br0"
    );
    for (i, r) in rs.iter().enumerate() {
        let n = i + 1;
        setup.push_str(&format!(
            " && ip netns add {r} && ip link add lva{n}{id} type veth peer name eth0 netns {r} && ip link set lva{n}{id} netns {d} && \
             ip -n {d} link set lva{n}{id} master br0 up && ip -n {r} link set lo up && ip -n {r} link set eth0 up && \
             ip -n {r} addr add 198.51.100.1{n}/24 dev eth0 && ip -n {r} addr add 198.51.100.100/32 dev lo && \
             ip -n {r} addr add 198.51.100.101/32 dev lo && \
             mkdir -p /tmp/lva{id} && ip netns exec {r} busybox httpd -p 80 -h /tmp/lva{id}"
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
    let mac3 = run(&format!("ip -n {} -o link show eth0", rs[2])).expect("link");
    let mac3 = mac3.split("link/ether ").nth(1).and_then(|s| s.split_whitespace().next()).expect("mac").to_string();
    // The director has never talked to its realservers (empty neighbour table):
    // the MACs are named from the probe's own questions to the --realserver RIPs.
    let targets = ["--no-ssh", "--realserver", "198.51.100.11:80", "--realserver", "198.51.100.12:80"];
    let mut targets = targets.to_vec();
    targets.extend(["--realserver", "198.51.100.13:80"]);
    let by_id = |v: &serde_json::Value, id: &str| -> Vec<String> {
        v["findings"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|f| f["id"] == id)
                    .map(|f| f["value"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    // rs3 sends from the VIP to an absent neighbour while lvstop listens: with
    // arp_announce=0 its ARP requests carry the VIP as sender.
    let announce = |r: &str| {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                r,
                "busybox",
                "ping",
                "-I",
                "198.51.100.100",
                "-c",
                "4",
                "-W",
                "1",
                "198.51.100.50",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("ping")
    };
    let mut listen = targets.clone();
    listen.extend(["--listen", "4"]);
    // Two VIPs on one interface, probed in one listening window, each with the DIP as sender.
    let mut both = listen.clone();
    both.extend(["--vip", "198.51.100.101"]);

    let mut ping = announce(&rs[2]);
    let (code, v) = check(&d, &both);
    let _ = ping.wait();
    let arp = by_id(&v, "D-ARP-FOREIGN");
    assert_eq!(arp.len(), 2, "expected rs3 for each VIP: {v:#}");
    for (finding, vip) in arp.iter().zip(["198.51.100.100", "198.51.100.101"]) {
        assert!(
            finding.contains(&mac3) && finding.contains("198.51.100.13"),
            "the finding names {finding}, not rs3 {mac3}"
        );
        assert!(finding.contains(vip), "{finding}");
        assert!(!finding.contains("198.51.100.11") && !finding.contains("198.51.100.12"), "{finding}");
    }
    let ann = by_id(&v, "D-ARP-ANNOUNCE");
    assert_eq!(ann.len(), 1, "rs3 announced the VIP as its ARP sender: {v:#}");
    assert!(ann[0].contains(&mac3) && ann[0].contains("198.51.100.13"), "{}", ann[0]);
    assert_eq!(code, 1, "an ARP problem is an error");

    // arp_ignore fixed, arp_announce still 0: rs3 no longer answers but still announces.
    run(&format!("ip netns exec {} sysctl -qw net.ipv4.conf.all.arp_ignore=1", rs[2])).expect("fix ignore");
    let mut ping = announce(&rs[2]);
    let (_, v) = check(&d, &listen);
    let _ = ping.wait();
    assert!(by_id(&v, "D-ARP-FOREIGN").is_empty(), "{v:#}");
    assert_eq!(by_id(&v, "D-ARP-ANNOUNCE").len(), 1, "{v:#}");

    // Fixed, the probe finds nobody, even while rs3 sends from the VIP.
    run(&format!("ip netns exec {} sysctl -qw net.ipv4.conf.all.arp_announce=2", rs[2])).expect("fix announce");
    let mut ping = announce(&rs[2]);
    let (code, v) = check(&d, &listen);
    let _ = ping.wait();
    let left = by_id(&v, "D-ARP-FOREIGN").len() + by_id(&v, "D-ARP-ANNOUNCE").len();
    assert_eq!(left, 0, "still flagged after the fix: {v:#}");
    assert_eq!(code, 0, "{v:#}");
}
