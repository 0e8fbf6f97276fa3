//! Destinations (realservers) of a virtual service.

use std::fmt;
use std::net::IpAddr;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::{fmt_addr_port, Counters, Family, Rates};

/// How the director forwards packets to a destination (`IP_VS_CONN_F_FWD_MASK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForwardMethod {
    /// NAT (`-m`): the director rewrites addresses both ways.
    Masq,
    /// The director itself serves the connection.
    Local,
    /// IP-in-IP / GUE / GRE tunnel (`-i`).
    Tunnel,
    /// Direct routing (`-g`): layer-2 forwarding, replies bypass the director.
    Route,
    /// Cache bypass (kernel-internal).
    Bypass,
    /// A value this lvstop does not know (a newer kernel's), shown as `unknown(N)`.
    Unknown(u8),
}

impl ForwardMethod {
    /// The kernel's value.
    pub fn value(self) -> u32 {
        match self {
            ForwardMethod::Masq => 0,
            ForwardMethod::Local => 1,
            ForwardMethod::Tunnel => 2,
            ForwardMethod::Route => 3,
            ForwardMethod::Bypass => 4,
            ForwardMethod::Unknown(v) => u32::from(v),
        }
    }

    /// Map the kernel's value (after masking with 0x7); a value lvstop does
    /// not know is kept as [`ForwardMethod::Unknown`].
    pub fn from_value(v: u32) -> Self {
        match v & 0x7 {
            0 => ForwardMethod::Masq,
            1 => ForwardMethod::Local,
            2 => ForwardMethod::Tunnel,
            3 => ForwardMethod::Route,
            4 => ForwardMethod::Bypass,
            other => ForwardMethod::Unknown(other as u8),
        }
    }

    /// The name ipvsadm and /proc use (`Masq`, `Local`, `Tunnel`, `Route`, `Bypass`).
    pub fn name(self) -> &'static str {
        match self {
            ForwardMethod::Masq => "Masq",
            ForwardMethod::Local => "Local",
            ForwardMethod::Tunnel => "Tunnel",
            ForwardMethod::Route => "Route",
            ForwardMethod::Bypass => "Bypass",
            ForwardMethod::Unknown(_) => "Unknown",
        }
    }

    /// Parse a /proc or ipvsadm forward name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Masq, Self::Local, Self::Tunnel, Self::Route, Self::Bypass]
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// Whether replies bypass the director, so Out* counters are always 0.
    pub fn is_one_way(self) -> bool {
        matches!(self, ForwardMethod::Route | ForwardMethod::Tunnel)
    }
}

impl fmt::Display for ForwardMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardMethod::Unknown(v) => write!(f, "unknown({v})"),
            known => f.write_str(known.name()),
        }
    }
}

impl Serialize for ForwardMethod {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let unknown;
        s.serialize_str(match self {
            ForwardMethod::Masq => "nat",
            ForwardMethod::Local => "local",
            ForwardMethod::Tunnel => "tunnel",
            ForwardMethod::Route => "dr",
            ForwardMethod::Bypass => "bypass",
            ForwardMethod::Unknown(v) => {
                unknown = format!("unknown({v})");
                &unknown
            }
        })
    }
}

/// Tunnel encapsulation of a `Tunnel` destination (kernel ≥ 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TunnelType {
    /// IP-in-IP (the default).
    Ipip,
    /// Generic UDP Encapsulation: needs a tunnel port.
    Gue,
    /// GRE (kernel ≥ 5.3).
    Gre,
    /// A type a newer kernel sent that lvstop does not know: shown
    /// `unknown(N)`, never sent back (validation refuses it).
    Unknown(u8),
}

impl Serialize for TunnelType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.name())
    }
}

impl TunnelType {
    /// The kernel's value.
    pub fn value(self) -> u8 {
        match self {
            TunnelType::Ipip => 0,
            TunnelType::Gue => 1,
            TunnelType::Gre => 2,
            TunnelType::Unknown(v) => v,
        }
    }

    /// Map the kernel's value; one lvstop does not know is kept as [`TunnelType::Unknown`].
    pub fn from_value(v: u8) -> Self {
        match v {
            0 => TunnelType::Ipip,
            1 => TunnelType::Gue,
            2 => TunnelType::Gre,
            other => TunnelType::Unknown(other),
        }
    }

    /// Lower-case name (`ipip`, `gue`, `gre`, `unknown(N)`).
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match self {
            TunnelType::Ipip => "ipip".into(),
            TunnelType::Gue => "gue".into(),
            TunnelType::Gre => "gre".into(),
            TunnelType::Unknown(v) => format!("unknown({v})").into(),
        }
    }
}

