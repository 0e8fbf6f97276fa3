//! Director load: fixture sysfs trees (bonds, VLANs, unknown speeds, counter
//! resets) and a real traffic test in network namespaces on this host.
#![allow(clippy::panic)] // a failing test panics
#![allow(clippy::float_cmp)] // zero rates are exact

mod common;

use std::path::{Path, PathBuf};

use common::run;
use std::time::{Duration, Instant};

use lvstop::sys::load::{compute, Level, NicPolicy, Roles};
use lvstop::sys::nic::{effective_speed, read_sample, NicKind, SysSample};

struct Tree(PathBuf);

impl Tree {
    fn new(name: &str) -> Tree {
        let p = std::env::temp_dir().join(format!("lvstop-sysfs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        Tree(p)
    }

    /// An interface: speed None writes nothing (reading fails like EINVAL).
    #[allow(clippy::too_many_arguments)]
    fn nic(
        &self,
        name: &str,
        idx: u32,
        up: bool,
        speed: Option<i64>,
        devtype: &str,
        lowers: &[&str],
        rx: u64,
    ) -> &Self {
        let d = self.0.join("sys/class/net").join(name);
        std::fs::create_dir_all(d.join("statistics")).expect("mkdir");
        let w = |f: &str, v: String| std::fs::write(d.join(f), v).expect("write");
        w("ifindex", idx.to_string());
        w("flags", if up { "0x1003".into() } else { "0x1002".into() });
        w("operstate", if up { "up".into() } else { "down".into() });
        if let Some(s) = speed {
            w("speed", s.to_string());
        }
        w(
            "uevent",
            if devtype.is_empty() {
                format!("INTERFACE={name}\n")
            } else {
                format!("DEVTYPE={devtype}\nINTERFACE={name}\n")
            },
        );
        for l in lowers {
            std::fs::create_dir_all(d.join(format!("lower_{l}"))).expect("lower");
        }
        for (f, v) in [
            ("rx_packets", rx),
            ("tx_packets", rx / 2),
            ("rx_bytes", rx * 64),
            ("tx_bytes", rx * 32),
            ("rx_dropped", 0),
        ] {
            std::fs::write(d.join("statistics").join(f), v.to_string()).expect("stat");
        }
        self
    }

    /// /proc/stat with this `cpu` line.
    fn stat(&self, cpu_line: &str) -> &Self {
        std::fs::create_dir_all(self.0.join("proc")).expect("proc");
        std::fs::write(self.0.join("proc/stat"), format!("{cpu_line}\ncpu0 1 2 3\n")).expect("stat");
        self
    }

    fn bond(&self, name: &str, mode: &str, slaves: &[&str], active: &str) -> &Self {
        let b = self.0.join("sys/class/net").join(name).join("bonding");
        std::fs::create_dir_all(&b).expect("bonding");
        std::fs::write(b.join("mode"), format!("{mode} 1\n")).expect("mode");
        std::fs::write(b.join("slaves"), slaves.join(" ")).expect("slaves");
        std::fs::write(b.join("active_slave"), active).expect("active");
        self
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn bonds_vlans_and_unknown_speeds() {
    let t = Tree::new("kinds");
    t.nic("eth0", 2, true, Some(1000), "", &[], 0)
        .nic("eth1", 3, true, Some(10000), "", &[], 0)
        .nic("eth2", 4, false, Some(-1), "", &[], 0)
        .nic("bond0", 5, true, Some(11000), "bond", &["eth0", "eth1"], 0)
        .bond("bond0", "active-backup", &["eth0", "eth1"], "eth1")
        .nic("bond1", 6, true, None, "bond", &["eth0", "eth1", "eth2"], 0)
        .bond("bond1", "802.3ad", &["eth0", "eth1", "eth2"], "")
        .nic("bond0.100", 7, true, None, "vlan", &["bond0"], 0)
        .nic("eth0.200", 8, true, None, "vlan", &["eth0"], 0)
        .nic("veth0", 9, true, None, "", &[], 0)
        .nic("dummy0", 10, true, Some(-1), "", &[], 0);
    let s = read_sample(&t.0);
    assert!(matches!(s.nics["bond0"].kind, NicKind::Bond { .. }));
    assert_eq!(s.nics["bond0.100"].kind, NicKind::Vlan { parent: "bond0".into() });
    // active-backup: only the active slave; 802.3ad: the sum of the slaves that are up.
    assert_eq!(effective_speed("bond0", &s.nics), Some(10000));
    assert_eq!(effective_speed("bond1", &s.nics), Some(11000));
    // A VLAN inherits its parent's speed, through a bond too.
    assert_eq!(effective_speed("bond0.100", &s.nics), Some(10000));
    assert_eq!(effective_speed("eth0.200", &s.nics), Some(1000));
    // Unknown: no speed file (EINVAL), or -1.
    assert_eq!(effective_speed("veth0", &s.nics), None);
    assert_eq!(effective_speed("dummy0", &s.nics), None);
    assert!(!s.nics["eth2"].up);
}

#[test]
fn counter_resets_and_vanished_interfaces_never_go_negative() {
    let a = Tree::new("before");
    a.nic("eth0", 2, true, Some(100), "", &[], 1_000_000).nic("eth1", 3, true, Some(100), "", &[], 5000);
    let b = Tree::new("after");
    // eth0's counters were reset (driver reload), eth1 vanished, eth9 appeared.
    b.nic("eth0", 2, true, Some(100), "", &[], 100).nic("eth9", 4, true, Some(100), "", &[], 77);
    let load = compute(&read_sample(&a.0), &read_sample(&b.0), 1.0, &NicPolicy::default(), &Roles::default());
    let eth0 = load.nics.iter().find(|n| n.name == "eth0").expect("eth0");
    assert!(eth0.rates.reset);
    assert_eq!(eth0.rates.rx_pps, 0.0);
    assert!(load.nics.iter().all(|n| n.rates.rx_pps >= 0.0 && n.rates.tx_pps >= 0.0));
    assert!(load.nics.iter().all(|n| n.name != "eth1"));
    let eth9 = load.nics.iter().find(|n| n.name == "eth9").expect("eth9");
    assert_eq!(eth9.rates.rx_pps, 0.0, "a new interface has no rate until its second reading");
    // Missing files entirely: an empty tree reads as no interfaces, no CPU.
    let empty = read_sample(Path::new("/nonexistent-lvstop-root"));
    assert!(empty.nics.is_empty() && empty.cpu.is_none());
}

#[test]
fn a_line_rate_limit_sets_the_level() {
    let a = Tree::new("lvl-a");
    a.nic("eth0", 2, true, Some(100), "", &[], 0);
    let b = Tree::new("lvl-b");
    // 140 000 packets in one second on 100 Mb/s (148 809 pps line rate) = 94 %.
    b.nic("eth0", 2, true, Some(100), "", &[], 140_000);
    let load = compute(&read_sample(&a.0), &read_sample(&b.0), 1.0, &NicPolicy::default(), &Roles::default());
    assert_eq!(load.nics[0].level, Level::Critical);
    assert!((load.nics[0].line_percent.unwrap_or(0.0) - 94.08).abs() < 0.01);
}

#[test]
fn the_softirq_share_comes_from_proc_stat_and_cpu_use_from_the_sampler() {
    let a = Tree::new("cpu-a");
    a.nic("eth0", 2, true, Some(1000), "", &[], 0).stat("cpu  100 0 50 800 50 0 25 0 0 0");
    let b = Tree::new("cpu-b");
    // 1000 ticks later, 100 of them in softirq.
    b.nic("eth0", 2, true, Some(1000), "", &[], 0).stat("cpu  200 0 100 1500 100 0 125 0 0 0");
    let (before, after) = (read_sample(&a.0), read_sample(&b.0));
    assert_eq!(after.cpu_busy, None, "a tree has no CPU use: sysinfo measures it (Sampler)");
    let load = compute(&before, &after, 1.0, &NicPolicy::default(), &Roles::default());
    assert!((load.softirq_percent.unwrap_or(0.0) - 10.0).abs() < 1e-9, "{:?}", load.softirq_percent);
    assert_eq!(load.cpu_percent, None);
    // With a CPU figure from the sampler, the load carries it.
    let load =
        compute(&before, &SysSample { cpu_busy: Some(37.5), ..after }, 1.0, &NicPolicy::default(), &Roles::default());
    assert_eq!(load.cpu_percent, Some(37.5));
}

/// A sender in a namespace sends a known number of UDP packets in a known
/// time over a veth pair; the director-side sampler must see the same rate.
#[test]
fn measured_packet_rate_matches_what_was_sent() {
    let ns = format!("lvstop-t{}", std::process::id());
    let host_if = format!("lvt{}", std::process::id() % 100_000);
    let setup = format!(
        "ip netns add {ns} && ip link add {host_if} type veth peer name eth0 netns {ns} && \
         ip addr add 198.51.100.1/24 dev {host_if} && ip link set {host_if} up && \
         ip netns exec {ns} ip addr add 198.51.100.2/24 dev eth0 && ip netns exec {ns} ip link set eth0 up && \
         ip netns exec {ns} ip link set lo up && sysctl -qw net.ipv6.conf.{host_if}.disable_ipv6=1"
    );
    if let Err(e) = run(&setup) {
        let _ = run(&format!("ip netns del {ns}"));
        assert!(std::env::var_os("CI").is_none(), "network namespaces are required on CI: {e}");
        println!("SKIP: cannot create network namespaces here (need root and iproute2): {e}");
        return;
    }
    let cleanup = || {
        let _ = run(&format!("ip link del {host_if}; ip netns del {ns}"));
    };
    // Let ARP and any link-up chatter settle, then send 20 000 packets at ~10 000/s.
    let _ = run(&format!("ip netns exec {ns} busybox ping -c 1 -W 1 198.51.100.1"));
    std::thread::sleep(Duration::from_millis(300));
    let sender = r#"
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n, rate = 20000, 10000.0
t0 = time.monotonic()
for i in range(n):
    s.sendto(b"lvstop-test", ("198.51.100.1", 9))
    if i % 100 == 99:
        ahead = t0 + (i + 1) / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
print(n, time.monotonic() - t0)
"#;
    let before = read_sample(Path::new("/"));
    let t0 = Instant::now();
    let out = run(&format!("ip netns exec {ns} python3 -c '{sender}'"));
    let secs = t0.elapsed().as_secs_f64();
    let after = read_sample(Path::new("/"));
    cleanup();
    let out = out.expect("sender");
    let mut it = out.split_whitespace();
    let sent: f64 = it.next().and_then(|v| v.parse().ok()).expect("count");
    let load = compute(&before, &after, secs, &NicPolicy::default(), &Roles::default());
    let nic = load.nics.iter().find(|n| n.name == host_if).expect("the veth is measured");
    let expected = sent / secs;
    let got = nic.rates.rx_pps;
    // Tolerance: 5 % (a few stray packets, and the sampling window includes process start-up).
    assert!(
        (got - expected).abs() <= expected * 0.05,
        "measured {got:.0} pps, sent {expected:.0} pps ({sent} in {secs:.2}s)"
    );
    assert!(nic.counters.rx_packets >= before.nics[&host_if].counters.rx_packets + sent as u64);
    println!("sent {sent} packets in {secs:.2}s = {expected:.0} pps; measured {got:.0} pps on {host_if}");
}
