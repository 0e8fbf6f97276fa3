//! Everything lvstop reads from the world-readable `/proc/net/ip_vs*` files:
//! the service table and the netns totals (the degraded read-only snapshot
//! used when netlink is refused, and the totals netlink does not carry) and
//! the connection entries of `/proc/net/ip_vs_conn` (the checks). Every parse
//! error names the file, the line and the text.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use thiserror::Error;

use std::net::SocketAddr;

use crate::model::{
    ConnEntry, Counters, DestSpec, Destination, Family, ForwardMethod, Info, Netmask, Protocol, Rates, Service,
    ServiceFlags, ServiceKey, ServiceSpec, Snapshot, Source,
};

/// Path of the service table.
pub const IP_VS: &str = "/proc/net/ip_vs";
/// Path of the netns-wide counters.
pub const IP_VS_STATS: &str = "/proc/net/ip_vs_stats";
/// Path of the connection table.
pub const IP_VS_CONN: &str = "/proc/net/ip_vs_conn";

/// A /proc file that could not be read or understood.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProcError {
    /// The file could not be read.
    #[error("cannot read {path}: {msg}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        msg: String,
    },
    /// A line did not parse.
    #[error("{path} line {line}: cannot parse '{text}': {why}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
        /// What was expected.
        why: String,
    },
}

/// A service line of /proc/net/ip_vs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcService {
    /// Identity (a fwmark line does not say its family: assumed IPv4 unless its
    /// destinations are IPv6).
    pub key: ServiceKey,
    /// Scheduler.
    pub scheduler: String,
    /// One-packet scheduling.
    pub one_packet: bool,
    /// Persistence timeout in jiffies and the raw netmask, if persistent.
    pub persistent: Option<(u64, u32)>,
    /// Destinations.
    pub dests: Vec<ProcDest>,
}

/// A destination line of /proc/net/ip_vs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcDest {
    /// Address.
    pub addr: IpAddr,
    /// Port.
    pub port: u16,
    /// Forwarding method.
    pub forward: ForwardMethod,
    /// Weight.
    pub weight: u32,
    /// ActiveConn.
    pub active: u32,
    /// InActConn.
    pub inactive: u32,
}

/// The whole of /proc/net/ip_vs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcTable {
    /// Version code from the header.
    pub version_code: u32,
    /// Connection table size from the header.
    pub size: u32,
    /// Services in file order.
    pub services: Vec<ProcService>,
}

fn read(path: &str) -> Result<String, ProcError> {
    // /proc/net/ip_vs is some 60 bytes a realserver: 256 MiB is over four million of them.
    super::read_text(path, 256 << 20).map_err(|e| ProcError::Read { path: path.into(), msg: e.to_string() })
}

/// Read and parse /proc/net/ip_vs.
pub fn read_table() -> Result<ProcTable, ProcError> {
    parse_table(IP_VS, &read(IP_VS)?)
}

/// Read and parse /proc/net/ip_vs_stats.
pub fn read_totals() -> Result<(Counters, Rates), ProcError> {
    parse_totals(IP_VS_STATS, &read(IP_VS_STATS)?)
}

/// The degraded, read-only snapshot from /proc/net/ip_vs; `reason` says why
/// netlink was not used. It lacks per-service and per-destination stats and
/// rates, thresholds, PersistConn, tunnel details and persistence engines.
pub fn snapshot(reason: &str) -> Result<Snapshot, ProcError> {
    let table = read_table()?;
    let hz = super::kernel_hz();
    let mut snap = Snapshot {
        source: Source::Procfs { reason: reason.to_string() },
        info: Some(Info { version_code: table.version_code, conn_tab_size: table.size }),
        timeouts: None,
        daemons: Vec::new(),
        services: table.services.into_iter().map(|s| s.into_service(hz)).collect(),
        totals: read_totals().ok(),
    };
    snap.sort();
    Ok(snap)
}

