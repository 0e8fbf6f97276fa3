//! Virtual services: identity, scheduling configuration and live figures.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::{fmt_addr_port, Counters, Destinations, Family, Rates};

/// Transport protocol of an address-based service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// `IPPROTO_TCP` (6).
    Tcp,
    /// `IPPROTO_UDP` (17).
    Udp,
    /// `IPPROTO_SCTP` (132).
    Sctp,
    /// Any other protocol number the kernel reports.
    Other(u16),
}

impl Protocol {
    /// The IP protocol number.
    pub fn number(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
            Protocol::Other(n) => n,
        }
    }

    /// Map an IP protocol number.
    pub fn from_number(n: u16) -> Self {
        match n {
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            132 => Protocol::Sctp,
            n => Protocol::Other(n),
        }
    }

    /// Upper-case name as ipvsadm prints it (`TCP`, `UDP`, `SCTP`).
    pub fn name(self) -> String {
        match self {
            Protocol::Tcp => "TCP".into(),
            Protocol::Udp => "UDP".into(),
            Protocol::Sctp => "SCTP".into(),
            Protocol::Other(n) => format!("PROTO{n}"),
        }
    }
}

impl Serialize for Protocol {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name().to_ascii_lowercase())
    }
}

/// The identity of a virtual service: what the kernel looks services up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ServiceKey {
    /// A protocol, virtual address and port (port 0 = all ports, persistent only).
    Addr {
        /// Transport protocol.
        protocol: Protocol,
        /// Virtual IP (IPv4 or IPv6).
        addr: IpAddr,
        /// Virtual port.
        port: u16,
    },
    /// A firewall-mark service of one address family.
    Fwmark {
        /// Address family of the traffic it matches.
        family: Family,
        /// The netfilter mark.
        mark: u32,
    },
}

impl ServiceKey {
    /// A TCP service.
    pub fn tcp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr { protocol: Protocol::Tcp, addr, port }
    }

    /// A UDP service.
    pub fn udp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr { protocol: Protocol::Udp, addr, port }
    }

    /// A firewall-mark service.
    pub fn fwmark(family: Family, mark: u32) -> Self {
        ServiceKey::Fwmark { family, mark }
    }

    /// The service's address family.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }

    /// The virtual address (none for a fwmark service).
    pub fn addr(&self) -> Option<IpAddr> {
        match self {
            ServiceKey::Addr { addr, .. } => Some(*addr),
            ServiceKey::Fwmark { .. } => None,
        }
    }

    /// The service's port (0 for fwmark services).
    pub fn port(&self) -> u16 {
        match self {
            ServiceKey::Addr { port, .. } => *port,
            ServiceKey::Fwmark { .. } => 0,
        }
    }

    /// Whether this is a firewall-mark service.
    pub fn is_fwmark(&self) -> bool {
        matches!(self, ServiceKey::Fwmark { .. })
    }
}

impl fmt::Display for ServiceKey {
    /// The form ipvsadm lists services in: `TCP  198.51.100.1:80`, `FWM  1 IPv6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr { protocol, addr, port } => {
                write!(f, "{} {}", protocol.name(), fmt_addr_port(addr, *port))
            }
            ServiceKey::Fwmark { family: Family::Inet, mark } => write!(f, "FWM {mark}"),
            ServiceKey::Fwmark { family: Family::Inet6, mark } => write!(f, "FWM {mark} IPv6"),
        }
    }
}

