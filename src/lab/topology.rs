//! The LVS-DR topology built inside the lab VM: the root namespace is the
//! director, each realserver and the client are network namespaces joined to
//! the director's bridge by veth pairs. Documentation addresses only; the VM
//! has no NIC, so nothing leaves it.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Director IP on the bridge.
pub const DIP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
/// The virtual IP (on the director's bridge, and on each realserver's lo).
pub const VIP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 100);
/// The client's address.
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 50);
/// IPv6 director address.
pub const DIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
/// IPv6 virtual IP.
pub const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100);

/// Realserver `i` (1-based) IPv4 address.
pub fn rip(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, 10 + i)
}

/// Realserver `i` (1-based) IPv6 address.
pub fn rip6(i: u8) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10 + u16::from(i))
}

/// What to build.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Number of realservers (1..=50).
    pub realservers: u8,
    /// Add IPv6 addresses too.
    pub ipv6: bool,
    /// Realservers (1-based) left without arp_ignore/arp_announce (the ARP problem).
    pub arp_problem: Vec<u8>,
}

impl Default for Topology {
    fn default() -> Self {
        Topology { realservers: 3, ipv6: true, arp_problem: Vec::new() }
    }
}

/// A shell script (busybox/dash compatible) that builds the topology and starts
/// an HTTP server in every realserver. It exits non-zero on the first failure.
pub fn setup_script(t: &Topology) -> String {
    let mut s = String::from("set -e\nsysctl -qw net.ipv4.conf.all.arp_ignore=0 >/dev/null\n");
    let _ = writeln!(s, "ip link add br0 type bridge && ip link set br0 up");
    let _ = writeln!(s, "ip addr add {DIP}/24 dev br0 && ip addr add {VIP}/32 dev br0");
    if t.ipv6 {
        let _ = writeln!(s, "ip addr add {DIP6}/64 dev br0 nodad && ip addr add {VIP6}/128 dev br0 nodad");
    }
    let mut hosts: Vec<(String, IpAddr, Option<Ipv6Addr>, bool)> =
        (1..=t.realservers).map(|i| (format!("rs{i}"), IpAddr::V4(rip(i)), t.ipv6.then(|| rip6(i)), true)).collect();
    hosts.push((
        "client".into(),
        IpAddr::V4(CLIENT),
        t.ipv6.then(|| Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x50)),
        false,
    ));
    for (n, (name, ip, ip6, is_rs)) in hosts.iter().enumerate() {
        let _ = writeln!(s, "ip netns add {name}");
        let _ = writeln!(s, "ip link add v{n} type veth peer name eth0 netns {name}");
        let _ = writeln!(s, "ip link set v{n} master br0 up");
        let x = format!("ip netns exec {name}");
        let _ = writeln!(s, "{x} ip link set lo up && {x} ip link set eth0 up && {x} ip addr add {ip}/24 dev eth0");
        if let Some(ip6) = ip6 {
            let _ = writeln!(s, "{x} ip addr add {ip6}/64 dev eth0 nodad");
        }
        if *is_rs {
            let idx: u8 = name.trim_start_matches("rs").parse().unwrap_or(0);
            if !t.arp_problem.contains(&idx) {
                let _ = writeln!(s, "{x} sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2");
            }
            let _ = writeln!(s, "{x} ip addr add {VIP}/32 dev lo");
            if t.ipv6 {
                let _ = writeln!(s, "{x} ip addr add {VIP6}/128 dev lo nodad");
            }
            let _ = writeln!(s, "mkdir -p /tmp/lab/{name} && echo {name} > /tmp/lab/{name}/index.html");
            let _ = writeln!(s, "{x} busybox httpd -p 80 -h /tmp/lab/{name}");
        }
    }
    let _ = writeln!(s, "ip netns exec client ip route add default via {DIP}");
    s
}

/// ipvsadm-free service setup is done by lvstop itself in the tests; for demos
/// the lab starts with one DR service per family over every realserver.
pub fn services_script(t: &Topology) -> String {
    let mut s = format!("ipvsadm -A -t {VIP}:80 -s wrr\n");
    for i in 1..=t.realservers {
        let _ = writeln!(s, "ipvsadm -a -t {VIP}:80 -r {}:80 -g -w {i}", rip(i));
    }
    if t.ipv6 {
        let _ = writeln!(s, "ipvsadm -A -t [{VIP6}]:80 -s rr");
        for i in 1..=t.realservers {
            let _ = writeln!(s, "ipvsadm -a -t [{VIP6}]:80 -r [{}]:80 -g -w 1", rip6(i));
        }
    }
    s
}