impl ProcService {
    /// The model's service, with the persistence timeout converted from jiffies at `hz`.
    fn into_service(self, hz: u32) -> Service {
        let family = self.key.family();
        let mut flags = 0;
        let (mut timeout, mut netmask) = (0, Netmask::default_for(family));
        if let Some((jiffies, mask)) = self.persistent {
            flags |= ServiceFlags::PERSISTENT;
            timeout = u32::try_from(jiffies / u64::from(hz.max(1))).unwrap_or(u32::MAX);
            // The kernel prints ntohl() of the raw field; for IPv6 that field holds
            // the prefix length in host order, so undo the swap to recover it.
            netmask = match family {
                Family::Inet6 => Netmask::V6(u32::from_ne_bytes(mask.to_be_bytes()).min(128) as u8),
                Family::Inet => Netmask::V4(Ipv4Addr::from(mask)),
            };
        }
        if self.one_packet {
            flags |= ServiceFlags::ONEPACKET;
        }
        Service {
            spec: ServiceSpec {
                key: self.key,
                scheduler: self.scheduler,
                flags: ServiceFlags(flags),
                timeout,
                netmask,
                pe_name: None,
            },
            stats: Counters::default(),
            rates: Rates::default(),
            destinations: self
                .dests
                .into_iter()
                .map(|d| Destination {
                    spec: DestSpec::new(d.addr, d.port, d.forward).weight(d.weight),
                    active_conns: d.active,
                    inact_conns: d.inactive,
                    persist_conns: 0,
                    stats: Counters::default(),
                    rates: Rates::default(),
                })
                .collect(),
        }
    }
}

/// Connection entries of one destination in /proc/net/ip_vs_conn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnCount {
    /// ESTABLISHED (what ActiveConn counts for TCP).
    pub established: u64,
    /// SYN_RECV: the director saw the client's SYN but not yet its ACK.
    pub syn_recv: u64,
    /// Of those, the entries that have waited [`STUCK_SECS`] or more since
    /// the client's last packet (a SYN): a realserver that answers has the
    /// client's ACK back within a round trip.
    pub stuck: u64,
    /// Every entry, templates excluded.
    pub total: u64,
    /// Seconds until the last of those expires.
    pub last_conn_secs: u32,
    /// Persistence templates that send their clients here.
    pub templates: u64,
    /// Seconds until the last of them expires.
    pub last_template_secs: u32,
    /// The virtual address (VIP:port) of its first connection: where the
    /// clients of a realserver removed with connections left were going.
    pub vip: Option<std::net::SocketAddr>,
    /// Whether its connections are to more than that one virtual address.
    pub other_vips: bool,
}

/// IPVS's SYN_RECV timeout (seconds): each packet of the client restarts an
/// entry's timer at it, so `expires` tells how long ago the last one came.
pub const SYN_RECV_TIMEOUT: u32 = 60;

/// A SYN_RECV entry this many seconds after the client's last SYN is stuck:
/// the realserver never answered (its SYN-ACK would have brought the ACK
/// within a round trip); clients retry at 1, 3, 7, 15 and 31 s.
pub const STUCK_SECS: u32 = 3;

/// Count /proc/net/ip_vs_conn entries per destination (address, port), reading
/// at most `max_lines` lines (the table can hold millions).
pub fn read_conns(max_lines: usize) -> Result<BTreeMap<(IpAddr, u16), ConnCount>, ProcError> {
    let file =
        std::fs::File::open(IP_VS_CONN).map_err(|e| ProcError::Read { path: IP_VS_CONN.into(), msg: e.to_string() })?;
    let mut out: BTreeMap<(IpAddr, u16), ConnCount> = BTreeMap::new();
    let mut lines = 0;
    read_conn_entries(IP_VS_CONN, std::io::BufReader::new(file), |e| {
        count_conn(&mut out, &e);
        lines += 1;
        lines < max_lines
    })?;
    Ok(out)
}

/// Parse /proc/net/ip_vs_conn lines and count the entries per destination
/// (templates excluded).
pub fn parse_conns<I, S>(path: &str, lines: I) -> Result<BTreeMap<(IpAddr, u16), ConnCount>, ProcError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out: BTreeMap<(IpAddr, u16), ConnCount> = BTreeMap::new();
    for (n, line) in lines.into_iter().enumerate() {
        let line = line.as_ref();
        match parse_conn_line(line) {
            Ok(Some(e)) => count_conn(&mut out, &e),
            Ok(None) => {}
            Err(why) => return Err(conn_error(path, n + 1, line, why)),
        }
    }
    Ok(out)
}

