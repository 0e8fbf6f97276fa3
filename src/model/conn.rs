//! Entries of the kernel's connection table (`/proc/net/ip_vs_conn`, which
//! `ipvsadm -Lcn` prints): connections and persistence templates, and the
//! filters `lvstop conns` and the console's connections view select them by.

use std::net::{IpAddr, SocketAddr};

use serde::Serialize;

/// One entry of the connection table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnEntry {
    /// `TCP`, `UDP`, `SCTP`…, as the kernel names it; `IP` for the
    /// persistence template of a firewall-mark service.
    pub protocol: String,
    /// The client's address and port (port 0 in a template).
    #[serde(serialize_with = "display")]
    pub client: SocketAddr,
    /// The virtual address and port the client asked for; in a firewall-mark
    /// service's template, the mark as an address (`0.0.0.MARK:0`, as ipvsadm
    /// shows it: see `fwmark`).
    #[serde(rename = "virtual", serialize_with = "display")]
    pub virtual_addr: SocketAddr,
    /// The realserver the entry sends the client to.
    #[serde(serialize_with = "display")]
    pub realserver: SocketAddr,
    /// The protocol state (`ESTABLISHED`, `SYN_RECV`, `FIN_WAIT`, `UDP`…), or
    /// a template's (`NONE`, `ASSURED`).
    pub state: String,
    /// Seconds until the entry expires (its timer restarts with each packet).
    pub expires_secs: u32,
    /// A persistence template: it sends the client's next connections to the
    /// same realserver until it expires.
    pub template: bool,
    /// The firewall mark of the service, in a template of a firewall-mark
    /// service (its `virtual` field carries the mark, not an address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    /// The persistence engine (`sip`) and what it keys on (the Call-ID), where
    /// the service has one; control characters escaped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pe_name: Option<String>,
    /// See `pe_name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pe_data: Option<String>,
}

fn display<S: serde::Serializer>(a: &SocketAddr, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(a)
}

/// Every state name the kernel gives an entry: TCP's, UDP's, SCTP's, the
/// one-state protocols' and a template's.
pub const STATES: &[&str] = &[
    "NONE",
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "SYNACK",
    "UDP",
    "ICMP",
    "ERR!",
    "INIT1",
    "INIT",
    "COOKIE_SENT",
    "COOKIE_REPLIED",
    "COOKIE_WAIT",
    "COOKIE_ECHOED",
    "SHUTDOWN_SENT",
    "SHUTDOWN_RECEIVED",
    "SHUTDOWN_ACK_SENT",
    "REJECTED",
    "CLOSED",
    "ASSURED",
];

/// An address, or a network of them (`ADDR/PREFIX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let max = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.len == max {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.len)
        }
    }
}

impl Prefix {
    /// Parse `ADDR` or `ADDR/PREFIX` (IPv4 or IPv6).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (a, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("'{}' is not an address: give ADDR or ADDR/PREFIX, e.g. 203.0.113.0/24", esc(s)))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            None => max,
            Some(l) => l
                .parse::<u8>()
                .ok()
                .filter(|&n| n <= max)
                .ok_or_else(|| format!("'{}': the prefix length must be 0 to {max}", esc(s)))?,
        };
        Ok(Prefix { addr, len })
    }

    /// Whether `ip` is in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.len)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An address with or without a port: `ADDR`, `ADDR:PORT`, `[ADDR6]:PORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    addr: IpAddr,
    port: Option<u16>,
}

impl Endpoint {
    /// An address, and a port unless None.
    pub fn new(addr: IpAddr, port: Option<u16>) -> Self {
        Endpoint { addr, port }
    }

    /// Parse `ADDR`, `ADDR:PORT`, `ADDR6` or `[ADDR6]:PORT`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("'{}' is not an address: give ADDR, ADDR:PORT or [ADDR6]:PORT", esc(s));
        if let Ok(addr) = s.parse::<IpAddr>() {
            return Ok(Endpoint { addr, port: None });
        }
        if let Some(v6) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            return Ok(Endpoint { addr: IpAddr::V6(v6.parse().map_err(|_| bad())?), port: None });
        }
        let sa: SocketAddr = s.parse().map_err(|_| bad())?;
        Ok(Endpoint { addr: sa.ip(), port: Some(sa.port()) })
    }

    /// Whether `a` is this address (and port, when one was given).
    pub fn matches(&self, a: SocketAddr) -> bool {
        a.ip() == self.addr && self.port.is_none_or(|p| p == a.port())
    }
}