/// Service flags (`IP_VS_SVC_F_*`), without the kernel-internal HASHED bit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    /// Persistent service (`-p`).
    pub const PERSISTENT: u32 = 0x0001;
    /// Kernel-internal: the service is hashed. Never part of a request.
    pub const HASHED: u32 = 0x0002;
    /// One-packet scheduling (`-o`).
    pub const ONEPACKET: u32 = 0x0004;
    /// Scheduler flag 1: `sh-fallback` / `mh-fallback`.
    pub const SCHED1: u32 = 0x0008;
    /// Scheduler flag 2: `sh-port` / `mh-port`.
    pub const SCHED2: u32 = 0x0010;
    /// Scheduler flag 3 (no meaning for the stock schedulers).
    pub const SCHED3: u32 = 0x0020;
    /// Every bit lvstop knows.
    pub const KNOWN: u32 = 0x003d;

    /// Whether `bit` is set.
    pub fn has(self, bit: u32) -> bool {
        self.0 & bit != 0
    }

    /// Whether the service is persistent.
    pub fn is_persistent(self) -> bool {
        self.has(Self::PERSISTENT)
    }

    /// Whether one-packet scheduling is on.
    pub fn is_one_packet(self) -> bool {
        self.has(Self::ONEPACKET)
    }

    /// Bits a newer kernel may set that lvstop does not know (0 if none).
    pub fn unknown(self) -> u32 {
        self.0 & !(Self::KNOWN | Self::HASHED)
    }

    /// Scheduler flag names as ipvsadm prints them for scheduler `sched`
    /// (`sh-fallback`, `sh-port`, `mh-fallback`, `mh-port`, `flag-1`…), and
    /// `unknown(0xN)` for bits lvstop does not know.
    pub fn sched_flag_names(self, sched: &str) -> Vec<String> {
        let mut out = Vec::new();
        match sched {
            "sh" | "mh" => {
                if self.has(Self::SCHED1) {
                    out.push(format!("{sched}-fallback"));
                }
                if self.has(Self::SCHED2) {
                    out.push(format!("{sched}-port"));
                }
            }
            _ => {
                for (bit, name) in [(Self::SCHED1, "flag-1"), (Self::SCHED2, "flag-2"), (Self::SCHED3, "flag-3")] {
                    if self.has(bit) {
                        out.push(name.to_string());
                    }
                }
            }
        }
        if self.unknown() != 0 {
            out.push(format!("unknown({:#x})", self.unknown()));
        }
        out
    }

    /// Parse a scheduler flag name (as ipvsadm's `-b` takes it) for scheduler `sched`.
    pub fn parse_sched_flag(sched: &str, name: &str) -> Option<u32> {
        match (sched, name) {
            ("sh", "sh-fallback") | ("mh", "mh-fallback") | (_, "flag-1") => Some(Self::SCHED1),
            ("sh", "sh-port") | ("mh", "mh-port") | (_, "flag-2") => Some(Self::SCHED2),
            (_, "flag-3") => Some(Self::SCHED3),
            _ => None,
        }
    }
}

/// Persistence granularity: an IPv4 netmask or an IPv6 prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Netmask {
    /// IPv4 client netmask (default 255.255.255.255).
    V4(Ipv4Addr),
    /// IPv6 client prefix length, 1..=128 (default 128).
    V6(u8),
}

impl Netmask {
    /// The default for a family: one client address per persistence entry.
    pub fn default_for(family: Family) -> Self {
        match family {
            Family::Inet => Netmask::V4(Ipv4Addr::BROADCAST),
            Family::Inet6 => Netmask::V6(128),
        }
    }

    /// Whether this is the family's default.
    pub fn is_default(self) -> bool {
        matches!(self, Netmask::V4(Ipv4Addr::BROADCAST) | Netmask::V6(128))
    }
}

impl fmt::Display for Netmask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Netmask::V4(m) => write!(f, "{m}"),
            Netmask::V6(p) => write!(f, "{p}"),
        }
    }
}

impl Serialize for Netmask {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// Everything that configures a service: what an add or edit sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    /// Identity.
    pub key: ServiceKey,
    /// Scheduler name (`rr`, `wrr`, `wlc`, `sh`, `mh`, …, or `none`).
    pub scheduler: String,
    /// Flags (persistent, one-packet, scheduler flags).
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (meaningful when persistent).
    pub timeout: u32,
    /// Persistence netmask / prefix.
    pub netmask: Netmask,
    /// Persistence engine (e.g. `sip`), if any.
    pub pe_name: Option<String>,
}

/// A service's flags in JSON: the raw bits and each one by name.
struct FlagsJson(ServiceFlags);