fn count_conn(out: &mut BTreeMap<(IpAddr, u16), ConnCount>, e: &ConnEntry) {
    let c = out.entry((e.realserver.ip(), e.realserver.port())).or_default();
    // Persistence templates are not connections.
    if e.template {
        c.templates += 1;
        c.last_template_secs = c.last_template_secs.max(e.expires_secs);
        return;
    }
    c.total += 1;
    c.last_conn_secs = c.last_conn_secs.max(e.expires_secs);
    match c.vip {
        None => c.vip = Some(e.virtual_addr),
        Some(v) => c.other_vips |= v != e.virtual_addr,
    }
    match e.state.as_str() {
        "ESTABLISHED" => c.established += 1,
        "SYN_RECV" => {
            c.syn_recv += 1;
            if e.expires_secs + STUCK_SECS <= SYN_RECV_TIMEOUT {
                c.stuck += 1;
            }
        }
        _ => {}
    }
}

fn conn_error(path: &str, line: usize, text: &str, why: String) -> ProcError {
    ProcError::Parse {
        path: path.into(),
        line,
        text: crate::text::sanitize(&text.chars().take(120).collect::<String>()),
        why,
    }
}

/// Read /proc/net/ip_vs_conn whole, entry by entry, into a summary of the
/// entries that pass `filter` (at most `cap` of them kept).
pub fn read_conn_summary(
    filter: &crate::model::ConnFilter,
    cap: usize,
) -> Result<crate::model::ConnSummary, ProcError> {
    let file =
        std::fs::File::open(IP_VS_CONN).map_err(|e| ProcError::Read { path: IP_VS_CONN.into(), msg: e.to_string() })?;
    let mut summary = crate::model::ConnSummary::new(cap);
    read_conn_entries(IP_VS_CONN, std::io::BufReader::with_capacity(1 << 16, file), |e| {
        summary.add(e, filter);
        true
    })?;
    Ok(summary.finish())
}

/// The longest line of /proc/net/ip_vs_conn read: an IPv6 entry with the
/// longest persistence-engine data is under 500 bytes.
const CONN_LINE_MAX: usize = 1024;

/// Read connection entries from `reader` (the text of /proc/net/ip_vs_conn,
/// named `path` in errors) one line at a time, never holding more than one
/// line, and hand each to `each` until it returns false. Returns how many
/// entries were read.
pub fn read_conn_entries(
    path: &str,
    mut reader: impl std::io::BufRead,
    mut each: impl FnMut(ConnEntry) -> bool,
) -> Result<u64, ProcError> {
    use std::io::{BufRead as _, Read as _};
    let mut buf = Vec::with_capacity(256);
    let mut read = 0;
    for n in 1.. {
        buf.clear();
        let got = (&mut reader)
            .take(CONN_LINE_MAX as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| ProcError::Read { path: path.into(), msg: e.to_string() })?;
        if got == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&buf);
        if buf.len() > CONN_LINE_MAX {
            return Err(conn_error(path, n, &line, format!("a line longer than {CONN_LINE_MAX} bytes")));
        }
        match parse_conn_line(&line) {
            Ok(Some(e)) => {
                read += 1;
                if !each(e) {
                    break;
                }
            }
            Ok(None) => {}
            Err(why) => return Err(conn_error(path, n, &line, why)),
        }
    }
    Ok(read)
}

