//! A small rtnetlink client: the director's addresses and its route to an
//! address (which interface carries a VIP, which one reaches a realserver).

use std::net::IpAddr;

use neli::consts::socket::NlFamily;

use crate::netlink::{retry_interrupted, Attrs, NlConn, NlError, TlvWriter, NLM_F_ACK, NLM_F_DUMP};

const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const IFLA_IFNAME: u16 = 3;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_STATS64: u16 = 23;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PREFSRC: u16 = 7;

/// An address configured on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    /// Interface index.
    pub ifindex: u32,
    /// The address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
    /// Scope (0 universe, 200 site, 253 link, 254 host).
    pub scope: u8,
    /// IPv4 label (`eth0:1`), if any.
    pub label: Option<String>,
}

/// One interface as an RTM_NEWLINK message gives it: what changes from one
/// second to the next (the console reads it every refresh; what does not
/// change is read from /sys now and then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Interface index.
    pub ifindex: u32,
    /// Name, with control characters escaped.
    pub name: String,
    /// `IFF_*` flags.
    pub flags: u32,
    /// `IF_OPER_*` (0 unknown, 1 notpresent, 2 down, 3 lowerlayerdown, 6 up…).
    pub operstate: u8,
    /// `rtnl_link_stats64`: rx_packets, tx_packets, rx_bytes, tx_bytes,
    /// rx_errors, tx_errors, rx_dropped, tx_dropped, multicast, collisions,
    /// rx_length_errors, rx_over_errors, rx_crc_errors, rx_frame_errors,
    /// rx_fifo_errors, rx_missed_errors (the first 16; None if absent or short).
    pub stats: Option<[u64; 16]>,
}

/// One reply message of a link dump: the interface, if it is an `RTM_NEWLINK`.
pub fn parse_link(ty: u16, p: &[u8]) -> Result<Option<Link>, String> {
    if ty != RTM_NEWLINK || p.len() < 16 {
        return Ok(None);
    }
    let ifindex = u32::from_ne_bytes([p[4], p[5], p[6], p[7]]);
    let flags = u32::from_ne_bytes([p[8], p[9], p[10], p[11]]);
    let a = Attrs::parse("link", &p[16..])?;
    let Some(name) = a.opt_string(IFLA_IFNAME) else { return Ok(None) };
    let stats = a.get(IFLA_STATS64).and_then(|b| {
        let mut v = [0u64; 16];
        for (i, x) in v.iter_mut().enumerate() {
            *x = u64::from_ne_bytes(b.get(i * 8..i * 8 + 8)?.try_into().ok()?);
        }
        Some(v)
    });
    Ok(Some(Link { ifindex, name, flags, operstate: a.opt_u8(IFLA_OPERSTATE)?.unwrap_or(0), stats }))
}

/// The kernel's route to one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Outgoing interface index.
    pub oif: Option<u32>,
    /// Next hop, when the destination is not on-link.
    pub gateway: Option<IpAddr>,
    /// Preferred source address.
    pub prefsrc: Option<IpAddr>,
    /// Route type (1 unicast, 2 local, …).
    pub kind: u8,
}

fn err(what: &str, e: NlError) -> String {
    match e {
        NlError::Errno(n) => format!("{what}: {}", std::io::Error::from_raw_os_error(n)),
        NlError::Io(m) | NlError::Bad(m) => format!("{what}: {m}"),
        NlError::Truncated(n) => format!("{what}: a {n}-byte reply did not fit the receive buffer twice"),
        NlError::Interrupted => format!(
            "{what}: the kernel flagged the dump as interrupted {} times in a row (the table keeps changing): retry",
            crate::netlink::DUMP_TRIES
        ),
    }
}

fn ip_of(family: u8, b: &[u8]) -> Option<IpAddr> {
    match (family, b.len()) {
        (2, 4) => Some(IpAddr::from(<[u8; 4]>::try_from(b).ok()?)),
        (10, 16) => Some(IpAddr::from(<[u8; 16]>::try_from(b).ok()?)),
        _ => None,
    }
}

const RTM_NEWNEIGH: u16 = 28;
const RTM_GETNEIGH: u16 = 30;
const NDA_DST: u16 = 1;
const NDA_LLADDR: u16 = 2;

/// The name of a neighbour state (`NUD_*`).
pub fn nud_name(state: u16) -> &'static str {
    match state {
        0x01 => "INCOMPLETE",
        0x02 => "REACHABLE",
        0x04 => "STALE",
        0x08 => "DELAY",
        0x10 => "PROBE",
        0x20 => "FAILED",
        0x40 => "NOARP",
        0x80 => "PERMANENT",
        _ => "NONE",
    }
}

/// A neighbour entry: address, state name, MAC.
pub type Neighbour = (IpAddr, String, Option<[u8; 6]>);

/// One reply message of an address dump (`ty` and the payload after the
/// netlink header): the address it carries, if it is an `RTM_NEWADDR` of a
/// known family.
pub fn parse_address(ty: u16, p: &[u8]) -> Result<Option<IfAddr>, String> {
    if ty != RTM_NEWADDR || p.len() < 8 {
        return Ok(None);
    }
    let (family, prefix, scope) = (p[0], p[1], p[3]);
    let ifindex = u32::from_ne_bytes([p[4], p[5], p[6], p[7]]);
    let a = Attrs::parse("address", &p[8..])?;
    let raw = a.get(IFA_LOCAL).or_else(|| a.get(IFA_ADDRESS));
    Ok(raw.and_then(|b| ip_of(family, b)).map(|addr| IfAddr {
        ifindex,
        addr,
        prefix,
        scope,
        label: a.opt_string(IFA_LABEL),
    }))
}