impl Serialize for FlagsJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let flags = self.0;
        let mut m = s.serialize_map(Some(6))?;
        m.serialize_entry("raw", &flags.0)?;
        m.serialize_entry("persistent", &flags.is_persistent())?;
        m.serialize_entry("one_packet", &flags.is_one_packet())?;
        m.serialize_entry("sched_flag_1", &flags.has(ServiceFlags::SCHED1))?;
        m.serialize_entry("sched_flag_2", &flags.has(ServiceFlags::SCHED2))?;
        m.serialize_entry("sched_flag_3", &flags.has(ServiceFlags::SCHED3))?;
        m.end()
    }
}

impl ServiceSpec {
    /// Its fields, one after another, into a struct being serialized: its
    /// own JSON form and [`Service`]'s (which carries them at its top level)
    /// share this one list (see `DestSpec::serialize_fields`).
    fn serialize_fields<S: SerializeStruct>(&self, st: &mut S) -> Result<(), S::Error> {
        st.serialize_field("key", &self.key)?;
        st.serialize_field("scheduler", &self.scheduler)?;
        st.serialize_field("flags", &FlagsJson(self.flags))?;
        st.serialize_field("timeout", &self.timeout)?;
        st.serialize_field("netmask", &self.netmask)?;
        st.serialize_field("pe_name", &self.pe_name)
    }

    /// How many fields [`ServiceSpec::serialize_fields`] writes.
    const FIELDS: usize = 6;
}

impl Serialize for ServiceSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ServiceSpec", Self::FIELDS)?;
        self.serialize_fields(&mut st)?;
        st.end()
    }
}

impl ServiceSpec {
    /// A non-persistent service with scheduler `sched` and default settings.
    pub fn new(key: ServiceKey, scheduler: &str) -> Self {
        ServiceSpec {
            key,
            scheduler: scheduler.to_string(),
            flags: ServiceFlags::default(),
            timeout: 0,
            netmask: Netmask::default_for(key.family()),
            pe_name: None,
        }
    }

    /// Make the service persistent for `timeout` seconds.
    #[must_use]
    pub fn persistent(mut self, timeout: u32) -> Self {
        self.flags.0 |= ServiceFlags::PERSISTENT;
        self.timeout = timeout;
        self
    }
}

/// A service as read from the kernel: its configuration, figures and destinations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Configuration and identity (at the top level of its JSON form).
    pub spec: ServiceSpec,
    /// 64-bit totals.
    pub stats: Counters,
    /// Estimator rates.
    pub rates: Rates,
    /// Realservers, sorted by address then port.
    pub destinations: Destinations,
}

impl Serialize for Service {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Service", ServiceSpec::FIELDS + 3)?;
        self.spec.serialize_fields(&mut st)?;
        st.serialize_field("stats", &self.stats)?;
        st.serialize_field("rates", &self.rates)?;
        st.serialize_field("destinations", &self.destinations)?;
        st.end()
    }
}

impl Service {
    /// Its realservers in lvstop's stable order (by address, then port). The
    /// kernel lists them newest first, so a list added in order comes in
    /// reverse: turned around, not sorted element by element.
    pub fn sort_destinations(&mut self) {
        let key = |d: &super::Destination| (d.spec.addr, d.spec.port);
        // In order already: not touched (a list shared with another copy stays shared).
        if self.destinations.windows(2).all(|w| key(&w[0]) <= key(&w[1])) {
            return;
        }
        if self.destinations.windows(2).all(|w| key(&w[0]) > key(&w[1])) {
            self.destinations.reverse();
        } else {
            self.destinations.sort_by_key(key);
        }
    }

    /// Sum of ActiveConn over destinations.
    pub fn active_conns(&self) -> u64 {
        self.destinations.iter().map(|d| u64::from(d.active_conns)).sum()
    }

    /// Sum of InActConn over destinations.
    pub fn inact_conns(&self) -> u64 {
        self.destinations.iter().map(|d| u64::from(d.inact_conns)).sum()
    }
}