/// One line of /proc/net/ip_vs_conn:
/// `TCP C6336401 D431 C6336464 0050 C633640B 0050 ESTABLISHED 899[ PE_NAME PE_DATA]`.
/// IPv4 addresses are 8 hex digits in host order, IPv6 ones full `%pI6`; ports
/// hex. None for the header and blank lines.
///
/// The file does not mark persistence templates: an entry is one when its
/// client port is 0 and its state a template's (`NONE`, `ASSURED`), or its
/// protocol is `IP` (a firewall-mark service's template, whose virtual
/// address carries the mark).
pub fn parse_conn_line(line: &str) -> Result<Option<ConnEntry>, String> {
    let expected = || "expected Pro FromIP FPrt ToIP TPrt DestIP DPrt State Expires [PEName PEData]".to_string();
    let mut rest = line.trim_end_matches(['\n', '\r']);
    let mut next = || {
        let t = rest.trim_start_matches(' ');
        let end = t.find(' ').unwrap_or(t.len());
        let (tok, r) = t.split_at(end);
        rest = r;
        (!tok.is_empty()).then_some(tok)
    };
    let Some(proto) = next() else { return Ok(None) };
    if proto == "Pro" {
        return Ok(None);
    }
    let mut f = [""; 8];
    for slot in &mut f {
        *slot = next().ok_or_else(expected)?;
    }
    let [caddr, cport, vaddr, vport, daddr, dport, state, expires] = f;
    let word = |w: &str, what: &str| {
        if !w.is_empty() && w.len() <= 24 && w.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'!')) {
            Ok(w.to_string())
        } else {
            Err(format!("{what} '{}' is not a name", crate::text::sanitize(w)))
        }
    };
    let protocol = word(proto, "protocol")?;
    let state = word(state, "state")?;
    let addr = |a: &str| -> Result<IpAddr, String> {
        if a.contains(':') {
            a.parse::<Ipv6Addr>()
                .map(IpAddr::V6)
                .map_err(|_| format!("bad IPv6 address '{}'", crate::text::sanitize(a)))
        } else if a.len() == 8 {
            u32::from_str_radix(a, 16)
                .map(|v| IpAddr::V4(Ipv4Addr::from(v)))
                .map_err(|_| format!("bad IPv4 address '{}'", crate::text::sanitize(a)))
        } else {
            Err(format!("bad address '{}'", crate::text::sanitize(a)))
        }
    };
    let port = |p: &str| {
        (p.len() == 4)
            .then(|| u16::from_str_radix(p, 16).ok())
            .flatten()
            .ok_or_else(|| format!("bad port '{}'", crate::text::sanitize(p)))
    };
    let client = SocketAddr::new(addr(caddr)?, port(cport)?);
    let virtual_addr = SocketAddr::new(addr(vaddr)?, port(vport)?);
    let realserver = SocketAddr::new(addr(daddr)?, port(dport)?);
    let expires_secs =
        expires.parse::<u32>().map_err(|_| format!("bad expiry '{}'", crate::text::sanitize(expires)))?;
    let pe_name = next().map(crate::text::sanitize);
    let pe_data = pe_name.as_ref().map(|_| crate::text::sanitize(rest.trim_matches(' ')));
    let fw_template = protocol == "IP";
    let template = fw_template || (client.port() == 0 && matches!(state.as_str(), "NONE" | "ASSURED"));
    let fwmark = fw_template.then(|| match virtual_addr.ip() {
        IpAddr::V4(a) => u32::from(a),
        IpAddr::V6(a) => u32::from_be_bytes([a.octets()[0], a.octets()[1], a.octets()[2], a.octets()[3]]),
    });
    Ok(Some(ConnEntry {
        protocol,
        client,
        virtual_addr,
        realserver,
        state,
        expires_secs,
        template,
        fwmark,
        pe_name,
        pe_data,
    }))
}

fn addr_port(s: &str) -> Option<(IpAddr, u16)> {
    let (a, p) = s.rsplit_once(':')?;
    let port = u16::from_str_radix(p, 16).ok()?;
    let addr = if let Some(v6) = a.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        IpAddr::V6(v6.parse::<Ipv6Addr>().ok()?)
    } else if a.len() == 8 {
        IpAddr::V4(Ipv4Addr::from(u32::from_str_radix(a, 16).ok()?))
    } else {
        return None;
    };
    Some((addr, port))
}

