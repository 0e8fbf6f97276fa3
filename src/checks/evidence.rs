//! What a finding read, as data; `Display` gives the text the report shows.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::model::{fmt_addr_port, Protocol};
use crate::sys::arp::Mac;

/// A sysctl's name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Sysctl {
    /// `net.ipv4.KEY`.
    Ipv4(&'static str),
    /// `net.ipv4.conf.DEV.KEY` (DEV `all`, or `*` for every device).
    Conf {
        /// The device.
        dev: String,
        /// The key.
        key: &'static str,
    },
    /// `net.ipv4.vs.KEY`.
    Vs(&'static str),
    /// `net.core.KEY`.
    Core(&'static str),
}

impl Sysctl {
    /// `net.ipv4.conf.DEV.KEY`.
    pub fn conf(dev: impl Into<String>, key: &'static str) -> Sysctl {
        Sysctl::Conf { dev: dev.into(), key }
    }

    /// The last part of the name, e.g. `arp_ignore`.
    pub fn key(&self) -> &'static str {
        match self {
            Sysctl::Ipv4(k) | Sysctl::Vs(k) | Sysctl::Core(k) | Sysctl::Conf { key: k, .. } => k,
        }
    }
}

impl fmt::Display for Sysctl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sysctl::Ipv4(k) => write!(f, "net.ipv4.{k}"),
            Sysctl::Conf { dev, key } => write!(f, "net.ipv4.conf.{dev}.{key}"),
            Sysctl::Vs(k) => write!(f, "net.ipv4.vs.{k}"),
            Sysctl::Core(k) => write!(f, "net.core.{k}"),
        }
    }
}

impl Serialize for Sysctl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A sysctl's value as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SysctlReading {
    /// Which.
    pub sysctl: Sysctl,
    /// Its value; with `effective`, the kernel's `max(all, DEV)`.
    pub value: u32,
    /// Whether `value` is the maximum of `all` and the device's own.
    pub effective: bool,
}

impl SysctlReading {
    /// A value as read.
    pub fn new(sysctl: Sysctl, value: u32) -> SysctlReading {
        SysctlReading { sysctl, value, effective: false }
    }

    /// The kernel's `max(all, dev)` of `key`.
    pub fn effective(dev: &str, key: &'static str, value: u32) -> SysctlReading {
        SysctlReading { sysctl: Sysctl::conf(dev, key), value, effective: true }
    }
}

impl fmt::Display for SysctlReading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.sysctl.key(), self.value)?;
        match &self.sysctl {
            Sysctl::Conf { dev, .. } if self.effective => write!(f, " (max of all and {dev})"),
            _ => Ok(()),
        }
    }
}

/// A rate with its unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    /// How many per second.
    pub value: f64,
    /// The unit, e.g. `pps`, `drops/s`.
    pub unit: &'static str,
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.0} {}", self.value, self.unit)
    }
}

/// The packet limit a load is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Limit {
    /// The operator's practical limit.
    Practical {
        /// Packets/s.
        pps: u64,
    },
    /// The line rate at minimum frame size.
    LineRate {
        /// Packets/s.
        pps: u64,
    },
    /// Neither is known.
    Unknown,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Practical { pps } => write!(f, "practical limit {pps} pps"),
            Limit::LineRate { pps } => write!(f, "line rate {pps} pps"),
            Limit::Unknown => f.write_str("its limit"),
        }
    }
}

/// The hosts a MAC address belongs to, as far as the director can tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct MacOwner(pub Vec<IpAddr>);

impl fmt::Display for MacOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("an unknown host");
        }
        let names: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "realserver {}", names.join(", "))
    }
}

/// What an ARP frame with a VIP as its sender was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArpKind {
    /// A reply: the host answers ARP for the VIP.
    Answer,
    /// A request: the host asks with the VIP as its sender address.
    Announce,
}

impl ArpKind {
    /// What the host does, as a verb phrase.
    pub fn verb(self) -> &'static str {
        match self {
            ArpKind::Answer => "answers ARP for",
            ArpKind::Announce => "sends ARP requests as",
        }
    }
}

