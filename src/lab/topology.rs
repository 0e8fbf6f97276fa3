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
/// The router's LAN address: every host's default gateway when the lab has a router.
pub const ROUTER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 254);
/// The router's address on the clients' network (203.0.113.0/25).
pub const ROUTER_WAN: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
/// The host on the clients' network, beyond the router.
pub const WAN_CLIENT: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
/// The router's end of a realserver's second uplink.
pub const UPLINK_GW: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 129);
/// The on-link IPv6 client.
pub const CLIENT6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x50);
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
    /// A router namespace between the LAN and the clients' network
    /// (`wan`, 203.0.113.0/25), every host's default gateway: the real DR layout.
    pub router: bool,
    /// Realservers (1-based, needs `router`) with a second uplink to the router
    /// that their route to the clients' network takes, and strict rp_filter.
    pub rp_strict: Vec<u8>,
    /// Run busybox httpd on port 80 in every realserver.
    pub httpd: bool,
}

impl Default for Topology {
    fn default() -> Self {
        Topology {
            realservers: 3,
            ipv6: true,
            arp_problem: Vec::new(),
            router: false,
            rp_strict: Vec::new(),
            httpd: true,
        }
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
    hosts.push(("client".into(), IpAddr::V4(CLIENT), t.ipv6.then_some(CLIENT6), false));
    if t.router {
        // The router and the clients' network first: the realservers' routes need them.
        let _ = writeln!(s, "ip netns add router && ip netns exec router sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0");
        let _ = writeln!(s, "ip link add vr type veth peer name eth0 netns router && ip link set vr master br0 up");
        let _ = writeln!(s, "ip -n router link set lo up && ip -n router link set eth0 up && ip -n router addr add {ROUTER}/24 dev eth0");
        let _ = writeln!(
            s,
            "ip netns add wan && ip link add wan0 type veth peer name eth0 netns wan && ip link set wan0 netns router"
        );
        let _ = writeln!(s, "ip -n router link set wan0 up && ip -n router addr add {ROUTER_WAN}/25 dev wan0");
        let _ = writeln!(
            s,
            "ip -n wan link set lo up && ip -n wan link set eth0 up && ip -n wan addr add {WAN_CLIENT}/25 dev eth0"
        );
        let _ = writeln!(s, "ip -n wan route add default via {ROUTER_WAN}");
        let _ = writeln!(s, "ip route add default via {ROUTER}");
    }
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
            if t.httpd {
                let _ = writeln!(s, "mkdir -p /tmp/lab/{name} && echo {name} > /tmp/lab/{name}/index.html");
                let _ = writeln!(s, "{x} busybox httpd -p 80 -h /tmp/lab/{name}");
            }
            if t.router {
                let _ = writeln!(s, "{x} ip route add default via {ROUTER}");
            }
            if t.router && t.rp_strict.contains(&idx) {
                // A second uplink: replies to the clients leave by eth1, while the director's frames arrive on eth0.
                let _ = writeln!(s, "ip link add u{idx} type veth peer name eth1 netns {name}");
                let _ = writeln!(s, "ip link set u{idx} netns router && ip -n router link set u{idx} up");
                let _ = writeln!(s, "ip -n router addr add {UPLINK_GW}/32 dev u{idx}");
                let _ = writeln!(s, "ip -n router route add 203.0.113.{}/32 dev u{idx}", 129 + u16::from(idx));
                let _ = writeln!(
                    s,
                    "{x} ip link set eth1 up && {x} ip addr add 203.0.113.{}/32 dev eth1",
                    129 + u16::from(idx)
                );
                let _ = writeln!(s, "{x} ip route add 203.0.113.0/24 via {UPLINK_GW} dev eth1 onlink");
                let _ = writeln!(s, "{x} sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.eth0.rp_filter=1");
            }
        }
    }
    let _ = writeln!(s, "ip netns exec client ip route add default via {DIP}");
    // One command per line: under `set -e` a failure on the left of `&&` would not stop the script.
    s.replace(" && ", "\n")
}