/// Parse the text of /proc/net/ip_vs.
#[allow(clippy::many_single_char_names)]
pub fn parse_table(path: &str, text: &str) -> Result<ProcTable, ProcError> {
    let err = |line: usize, t: &str, why: &str| ProcError::Parse {
        path: path.into(),
        line,
        text: t.to_string(),
        why: why.to_string(),
    };
    let mut lines = text.lines().enumerate();
    let (_, header) = lines.next().ok_or_else(|| err(1, "", "the file is empty"))?;
    // "IP Virtual Server version 1.2.1 (size=4096)"
    let version_code = header
        .split_whitespace()
        .nth(4)
        .and_then(|v| {
            let p: Vec<u32> = v.split('.').filter_map(|x| x.parse().ok()).collect();
            (p.len() == 3).then(|| (p[0] << 16) | (p[1] << 8) | p[2])
        })
        .ok_or_else(|| err(1, header, "expected 'IP Virtual Server version X.Y.Z (size=N)'"))?;
    let size = header
        .split("size=")
        .nth(1)
        .and_then(|s| s.trim_end_matches(')').parse().ok())
        .ok_or_else(|| err(1, header, "expected '(size=N)'"))?;
    let mut services: Vec<ProcService> = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        if n <= 3 || line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.first() == Some(&"->") {
            let svc = services.last_mut().ok_or_else(|| err(n, line, "destination before any service"))?;
            if f.len() < 6 {
                return Err(err(n, line, "expected '-> ADDR:PORT Forward Weight ActiveConn InActConn'"));
            }
            let (addr, port) = addr_port(f[1]).ok_or_else(|| err(n, line, "bad destination address"))?;
            let num = |s: &str| s.parse::<u32>().map_err(|_| err(n, line, "bad number"));
            svc.dests.push(ProcDest {
                addr,
                port,
                forward: ForwardMethod::from_name(f[2]).ok_or_else(|| err(n, line, "unknown forwarding method"))?,
                weight: num(f[3])?,
                active: num(f[4])?,
                inactive: num(f[5])?,
            });
            continue;
        }
        if f.len() < 3 {
            return Err(err(n, line, "expected 'PROTO ADDR:PORT scheduler [flags]'"));
        }
        let key = if f[0] == "FWM" {
            let mark = u32::from_str_radix(f[1], 16).map_err(|_| err(n, line, "bad fwmark"))?;
            ServiceKey::Fwmark { family: Family::Inet, mark }
        } else {
            let protocol = match f[0] {
                "TCP" => Protocol::Tcp,
                "UDP" => Protocol::Udp,
                "SCTP" => Protocol::Sctp,
                _ => return Err(err(n, line, "unknown protocol")),
            };
            let (addr, port) = addr_port(f[1]).ok_or_else(|| err(n, line, "bad service address"))?;
            ServiceKey::Addr { protocol, addr, port }
        };
        let rest = &f[3..];
        let one_packet = rest.contains(&"ops");
        let persistent = match rest.iter().position(|w| *w == "persistent") {
            Some(p) => {
                let t = rest.get(p + 1).and_then(|t| t.parse::<u64>().ok());
                let m = rest.get(p + 2).and_then(|m| u32::from_str_radix(m, 16).ok());
                match (t, m) {
                    (Some(t), Some(m)) => Some((t, m)),
                    _ => return Err(err(n, line, "expected 'persistent TIMEOUT MASK'")),
                }
            }
            None => None,
        };
        services.push(ProcService {
            key,
            scheduler: crate::text::sanitize(f[2]),
            one_packet,
            persistent,
            dests: Vec::new(),
        });
    }
    for s in &mut services {
        if let ServiceKey::Fwmark { family, .. } = &mut s.key {
            if s.dests.first().is_some_and(|d| d.addr.is_ipv6()) {
                *family = Family::Inet6;
            }
        }
    }
    Ok(ProcTable { version_code, size, services })
}

