//! Realserver checks over a real OpenSSH: sshd runs in each realserver
//! namespace (whose /proc/sys/net and /proc/net are its own) with a generated
//! key; the rules pass and fail on what each namespace was given, and an
//! unreachable host and one that hangs are reported instead of waited on.
//!
//! The director namespace holds br0 (DIP 198.51.100.1/24, VIP 198.51.100.100)
//! with every realserver's veth on it:
//! * rs1 .11: done right; must pass cleanly.
//! * rs2 .12: VIP/28 on lo, arp_ignore=4 on eth0 overriding all=1, nothing listening.
//! * rs3 .13: accepts TCP on 22 and never sends a byte (hangs); .19 does not exist.
//! * rs4 .14: rp_filter=1 on eth0 while its route to the clients (203.0.113.0/24)
//!   leaves by a second veth: R-RPF-STRICT. A client namespace on br0 pings it
//!   from 203.0.113.7, which rp_filter drops: R-RPF-COUNTER.
//! * rs5 .15: its route to the DIP goes via a gateway (a /32 route via .254,
//!   .254 pinned to the director's MAC so replies still arrive): R-L2. Its sshd
//!   listens only on a second address .25, port 2222, and allows only root while
//!   [ssh] says user "nobody": it is read only through its per-host
//!   `{ host, user, port }` entry.
//! * rs6 .16: a tunnel realserver with tunl0 and rp_filter=1: R-RPF-TUN (needs
//!   the ipip module; where the host lacks it, tests/lab.rs covers the rule in
//!   the lab VM, whose kernel has it).
#![allow(clippy::panic)] // a failing test panics

mod common;

use common::run;

/// Kills the sshd and namespaces and removes the files, however the test ends.
struct Cleanup(Vec<String>, String);
impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = run(&format!("for p in {0}/sshd*.pid; do kill $(cat $p) 2>/dev/null; done; true", self.1));
        for n in &self.0 {
            let _ = run(&format!("ip netns pids {n} | xargs -r kill 2>/dev/null; ip netns del {n}"));
        }
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

/// Start sshd `n` in namespace `ns` on `addr:port` (root only, the generated
/// keys); its known_hosts line.
fn sshd(dir: &std::path::Path, n: usize, ns: &str, addr: &str, port: u16) -> String {
    let dirs = dir.display();
    let cfg = format!(
        "Port {port}\nListenAddress {addr}\nHostKey {dirs}/host{n}\nPidFile {dirs}/sshd{n}.pid\n\
         AuthorizedKeysFile {dirs}/authorized_keys\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n\
         KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nAllowUsers root\n"
    );
    std::fs::write(dir.join(format!("sshd{n}.conf")), cfg).expect("sshd config");
    run(&format!(
        "ssh-keygen -q -t ed25519 -N '' -f {dirs}/host{n} && ip netns exec {ns} /usr/sbin/sshd -f {dirs}/sshd{n}.conf"
    ))
    .expect("sshd");
    let key = std::fs::read_to_string(dir.join(format!("host{n}.pub"))).expect("host key");
    let key: Vec<&str> = key.split_whitespace().take(2).collect();
    let host = if port == 22 { addr.to_string() } else { format!("[{addr}]:{port}") };
    format!("{host} {}\n", key.join(" "))
}