/// One reply message of a neighbour dump: the entry it carries, if it is an
/// `RTM_NEWNEIGH` with a destination of a known family.
pub fn parse_neighbour(ty: u16, p: &[u8]) -> Result<Option<Neighbour>, String> {
    if ty != RTM_NEWNEIGH || p.len() < 12 {
        return Ok(None);
    }
    let state = u16::from_ne_bytes([p[8], p[9]]);
    let a = Attrs::parse("neighbour", &p[12..])?;
    Ok(a.get(NDA_DST).and_then(|b| ip_of(p[0], b)).map(|ip| {
        let mac = a.get(NDA_LLADDR).and_then(|m| <[u8; 6]>::try_from(m).ok());
        (ip, nud_name(state).to_string(), mac)
    }))
}

/// One reply message of a route lookup: the route, if it is an `RTM_NEWROUTE`.
pub fn parse_route(ty: u16, p: &[u8]) -> Result<Option<Route>, String> {
    if ty != RTM_NEWROUTE || p.len() < 12 {
        return Ok(None);
    }
    let a = Attrs::parse("route", &p[12..])?;
    Ok(Some(Route {
        oif: a.opt_u32(RTA_OIF)?,
        gateway: a.get(RTA_GATEWAY).and_then(|b| ip_of(p[0], b)),
        prefsrc: a.get(RTA_PREFSRC).and_then(|b| ip_of(p[0], b)),
        kind: p[7],
    }))
}

/// An open rtnetlink socket.
pub struct Rtnl {
    conn: NlConn,
}

impl Rtnl {
    /// Open a `NETLINK_ROUTE` socket (no privilege needed for these reads).
    pub fn connect() -> Result<Self, String> {
        // 8 KiB reads: a link's message alone can come near a page.
        let conn = NlConn::with_buffer(NlFamily::Route, 8 * 1024).map_err(|e| err("open an rtnetlink socket", e))?;
        Ok(Rtnl { conn })
    }

    /// Every address of every interface (IPv4 and IPv6).
    pub fn addresses(&mut self) -> Result<Vec<IfAddr>, String> {
        let body = [0u8; 8]; // ifaddrmsg: family AF_UNSPEC, rest 0
        let conn = &mut self.conn;
        retry_interrupted(|| {
            let mut out = Vec::new();
            conn.request(RTM_GETADDR, NLM_F_DUMP, &body, |ty, p| {
                out.extend(parse_address(ty, p)?);
                Ok(())
            })
            .map(|()| out)
        })
        .map_err(|e| err("list addresses", e))
    }

    /// Every interface: index, name, flags, operational state and counters.
    pub fn links(&mut self) -> Result<Vec<Link>, String> {
        let body = [0u8; 16]; // ifinfomsg: family AF_UNSPEC, rest 0
        let conn = &mut self.conn;
        retry_interrupted(|| {
            let mut out = Vec::new();
            conn.request(RTM_GETLINK, NLM_F_DUMP, &body, |ty, p| {
                out.extend(parse_link(ty, p)?);
                Ok(())
            })
            .map(|()| out)
        })
        .map_err(|e| err("list interfaces", e))
    }

    /// The neighbour table: address → state name (`REACHABLE`, `FAILED`…).
    pub fn neighbours(&mut self) -> Result<std::collections::BTreeMap<IpAddr, String>, String> {
        Ok(self.neighbour_entries()?.into_iter().map(|(ip, state, _)| (ip, state)).collect())
    }

    /// The neighbour table with link-layer addresses.
    pub fn neighbour_entries(&mut self) -> Result<Vec<Neighbour>, String> {
        let body = [0u8; 12]; // ndmsg: family AF_UNSPEC
        let conn = &mut self.conn;
        retry_interrupted(|| {
            let mut out = Vec::new();
            conn.request(RTM_GETNEIGH, NLM_F_DUMP, &body, |ty, p| {
                out.extend(parse_neighbour(ty, p)?);
                Ok(())
            })
            .map(|()| out)
        })
        .map_err(|e| err("list neighbours", e))
    }

    /// The route the kernel would use to reach `dst` (like `ip route get`; sends nothing).
    pub fn route_to(&mut self, dst: IpAddr) -> Result<Route, String> {
        let (family, bytes): (u8, Vec<u8>) = match dst {
            IpAddr::V4(a) => (2, a.octets().to_vec()),
            IpAddr::V6(a) => (10, a.octets().to_vec()),
        };
        let mut body = vec![family, if family == 2 { 32 } else { 128 }, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut tlv = TlvWriter::default();
        tlv.bytes(RTA_DST, &bytes);
        body.extend(tlv.into_inner());
        let mut route = None;
        self.conn
            .request(RTM_GETROUTE, NLM_F_ACK, &body, |ty, p| {
                route = parse_route(ty, p)?.or(route.take());
                Ok(())
            })
            .map_err(|e| err(&format!("look up the route to {dst}"), e))?;
        route.ok_or_else(|| format!("no route to {dst}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_listed_and_routed_locally() {
        let Ok(mut r) = Rtnl::connect() else { return };
        let addrs = r.addresses().expect("addresses");
        assert!(addrs.iter().any(|a| a.addr == IpAddr::from([127, 0, 0, 1])), "{addrs:?}");
        let route = r.route_to(IpAddr::from([127, 0, 0, 1])).expect("route");
        assert_eq!(route.kind, 2, "127.0.0.1 is a local route: {route:?}");
        assert_eq!(route.gateway, None);
    }
}