/// Which entries to keep; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnFilter {
    /// The client's address is in this network.
    pub client: Option<Prefix>,
    /// The virtual address (and port).
    pub vip: Option<Endpoint>,
    /// The realserver's address (and port).
    pub realserver: Option<Endpoint>,
    /// The state, one of [`STATES`].
    pub state: Option<String>,
    /// Leave persistence templates out.
    pub no_templates: bool,
}

impl ConnFilter {
    /// Check a state name given by the operator (any case) against the kernel's.
    pub fn parse_state(s: &str) -> Result<String, String> {
        let up = s.to_ascii_uppercase();
        if STATES.contains(&up.as_str()) {
            Ok(up)
        } else {
            Err(format!("'{}' is not a connection state: use one of {}", esc(s), STATES.join(", ")))
        }
    }

    /// Whether `e` passes.
    pub fn matches(&self, e: &ConnEntry) -> bool {
        !(self.no_templates && e.template)
            && self.client.is_none_or(|p| p.contains(e.client.ip()))
            && self.vip.is_none_or(|v| v.matches(e.virtual_addr))
            && self.realserver.is_none_or(|r| r.matches(e.realserver))
            && self.state.as_ref().is_none_or(|s| *s == e.state)
    }
}

/// What the console's connections view shows of the entries that passed its
/// filter: the first ones (at most the cap given), how many there were in
/// all, by state, and when the last connection and the last persistence
/// template expire (a drained realserver with neither is safe to remove).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnSummary {
    /// The first entries that passed (at most `cap`), sorted by client.
    pub entries: Vec<ConnEntry>,
    /// Entries that passed beyond `cap` ("N more").
    pub more: u64,
    /// Connections (templates aside) per state.
    pub by_state: std::collections::BTreeMap<String, u64>,
    /// Persistence templates that passed.
    pub templates: u64,
    /// Seconds until the last connection that passed expires.
    pub last_conn_secs: Option<u32>,
    /// Seconds until the last template that passed expires.
    pub last_template_secs: Option<u32>,
    /// Entries read in all.
    pub read: u64,
    cap: usize,
}

impl ConnSummary {
    /// An empty summary keeping at most `cap` entries.
    pub fn new(cap: usize) -> Self {
        ConnSummary { cap, ..Default::default() }
    }

    /// Count an entry read; keep it if it passes `filter`.
    pub fn add(&mut self, e: ConnEntry, filter: &ConnFilter) {
        self.read += 1;
        if !filter.matches(&e) {
            return;
        }
        let last = if e.template {
            self.templates += 1;
            &mut self.last_template_secs
        } else {
            *self.by_state.entry(e.state.clone()).or_default() += 1;
            &mut self.last_conn_secs
        };
        *last = Some(last.map_or(e.expires_secs, |l| l.max(e.expires_secs)));
        if self.entries.len() < self.cap {
            self.entries.push(e);
        } else {
            self.more += 1;
        }
    }

    /// Sort the entries kept for display: by client, templates after connections.
    #[must_use]
    pub fn finish(mut self) -> Self {
        self.entries.sort_by(|a, b| {
            (a.client.ip(), a.template, a.client.port()).cmp(&(b.client.ip(), b.template, b.client.port()))
        });
        self
    }

    /// Entries that passed the filter.
    pub fn matched(&self) -> u64 {
        self.by_state.values().sum::<u64>() + self.templates
    }
}