/// Parse the text of /proc/net/ip_vs_stats (hex counters and rates).
pub fn parse_totals(path: &str, text: &str) -> Result<(Counters, Rates), ProcError> {
    let rows: Vec<(usize, Vec<u64>)> = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let v: Option<Vec<u64>> = l.split_whitespace().map(|w| u64::from_str_radix(w, 16).ok()).collect();
            v.filter(|v| v.len() == 5).map(|v| (i, v))
        })
        .collect();
    match rows.as_slice() {
        [(_, c), (_, r), ..] => Ok((
            Counters { conns: c[0], inpkts: c[1], outpkts: c[2], inbytes: c[3], outbytes: c[4] },
            Rates { cps: r[0], inpps: r[1], outpps: r[2], inbps: r[3], outbps: r[4] },
        )),
        _ => Err(ProcError::Parse {
            path: path.into(),
            line: text.lines().count(),
            text: text.lines().last().unwrap_or("").to_string(),
            why: "expected two lines of five hex numbers (totals, then rates)".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
TCP  C6336401:0050 wrr 
  -> C633640B:0050      Route   1      2          30        
  -> C633640C:0050      Route   0      0          1         
UDP  C6336401:0035 rr ops 
TCP  [2001:0db8:0000:0000:0000:0000:0000:0001]:01BB sh persistent 75000 40000000
  -> [2001:0db8:0000:0000:0000:0000:0000:000b]:01BB      Masq    65535  0          0         
FWM  00000001 wlc persistent 75000 FFFFFF00
  -> C633640B:0000      Tunnel  3      0          0         
";

    #[test]
    fn parses_every_kind_of_line() {
        let t = parse_table(IP_VS, TABLE).expect("parse");
        assert_eq!((t.version_code, t.size), (0x0001_0201, 4096));
        assert_eq!(t.services.len(), 4);
        let s = &t.services[0];
        assert_eq!(s.key, ServiceKey::tcp("198.51.100.1".parse().expect("ip"), 80));
        assert_eq!(s.dests[0].addr, "198.51.100.11".parse::<IpAddr>().expect("ip"));
        assert_eq!((s.dests[0].weight, s.dests[0].active, s.dests[0].inactive), (1, 2, 30));
        assert!(t.services[1].one_packet);
        assert_eq!(t.services[2].persistent, Some((75000, 0x4000_0000)));
        assert_eq!(t.services[2].dests[0].port, 443);
        assert_eq!(t.services[3].key, ServiceKey::fwmark(Family::Inet, 1));
    }

    #[test]
    fn proc_services_become_model_services() {
        let t = parse_table(IP_VS, TABLE).expect("parse");
        let mut it = t.services.into_iter().map(|s| s.into_service(250));
        let web = it.next().expect("web");
        assert_eq!(web.destinations[0].spec.weight, 1);
        assert_eq!((web.destinations[0].active_conns, web.destinations[0].inact_conns), (2, 30));
        assert!(it.next().expect("udp").spec.flags.is_one_packet());
        let v6 = it.next().expect("v6").spec;
        // 75000 jiffies at 250 Hz; the byte-swapped IPv6 prefix length 64.
        assert_eq!((v6.timeout, v6.netmask), (300, Netmask::V6(64)));
        let fwm = it.next().expect("fwm").spec;
        assert_eq!(fwm.netmask, Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)));
    }

    #[test]
    fn bad_lines_are_named() {
        let e = parse_table(IP_VS, "IP Virtual Server version 1.2.1 (size=4096)\nx\ny\nTCP  ZZ:0050 rr\n")
            .expect_err("bad");
        assert!(e.to_string().contains("line 4"), "{e}");
        assert!(parse_table(IP_VS, "").is_err());
    }

    #[test]
    fn connection_entries_per_destination() {
        let text = "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP CB0071FE D431 C6336464 0050 C633640B 0050 SYN_RECV         55
TCP CB0071FE D432 C6336464 0050 C633640B 0050 SYN_RECV         58
TCP CB0071FE D433 C6336464 0050 C633640C 0050 ESTABLISHED     899
TCP CB0071FE 0000 C6336464 0050 C633640C 0050 NONE            299
TCP 2001:0db8:0000:0000:0000:0000:0000:0001 D431 2001:0db8:0000:0000:0000:0000:0000:0064 0050 2001:0db8:0000:0000:0000:0000:0000:000b 0050 FIN_WAIT 100
";
        let m = parse_conns(IP_VS_CONN, text.lines()).expect("parse");
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let c = |established, syn_recv, stuck, total, last_conn_secs, templates, last_template_secs| ConnCount {
            established,
            syn_recv,
            stuck,
            total,
            last_conn_secs,
            templates,
            last_template_secs,
            vip: "198.51.100.100:80".parse().ok(),
            other_vips: false,
        };
        assert_eq!(m[&(ip("198.51.100.11"), 80)], c(0, 2, 1, 2, 58, 0, 0), "58 s left: 2 s since the SYN");
        assert_eq!(m[&(ip("198.51.100.12"), 80)], c(1, 0, 0, 1, 899, 1, 299));
        assert_eq!(m[&(ip("2001:db8::b"), 80)].total, 1);
        assert_eq!(m[&(ip("2001:db8::b"), 80)].vip, "[2001:db8::64]:80".parse().ok());
        // A realserver's connections to two virtual addresses.
        let two = parse_conns(
            IP_VS_CONN,
            [
                text.lines().nth(1).unwrap_or_default(),
                &text.lines().nth(2).unwrap_or_default().replace("C6336464 0050", "C6336465 0050"),
            ],
        )
        .expect("parse");
        assert_eq!(two[&(ip("198.51.100.11"), 80)].vip, "198.51.100.100:80".parse().ok());
        assert!(two[&(ip("198.51.100.11"), 80)].other_vips);
        let e = parse_conns(IP_VS, ["Pro x", "TCP 1 2 3 4 ZZZZ 0050 SYN_RECV 5"]).expect_err("bad");
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn connection_entries_one_by_one() {
        let one = |l: &str| parse_conn_line(l).expect("parses").expect("an entry");
        // A template that has served a connection is ASSURED (Linux 5.x and later).
        let t = one("TCP CB0071FE 0000 C6336464 0050 C633640C 0050 ASSURED         299");
        assert!(t.template && t.fwmark.is_none() && t.state == "ASSURED");
        // A firewall-mark service's template: protocol IP, the mark in the virtual address.
        let f = one("IP  CB0071FE 0000 00000007 0000 C633640C 0000 NONE            120");
        assert_eq!((f.template, f.fwmark, f.virtual_addr.to_string().as_str()), (true, Some(7), "0.0.0.7:0"));
        let f6 = one("IP  2001:0db8:0000:0000:0000:0000:0000:0001 0000 0000:0007:0000:0000:0000:0000:0000:0000 0000 \
             2001:0db8:0000:0000:0000:0000:0000:000b 0000 NONE 60");
        assert_eq!(f6.fwmark, Some(7));
        // An IPv4 service with an IPv6 realserver (tunnel), and the persistence engine's data,
        // a client-chosen SIP Call-ID, its control characters escaped.
        let sip = one(
            "UDP CB0071FE 13C4 C6336464 13C4 2001:0db8:0000:0000:0000:0000:0000:000b 13C4 UDP 170 sip a\x1b[2Jb@x y",
        );
        assert_eq!(sip.realserver.to_string(), "[2001:db8::b]:5060");
        assert_eq!((sip.pe_name.as_deref(), sip.pe_data.as_deref()), (Some("sip"), Some("a\\x1b[2Jb@x y")));
        assert!(!sip.template);
        // A connection in TCP's NONE state keeps its client port: not a template.
        assert!(!one("TCP CB0071FE D431 C6336464 0050 C633640B 0050 NONE 1").template);
        assert_eq!(parse_conn_line("Pro FromIP   FPrt ToIP").expect("header"), None);
        assert_eq!(parse_conn_line("\n").expect("blank"), None);
        for bad in [
            "TCP CB0071FE D431 C6336464 0050 C633640B 0050 ESTABLISHED",
            "TCP CB0071FE D431 C6336464 0050 C633640B 50 ESTABLISHED 1",
            "TCP CB0071FE D431 C63364 0050 C633640B 0050 ESTABLISHED 1",
            "TCP CB0071FE D431 C6336464 0050 C633640B 0050 EST\x1bABLISHED 1",
            "T\x07P CB0071FE D431 C6336464 0050 C633640B 0050 ESTABLISHED 1",
            "TCP CB0071FE D431 C6336464 0050 C633640B 0050 ESTABLISHED -1",
        ] {
            let e = parse_conn_line(bad).expect_err(bad);
            assert!(!e.contains('\x1b') && !e.contains('\x07'), "{e}");
        }
        // Read from bytes: lines longer than any the kernel writes are refused, not buffered.
        let mut long = b"TCP CB0071FE D431 C6336464 0050 C633640B 0050 ESTABLISHED 1 sip ".to_vec();
        long.extend(std::iter::repeat_n(b'x', 5000));
        let e = read_conn_entries(IP_VS_CONN, &long[..], |_| true).expect_err("too long");
        assert!(e.to_string().contains("longer than 1024 bytes"), "{e}");
        let text = b"Pro FromIP\nTCP CB0071FE D431 C6336464 0050 C633640B 0050 SYN_RECV 5\n\xff\xfe\n";
        let mut seen = Vec::new();
        let e = read_conn_entries(IP_VS_CONN, &text[..], |e| {
            seen.push(e);
            true
        })
        .expect_err("bad bytes");
        assert!(seen.len() == 1 && e.to_string().contains("line 3"), "{e}");
    }

    #[test]
    fn totals() {
        let text = "   Total Incoming Outgoing         Incoming         Outgoing
   Conns  Packets  Packets            Bytes            Bytes
      1A      1F4        0             FA00                0

 Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s
       2       10        0              400                0
";
        let (c, r) = parse_totals(IP_VS_STATS, text).expect("parse");
        assert_eq!((c.conns, c.inpkts, c.inbytes), (26, 500, 64000));
        assert_eq!((r.cps, r.inpps, r.inbps), (2, 16, 1024));
        assert!(parse_totals(IP_VS_STATS, "garbage").is_err());
    }
}
