//! The parser of the script's output. A remote host's answer is untrusted
//! input: every line must make sense, or the whole answer is refused with the
//! line named.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::arp_rules::{ArpRules, Ipv4Ranges};

/// An IPv4 address on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr4 {
    /// Interface.
    pub dev: String,
    /// Address.
    pub addr: Ipv4Addr,
    /// Prefix length.
    pub prefix: u8,
}

/// What `ip -o route get <addr>` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteGet {
    /// The address asked about.
    pub dst: Ipv4Addr,
    /// Outgoing interface.
    pub dev: String,
    /// Gateway, if the address is not on-link.
    pub via: Option<Ipv4Addr>,
}

/// What the script reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteFacts {
    /// `/proc/sys/net/ipv4/conf/<dev>/<key>` → value, plus `ip_forward`.
    pub sysctl: BTreeMap<String, u32>,
    /// IPv4 addresses.
    pub addrs: Vec<Addr4>,
    /// Interface → (flags words, has a master).
    pub links: BTreeMap<String, (Vec<String>, bool)>,
    /// Default gateway, if any.
    pub gateway: Option<Ipv4Addr>,
    /// Listening TCP sockets (address, port).
    pub listen: Vec<(Ipv4Addr, u16)>,
    /// ESTABLISHED TCP sockets by local (address, port); IPv4-mapped IPv6 ones included.
    pub established: BTreeMap<(Ipv4Addr, u16), u64>,
    /// Bound, unconnected UDP sockets (address, port).
    pub udp_listen: Vec<(Ipv4Addr, u16)>,
    /// The route to the director's address on this segment (none if unknown or unroutable).
    pub route_dip: Option<RouteGet>,
    /// The route to the client probe address (none if unroutable).
    pub route_client: Option<RouteGet>,
    /// TcpExt `IPReversePathFilter` (packets dropped by rp_filter) at the first and the last reading.
    pub rpf_drops: (Option<u64>, Option<u64>),
    /// Addresses whose incoming ARP requests arptables or nftables drops (the
    /// host never answers ARP for them, whatever arp_ignore says).
    pub arp_in_dropped: Ipv4Ranges,
    /// Addresses that arptables or nftables keeps out of the sender field of
    /// outgoing ARP (dropped, or rewritten to another address).
    pub arp_out_rewritten: Ipv4Ranges,
}

pub(super) use crate::text::valid_ifname;

/// `ip -o route get` output: `[local|broadcast|...] ADDR [via GW] dev DEV [src S] ... \ cache`.
fn parse_route_get(line: &str) -> Result<RouteGet, String> {
    let w: Vec<&str> = line.split_whitespace().collect();
    let skip = usize::from(matches!(w.first(), Some(&("local" | "broadcast" | "unicast" | "multicast" | "anycast"))));
    let dst = w.get(skip).ok_or("no address")?;
    let dst: Ipv4Addr = dst.parse().map_err(|_| format!("'{dst}' is not an IPv4 address"))?;
    let after = |key: &str| w.iter().skip(skip + 1).position(|x| *x == key).and_then(|i| w.get(skip + 2 + i));
    let dev = after("dev").ok_or("no dev")?;
    if !valid_ifname(dev) {
        return Err(format!("'{dev}' is not an interface name"));
    }
    let via = match after("via") {
        Some(g) => Some(g.parse().map_err(|_| format!("gateway '{g}' is not an IPv4 address"))?),
        None => None,
    };
    Ok(RouteGet { dst, dev: (*dev).to_string(), via })
}

/// A /proc/net/tcp{,6} local address (hex, each 32-bit word printed in the
/// host's order) as IPv4: the address, or None for a plain IPv6 one. `[::]`
/// counts as 0.0.0.0: a dual-stack wildcard takes IPv4 too.
fn proc_tcp_v4(hex: &str) -> Result<Option<Ipv4Addr>, String> {
    let word = |i: usize| {
        hex.get(i * 8..i * 8 + 8)
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .map(u32::to_ne_bytes)
            .ok_or_else(|| format!("'{hex}' is not an address"))
    };
    match hex.len() {
        8 => Ok(Some(Ipv4Addr::from(word(0)?))),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            let a = Ipv6Addr::from(b);
            Ok(if a.is_unspecified() { Some(Ipv4Addr::UNSPECIFIED) } else { a.to_ipv4_mapped() })
        }
        _ => Err(format!("'{hex}' is not an address")),
    }
}