/// What a finding read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// The address is not configured.
    NotConfigured,
    /// The address is on these interfaces.
    OnInterfaces {
        /// Interface names.
        interfaces: Vec<String>,
    },
    /// An address with its prefix length, on an interface.
    AddressOn {
        /// The address.
        address: IpAddr,
        /// Its prefix length.
        prefix: u8,
        /// The interface.
        interface: String,
    },
    /// A sysctl.
    Sysctl(SysctlReading),
    /// arp_ignore=8 (effective): the interface answers no ARP at all.
    NoArp {
        /// arp_ignore, effective.
        arp_ignore: SysctlReading,
    },
    /// arp_ignore on an interface without an IPv4 address.
    Unnumbered {
        /// arp_ignore, effective.
        arp_ignore: SysctlReading,
        /// The interface.
        interface: String,
    },
    /// ip_forward, and the devices with forwarding on.
    Forwarding {
        /// `net.ipv4.ip_forward`.
        ip_forward: u32,
        /// Devices whose `forwarding` is on (`all` and `lo` left out).
        devices: Vec<String>,
    },
    /// accept_local on these devices, with ip_forward.
    AcceptLocal {
        /// Devices (or `all`) with accept_local on.
        devices: Vec<String>,
        /// `net.ipv4.ip_forward`.
        ip_forward: u32,
    },
    /// rp_filter on a VIP interface, and where clients are routed.
    RpfAsym {
        /// The effective rp_filter.
        rp_filter: u32,
        /// The interface the route to the clients leaves by.
        client_interface: String,
    },
    /// Strict rp_filter where the director and the clients are routed apart.
    RpfStrict {
        /// rp_filter of the interface toward the director, effective.
        rp_filter: SysctlReading,
        /// The interface toward the director.
        director_interface: String,
        /// The address that stands for the clients.
        client_probe: IpAddr,
        /// The interface toward the clients.
        client_interface: String,
    },
    /// rp_filter on tunl0.
    RpfTun {
        /// The effective rp_filter of tunl0.
        rp_filter: u32,
        /// Whether tunl0 has an address.
        has_address: bool,
    },
    /// The route goes through a gateway.
    RouteVia {
        /// The gateway.
        gateway: IpAddr,
    },
    /// A route as `ip route get` gave it.
    Route {
        /// The address asked about.
        destination: IpAddr,
        /// The gateway, if not on-link.
        gateway: Option<IpAddr>,
        /// The outgoing interface.
        interface: String,
    },
    /// The default route.
    DefaultRoute {
        /// Its gateway.
        gateway: IpAddr,
    },
    /// Reading failed; the error.
    Error {
        /// What went wrong.
        error: String,
    },
    /// The neighbour table entry.
    Neighbour {
        /// `FAILED`, `INCOMPLETE`…; none if there is no entry.
        state: Option<String>,
    },
    /// A destination port unlike the service's.
    PortRemap {
        /// The destination's port.
        port: u16,
        /// The service's port.
        service_port: u16,
    },
    /// A drained destination and the sysctls that decide what happens to its connections.
    Drain {
        /// The destination's weight.
        weight: u32,
        /// `net.ipv4.vs.expire_quiescent_template`, if the kernel has it.
        expire_quiescent_template: Option<String>,
        /// `net.ipv4.vs.expire_nodest_conn`, if the kernel has it.
        expire_nodest_conn: Option<String>,
        /// Persistence templates that still send their clients to it, and
        /// seconds until the last expires (when the connection table was read).
        templates: Option<(u64, u32)>,
    },
    /// A sh or mh service without its fallback flag, and a destination it cannot use.
    SchedFallback {
        /// `sh` or `mh`.
        scheduler: String,
        /// The destination's weight.
        weight: u32,
    },
    /// Connection entries that point at a realserver no service has.
    Orphans {
        /// Connections.
        entries: u64,
        /// Persistence templates.
        templates: u64,
        /// Seconds until the last of them expires.
        last_secs: u32,
        /// `net.ipv4.vs.expire_nodest_conn`, if the kernel has it.
        expire_nodest_conn: Option<String>,
    },
    /// An ARP frame that carried a VIP as its sender.
    Arp {
        /// Request or reply.
        arp: ArpKind,
        /// The sender's MAC address.
        mac: Mac,
        /// Whose it is.
        owner: MacOwner,
        /// The VIP.
        vip: IpAddr,
        /// The director interface it was heard on.
        interface: String,
    },
    /// An interface's packet rate against its limit.
    Load {
        /// max(rx, tx).
        rate: Rate,
        /// Over how long.
        interval_secs: f64,
        /// The rate as a percentage of `limit`.
        percent: f64,
        /// The limit.
        limit: Limit,
        /// The warning level, percent.
        warn_percent: f64,
        /// The critical level, percent.
        crit_percent: f64,
    },
    /// Packets dropped.
    Drops {
        /// Drops per second.
        rate: Rate,
        /// The counters summed.
        counters: &'static str,
    },
    /// /proc/net/ip_vs_conn entries of one destination and of its peers in the service.
    Handshake {
        /// SYN_RECV entries that have waited for the client's ACK since its last SYN.
        stuck: u64,
        /// SYN_RECV entries.
        syn_recv: u64,
        /// Entries (templates aside).
        total: u64,
        /// The other destinations of the service: stuck entries and entries.
        peers: Option<(u64, u64)>,
    },
    /// What a SYN to VIP:PORT framed to a realserver's MAC got back.
    PathProbe {
        /// The virtual address.
        vip: IpAddr,
        /// The port.
        port: u16,
        /// What came back: `syn-ack`, `rst`, `icmp-unreachable`, `nothing`.
        answer: &'static str,
        /// For an ICMP error: who sent it and its code.
        icmp: Option<(IpAddr, u8)>,
    },
    /// A counter read twice about a second apart.
    CounterRise {
        /// At the first reading.
        before: u64,
        /// At the second reading.
        after: u64,
    },
    /// Established sockets on a realserver against the director's count.
    Bypass {
        /// ESTABLISHED sockets on VIP:port.
        sockets: u64,
        /// The VIP.
        address: IpAddr,
        /// The port.
        port: u16,
        /// The director's ActiveConn for this realserver.
        active_conns: u32,
    },
    /// An interface name lvstop does not accept.
    InvalidName {
        /// The name as the kernel gave it.
        name: String,
    },
    /// Two directors' tables compared (`lvstop diff A B`).
    Drift {
        /// The first director's name.
        a: String,
        /// The second's.
        b: String,
        /// Services and realservers on A only.
        only_a: usize,
        /// On B only.
        only_b: usize,
        /// On both, with different settings.
        differ: usize,
    },
    /// Which directors hold an address.
    Holders {
        /// The directors that hold it, with the interface (`lb1 (eth0)`).
        holders: Vec<String>,
        /// Every director read.
        directors: Vec<String>,
    },
    /// Two directors' sync daemons and connection counts.
    Sync {
        /// The first director's name.
        a: String,
        /// Its daemons (`master eth1 syncid 7`), or `none`.
        a_daemons: String,
        /// Its connections (ActiveConn + InActConn).
        a_conns: u64,
        /// The second's name.
        b: String,
        /// Its daemons.
        b_daemons: String,
        /// Its connections.
        b_conns: u64,
    },
    /// No socket listens for a service.
    NoListener {
        /// The protocol whose sockets were read.
        protocol: Protocol,
        /// The VIP.
        address: IpAddr,
        /// The port.
        port: u16,
    },
}