#[test]
fn realserver_rules_over_ssh() {
    let ci = std::env::var_os("CI").is_some();
    if !std::path::Path::new("/usr/sbin/sshd").exists() {
        assert!(!ci, "openssh-server is required on CI");
        println!("SKIP: /usr/sbin/sshd is not installed (apt-get install openssh-server)");
        return;
    }
    let id = std::process::id();
    let dir = std::env::temp_dir().join(format!("lvstop-ssh-{id}"));
    let _ = std::fs::create_dir_all(&dir);
    let dirs = dir.display().to_string();
    let d = format!("lvsd{id}");
    let c = format!("lvsc{id}");
    let rs: Vec<String> = (1..=6).map(|i| format!("lvss{i}-{id}")).collect();
    let _cleanup = Cleanup([d.clone(), c.clone()].into_iter().chain(rs.iter().cloned()).collect(), dirs.clone());
    let mut setup = format!(
        "ip netns add {d} && ip -n {d} link set lo up && ip -n {d} link add br0 type bridge && ip -n {d} link set br0 up && \
         ip -n {d} addr add 198.51.100.1/24 dev br0 && ip -n {d} addr add 198.51.100.100/32 dev br0 && mkdir -p /run/sshd {dirs}/www && \
         ssh-keygen -q -t ed25519 -N '' -f {dirs}/client && cp {dirs}/client.pub {dirs}/authorized_keys && chmod 600 {dirs}/authorized_keys"
    );
    for (i, r) in rs.iter().enumerate() {
        let n = i + 1;
        setup.push_str(&format!(
            " && ip netns add {r} && ip link add lvs{n}{id} type veth peer name eth0 netns {r} && ip link set lvs{n}{id} netns {d} && \
             ip -n {d} link set lvs{n}{id} master br0 up && ip -n {r} link set lo up && ip -n {r} link set eth0 up && \
             ip -n {r} addr add 198.51.100.1{n}/24 dev eth0"
        ));
    }
    // A realserver done right, as rs1, rs4, rs5 and rs6 start out.
    let good = |r: &str| {
        format!(
            " && ip -n {r} addr add 198.51.100.100/32 dev lo && \
             ip netns exec {r} sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 && \
             (ip netns exec {r} busybox httpd -p 80 -h {dirs}/www)"
        )
    };
    let (r1, r2, r4, r5) = (&rs[0], &rs[1], &rs[3], &rs[4]);
    setup.push_str(&good(r1));
    setup.push_str(&format!(
        " && ip -n {r2} addr add 198.51.100.100/28 dev lo && \
         ip netns exec {r2} sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.eth0.arp_ignore=4"
    ));
    // rs4: clients are routed out rpf0 (its veth peer parked, down, in the
    // client namespace), strict rp_filter on eth0. The client namespace sends
    // from 203.0.113.7 through br0 straight to rs4's MAC (rs4 would not
    // answer its ARP: the sender address fails the same reverse-path check).
    setup.push_str(&good(r4));
    setup.push_str(&format!(
        " && ip netns add {c} && ip link add lvsc{id} type veth peer name eth0 netns {c} && ip link set lvsc{id} netns {d} && \
         ip -n {d} link set lvsc{id} master br0 up && ip -n {c} link set lo up && ip -n {c} link set eth0 up && \
         ip -n {c} addr add 203.0.113.7/24 dev eth0 && ip -n {c} route add 198.51.100.0/24 dev eth0 && \
         ip -n {r4} link add rpf0 type veth peer name rpf1 netns {c} && ip -n {r4} link set rpf0 up && \
         ip -n {r4} addr add 203.0.113.1/24 dev rpf0 && ip netns exec {r4} sysctl -qw net.ipv4.conf.eth0.rp_filter=1 && \
         ip -n {c} neigh replace 198.51.100.14 lladdr $(ip netns exec {r4} cat /sys/class/net/eth0/address) dev eth0 nud permanent"
    ));
    // rs5: the DIP via gateway .254, which is the director's MAC; ssh on .25:2222 only.
    setup.push_str(&good(r5));
    setup.push_str(&format!(
        " && ip -n {r5} addr add 198.51.100.25/24 dev eth0 && \
         ip -n {r5} neigh replace 198.51.100.254 lladdr $(ip netns exec {d} cat /sys/class/net/br0/address) dev eth0 nud permanent && \
         ip -n {r5} route add 198.51.100.1/32 via 198.51.100.254 dev eth0"
    ));
    if let Err(e) = run(&setup) {
        assert!(!ci, "network namespaces are required on CI: {e}");
        println!("SKIP: cannot build the namespaces: {e}");
        return;
    }
    // rs6: tunl0 comes with the ipip module (in every namespace once loaded).
    let r6 = &rs[5];
    let tunnel = run(&format!(
        "modprobe ipip 2>/dev/null; ip -n {r6} link show tunl0 >/dev/null 2>&1 || ip -n {r6} link add tunl0 type ipip; \
         ip -n {r6} link set tunl0 up{} && ip netns exec {r6} sysctl -qw net.ipv4.conf.all.rp_filter=1",
        good(r6)
    ));
    if let Err(e) = &tunnel {
        // The lab VM's kernel has ipip: tests/lab.rs checks a tunnel realserver there, also on CI.
        println!(
            "note: no tunl0 on this host (ipip module missing), the tunnel realserver is checked in tests/lab.rs: {e}"
        );
    }
    let mut known = String::new();
    for (n, (ns, addr, port)) in [
        (r1, "198.51.100.11", 22),
        (r2, "198.51.100.12", 22),
        (r4, "198.51.100.14", 22),
        (r5, "198.51.100.25", 2222),
        (r6, "198.51.100.16", 22),
    ]
    .into_iter()
    .enumerate()
    {
        if ns != r6 || tunnel.is_ok() {
            known.push_str(&sshd(&dir, n + 1, ns, addr, port));
        }
    }
    std::fs::write(dir.join("known_hosts"), known).expect("known_hosts");
    // rs3 hangs: it accepts the connection and never speaks.
    // Its input is a pipe that stays open and silent, so nc holds the connection without a byte.
    run(&format!(
        "(sleep 120 2>/dev/null | ip netns exec {} busybox nc -l -p 22 >/dev/null 2>&1 &) >/dev/null 2>&1",
        rs[2]
    ))
    .expect("nc");
    // rp_filter drops on rs4 while lvstop reads it (5 a second).
    run(&format!("(ip netns exec {c} busybox ping -q -i 0.2 -w 60 198.51.100.14 </dev/null >/dev/null 2>&1 &)"))
        .expect("ping");
    // [ssh] user "nobody" is refused by every sshd: the per-host tables say root.
    std::fs::write(
        dir.join("lvstop.toml"),
        format!(
            "[ssh]\nuser = \"nobody\"\nidentity-file = \"{dirs}/client\"\nknown-hosts = \"{dirs}/known_hosts\"\n\
             connect-timeout = 2\ntimeout = 8\n[ssh.hosts]\n\"198.51.100.11\" = {{ user = \"root\" }}\n\
             \"198.51.100.12\" = {{ user = \"root\" }}\n\"198.51.100.14\" = {{ user = \"root\" }}\n\
             \"198.51.100.15\" = {{ host = \"198.51.100.25\", user = \"root\", port = 2222 }}\n\
             \"198.51.100.16\" = {{ user = \"root\" }}\n"
        ),
    )
    .expect("config");
    let mut cmd = std::process::Command::new("ip");
    cmd.args(["netns", "exec", &d, env!("CARGO_BIN_EXE_lvstop"), "--config", &format!("{dirs}/lvstop.toml")])
        .args(["check", "--json", "--vip", "198.51.100.100"])
        .args(["--realserver", "198.51.100.11:80", "--realserver", "198.51.100.12:80"])
        .args(["--realserver", "198.51.100.13:80", "--realserver", "198.51.100.19:80"])
        .args(["--realserver", "198.51.100.14:80", "--realserver", "198.51.100.15:80"]);
    if tunnel.is_ok() {
        cmd.args(["--tunnel-realserver", "198.51.100.16:80"]);
    }
    let out = cmd.output().expect("lvstop check");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    let of = |host: &str| -> Vec<(String, String)> {
        v["findings"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|f| f["host"] == host)
                    .map(|f| {
                        (f["id"].as_str().unwrap_or("").to_string(), f["severity"].as_str().unwrap_or("").to_string())
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    // The findings above info, as (id, severity), sorted.
    let serious = |host: &str| -> Vec<(String, String)> {
        let mut f: Vec<_> = of(host).into_iter().filter(|(_, sev)| sev != "info").collect();
        f.sort();
        f
    };
    let pair = |id: &str, sev: &str| (id.to_string(), sev.to_string());
    let rs1 = of("realserver 198.51.100.11");
    assert!(rs1.iter().all(|(_, sev)| sev == "info"), "rs1 is configured right: {rs1:?}\n{v:#}");
    let rs2: Vec<String> = of("realserver 198.51.100.12").into_iter().map(|x| x.0).collect();
    for id in ["R-VIP-PREFIX", "R-ARP-IGNORE", "R-LISTEN"] {
        assert!(rs2.contains(&id.to_string()), "rs2 lacks {id}: {rs2:?}\n{v:#}");
    }
    // The silent host is given up on by ssh's own timeout or lvstop's kill timer.
    let hung = v["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["host"] == "realserver 198.51.100.13")
        .map(|f| f["value"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default();
    assert!(hung.contains("timed out") || hung.contains("did not answer within"), "rs3 hangs: {hung}");
    for host in ["realserver 198.51.100.13", "realserver 198.51.100.19"] {
        let ids: Vec<String> = of(host).into_iter().map(|x| x.0).collect();
        assert_eq!(ids, vec!["R-UNREACHABLE".to_string()], "{host}: {v:#}");
    }
    assert_eq!(
        serious("realserver 198.51.100.14"),
        vec![pair("R-RPF-COUNTER", "warning"), pair("R-RPF-STRICT", "error")],
        "rs4: strict rp_filter, clients routed out rpf0, pinged from 203.0.113.7\n{v:#}"
    );
    assert_eq!(
        serious("realserver 198.51.100.15"),
        vec![pair("R-L2", "error")],
        "rs5: reached through {{ host, user, port }}, DIP via a gateway\n{v:#}"
    );
    if tunnel.is_ok() {
        assert_eq!(
            serious("realserver 198.51.100.16"),
            vec![pair("R-RPF-TUN", "error")],
            "rs6: tunnel realserver with rp_filter=1\n{v:#}"
        );
    }
    assert_eq!(out.status.code(), Some(1), "errors were found");
}