/// Checksum option of a GUE/GRE tunnel (`IP_VS_TUNNEL_ENCAP_FLAG_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TunnelCsum {
    /// No checksum (`--tun-nocsum`, shown `-c`).
    #[default]
    NoCsum,
    /// Checksum (`--tun-csum`, shown `+c`).
    Csum,
    /// Remote checksum offload (`--tun-remcsum`, shown `r+c`).
    RemCsum,
    /// Flags a newer kernel sent that lvstop does not know: shown
    /// `unknown(N)`, never sent back (validation refuses them).
    Unknown(u16),
}

impl Serialize for TunnelCsum {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TunnelCsum::NoCsum => s.serialize_str("nocsum"),
            TunnelCsum::Csum => s.serialize_str("csum"),
            TunnelCsum::RemCsum => s.serialize_str("remcsum"),
            TunnelCsum::Unknown(v) => s.collect_str(&format_args!("unknown({v})")),
        }
    }
}

impl TunnelCsum {
    /// The kernel's value.
    pub fn value(self) -> u16 {
        match self {
            TunnelCsum::NoCsum => 0,
            TunnelCsum::Csum => 1,
            TunnelCsum::RemCsum => 2,
            TunnelCsum::Unknown(v) => v,
        }
    }

    /// Map the kernel's value; flags lvstop does not know are kept as [`TunnelCsum::Unknown`].
    pub fn from_value(v: u16) -> Self {
        match v {
            0 => TunnelCsum::NoCsum,
            1 => TunnelCsum::Csum,
            2 => TunnelCsum::RemCsum,
            other => TunnelCsum::Unknown(other),
        }
    }

    /// The short form ipvsadm's `--tun-info` shows (`unknown(N)` for flags it has no form for).
    pub fn short(self) -> std::borrow::Cow<'static, str> {
        match self {
            TunnelCsum::NoCsum => "-c".into(),
            TunnelCsum::Csum => "+c".into(),
            TunnelCsum::RemCsum => "r+c".into(),
            TunnelCsum::Unknown(v) => format!("unknown({v})").into(),
        }
    }
}

/// Everything that configures a destination: what an add or edit sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestSpec {
    /// Realserver address; its family may differ from the service's only for tunnels.
    pub addr: IpAddr,
    /// Realserver port (must equal the service port for DR/TUN; 0 allowed for fwmark services).
    pub port: u16,
    /// Forwarding method.
    pub forward: ForwardMethod,
    /// Scheduling weight, 0..=65535 (0 = quiesced/drained).
    pub weight: u32,
    /// Upper connection threshold (0 = none).
    pub u_thresh: u32,
    /// Lower connection threshold.
    pub l_thresh: u32,
    /// Tunnel type (tunnel destinations only).
    pub tun_type: TunnelType,
    /// Tunnel UDP port (GUE).
    pub tun_port: u16,
    /// Tunnel checksum option (GUE/GRE).
    pub tun_csum: TunnelCsum,
}

impl DestSpec {
    /// Its fields, one after another, into a struct being serialized: its
    /// own JSON form and [`Destination`]'s (which carries them at its top
    /// level) share this one list. Written out rather than
    /// `#[serde(flatten)]`, which goes through a map and made `lvstop dump
    /// --json` half again as slow.
    fn serialize_fields<S: SerializeStruct>(&self, st: &mut S) -> Result<(), S::Error> {
        st.serialize_field("addr", &self.addr)?;
        st.serialize_field("port", &self.port)?;
        st.serialize_field("forward", &self.forward)?;
        st.serialize_field("weight", &self.weight)?;
        st.serialize_field("u_thresh", &self.u_thresh)?;
        st.serialize_field("l_thresh", &self.l_thresh)?;
        st.serialize_field("tun_type", &self.tun_type)?;
        st.serialize_field("tun_port", &self.tun_port)?;
        st.serialize_field("tun_csum", &self.tun_csum)
    }

    /// How many fields [`DestSpec::serialize_fields`] writes.
    const FIELDS: usize = 9;

    /// A destination with weight 1, no thresholds, IPIP if tunnelled.
    pub fn new(addr: IpAddr, port: u16, forward: ForwardMethod) -> Self {
        DestSpec {
            addr,
            port,
            forward,
            weight: 1,
            u_thresh: 0,
            l_thresh: 0,
            tun_type: TunnelType::Ipip,
            tun_port: 0,
            tun_csum: TunnelCsum::NoCsum,
        }
    }