/// One `/proc/net/netstat` TcpExt section: a names line then a values line;
/// the value of IPReversePathFilter (None if the kernel lacks the counter).
fn parse_tcpext(names: &[&str], values: &[&str]) -> Result<Option<u64>, String> {
    if names.len() != values.len() {
        return Err(format!("{} TcpExt values for {} counter names", values.len(), names.len()));
    }
    let mut found = None;
    for (n, v) in names.iter().zip(values) {
        let v: u64 = v.parse().map_err(|_| format!("TcpExt {n} = '{v}' is not a number"))?;
        if *n == "IPReversePathFilter" {
            found = Some(v);
        }
    }
    Ok(found)
}

/// Parse the script's output; `Err` names the first line that makes no sense.
pub fn parse(text: &str) -> Result<RemoteFacts, String> {
    let mut f = RemoteFacts::default();
    let mut section = "";
    let mut ended = false;
    // A TcpExt names line waiting for its values line: (line number, names).
    let mut tcpext: Option<(usize, Vec<&str>)> = None;
    let mut netstat_done = false;
    let mut routes_seen = 0;
    let mut arp = ArpRules::default();
    for (n, line) in text.lines().enumerate() {
        let bad = |why: &str| {
            let shown = crate::text::sanitize(&line.chars().take(120).collect::<String>());
            format!("line {}: '{shown}': {why}", n + 1)
        };
        if let Some(s) = line.strip_prefix("@@") {
            if let Some((at, _)) = tcpext.take() {
                return Err(format!("line {at}: TcpExt counter names without their values line"));
            }
            (netstat_done, routes_seen) = (false, 0);
            arp.section();
            section = match s.trim() {
                "netstat1" => "netstat1",
                "netstat2" => "netstat2",
                "sysctl" => "sysctl",
                "addr" => "addr",
                "link" => "link",
                "route" => "route",
                "routeget-dip" => "routeget-dip",
                "routeget-client" => "routeget-client",
                "tcp" => "tcp",
                "udp" => "udp",
                "arptables" => "arptables",
                "nft" => "nft",
                "end" => {
                    ended = true;
                    "end"
                }
                other => return Err(bad(&format!("unknown section '{other}'"))),
            };
            continue;
        }
        match section {
            "netstat1" | "netstat2" => {
                let rest = line.strip_prefix("TcpExt:").ok_or_else(|| bad("not a TcpExt line of /proc/net/netstat"))?;
                if netstat_done {
                    return Err(bad("more than one TcpExt names and values pair"));
                }
                let words: Vec<&str> = rest.split_whitespace().collect();
                match tcpext.take() {
                    None => tcpext = Some((n + 1, words)),
                    Some((_, names)) => {
                        let v = parse_tcpext(&names, &words).map_err(|e| bad(&e))?;
                        if section == "netstat1" {
                            f.rpf_drops.0 = v;
                        } else {
                            f.rpf_drops.1 = v;
                        }
                        netstat_done = true;
                    }
                }
            }
            "sysctl" => {
                let (path, v) = line.rsplit_once(':').ok_or_else(|| bad("expected path:value"))?;
                let key = path.strip_prefix("/proc/sys/net/ipv4/").ok_or_else(|| bad("not a net.ipv4 sysctl"))?;
                let key = key.strip_prefix("conf/").unwrap_or(key);
                let sound = match key.split_once('/') {
                    Some((dev, name)) => {
                        valid_ifname(dev)
                            && !name.is_empty()
                            && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    }
                    None => key == "ip_forward",
                };
                if !sound {
                    return Err(bad("not a sysctl of an interface lvstop reads"));
                }
                f.sysctl.insert(key.to_string(), v.trim().parse().map_err(|_| bad("not a number"))?);
            }
            "addr" => {
                // "2: eth0    inet 198.51.100.11/24 brd ... scope global eth0\\..."
                let w: Vec<&str> = line.split_whitespace().collect();
                let i = w.iter().position(|x| *x == "inet").ok_or_else(|| bad("no inet"))?;
                let (a, p) = w.get(i + 1).and_then(|c| c.split_once('/')).ok_or_else(|| bad("no address/prefix"))?;
                let dev = w.get(1).ok_or_else(|| bad("no device"))?;
                if !valid_ifname(dev) {
                    return Err(bad("not an interface name"));
                }
                f.addrs.push(Addr4 {
                    dev: (*dev).to_string(),
                    addr: a.parse().map_err(|_| bad("bad address"))?,
                    prefix: p.parse().map_err(|_| bad("bad prefix"))?,
                });
            }
            "link" => {
                // "2: eth0@if9: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 ... master br0 ..."
                let w: Vec<&str> = line.split_whitespace().collect();
                let dev = w.get(1).map_or("", |d| d.trim_end_matches(':').split('@').next().unwrap_or(""));
                if !dev.is_empty() && !valid_ifname(dev) {
                    return Err(bad("not an interface name"));
                }
                let flags = w
                    .get(2)
                    .map(|f| f.trim_matches(['<', '>']).split(',').map(str::to_string).collect())
                    .unwrap_or_default();
                if !dev.is_empty() {
                    f.links.insert(dev.to_string(), (flags, w.contains(&"master")));
                }
            }
            "route" => {
                if let Some(rest) = line.strip_prefix("default via ") {
                    f.gateway = rest.split_whitespace().next().and_then(|g| g.parse().ok());
                }
            }
            "routeget-dip" | "routeget-client" => {
                routes_seen += 1;
                if routes_seen > 1 {
                    return Err(bad("more than one route"));
                }
                let r = parse_route_get(line).map_err(|e| bad(&e))?;
                if section == "routeget-dip" {
                    f.route_dip = Some(r);
                } else {
                    f.route_client = Some(r);
                }
            }
            "tcp" | "udp" => {
                // "   0: 00000000:0050 00000000:0000 0A ..." (a header line starts with "sl")
                let w: Vec<&str> = line.split_whitespace().collect();
                if w.first() == Some(&"sl") || w.is_empty() {
                    continue;
                }
                let (a, p) = w.get(1).and_then(|l| l.split_once(':')).ok_or_else(|| bad("no local address"))?;
                let port = u16::from_str_radix(p, 16).map_err(|_| bad(&format!("bad port '{p}'")))?;
                let st = w.get(3).ok_or_else(|| bad("no state"))?;
                let st = u8::from_str_radix(st, 16).map_err(|_| bad(&format!("bad state '{st}'")))?;
                let Some(addr) = proc_tcp_v4(a).map_err(|e| bad(&e))? else { continue };
                match (section, st) {
                    ("tcp", 0x0A) => f.listen.push((addr, port)),
                    ("tcp", 0x01) => *f.established.entry((addr, port)).or_default() += 1,
                    // An unconnected UDP socket shows as 07 (TCP_CLOSE).
                    ("udp", 0x07) => f.udp_listen.push((addr, port)),
                    _ => {}
                }
            }
            // Firewall listings are read for what they say about ARP; other lines are no error.
            "arptables" => arp.arptables_line(line),
            "nft" => arp.nft_line(line),
            "" if line.trim().is_empty() => {}
            "" => return Err(bad("output before the first section")),
            _ => {}
        }
    }
    if !ended {
        return Err("the output stops before its end marker (the host hung up or the script failed)".into());
    }
    (f.arp_in_dropped, f.arp_out_rewritten) = arp.finish();
    Ok(f)
}

