//! The parser of the script's output. A remote host's answer is untrusted
//! input: every line must make sense, or the whole answer is refused with the
//! line named.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};

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

/// IPv4 addresses as firewall rules name them: single addresses, prefixes
/// (`198.51.100.96/28`, or arptables' `/255.255.255.240`) and ranges
/// (`198.51.100.1-198.51.100.9`). The parser adds them as read, then sorts and
/// merges them once ([`Ipv4Ranges::merge`]), so that a lookup is a binary
/// search however many a hostile host lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Ranges {
    /// Inclusive ranges.
    pub(super) ranges: Vec<(u32, u32)>,
    /// Sorted, and none overlaps or touches the next.
    pub(super) merged: bool,
}

impl Default for Ipv4Ranges {
    fn default() -> Self {
        Ipv4Ranges { ranges: Vec::new(), merged: true }
    }
}

impl Ipv4Ranges {
    /// Whether `a` is one of the addresses.
    pub fn contains(&self, a: &Ipv4Addr) -> bool {
        let a = u32::from(*a);
        if !self.merged {
            return self.ranges.iter().any(|&(lo, hi)| lo <= a && a <= hi);
        }
        let at = self.ranges.partition_point(|&(lo, _)| lo <= a);
        at > 0 && self.ranges[at - 1].1 >= a
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Add ranges as read.
    pub(super) fn extend(&mut self, ranges: impl IntoIterator<Item = (u32, u32)>) {
        let before = self.ranges.len();
        self.ranges.extend(ranges);
        self.merged &= self.ranges.len() == before;
    }

    /// Sort and merge the ranges.
    pub(super) fn merge(&mut self) {
        if self.merged {
            return;
        }
        self.ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(self.ranges.len());
        for (lo, hi) in self.ranges.drain(..) {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        (self.ranges, self.merged) = (merged, true);
    }
}

impl<const N: usize> From<[Ipv4Addr; N]> for Ipv4Ranges {
    fn from(addrs: [Ipv4Addr; N]) -> Self {
        let mut r = Ipv4Ranges::default();
        r.extend(addrs.map(|a| (u32::from(a), u32::from(a))));
        r.merge();
        r
    }
}

/// One address, prefix or range as a firewall listing writes it (see
/// [`Ipv4Ranges`]); None for anything else, a mask with holes included.
fn ipv4_range(t: &str) -> Option<(u32, u32)> {
    if let Some((lo, hi)) = t.split_once('-') {
        let (lo, hi) = (u32::from(lo.parse::<Ipv4Addr>().ok()?), u32::from(hi.parse::<Ipv4Addr>().ok()?));
        return (lo <= hi).then_some((lo, hi));
    }
    let Some((net, len)) = t.split_once('/') else {
        let a = u32::from(t.parse::<Ipv4Addr>().ok()?);
        return Some((a, a));
    };
    let net = u32::from(net.parse::<Ipv4Addr>().ok()?);
    let mask = match len.parse::<u8>() {
        Ok(0) => 0,
        Ok(n @ 1..=32) => u32::MAX << (32 - u32::from(n)),
        Ok(_) => return None,
        Err(_) => u32::from(len.parse::<Ipv4Addr>().ok()?),
    };
    // A dotted mask must be ones then zeros.
    if mask.leading_ones() + mask.trailing_zeros() != 32 {
        return None;
    }
    Some((net & mask, net | !mask))
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

/// Which ARP filter chain a rule line is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ArpChain {
    In,
    Out,
    #[default]
    Other,
}

/// What follows `key` (`arp daddr ip `) in a rule, unless `key` is the
/// second part of a concatenation (`arp daddr ip . arp saddr ip @pairs`),
/// whose set elements pair addresses.
fn after_key<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(key)?;
    if line[..at].trim_end().ends_with('.') {
        return None;
    }
    let rest = line[at + key.len()..].trim_start();
    (!rest.starts_with('.')).then_some(rest)
}

/// The addresses a rule matches after `key` (`arp daddr ip`): one address,
/// prefix or range, or a `{ a, b }` set of them; nothing after a negation
/// (`!=`) or a named set (see [`nft_set_ref`]).
fn nft_addrs(line: &str, key: &str) -> Vec<(u32, u32)> {
    let Some(rest) = after_key(line, key) else { return Vec::new() };
    if let Some(set) = rest.strip_prefix('{') {
        let body = set.split('}').next().unwrap_or_default();
        return body.split(',').filter_map(|a| ipv4_range(a.trim())).collect();
    }
    rest.split_whitespace().next().and_then(ipv4_range).into_iter().collect()
}

/// The named set a rule matches after `key` (`arp daddr ip @vips`), if it does.
fn nft_set_ref(line: &str, key: &str) -> Option<String> {
    let name = after_key(line, key)?.strip_prefix('@')?.split_whitespace().next()?;
    (name.len() <= NFT_NAME_MAX).then(|| name.to_string())
}

/// The longest set name read (nft allows 255 bytes); a longer one is not
/// taken for a set, so its rules suppress nothing.
const NFT_NAME_MAX: usize = 255;

/// What `nft list ruleset arp` has said so far: the table (numbered in the
/// order listed, and whether dormant) and chain a line is in, the set block it is in with the
/// addresses read so far (and whether in its elements), each named set's
/// addresses, and the rules that match a named set, resolved once the whole
/// listing is read ([`NftState::resolve`]). Work stays linear in the
/// listing: a set is stored once when its block ends, each (chain, set) is
/// resolved once however many rules name it.
#[derive(Debug, Default)]
struct NftState {
    table: u32,
    /// The table is dormant (`flags dormant`): its chains see no packets.
    dormant: bool,
    chain: ArpChain,
    set: Option<(String, Vec<(u32, u32)>)>,
    in_elements: bool,
    sets: BTreeMap<(u32, String), Vec<(u32, u32)>>,
    refs: BTreeSet<(u32, String, bool)>,
}

impl NftState {
    /// The addresses of the named sets the rules match, as those rules' own
    /// (`true`: an input rule's, else an output rule's).
    fn resolve(self, f: &mut RemoteFacts) {
        for (table, name, input) in self.refs {
            let addrs = self.sets.get(&(table, name)).into_iter().flatten().copied();
            if input {
                f.arp_in_dropped.extend(addrs);
            } else {
                f.arp_out_rewritten.extend(addrs);
            }
        }
    }

