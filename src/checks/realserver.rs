//! Realserver rules (R-*, and D-BYPASS judged on the realserver's sockets),
//! from ../shared/docs/lvs-dr-checks.md §3.3, judged on the output of a
//! read-only script (sysctls, `ip -o addr`, `ip -o link`, routes, the routes
//! to the director and to the clients, /proc/net/tcp, the rp_filter drop
//! counter read twice). The script's output is parsed defensively: a remote
//! host's answer is untrusted input.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Finding, Severity};

/// The read-only script run on a realserver (POSIX sh). Its only variable
/// parts are the two addresses, typed so that they print as digits and dots:
/// `dip` (the director's address on the realserver's segment, if known) and
/// `client_probe` (an off-link address standing for the clients). The
/// rp_filter drop counter is read first and last, at least a second apart.
pub fn script(dip: Option<Ipv4Addr>, client_probe: Ipv4Addr) -> String {
    let dip = dip.map(|d| format!(" ip -o route get {d} 2>/dev/null")).unwrap_or_default();
    format!(
        "LC_ALL=C; export LC_ALL
echo @@netstat1; grep '^TcpExt:' /proc/net/netstat 2>/dev/null
echo @@sysctl; grep -H . /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/*/arp_ignore /proc/sys/net/ipv4/conf/*/arp_announce /proc/sys/net/ipv4/conf/*/rp_filter 2>/dev/null
echo @@addr; ip -o -4 addr show
echo @@link; ip -o link show
echo @@route; ip -4 route show; ip -4 route show table local
echo @@routeget-dip;{dip}
echo @@routeget-client; ip -o route get {client_probe} 2>/dev/null
echo @@tcp; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null
echo @@udp; cat /proc/net/udp /proc/net/udp6 2>/dev/null
sleep 1
echo @@netstat2; grep '^TcpExt:' /proc/net/netstat 2>/dev/null
echo @@end"
    )
}

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
}

/// Whether `name` can be an interface name (what the kernel allows, minus
/// spaces and colons, which `ip -o` output could not carry unambiguously).
fn valid_ifname(name: &str) -> bool {
    !name.is_empty() && name.len() <= 15 && name.bytes().all(|b| b.is_ascii_graphic() && b != b'/' && b != b':')
}

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
    for (n, line) in text.lines().enumerate() {
        let bad = |why: &str| format!("line {}: '{}': {why}", n + 1, line.chars().take(120).collect::<String>());
        if let Some(s) = line.strip_prefix("@@") {
            if let Some((at, _)) = tcpext.take() {
                return Err(format!("line {at}: TcpExt counter names without their values line"));
            }
            (netstat_done, routes_seen) = (false, 0);
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
                f.sysctl.insert(key.to_string(), v.trim().parse().map_err(|_| bad("not a number"))?);
            }
            "addr" => {
                // "2: eth0    inet 198.51.100.11/24 brd ... scope global eth0\\..."
                let w: Vec<&str> = line.split_whitespace().collect();
                let i = w.iter().position(|x| *x == "inet").ok_or_else(|| bad("no inet"))?;
                let (a, p) = w.get(i + 1).and_then(|c| c.split_once('/')).ok_or_else(|| bad("no address/prefix"))?;
                f.addrs.push(Addr4 {
                    dev: w.get(1).ok_or_else(|| bad("no device"))?.to_string(),
                    addr: a.parse().map_err(|_| bad("bad address"))?,
                    prefix: p.parse().map_err(|_| bad("bad prefix"))?,
                });
            }
            "link" => {
                // "2: eth0@if9: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 ... master br0 ..."
                let w: Vec<&str> = line.split_whitespace().collect();
                let dev = w.get(1).map_or("", |d| d.trim_end_matches(':').split('@').next().unwrap_or(""));
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
            "" if line.trim().is_empty() => {}
            "" => return Err(bad("output before the first section")),
            _ => {}
        }
    }
    if !ended {
        return Err("the output stops before its end marker (the host hung up or the script failed)".into());
    }
    Ok(f)
}

/// Whether `a` is inside `net/prefix`.
fn in_prefix(net: Ipv4Addr, prefix: u8, a: Ipv4Addr) -> bool {
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix.min(32))) };
    u32::from(net) & mask == u32::from(a) & mask
}

/// The director's address on `rip`'s segment: the director address whose
/// prefix contains the RIP, else the first director IPv4 address; never a
/// VIP or a loopback address.
pub fn dip_for(rip: IpAddr, director: &[(IpAddr, u8)], vips: &[Ipv4Addr]) -> Option<Ipv4Addr> {
    let own = || {
        director.iter().filter_map(|(a, p)| match a {
            IpAddr::V4(a) if !a.is_loopback() && !vips.contains(a) => Some((*a, *p)),
            _ => None,
        })
    };
    let on_segment = match rip {
        IpAddr::V4(rip) => own().find(|(a, p)| in_prefix(*a, *p, rip)),
        IpAddr::V6(_) => None,
    };
    on_segment.or_else(|| own().next()).map(|(a, _)| a)
}

impl RemoteFacts {
    fn e_max(&self, dev: &str, key: &str) -> u32 {
        let get = |d: &str| self.sysctl.get(&format!("{d}/{key}")).copied().unwrap_or(0);
        get("all").max(get(dev))
    }

    /// Interfaces that receive ARP: up, not loopback/NOARP, not a bond/bridge port.
    fn arp_devs(&self) -> Vec<&str> {
        self.links
            .iter()
            .filter(|(_, (flags, master))| {
                flags.iter().any(|x| x == "UP") && !flags.iter().any(|x| x == "LOOPBACK" || x == "NOARP") && !master
            })
            .map(|(d, _)| d.as_str())
            .collect()
    }

    fn has_carrier(&self, dev: &str) -> bool {
        self.links.get(dev).is_some_and(|(flags, _)| flags.iter().any(|x| x == "LOWER_UP"))
    }
}

/// One DR or tunnel service a realserver is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serve {
    /// Virtual address.
    pub vip: Ipv4Addr,
    /// Virtual port (0: a persistent all-ports service).
    pub port: u16,
    /// Tunnelled (LVS-TUN) rather than direct routing.
    pub tunnel: bool,
    /// The director's ActiveConn for this destination, when known (TCP services of the IPVS table).
    pub active_conns: Option<u32>,
    /// The service's protocol (R-LISTEN reads TCP or UDP sockets; SCTP is not read).
    pub protocol: crate::model::Protocol,
}

/// Run the realserver rules for `host` in service `s`, behind director
/// addresses `director` (with prefix lengths), `dip` being the one on the
/// realserver's segment that the script asked the route to.
pub fn check(host: &str, f: &RemoteFacts, s: &Serve, dip: Option<Ipv4Addr>, director: &[(IpAddr, u8)]) -> Vec<Finding> {
    let (vip, port, tunnel) = (s.vip, s.port, s.tunnel);
    let mut out = Vec::new();
    let mk = |id: &'static str, severity: Severity, subject: String, value: String, message: String, fix: String| {
        Finding { id, severity, host: host.to_string(), subject, value, message, fix }
    };
    let vip_on: Vec<&Addr4> = f.addrs.iter().filter(|a| a.addr == vip).collect();
    if vip_on.is_empty() {
        out.push(mk(
            "R-VIP-ABSENT",
            Severity::Error,
            format!("VIP {vip}"),
            "not configured".into(),
            format!("VIP {vip} is missing on {host}: it drops DR traffic for the VIP"),
            format!("ip addr add {vip}/32 dev lo"),
        ));
    }
    let arp_devs = f.arp_devs();
    for a in &vip_on {
        if arp_devs.contains(&a.dev.as_str()) {
            out.push(mk(
                "R-VIP-ARPDEV",
                Severity::Error,
                format!("VIP {vip}"),
                format!("on {}", a.dev),
                format!("VIP {vip} is on ARP-capable {}: {host} answers ARP for it whatever arp_ignore says", a.dev),
                format!("ip addr del {vip}/{} dev {}; ip addr add {vip}/32 dev lo", a.prefix, a.dev),
            ));
        } else if a.prefix < 32 {
            out.push(mk(
                "R-VIP-PREFIX",
                Severity::Warning,
                format!("VIP {vip}"),
                format!("{vip}/{} on {}", a.prefix, a.dev),
                format!("VIP {vip}/{} on {} makes the whole prefix local on {host}", a.prefix, a.dev),
                format!("ip addr del {vip}/{} dev {}; ip addr add {vip}/32 dev {}", a.prefix, a.dev, a.dev),
            ));
        }
    }
    for dev in &arp_devs {
        let ign = f.e_max(dev, "arp_ignore");
        if ign == 8 {
            out.push(mk(
                "R-ARP-IGNORE-8",
                Severity::Error,
                format!("interface {dev}"),
                format!("arp_ignore={ign}"),
                format!("{host} answers no ARP at all on {dev}: its RIP is unreachable"),
                format!("sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.{dev}.arp_ignore=1"),
            ));
        } else if !matches!(ign, 1 | 2) && !vip_on.is_empty() {
            out.push(mk(
                "R-ARP-IGNORE",
                Severity::Error,
                format!("interface {dev}"),
                format!("arp_ignore={ign} (max of all and {dev})"),
                format!("{host} answers ARP for VIP {vip} on {dev}: the ARP problem"),
                format!("sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.{dev}.arp_ignore=1"),
            ));
        }
        let ann = f.e_max(dev, "arp_announce");
        if ann != 2 && !vip_on.is_empty() {
            let in_subnet = f.addrs.iter().filter(|a| a.dev == *dev).any(|a| in_prefix(a.addr, a.prefix, vip));
            let sev = if ann == 1 && !in_subnet { Severity::Warning } else { Severity::Error };
            out.push(mk(
                "R-ARP-ANNOUNCE",
                sev,
                format!("interface {dev}"),
                format!("arp_announce={ann} (max of all and {dev})"),
                format!("{host} may send ARP requests with VIP {vip} as their sender on {dev}"),
                format!("sysctl -w net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.{dev}.arp_announce=2"),
            ));
        }
    }
    for dev in arp_devs.iter().filter(|d| f.has_carrier(d) && !f.addrs.iter().any(|a| a.dev == **d)) {
        // arp_ignore 1 and 2 answer only for addresses of the receiving
        // interface: one without IPv4 answers nothing (8 is R-ARP-IGNORE-8;
        // 3 and the reserved values still answer for global addresses).
        let ign = f.e_max(dev, "arp_ignore");
        if matches!(ign, 1 | 2) {
            let numbered: Vec<String> = arp_devs
                .iter()
                .filter(|d| f.addrs.iter().any(|a| a.dev == **d))
                .map(|d| format!(" net.ipv4.conf.{d}.arp_ignore={ign}"))
                .collect();
            let numbered = numbered.concat();
            out.push(mk(
                "R-ARP-UNNUMBERED",
                Severity::Warning,
                format!("interface {dev}"),
                format!("arp_ignore={ign} (max of all and {dev}), no IPv4 address on {dev}"),
                format!(
                    "arp_ignore≥1 silences interface {dev}: it has no IPv4 address, so {host} answers no ARP on it"
                ),
                format!("sysctl -w net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.{dev}.arp_ignore=0{numbered}"),
            ));
        }
    }
    let dip_route = f.route_dip.as_ref().filter(|r| Some(r.dst) == dip);
    if let (false, Some(r)) = (tunnel, dip_route) {
        if let Some(gw) = r.via {
            out.push(mk(
                "R-L2",
                Severity::Error,
                format!("route to director {}", r.dst),
                format!("{} via {gw} dev {}", r.dst, r.dev),
                format!("{host} is not on the director's segment: it reaches the director's {} via gateway {gw}", r.dst),
                "put the realserver on the director's VLAN (an on-link route to the director), or use tunnelling (ipvsadm -e … -i)".into(),
            ));
        }
        let rpf = f.e_max(&r.dev, "rp_filter");
        if let Some(c) = f.route_client.as_ref().filter(|c| rpf == 1 && c.dev != r.dev) {
            let (din, dout, probe) = (&r.dev, &c.dev, c.dst);
            out.push(mk(
                "R-RPF-STRICT",
                Severity::Error,
                format!("interface {din}"),
                format!("rp_filter={rpf} (max of all and {din}); director via {din}, clients ({probe}) via {dout}"),
                format!(
                    "strict rp_filter on {host} drops client packets from the director on {din} (the route back to clients leaves by {dout}); \
                     confirm: ip route get {vip} from {probe} iif {din} fails"
                ),
                format!("sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.{din}.rp_filter=2"),
            ));
        }
    }
    if let (Some(a), Some(b)) = f.rpf_drops {
        if b > a {
            out.push(mk(
                "R-RPF-COUNTER",
                Severity::Warning,
                "TcpExt IPReversePathFilter".into(),
                format!("+{} in about a second ({a} → {b})", b - a),
                format!("rp_filter is dropping packets on {host}"),
                "sysctl -w net.ipv4.conf.all.log_martians=1; journalctl -k | grep 'martian source'".into(),
            ));
        }
    }
    if let Some(active) = s.active_conns.filter(|_| port != 0) {
        let sockets = f.established.get(&(vip, port)).copied().unwrap_or(0);
        if sockets >= 10 && sockets > 2 * u64::from(active) + 10 {
            out.push(mk(
                "D-BYPASS",
                Severity::Warning,
                format!("{vip}:{port}"),
                format!("{sockets} ESTABLISHED sockets on {vip}:{port}; director ActiveConn {active}"),
                "clients reach RS directly: ARP problem or router pinned to an RS MAC".into(),
                "run lvstop check (D-ARP-FOREIGN) and fix the realserver's arp_ignore/arp_announce".into(),
            ));
        }
    }
    if tunnel {
        let rpf = f.e_max("tunl0", "rp_filter");
        let tunl_addr = f.addrs.iter().any(|a| a.dev == "tunl0");
        if rpf == 1 || (rpf == 2 && !tunl_addr) {
            out.push(mk(
                "R-RPF-TUN",
                Severity::Error,
                "interface tunl0".into(),
                format!("rp_filter={rpf}, tunl0 {} an address", if tunl_addr { "has" } else { "has no" }),
                format!("{host}'s tunl0 drops the decapsulated packets (reverse-path filter)"),
                "sysctl -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.tunl0.rp_filter=0".into(),
            ));
        }
    }
    if let Some(gw) = f.gateway {
        if director.iter().any(|(a, _)| *a == IpAddr::V4(gw)) {
            out.push(mk("R-GW-DIRECTOR", Severity::Warning, "default route".into(), format!("default via {gw}"),
                format!("{host}'s replies go via the director ({gw}), which drops them as martians (source VIP is local there)"),
                "ip route replace default via <the real router>".into()));
        }
    }
    let (sockets, proto) = match s.protocol {
        crate::model::Protocol::Tcp => (Some(&f.listen), "TCP"),
        crate::model::Protocol::Udp => (Some(&f.udp_listen), "UDP"),
        _ => (None, ""),
    };
    let listening = sockets.is_none_or(|l| l.iter().any(|(a, p)| *p == port && (*a == vip || a.is_unspecified())));
    if port != 0 && !listening {
        out.push(mk(
            "R-LISTEN",
            Severity::Error,
            format!("{vip}:{port}"),
            format!("no {proto} listener on {vip}:{port} or 0.0.0.0:{port}"),
            format!("nothing on {host} listens on VIP {vip} port {port} (a RIP-only bind resets DR traffic)"),
            "bind the service to the VIP or to 0.0.0.0".into(),
        ));
    }
    if f.sysctl.get("ip_forward") == Some(&1) {
        out.push(mk(
            "R-FWD",
            Severity::Info,
            "net.ipv4.ip_forward".into(),
            "ip_forward=1".into(),
            format!("if the VIP vanishes, {host} will route VIP traffic back out"),
            "sysctl -w net.ipv4.ip_forward=0".into(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Protocol;

    const GOOD: &str = "@@netstat1
TcpExt: SyncookiesSent ArpFilter IPReversePathFilter ListenOverflows
TcpExt: 0 0 5 0
@@sysctl
/proc/sys/net/ipv4/ip_forward:0
/proc/sys/net/ipv4/conf/all/arp_ignore:1
/proc/sys/net/ipv4/conf/all/arp_announce:2
/proc/sys/net/ipv4/conf/eth0/arp_ignore:0
/proc/sys/net/ipv4/conf/eth0/arp_announce:0
/proc/sys/net/ipv4/conf/all/rp_filter:0
/proc/sys/net/ipv4/conf/eth0/rp_filter:1
@@addr
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
1: lo    inet 198.51.100.100/32 scope global lo\\       valid_lft forever preferred_lft forever
2: eth0    inet 198.51.100.11/24 brd 198.51.100.255 scope global eth0\\       valid_lft forever preferred_lft forever
@@link
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
2: eth0@if9: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000\\    link/ether 02:00:00:00:00:0b brd ff:ff:ff:ff:ff:ff link-netnsid 0
@@route
default via 198.51.100.254 dev eth0
198.51.100.0/24 dev eth0 proto kernel scope link src 198.51.100.11
@@routeget-dip
198.51.100.1 dev eth0 src 198.51.100.11 uid 0 \\    cache 
@@routeget-client
203.0.113.254 via 198.51.100.254 dev eth0 src 198.51.100.11 uid 0 \\    cache 
@@tcp
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
@@netstat2
TcpExt: SyncookiesSent ArpFilter IPReversePathFilter ListenOverflows
TcpExt: 0 0 5 0
@@end
";

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().expect("ip")
    }

    fn dr(active: Option<u32>) -> Serve {
        Serve { vip: ip("198.51.100.100"), port: 80, tunnel: false, active_conns: active, protocol: Protocol::Tcp }
    }

    /// The director: DIP 198.51.100.1/24 and the VIP.
    fn director() -> Vec<(IpAddr, u8)> {
        vec![(IpAddr::V4(ip("198.51.100.1")), 24), (IpAddr::V4(ip("198.51.100.100")), 32)]
    }

    /// Rule ids for `text` (parsed) in service `s`, sorted.
    fn ids(text: &str, s: &Serve) -> Vec<&'static str> {
        let f = parse(text).map_err(|e| format!("{e}\n{text}")).expect("parse");
        let mut ids: Vec<&str> =
            check("rs", &f, s, Some(ip("198.51.100.1")), &director()).iter().map(|x| x.id).collect();
        ids.sort_unstable();
        ids
    }

    /// /proc/net/tcp lines of `n` ESTABLISHED sockets from `local` (IPv4, or
    /// IPv4-mapped in tcp6 form), as this host's kernel prints them.
    fn established(local: Ipv4Addr, port: u16, n: usize, v6: bool) -> String {
        let hex = |a: Ipv4Addr| format!("{:08X}", u32::from_ne_bytes(a.octets()));
        let local = if v6 {
            format!("0000000000000000{:08X}{}", u32::from_ne_bytes([0, 0, 0xff, 0xff]), hex(local))
        } else {
            hex(local)
        };
        (0..n)
            .map(|i| {
                format!(
                    "  {i}: {local}:{port:04X} {}:{:04X} 01 00000000:00000000 00:00000000 00000000 0 0 1 1 0 20 4 30 10 -1\n",
                    hex(ip("203.0.113.7")),
                    40000 + i
                )
            })
            .collect::<Vec<_>>()
            .concat()
    }

    fn with_sockets(text: &str, lines: &str) -> String {
        text.replace("@@netstat2", &format!("{lines}@@netstat2"))
    }

    #[test]
    fn a_well_configured_realserver_passes() {
        let f = parse(GOOD).expect("parse");
        assert_eq!(f.listen, vec![(Ipv4Addr::UNSPECIFIED, 80)]);
        assert_eq!(f.rpf_drops, (Some(5), Some(5)));
        assert_eq!(
            f.route_client,
            Some(RouteGet { dst: ip("203.0.113.254"), dev: "eth0".into(), via: Some(ip("198.51.100.254")) })
        );
        let found = check("rs1", &f, &dr(Some(3)), Some(ip("198.51.100.1")), &director());
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn each_realserver_rule_fires() {
        // arp_ignore=4 on eth0 overrides all=1; VIP /24 on lo; default route via the director; nothing listens.
        let text = GOOD
            .replace("conf/eth0/arp_ignore:0", "conf/eth0/arp_ignore:4")
            .replace("conf/all/arp_announce:2", "conf/all/arp_announce:0")
            .replace("198.51.100.100/32 scope global lo", "198.51.100.100/24 scope global lo")
            .replace("default via 198.51.100.254", "default via 198.51.100.1")
            .replace(" 0A ", " 01 ")
            .replace("ip_forward:0", "ip_forward:1");
        assert_eq!(
            ids(&text, &dr(None)),
            vec!["R-ARP-ANNOUNCE", "R-ARP-IGNORE", "R-FWD", "R-GW-DIRECTOR", "R-LISTEN", "R-VIP-PREFIX"]
        );
        // VIP missing; tunnel with strict rp_filter.
        let text = GOOD
            .replace("198.51.100.100/32 scope global lo", "10.9.9.9/32 scope global lo")
            .replace("all/rp_filter:0", "all/rp_filter:1");
        let tun = Serve { tunnel: true, ..dr(None) };
        assert_eq!(ids(&text, &tun), vec!["R-RPF-TUN", "R-VIP-ABSENT"]);
    }

    #[test]
    fn strict_rp_filter_with_clients_routed_out_another_device() {
        let out_eth1 =
            GOOD.replace("203.0.113.254 via 198.51.100.254 dev eth0", "203.0.113.254 via 192.0.2.1 dev eth1");
        assert_eq!(ids(&out_eth1, &dr(None)), vec!["R-RPF-STRICT"]);
        let f = parse(&out_eth1).expect("parse");
        let found = check("rs4", &f, &dr(None), Some(ip("198.51.100.1")), &director());
        assert_eq!(found[0].severity, Severity::Error);
        assert_eq!(found[0].subject, "interface eth0");
        assert!(found[0].value.starts_with("rp_filter=1 (max of all and eth0)"), "{found:?}");
        assert_eq!(found[0].fix, "sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.eth0.rp_filter=2");
        assert!(found[0].message.contains("ip route get 198.51.100.100 from 203.0.113.254 iif eth0"), "{found:?}");
        // all=1 counts too (max of all and eth0).
        let all1 =
            out_eth1.replace("eth0/rp_filter:1", "eth0/rp_filter:0").replace("all/rp_filter:0", "all/rp_filter:1");
        assert_eq!(ids(&all1, &dr(None)), vec!["R-RPF-STRICT"]);
        // Not: loose mode; the same device both ways (GOOD); no route to clients; a tunnel (R-RPF-TUN's case).
        assert!(ids(&out_eth1.replace("eth0/rp_filter:1", "eth0/rp_filter:2"), &dr(None)).is_empty());
        assert!(ids(
            &out_eth1.replace("203.0.113.254 via 192.0.2.1 dev eth1 src 198.51.100.11 uid 0 \\    cache \n", ""),
            &dr(None)
        )
        .is_empty());
        assert!(!ids(&out_eth1, &Serve { tunnel: true, ..dr(None) }).contains(&"R-RPF-STRICT"));
        // Nor when the route answered is not the DIP's (the check is about the director's segment).
        let f = parse(&out_eth1).expect("parse");
        assert!(check("rs4", &f, &dr(None), Some(ip("198.51.100.2")), &director()).is_empty());
        assert!(check("rs4", &f, &dr(None), None, &director()).is_empty());
    }

    #[test]
    fn a_realserver_reaching_the_director_through_a_gateway_is_off_segment() {
        let via = GOOD.replace("198.51.100.1 dev eth0 src", "198.51.100.1 via 198.51.100.254 dev eth0 src");
        assert_eq!(ids(&via, &dr(None)), vec!["R-L2"]);
        let f = parse(&via).expect("parse");
        let found = check("rs5", &f, &dr(None), Some(ip("198.51.100.1")), &director());
        assert_eq!(
            (found[0].severity, found[0].value.as_str()),
            (Severity::Error, "198.51.100.1 via 198.51.100.254 dev eth0")
        );
        // A tunnel realserver may be anywhere.
        assert!(ids(&via, &Serve { tunnel: true, ..dr(None) }).is_empty());
        // No route to the DIP at all: nothing to judge.
        assert!(ids(&GOOD.replace("198.51.100.1 dev eth0 src 198.51.100.11 uid 0 \\    cache \n", ""), &dr(None))
            .is_empty());
    }

    #[test]
    fn arp_ignore_silences_an_interface_without_ipv4() {
        let veth = "3: veth1@if4: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP\\    link/ether 02:00:00:00:00:0c\n";
        let text = GOOD.replace("@@route\n", &format!("{veth}@@route\n"));
        assert_eq!(ids(&text, &dr(None)), vec!["R-ARP-UNNUMBERED"]);
        let f = parse(&text).expect("parse");
        let found = check("rs", &f, &dr(None), Some(ip("198.51.100.1")), &director());
        assert_eq!((found[0].severity, found[0].subject.as_str()), (Severity::Warning, "interface veth1"));
        assert_eq!(
            found[0].fix,
            "sysctl -w net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.veth1.arp_ignore=0 net.ipv4.conf.eth0.arp_ignore=1"
        );
        // 2 silences it too; 3 does not (it answers for global addresses of any interface).
        assert_eq!(ids(&text.replace("all/arp_ignore:1", "all/arp_ignore:2"), &dr(None)), vec!["R-ARP-UNNUMBERED"]);
        assert_eq!(ids(&text.replace("all/arp_ignore:1", "all/arp_ignore:3"), &dr(None)), vec!["R-ARP-IGNORE"; 2]);
        // Not: no carrier, NOARP, a bridge port, an address on it.
        for other in [
            veth.replace(",LOWER_UP", ""),
            veth.replace("MULTICAST,", "MULTICAST,NOARP,"),
            veth.replace("qdisc noqueue", "qdisc noqueue master br0"),
        ] {
            assert!(ids(&GOOD.replace("@@route\n", &format!("{other}@@route\n")), &dr(None)).is_empty(), "{other}");
        }
        let numbered = text.replace("@@link\n", "3: veth1    inet 192.0.2.5/24 scope global veth1\\ x\n@@link\n");
        assert!(ids(&numbered, &dr(None)).is_empty());
    }

    #[test]
    fn rp_filter_drops_between_the_two_readings() {
        let rising = GOOD.replace(
            "@@netstat2\nTcpExt: SyncookiesSent ArpFilter IPReversePathFilter ListenOverflows\nTcpExt: 0 0 5 0",
            "@@netstat2\nTcpExt: SyncookiesSent ArpFilter IPReversePathFilter ListenOverflows\nTcpExt: 0 0 9 0",
        );
        assert_eq!(ids(&rising, &dr(None)), vec!["R-RPF-COUNTER"]);
        let f = parse(&rising).expect("parse");
        let found = check("rs", &f, &dr(None), Some(ip("198.51.100.1")), &director());
        assert_eq!((found[0].severity, found[0].value.as_str()), (Severity::Warning, "+4 in about a second (5 → 9)"));
        // Not: no change (GOOD), a counter that went down, a kernel without the counter.
        let falling = rising.replace("TcpExt: 0 0 5 0", "TcpExt: 0 0 12 0");
        assert!(ids(&falling, &dr(None)).is_empty());
        let without = rising.replace(" IPReversePathFilter", " Other");
        assert_eq!(parse(&without).expect("parse").rpf_drops, (None, None));
        assert!(ids(&without, &dr(None)).is_empty());
        // An empty section (no /proc/net/netstat) is no reading.
        let empty = rising.replace(
            "@@netstat2\nTcpExt: SyncookiesSent ArpFilter IPReversePathFilter ListenOverflows\nTcpExt: 0 0 9 0\n",
            "@@netstat2\n",
        );
        assert_eq!(parse(&empty).expect("parse").rpf_drops, (Some(5), None));
        assert!(ids(&empty, &dr(None)).is_empty());
    }

    #[test]
    fn many_sockets_the_director_does_not_count_mean_a_bypass() {
        let vip = ip("198.51.100.100");
        let busy = with_sockets(GOOD, &established(vip, 80, 40, false));
        assert_eq!(parse(&busy).expect("parse").established.get(&(vip, 80)), Some(&40));
        assert_eq!(ids(&busy, &dr(Some(3))), vec!["D-BYPASS"]);
        let f = parse(&busy).expect("parse");
        let found = check("rs", &f, &dr(Some(3)), Some(ip("198.51.100.1")), &director());
        assert_eq!(
            (found[0].severity, found[0].subject.as_str(), found[0].value.as_str()),
            (
                Severity::Warning,
                "198.51.100.100:80",
                "40 ESTABLISHED sockets on 198.51.100.100:80; director ActiveConn 3"
            )
        );
        assert_eq!(found[0].message, "clients reach RS directly: ARP problem or router pinned to an RS MAC");
        assert_eq!(found[0].fix, "run lvstop check (D-ARP-FOREIGN) and fix the realserver's arp_ignore/arp_announce");
        // The boundary: 40 > 2 × 14 + 10 fires, 40 > 2 × 15 + 10 does not.
        assert_eq!(ids(&busy, &dr(Some(14))), vec!["D-BYPASS"]);
        assert!(ids(&busy, &dr(Some(15))).is_empty());
        // At least 10 sockets: 11 with ActiveConn 0 fires, 9 (or 10: not > 10) does not.
        assert_eq!(ids(&with_sockets(GOOD, &established(vip, 80, 11, false)), &dr(Some(0))), vec!["D-BYPASS"]);
        assert!(ids(&with_sockets(GOOD, &established(vip, 80, 10, false)), &dr(Some(0))).is_empty());
        // IPv4-mapped sockets of a dual-stack listener count.
        let mapped = with_sockets(GOOD, &established(vip, 80, 30, true));
        assert_eq!(parse(&mapped).expect("parse").established.get(&(vip, 80)), Some(&30));
        assert_eq!(ids(&mapped, &dr(Some(0))), vec!["D-BYPASS"]);
        // Not: ActiveConn unknown, sockets on another port or address, a persistent all-ports service.
        assert!(ids(&busy, &dr(None)).is_empty());
        assert!(ids(&with_sockets(GOOD, &established(vip, 443, 40, false)), &dr(Some(0))).is_empty());
        assert!(ids(&with_sockets(GOOD, &established(ip("198.51.100.11"), 80, 40, false)), &dr(Some(0))).is_empty());
        let mut all_ports = dr(Some(0));
        all_ports.port = 0;
        assert_eq!(ids(&busy, &all_ports), Vec::<&str>::new());
    }

    #[test]
    fn untrusted_output_is_refused_with_the_line() {
        assert!(parse("@@sysctl\n/proc/sys/net/ipv4/ip_forward:yes\n@@end\n").expect_err("nan").contains("line 2"));
        assert!(parse("@@sysctl\n").expect_err("cut").contains("end marker"));
        assert!(parse("garbage\n@@end\n").expect_err("preamble").contains("line 1"));
        assert!(parse("@@rm -rf\n").expect_err("section").contains("unknown section"));
        // The new sections, each line and value named.
        for (text, needle) in [
            ("@@netstat1\nIpExt: InNoRoutes\n@@end\n", "line 2: 'IpExt: InNoRoutes': not a TcpExt line"),
            ("@@netstat1\nTcpExt: A B\nTcpExt: 1\n@@end\n", "line 3: 'TcpExt: 1': 1 TcpExt values for 2 counter names"),
            (
                "@@netstat2\nTcpExt: A IPReversePathFilter\nTcpExt: 1 x7\n@@end\n",
                "IPReversePathFilter = 'x7' is not a number",
            ),
            ("@@netstat2\nTcpExt: A\nTcpExt: 1\nTcpExt: A\n@@end\n", "line 4: 'TcpExt: A': more than one"),
            ("@@netstat1\nTcpExt: A B\n@@end\n", "line 2: TcpExt counter names without their values line"),
            (
                "@@routeget-dip\n198.51.100.999 dev eth0\n@@end\n",
                "line 2: '198.51.100.999 dev eth0': '198.51.100.999' is not an IPv4",
            ),
            (
                "@@routeget-dip\n198.51.100.1 via 198.51.100.254\n@@end\n",
                "line 2: '198.51.100.1 via 198.51.100.254': no dev",
            ),
            ("@@routeget-client\n203.0.113.254 via x dev eth0\n@@end\n", "gateway 'x' is not an IPv4 address"),
            ("@@routeget-client\n203.0.113.254 dev eth0/../x\n@@end\n", "'eth0/../x' is not an interface name"),
            (
                "@@routeget-client\n203.0.113.254 dev eth0\n203.0.113.254 dev eth1\n@@end\n",
                "line 3: '203.0.113.254 dev eth1': more than one route",
            ),
            ("@@routeget-client\nRTNETLINK answers: Network is unreachable\n@@end\n", "line 2: 'RTNETLINK"),
            (
                "@@tcp\n   0: 0000000G:0050 00000000:0000 01 0\n@@end\n",
                "line 2: '   0: 0000000G:0050 00000000:0000 01 0': '0000000G' is not an address",
            ),
            ("@@tcp\n   0: 00000000:0050 00000000:0000 ZZ 0\n@@end\n", "bad state 'ZZ'"),
            ("@@tcp\n   0: 00000000:1FFFF 00000000:0000 01 0\n@@end\n", "bad port '1FFFF'"),
            ("@@tcp\n   0: 0000:0050 00000000:0000 01 0\n@@end\n", "'0000' is not an address"),
            ("@@tcp\n   0: 00000000:0050\n@@end\n", "no state"),
        ] {
            let e = parse(text).expect_err(text);
            assert!(e.contains(needle), "{text:?}: {e}");
        }
        // An empty route section is no route (ip printed its error to /dev/null).
        let f = parse("@@routeget-dip\n@@routeget-client\n@@end\n").expect("empty");
        assert_eq!((f.route_dip, f.route_client), (None, None));
        // A local route (the address is the host's own) parses.
        let f = parse("@@routeget-dip\nlocal 127.0.0.1 dev lo src 127.0.0.1 uid 0 \\    cache <local> \n@@end\n")
            .expect("local");
        assert_eq!(f.route_dip.map(|r| r.dev), Some("lo".to_string()));
    }

    #[test]
    fn the_script_carries_only_the_two_typed_addresses() {
        let with = script(Some(ip("198.51.100.1")), ip("203.0.113.254"));
        let without = script(None, ip("203.0.113.254"));
        assert_eq!(with.replace(" ip -o route get 198.51.100.1 2>/dev/null", ""), without);
        assert!(without.contains("echo @@routeget-dip;\n"), "{without}");
        assert!(with.contains("ip -o route get 203.0.113.254 2>/dev/null"), "{with}");
        // The netstat readings come first and last, a second apart at least.
        let sleep = with.find("sleep 1").expect("sleep");
        assert!(with.find("@@netstat1").expect("1") < sleep && sleep < with.find("@@netstat2").expect("2"));
    }

    #[test]
    fn the_dip_is_the_director_address_on_the_realserver_segment() {
        let v4 = |s: &str, p: u8| (IpAddr::V4(ip(s)), p);
        let d = vec![v4("127.0.0.1", 8), v4("192.0.2.1", 24), v4("198.51.100.100", 24), v4("198.51.100.1", 24)];
        let vips = [ip("198.51.100.100")];
        assert_eq!(dip_for(IpAddr::V4(ip("198.51.100.11")), &d, &vips), Some(ip("198.51.100.1")));
        // Off every director subnet: the first director address that is neither loopback nor a VIP.
        assert_eq!(dip_for(IpAddr::V4(ip("203.0.113.5")), &d, &vips), Some(ip("192.0.2.1")));
        assert_eq!(dip_for(IpAddr::V4(ip("198.51.100.11")), &d[..1], &vips), None);
        assert_eq!(dip_for("2001:db8::11".parse().expect("v6"), &d, &vips), Some(ip("192.0.2.1")));
    }

    #[test]
    fn targets_carry_the_directors_active_connections() {
        use crate::model::{Counters, DestSpec, Destination, ForwardMethod, Rates, Service, ServiceKey, ServiceSpec};
        let dest = |a: &str, fwd, active| Destination {
            spec: DestSpec::new(a.parse().expect("ip"), 80, fwd),
            active_conns: active,
            inact_conns: 0,
            persist_conns: 0,
            stats: Counters::default(),
            rates: Rates::default(),
        };
        let svc = |key, dests| Service {
            spec: ServiceSpec::new(key, "wrr"),
            stats: Counters::default(),
            rates: Rates::default(),
            destinations: dests,
        };
        let vip = IpAddr::V4(ip("198.51.100.100"));
        let snap = crate::model::Snapshot {
            services: vec![
                svc(
                    ServiceKey::tcp(vip, 80),
                    vec![
                        dest("198.51.100.11", ForwardMethod::Route, 7),
                        dest("198.51.100.12", ForwardMethod::Tunnel, 2),
                        dest("198.51.100.13", ForwardMethod::Masq, 9),
                    ],
                ),
                svc(ServiceKey::udp(vip, 53), vec![dest("198.51.100.11", ForwardMethod::Route, 4)]),
            ],
            ..crate::model::Snapshot::empty()
        };
        let t = targets(&snap);
        assert_eq!(t.len(), 2, "{t:?}");
        assert_eq!(
            t[0].serves,
            vec![
                Serve {
                    vip: ip("198.51.100.100"),
                    port: 80,
                    tunnel: false,
                    active_conns: Some(7),
                    protocol: Protocol::Tcp
                },
                Serve {
                    vip: ip("198.51.100.100"),
                    port: 53,
                    tunnel: false,
                    active_conns: None,
                    protocol: Protocol::Udp
                },
            ]
        );
        assert_eq!(
            t[1].serves,
            vec![Serve {
                vip: ip("198.51.100.100"),
                port: 80,
                tunnel: true,
                active_conns: Some(2),
                protocol: Protocol::Tcp
            }]
        );
    }

    #[test]
    fn udp_services_look_for_udp_sockets() {
        let udp = Serve { port: 53, protocol: Protocol::Udp, ..dr(None) };
        // GOOD has a TCP listener on port 80 only: nothing on UDP 53.
        assert!(ids(GOOD, &udp).contains(&"R-LISTEN"));
        let bound = GOOD.replace(
            "@@end",
            "@@udp\n   sl  local_address rem_address   st\n  1: 00000000:0035 00000000:0000 07 0\n@@end",
        );
        assert!(!ids(&bound, &udp).contains(&"R-LISTEN"), "a wildcard UDP socket on 53 listens");
        // An SCTP service is not judged on sockets lvstop does not read.
        assert!(!ids(GOOD, &Serve { port: 9, protocol: Protocol::Sctp, ..dr(None) }).contains(&"R-LISTEN"));
    }
}

#[cfg(test)]
mod live {
    /// The script's real output on this host parses (real `ip -o` and /proc formats).
    #[test]
    fn the_script_output_of_this_host_parses() {
        let script = super::script(Some(std::net::Ipv4Addr::LOCALHOST), crate::checks::CLIENT_PROBE_V4);
        let Ok(out) = std::process::Command::new("sh").arg("-c").arg(script).output() else { return };
        let text = String::from_utf8_lossy(&out.stdout);
        let f = super::parse(&text).map_err(|e| format!("{e}\n{text}")).expect("the script's output parses");
        assert!(f.addrs.iter().any(|a| a.addr.is_loopback()), "{f:?}");
        assert!(f.sysctl.contains_key("all/arp_ignore"), "{f:?}");
        assert_eq!(f.route_dip.map(|r| r.dev), Some("lo".to_string()), "{text}");
        assert!(f.rpf_drops.0.is_some() && f.rpf_drops.1.is_some(), "{text}");
    }
}

/// A realserver to read, with the services it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Its address.
    pub rip: IpAddr,
    /// Each DR/TUN service it is in.
    pub serves: Vec<Serve>,
}

/// The DR and tunnel realservers of a snapshot, by address.
pub fn targets(snap: &crate::model::Snapshot) -> Vec<Target> {
    let mut by: BTreeMap<IpAddr, Vec<Serve>> = BTreeMap::new();
    for s in &snap.services {
        let crate::model::ServiceKey::Addr { protocol, addr: IpAddr::V4(vip), port } = s.spec.key else { continue };
        for d in s.destinations.iter().filter(|d| d.spec.forward.is_one_way()) {
            by.entry(d.spec.addr).or_default().push(Serve {
                vip,
                port,
                tunnel: d.spec.forward == crate::model::ForwardMethod::Tunnel,
                active_conns: (protocol == crate::model::Protocol::Tcp).then_some(d.active_conns),
                protocol,
            });
        }
    }
    by.into_iter().map(|(rip, serves)| Target { rip, serves }).collect()
}

/// Read every target over ssh (a bounded number at once) and judge it. A host
/// that cannot be read is reported (R-UNREACHABLE), never waited on forever.
/// `director` holds the director's addresses with their prefix lengths.
pub async fn run_all(targets: Vec<Target>, director: Vec<(IpAddr, u8)>, cfg: crate::remote::SshConfig) -> Vec<Finding> {
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(cfg.parallel.max(1)));
    let cfg = std::sync::Arc::new(cfg);
    let director = std::sync::Arc::new(director);
    let mut tasks = Vec::new();
    for t in targets {
        let (host, user, port) = match cfg.hosts.get(&t.rip) {
            Some(None) => continue,
            Some(Some(h)) => (h.host.clone().unwrap_or_else(|| t.rip.to_string()), h.user.clone(), h.port),
            None => (t.rip.to_string(), None, None),
        };
        let vips: Vec<Ipv4Addr> = t.serves.iter().map(|s| s.vip).collect();
        let dip = dip_for(t.rip, &director, &vips);
        let (sem, cfg, director) = (sem.clone(), cfg.clone(), director.clone());
        tasks.push(tokio::spawn(async move {
            let Ok(_permit) = sem.acquire().await else { return Vec::new() };
            let name = format!("realserver {}", t.rip);
            let text = crate::remote::run(&host, user.as_deref(), port, &script(dip, super::CLIENT_PROBE_V4), &cfg).await;
            match text.and_then(|t| parse(&t).map_err(|e| format!("unexpected output from {host}: {e}"))) {
                Err(e) => vec![Finding {
                    id: "R-UNREACHABLE",
                    severity: Severity::Warning,
                    host: name,
                    subject: format!("ssh {host}"),
                    value: e.clone(),
                    message: format!("cannot read realserver {}: {e}", t.rip),
                    fix: format!("check access without a prompt: ssh -o BatchMode=yes {host} true (keys, known_hosts, [ssh] in lvstop.toml)"),
                }],
                Ok(facts) => {
                    // Host-wide findings (R-FWD, R-RPF-COUNTER, ...) come once per service: keep one.
                    let mut found: Vec<Finding> = Vec::new();
                    for f in t.serves.iter().flat_map(|s| check(&name, &facts, s, dip, &director)) {
                        if !found.contains(&f) {
                            found.push(f);
                        }
                    }
                    found
                }
            }
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.extend(t.await.unwrap_or_default());
    }
    out
}