fn join(v: &[String]) -> String {
    v.join(", ")
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::NotConfigured => f.write_str("not configured"),
            Evidence::OnInterfaces { interfaces } => write!(f, "on {}", join(interfaces)),
            Evidence::AddressOn { address, prefix, interface } => write!(f, "{address}/{prefix} on {interface}"),
            Evidence::Sysctl(r) => write!(f, "{r}"),
            Evidence::NoArp { arp_ignore } => write!(f, "{}={}", arp_ignore.sysctl.key(), arp_ignore.value),
            Evidence::Unnumbered { arp_ignore, interface } => {
                write!(f, "{arp_ignore}, no IPv4 address on {interface}")
            }
            Evidence::Forwarding { ip_forward, devices } => {
                let on = if devices.is_empty() { "no device".to_string() } else { join(devices) };
                write!(f, "ip_forward={ip_forward} (forwarding on {on})")
            }
            Evidence::AcceptLocal { devices, ip_forward } => {
                write!(f, "accept_local=1 on {}, ip_forward={ip_forward}", join(devices))
            }
            Evidence::RpfAsym { rp_filter, client_interface } => {
                write!(f, "rp_filter={rp_filter}, clients routed via {client_interface}")
            }
            Evidence::RpfStrict { rp_filter, director_interface, client_probe, client_interface } => write!(
                f,
                "{rp_filter}; director via {director_interface}, clients ({client_probe}) via {client_interface}"
            ),
            Evidence::RpfTun { rp_filter, has_address } => {
                let has = if *has_address { "has an" } else { "has no" };
                write!(f, "rp_filter={rp_filter}, tunl0 {has} address")
            }
            Evidence::RouteVia { gateway } => write!(f, "route via {gateway}"),
            Evidence::Route { destination, gateway, interface } => {
                write!(f, "{destination}")?;
                if let Some(g) = gateway {
                    write!(f, " via {g}")?;
                }
                write!(f, " dev {interface}")
            }
            Evidence::DefaultRoute { gateway } => write!(f, "default via {gateway}"),
            Evidence::Error { error } => f.write_str(error),
            Evidence::Neighbour { state: Some(s) } => write!(f, "neighbour {s}"),
            Evidence::Neighbour { state: None } => f.write_str("not in the neighbour table"),
            Evidence::PortRemap { port, service_port } => write!(f, "port {port} ≠ service port {service_port}"),
            Evidence::Drain { weight, expire_quiescent_template: q, expire_nodest_conn: n, templates } => {
                write!(
                    f,
                    "weight {weight}, expire_quiescent_template={}, expire_nodest_conn={}",
                    q.as_deref().unwrap_or("?"),
                    n.as_deref().unwrap_or("?")
                )?;
                match templates {
                    Some((0, _)) => f.write_str("; no persistence template points at it"),
                    Some((n, last)) => write!(f, "; {n} persistence templates point at it, the last for {}", crate::model::fmt_mmss(*last)),
                    None => Ok(()),
                }
            }
            Evidence::SchedFallback { scheduler, weight } => {
                write!(f, "scheduler {scheduler} without {scheduler}-fallback; weight {weight}")
            }
            Evidence::Orphans { entries, templates, last_secs, expire_nodest_conn } => write!(
                f,
                "{entries} connections and {templates} persistence templates in /proc/net/ip_vs_conn, the last for {}; \
                 in no service; expire_nodest_conn={}",
                crate::model::fmt_mmss(*last_secs),
                expire_nodest_conn.as_deref().unwrap_or("?")
            ),
            Evidence::Arp { arp, mac, owner, vip, interface } => {
                write!(f, "{mac} ({owner}) {} {vip} on {interface}", arp.verb())
            }
            Evidence::Load { rate, interval_secs, percent, limit, warn_percent, crit_percent } => write!(
                f,
                "{rate} over {interval_secs:.1} s = {percent:.0}% of {limit} (warn {warn_percent:.0}%, critical {crit_percent:.0}%)"
            ),
            Evidence::Drops { rate, counters } => write!(f, "{rate} ({counters})"),
            Evidence::Handshake { stuck, syn_recv, total, peers } => {
                write!(
                    f,
                    "{stuck} of its {total} entries in SYN_RECV for {}+ s since the client's SYN ({syn_recv} SYN_RECV in all)",
                    crate::sys::ipvs_proc::STUCK_SECS
                )?;
                if let Some((ps, pt)) = peers {
                    write!(f, "; its peers: {ps} of {pt}")?;
                }
                f.write_str(" in /proc/net/ip_vs_conn")
            }
            Evidence::PathProbe { vip, port, answer, icmp } => {
                let to = crate::model::fmt_addr_port(vip, *port);
                write!(f, "SYN to {to} from the director's address, to its MAC: {answer}")?;
                match icmp {
                    Some((from, code)) => write!(f, " (code {code} from {from})"),
                    None => f.write_str(" within 1 s"),
                }
            }
            Evidence::CounterRise { before, after } => {
                write!(f, "+{} in about a second ({before} → {after})", after.saturating_sub(*before))
            }
            Evidence::Bypass { sockets, address, port, active_conns } => write!(
                f,
                "{sockets} ESTABLISHED sockets on {}; director ActiveConn {active_conns}",
                fmt_addr_port(address, *port)
            ),
            Evidence::InvalidName { name } => {
                write!(f, "name '{}' ({} bytes) is not letters, digits and _ . - + = , %", crate::text::sanitize(name), name.len())
            }
            Evidence::Drift { a, b, only_a, only_b, differ } => write!(
                f,
                "{only_a} services or realservers only on {a}, {only_b} only on {b}, {differ} with other settings"
            ),
            Evidence::Holders { holders, directors } if holders.is_empty() => {
                write!(f, "on none of {}", join(directors))
            }
            Evidence::Holders { holders, .. } => write!(f, "on {}", join(holders)),
            Evidence::Sync { a, a_daemons, a_conns, b, b_daemons, b_conns } => write!(
                f,
                "{a}: {a_daemons}, {a_conns} connections; {b}: {b_daemons}, {b_conns} connections"
            ),
            Evidence::NoListener { protocol, address, port } => write!(
                f,
                "no {} listener on {} or 0.0.0.0:{port}",
                protocol.name(),
                fmt_addr_port(address, *port)
            ),
        }
    }
}
