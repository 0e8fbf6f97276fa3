//! The pure domain model of an IPVS table: services, destinations, counters and
//! rates, the validation rules that keep a request within what the kernel and
//! `ipvsadm` accept, changes to the table as data ([`Change`]) and their
//! ipvsadm spelling ([`ipvsadm`]). Nothing here performs I/O.

mod change;
mod conn;
mod dest;
pub mod diff;
pub mod ipvsadm;
pub mod json;
mod service;
mod snapshot;
mod stats;
mod validate;

pub use change::{dest_summary, Change, Current};
pub use conn::{ConnEntry, ConnFilter, ConnSummary, Endpoint, Prefix, STATES as CONN_STATES};
pub use dest::{DestSpec, DestState, Destination, Destinations, ForwardMethod, TunnelCsum, TunnelType};
pub use service::{Netmask, Protocol, Service, ServiceFlags, ServiceKey, ServiceSpec};
pub use snapshot::{Info, Part, Snapshot, Source, SyncDaemon, SyncState, Timeouts, Want};
pub use stats::{Counters, Rates};
pub use validate::{Field as SpecField, ValidationError, WEIGHT_MAX};

/// A set of services by key, with a fast hasher: the console looks up every
/// service of a large table at each refresh (the keys are the kernel's, not
/// chosen by whoever sends packets).
pub type KeySet = std::collections::HashSet<ServiceKey, foldhash::fast::RandomState>;

/// A map by service key, hashed as [`KeySet`].
pub type KeyMap<V> = std::collections::HashMap<ServiceKey, V, foldhash::fast::RandomState>;

use std::net::IpAddr;

/// Address family of a service or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// `AF_INET`.
    Inet,
    /// `AF_INET6`.
    Inet6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Self {
        if addr.is_ipv4() {
            Family::Inet
        } else {
            Family::Inet6
        }
    }

    /// The kernel's `AF_*` value.
    pub fn af(self) -> u16 {
        match self {
            Family::Inet => 2,
            Family::Inet6 => 10,
        }
    }

    /// Parse a kernel `AF_*` value.
    pub fn from_af(af: u16) -> Option<Self> {
        match af {
            2 => Some(Family::Inet),
            10 => Some(Family::Inet6),
            _ => None,
        }
    }
}

/// Seconds as `M:SS`, how long until a connection entry or template expires
/// (ipvsadm -Lcn writes `MM:SS`).
pub fn fmt_mmss(secs: u32) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// Format `addr:port` the way ipvsadm does (`[v6]:port` for IPv6).
pub fn fmt_addr_port(addr: &IpAddr, port: u16) -> String {
    AddrPort(*addr, port).to_string()
}

/// `ADDR:PORT` (`[ADDR]:PORT` for IPv6) written where it goes, without a
/// string of its own.
#[derive(Debug, Clone, Copy)]
pub struct AddrPort(pub IpAddr, pub u16);

impl std::fmt::Display for AddrPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.1),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.1),
        }
    }
}

#[cfg(test)]
mod tests;