/// The netmask of a prefix length (at most 32).
pub(super) fn prefix_mask(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

/// Whether `a` is inside `net/prefix`.
pub(super) fn in_prefix(net: Ipv4Addr, prefix: u8, a: Ipv4Addr) -> bool {
    let mask = prefix_mask(prefix.min(32));
    u32::from(net) & mask == u32::from(a) & mask
}

impl RemoteFacts {
    /// `max(all, dev)` of an integer conf sysctl (`arp_ignore`, `rp_filter`…).
    pub fn e_max(&self, dev: &str, key: &str) -> u32 {
        let get = |d: &str| self.sysctl.get(&format!("{d}/{key}")).copied().unwrap_or(0);
        get("all").max(get(dev))
    }

    /// Interfaces that receive ARP: up, not loopback/NOARP, not a bond/bridge port.
    pub fn arp_devs(&self) -> Vec<&str> {
        self.links
            .iter()
            .filter(|(_, (flags, master))| {
                flags.iter().any(|x| x == "UP") && !flags.iter().any(|x| x == "LOOPBACK" || x == "NOARP") && !master
            })
            .map(|(d, _)| d.as_str())
            .collect()
    }

    /// Whether `dev` has carrier (LOWER_UP).
    pub fn has_carrier(&self, dev: &str) -> bool {
        self.links.get(dev).is_some_and(|(flags, _)| flags.iter().any(|x| x == "LOWER_UP"))
    }
}
