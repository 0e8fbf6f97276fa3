//! Realserver checks over a real OpenSSH: sshd runs in each realserver
//! namespace (whose /proc/sys/net is its own) with a generated key; the rules
//! pass and fail on what each namespace was given, and an unreachable host
//! and one that hangs are reported instead of waited on.
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

#[test]
fn realserver_rules_over_ssh() {
    if !std::path::Path::new("/usr/sbin/sshd").exists() {
        assert!(std::env::var_os("CI").is_none(), "openssh-server is required on CI");
        println!("SKIP: /usr/sbin/sshd is not installed (apt-get install openssh-server)");
        return;
    }
    let id = std::process::id();
    let dir = std::env::temp_dir().join(format!("lvstop-ssh-{id}"));
    let _ = std::fs::create_dir_all(&dir);
    let dirs = dir.display().to_string();
    let d = format!("lvsd{id}");
    let rs: Vec<String> = (1..=3).map(|i| format!("lvss{i}-{id}")).collect();
    let _cleanup = Cleanup(std::iter::once(d.clone()).chain(rs.iter().cloned()).collect(), dirs.clone());
    let mut setup = format!(
        "ip netns add {d} && ip -n {d} link set lo up && ip -n {d} link add br0 type bridge && ip -n {d} link set br0 up && \
         ip -n {d} addr add 198.51.100.1/24 dev br0 && ip -n {d} addr add 198.51.100.100/32 dev br0 && mkdir -p /run/sshd && \
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
    // rs1: done right. rs2: VIP/28 on lo, arp_ignore=4 on eth0 overriding all=1, nothing listening.
    setup.push_str(&format!(
        " && ip -n {r1} addr add 198.51.100.100/32 dev lo && \
         ip netns exec {r1} sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 && \
         mkdir -p {dirs}/www && (ip netns exec {r1} busybox httpd -p 80 -h {dirs}/www) && \
         ip -n {r2} addr add 198.51.100.100/28 dev lo && \
         ip netns exec {r2} sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.eth0.arp_ignore=4",
        r1 = rs[0],
        r2 = rs[1]
    ));
    if let Err(e) = run(&setup) {
        assert!(std::env::var_os("CI").is_none(), "network namespaces are required on CI: {e}");
        println!("SKIP: cannot build the namespaces: {e}");
        return;
    }
    let mut known = String::new();
    for n in 1..=2 {
        let cfg = format!(
            "Port 22\nListenAddress 198.51.100.1{n}\nHostKey {dirs}/host{n}\nPidFile {dirs}/sshd{n}.pid\n\
             AuthorizedKeysFile {dirs}/authorized_keys\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        );
        std::fs::write(dir.join(format!("sshd{n}.conf")), cfg).expect("sshd config");
        run(&format!("ssh-keygen -q -t ed25519 -N '' -f {dirs}/host{n} && ip netns exec {} /usr/sbin/sshd -f {dirs}/sshd{n}.conf", rs[n - 1]))
            .expect("sshd");
        let key = std::fs::read_to_string(dir.join(format!("host{n}.pub"))).expect("host key");
        let key: Vec<&str> = key.split_whitespace().take(2).collect();
        known.push_str(&format!("198.51.100.1{n} {}\n", key.join(" ")));
    }
    std::fs::write(dir.join("known_hosts"), known).expect("known_hosts");
    // rs3 hangs: it accepts the connection and never speaks.
    run(&format!("(ip netns exec {} busybox nc -l -p 22 </dev/null >/dev/null 2>&1 &)", rs[2])).expect("nc");
    std::fs::write(
        dir.join("lvstop.toml"),
        format!(
            "[ssh]\nuser = \"root\"\nidentity-file = \"{dirs}/client\"\nknown-hosts = \"{dirs}/known_hosts\"\nconnect-timeout = 2\ntimeout = 8\n"
        ),
    )
    .expect("config");
    let out = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &d,
            env!("CARGO_BIN_EXE_lvstop"),
            "--config",
            &format!("{dirs}/lvstop.toml"),
            "check",
            "--json",
        ])
        .args(["--vip", "198.51.100.100"])
        .args(["--realserver", "198.51.100.11:80", "--realserver", "198.51.100.12:80"])
        .args(["--realserver", "198.51.100.13:80", "--realserver", "198.51.100.19:80"])
        .output()
        .expect("lvstop check");
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
    let rs1 = of("realserver 198.51.100.11");
    assert!(rs1.iter().all(|(_, sev)| sev == "info"), "rs1 is configured right: {rs1:?}\n{v:#}");
    let rs2: Vec<String> = of("realserver 198.51.100.12").into_iter().map(|x| x.0).collect();
    for id in ["R-VIP-PREFIX", "R-ARP-IGNORE", "R-LISTEN"] {
        assert!(rs2.contains(&id.to_string()), "rs2 lacks {id}: {rs2:?}\n{v:#}");
    }
    for host in ["realserver 198.51.100.13", "realserver 198.51.100.19"] {
        let ids: Vec<String> = of(host).into_iter().map(|x| x.0).collect();
        assert_eq!(ids, vec!["R-UNREACHABLE".to_string()], "{host}: {v:#}");
    }
    assert_eq!(out.status.code(), Some(1), "errors were found");
}