/// What the operator typed, safe to show back.
fn esc(s: &str) -> String {
    crate::text::sanitize(&s.chars().take(80).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(client: &str, vip: &str, rs: &str, state: &str, template: bool) -> ConnEntry {
        ConnEntry {
            protocol: "TCP".into(),
            client: client.parse().expect("client"),
            virtual_addr: vip.parse().expect("vip"),
            realserver: rs.parse().expect("rs"),
            state: state.into(),
            expires_secs: 10,
            template,
            fwmark: None,
            pe_name: None,
            pe_data: None,
        }
    }

    #[test]
    fn filters_select_by_every_condition_given() {
        let e = entry("203.0.113.77:4000", "198.51.100.100:80", "198.51.100.11:80", "ESTABLISHED", false);
        let t = entry("203.0.113.77:0", "198.51.100.100:80", "198.51.100.11:80", "NONE", true);
        let f =
            |client: Option<&str>, vip: Option<&str>, rs: Option<&str>, state: Option<&str>, no_t: bool| ConnFilter {
                client: client.map(|c| Prefix::parse(c).expect("prefix")),
                vip: vip.map(|v| Endpoint::parse(v).expect("vip")),
                realserver: rs.map(|r| Endpoint::parse(r).expect("rs")),
                state: state.map(|s| ConnFilter::parse_state(s).expect("state")),
                no_templates: no_t,
            };
        assert!(f(None, None, None, None, false).matches(&e));
        assert!(f(Some("203.0.113.0/24"), None, None, None, false).matches(&e));
        assert!(!f(Some("203.0.113.0/26"), None, None, None, false).matches(&e));
        assert!(f(Some("203.0.113.77"), Some("198.51.100.100"), None, None, false).matches(&e));
        assert!(f(None, Some("198.51.100.100:80"), Some("198.51.100.11:80"), Some("established"), false).matches(&e));
        assert!(!f(None, Some("198.51.100.100:443"), None, None, false).matches(&e));
        assert!(!f(None, None, None, Some("syn_recv"), false).matches(&e));
        assert!(f(None, None, Some("198.51.100.11"), None, false).matches(&t));
        assert!(!f(None, None, None, None, true).matches(&t));
        assert!(f(Some("0.0.0.0/0"), None, None, None, true).matches(&e));
        assert!(!f(Some("::/0"), None, None, None, false).matches(&e), "an IPv6 network holds no IPv4 client");
        let v6 = entry("[2001:db8::50]:4000", "[2001:db8::100]:80", "[2001:db8::11]:80", "ESTABLISHED", false);
        assert!(f(Some("2001:db8::/64"), Some("[2001:db8::100]:80"), Some("2001:db8::11"), None, false).matches(&v6));
        assert!(!f(Some("2001:db8:1::/48"), None, None, None, false).matches(&v6));
    }

    #[test]
    fn a_summary_counts_everything_and_keeps_the_first() {
        let filter =
            ConnFilter { realserver: Some(Endpoint::parse("198.51.100.11").expect("rs")), ..Default::default() };
        let mut s = ConnSummary::new(2);
        s.add(entry("203.0.113.9:4000", "198.51.100.100:80", "198.51.100.11:80", "ESTABLISHED", false), &filter);
        s.add(entry("203.0.113.7:4000", "198.51.100.100:80", "198.51.100.11:80", "FIN_WAIT", false), &filter);
        s.add(entry("203.0.113.8:4000", "198.51.100.100:80", "198.51.100.12:80", "ESTABLISHED", false), &filter);
        let mut t = entry("203.0.113.7:0", "198.51.100.100:80", "198.51.100.11:80", "ASSURED", true);
        t.expires_secs = 250;
        s.add(t, &filter);
        let s = s.finish();
        assert_eq!((s.read, s.matched(), s.templates, s.more), (4, 3, 1, 1));
        assert_eq!(s.by_state.get("ESTABLISHED"), Some(&1));
        assert_eq!((s.last_conn_secs, s.last_template_secs), (Some(10), Some(250)));
        assert_eq!(
            s.entries.iter().map(|e| e.client.to_string()).collect::<Vec<_>>(),
            ["203.0.113.7:4000", "203.0.113.9:4000"]
        );
        assert_eq!(ConnSummary::new(5).finish().matched(), 0, "nothing left: safe to remove");
    }

    #[test]
    fn bad_filter_values_are_named_with_the_fix() {
        let e = Prefix::parse("203.0.113.0/33").expect_err("too long");
        assert!(e.contains("'203.0.113.0/33'") && e.contains("0 to 32"), "{e}");
        let e = Prefix::parse("client\x1b[2J").expect_err("not an address");
        assert!(e.contains("\\x1b") && !e.contains('\x1b') && e.contains("ADDR/PREFIX"), "{e}");
        let e = Endpoint::parse("198.51.100.100:http").expect_err("port name");
        assert!(e.contains("ADDR:PORT"), "{e}");
        let e = ConnFilter::parse_state("OPEN").expect_err("no such state");
        assert!(e.contains("'OPEN'") && e.contains("SYN_RECV"), "{e}");
    }
}