    /// A line inside a `set NAME { ... }` block: its elements' addresses,
    /// prefixes and ranges (a concatenation is not read), over as many lines
    /// as they take; the block's end stores the set.
    fn set_line(&mut self, t: &str) {
        let Some((_, addrs)) = self.set.as_mut() else { return };
        let body = if let Some(body) = t.strip_prefix("elements = {") {
            self.in_elements = true;
            body
        } else if self.in_elements {
            t
        } else {
            if t == "}" {
                if let Some((name, addrs)) = self.set.take() {
                    self.sets.insert((self.table, name), addrs);
                }
            }
            return;
        };
        let (body, closed) = body.split_once('}').map_or((body, false), |(b, _)| (b, true));
        let single = |a: &str| if a.contains(" . ") { None } else { ipv4_range(a.split_whitespace().next()?) };
        addrs.extend(body.split(',').filter_map(single));
        if closed {
            self.in_elements = false;
        }
    }
}

/// One line of `arptables -L -n` (chain headers and rules such as
/// `-j DROP -d 198.51.100.100` or `-j mangle -s VIP --mangle-ip-s RIP`):
/// the ARP suppression it sets up. Anything else is ignored.
fn arptables_line(f: &mut RemoteFacts, chain: &mut ArpChain, line: &str) {
    if let Some(name) = line.strip_prefix("Chain ") {
        *chain = match name.split_whitespace().next() {
            Some("INPUT" | "IN") => ArpChain::In,
            Some("OUTPUT" | "OUT") => ArpChain::Out,
            _ => ArpChain::Other,
        };
        return;
    }
    let w: Vec<&str> = line.split_whitespace().collect();
    if w.contains(&"!") {
        return;
    }
    let after = |flag: &str| w.iter().position(|x| *x == flag).and_then(|i| w.get(i + 1)).and_then(|a| ipv4_range(a));
    let target = w.iter().position(|x| *x == "-j").and_then(|i| w.get(i + 1)).copied().unwrap_or_default();
    match *chain {
        ArpChain::In if target == "DROP" => f.arp_in_dropped.extend(after("-d")),
        ArpChain::Out if target == "DROP" || (target == "mangle" && w.contains(&"--mangle-ip-s")) => {
            f.arp_out_rewritten.extend(after("-s"));
        }
        _ => {}
    }
}

/// One line of `nft list ruleset arp`: a table, a named set and its
/// elements, a chain's hook, or a rule such as `arp daddr ip 198.51.100.100
/// drop` or `arp daddr ip @vips drop` (input), or `arp saddr ip 198.51.100.100
/// arp saddr ip set 198.51.100.11` (output).
fn nft_line(f: &mut RemoteFacts, st: &mut NftState, line: &str) {
    let t = line.trim();
    if t.starts_with("table ") {
        // `table arp NAME {`: sets are named within their table.
        st.table = st.table.wrapping_add(1);
        (st.dormant, st.chain, st.set, st.in_elements) = (false, ArpChain::Other, None, false);
        return;
    }
    if st.set.is_some() {
        st.set_line(t);
        return;
    }
    if let Some(flags) = t.strip_prefix("flags ") {
        // A table's flags (a set's are read in its block): `flags dormant`
        // turns the whole table off.
        st.dormant |= flags.split([',', ' ']).any(|f| f == "dormant");
        return;
    }
    if let Some(rest) = t.strip_prefix("set ") {
        st.set =
            rest.split_whitespace().next().filter(|n| n.len() <= NFT_NAME_MAX).map(|n| (n.to_string(), Vec::new()));
        return;
    }
    let chain = &mut st.chain;
    if t.starts_with("chain ") {
        *chain = ArpChain::Other;
        return;
    }
    if t.starts_with("type ") {
        *chain = if t.contains("hook input") {
            ArpChain::In
        } else if t.contains("hook output") {
            ArpChain::Out
        } else {
            ArpChain::Other
        };
        return;
    }
    if st.dormant || nft_narrowed(t) {
        return;
    }
    let drops = t.split_whitespace().any(|w| w == "drop");
    let key = match *chain {
        ArpChain::In if drops => "arp daddr ip ",
        ArpChain::Out if drops || t.contains("arp saddr ip set") => "arp saddr ip ",
        _ => return,
    };
    let input = *chain == ArpChain::In;
    let addrs = nft_addrs(t, key);
    if input {
        f.arp_in_dropped.extend(addrs);
    } else {
        f.arp_out_rewritten.extend(addrs);
    }
    if let Some(name) = nft_set_ref(t, key) {
        st.refs.insert((st.table, name, input));
    }
}

/// Whether a rule acts on only some of the ARP for its addresses: up to a
/// rate or a quota (`limit rate 10/second`, `quota`), or on other operations
/// than requests (`arp operation reply`, `arp operation != request`). Requests
/// for the VIP then still reach the host, or still leave it, and the rule is
/// no suppression. A list (`arp operation { request, reply }`) is read.
fn nft_narrowed(t: &str) -> bool {
    let w: Vec<&str> = t.split_whitespace().collect();
    if w.iter().any(|x| matches!(*x, "limit" | "quota")) {
        return true;
    }
    let Some(at) = w.windows(2).position(|x| x == ["arp", "operation"]) else { return false };
    let rest = &w[at + 2..];
    let (negated, rest) = match rest.split_first() {
        Some((&"!=", rest)) => (true, rest),
        _ => (false, rest),
    };
    let ops: Vec<&str> = match rest.first() {
        Some(first) if first.starts_with('{') => rest
            .iter()
            .take_while(|x| !x.starts_with('}'))
            .flat_map(|x| x.split([',', '{', '}']))
            .filter(|x| !x.is_empty())
            .collect(),
        Some(op) => vec![*op],
        None => Vec::new(),
    };
    let requests = ops.iter().any(|op| matches!(*op, "request" | "1"));
    requests == negated
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
    let mut arp_chain = ArpChain::Other;
    let mut nft = NftState::default();
    for (n, line) in text.lines().enumerate() {
        let bad = |why: &str| {
            let shown = crate::text::sanitize(&line.chars().take(120).collect::<String>());
            format!("line {}: '{shown}': {why}", n + 1)
        };
        if let Some(s) = line.strip_prefix("@@") {
            if let Some((at, _)) = tcpext.take() {
                return Err(format!("line {at}: TcpExt counter names without their values line"));
            }
            (netstat_done, routes_seen, arp_chain) = (false, 0, ArpChain::Other);
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
            "arptables" => arptables_line(&mut f, &mut arp_chain, line),
            "nft" => nft_line(&mut f, &mut nft, line),
            "" if line.trim().is_empty() => {}
            "" => return Err(bad("output before the first section")),
            _ => {}
        }
    }
    if !ended {
        return Err("the output stops before its end marker (the host hung up or the script failed)".into());
    }
    nft.resolve(&mut f);
    f.arp_in_dropped.merge();
    f.arp_out_rewritten.merge();
    Ok(f)
}

/// Whether `a` is inside `net/prefix`.
pub(super) fn in_prefix(net: Ipv4Addr, prefix: u8, a: Ipv4Addr) -> bool {
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix.min(32))) };
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