    /// Set the weight.
    #[must_use]
    pub fn weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }

    /// The address family.
    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }

    /// `RIP:port` as ipvsadm prints it.
    pub fn addr_port(&self) -> String {
        fmt_addr_port(&self.addr, self.port)
    }

    /// ipvsadm's `--tun-info` column (`ipip`, `gue:6080:-c`, `gre:+c`), or None if not a tunnel.
    pub fn tun_info(&self) -> Option<String> {
        if self.forward != ForwardMethod::Tunnel {
            return None;
        }
        Some(match self.tun_type {
            TunnelType::Ipip => "ipip".to_string(),
            TunnelType::Gue => format!("gue:{}:{}", self.tun_port, self.tun_csum.short()),
            TunnelType::Gre => format!("gre:{}", self.tun_csum.short()),
            TunnelType::Unknown(v) => format!("unknown({v})"),
        })
    }
}

impl Serialize for DestSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("DestSpec", Self::FIELDS)?;
        self.serialize_fields(&mut st)?;
        st.end()
    }
}

/// A destination as read from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// Configuration and identity (at the top level of its JSON form).
    pub spec: DestSpec,
    /// Connections in ESTABLISHED (ActiveConn).
    pub active_conns: u32,
    /// Connections in any other state (InActConn).
    pub inact_conns: u32,
    /// Persistence templates pointing here (PersistConn).
    pub persist_conns: u32,
    /// 64-bit totals.
    pub stats: Counters,
    /// Estimator rates.
    pub rates: Rates,
}

impl Serialize for Destination {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Destination", DestSpec::FIELDS + 5)?;
        self.spec.serialize_fields(&mut st)?;
        st.serialize_field("active_conns", &self.active_conns)?;
        st.serialize_field("inact_conns", &self.inact_conns)?;
        st.serialize_field("persist_conns", &self.persist_conns)?;
        st.serialize_field("stats", &self.stats)?;
        st.serialize_field("rates", &self.rates)?;
        st.end()
    }
}

/// A service's realservers, shared between copies of a snapshot: the
/// console's table and a check run judging it hold one list, and a refresh
/// that did not read a service's realservers again keeps the same list (at
/// 50 000 realservers a copy is some 8 MB). A change copies the list first
/// if another holder still has it (copy on write), so no holder ever sees
/// another's change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destinations(std::sync::Arc<Vec<Destination>>);

impl std::ops::Deref for Destinations {
    type Target = Vec<Destination>;

    fn deref(&self) -> &Vec<Destination> {
        &self.0
    }
}

impl std::ops::DerefMut for Destinations {
    fn deref_mut(&mut self) -> &mut Vec<Destination> {
        std::sync::Arc::make_mut(&mut self.0)
    }
}

impl From<Vec<Destination>> for Destinations {
    fn from(v: Vec<Destination>) -> Self {
        Destinations(std::sync::Arc::new(v))
    }
}

impl FromIterator<Destination> for Destinations {
    fn from_iter<I: IntoIterator<Item = Destination>>(iter: I) -> Self {
        Vec::from_iter(iter).into()
    }
}

impl<'a> IntoIterator for &'a Destinations {
    type Item = &'a Destination;
    type IntoIter = std::slice::Iter<'a, Destination>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a mut Destinations {
    type Item = &'a mut Destination;
    type IntoIter = std::slice::IterMut<'a, Destination>;

    fn into_iter(self) -> Self::IntoIter {
        std::sync::Arc::make_mut(&mut self.0).iter_mut()
    }
}

impl Serialize for Destinations {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.as_slice().serialize(s)
    }
}

/// What a realserver is doing, as the console shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DestState {
    /// Weight > 0 and taking connections.
    Active,
    /// Weight 0: quiesced, existing connections finish.
    Drained,
    /// Active + inactive connections at or above the upper threshold (the kernel stops scheduling to it).
    Overloaded,
    /// Weight > 0 but no connections and no packets.
    Idle,
}

impl DestState {
    /// The word shown in the console.
    pub fn word(self) -> &'static str {
        match self {
            DestState::Active => "active",
            DestState::Drained => "drained",
            DestState::Overloaded => "over threshold",
            DestState::Idle => "idle",
        }
    }
}

impl Destination {
    /// Its identity within a service: address and port.
    pub fn id(&self) -> (IpAddr, u16) {
        (self.spec.addr, self.spec.port)
    }

    /// The realserver's state.
    pub fn state(&self) -> DestState {
        let conns = u64::from(self.active_conns) + u64::from(self.inact_conns);
        if self.spec.weight == 0 {
            DestState::Drained
        } else if self.spec.u_thresh > 0 && conns >= u64::from(self.spec.u_thresh) {
            DestState::Overloaded
        } else if conns == 0 && self.rates.inpps == 0 {
            DestState::Idle
        } else {
            DestState::Active
        }
    }

    /// A drained realserver with no active connection left can be removed.
    pub fn is_safe_to_remove(&self) -> bool {
        self.spec.weight == 0 && self.active_conns == 0
    }
}
