//! A whole-table snapshot and the global IPVS state around it.

use serde::{Deserialize, Serialize};

use super::{Counters, Rates, Service};

/// Where a snapshot came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Source {
    /// Generic netlink: complete and exact.
    Netlink,
    /// `/proc/net/ip_vs*`: read-only and partial (no per-service stats, thresholds,
    /// tunnel details or persistence engine). `reason` says why and how to fix it.
    Procfs {
        /// Why netlink could not be used, with the fix.
        reason: String,
    },
}

/// IPVS version and connection table size (`IPVS_CMD_GET_INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// `IP_VS_VERSION_CODE`, e.g. 0x010201.
    pub version_code: u32,
    /// Connection hash table size.
    pub conn_tab_size: u32,
}

impl Info {
    /// "1.2.1".
    pub fn version(&self) -> String {
        let v = self.version_code;
        format!("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
    }
}

/// Protocol timeouts in seconds (`ipvsadm --set`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    /// Established TCP.
    pub tcp: u32,
    /// TCP after FIN.
    pub tcp_fin: u32,
    /// UDP.
    pub udp: u32,
}

/// Role of a connection-sync daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncState {
    /// Sends connection state.
    Master,
    /// Receives connection state.
    Backup,
    /// A state this lvstop does not know (a newer kernel's), with its value.
    Unknown(u32),
}

/// A running connection-synchronisation daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncDaemon {
    /// Master or backup.
    pub state: SyncState,
    /// Multicast interface.
    pub mcast_ifn: String,
    /// Sync id.
    pub sync_id: u32,
    /// Maximum sync message length, if reported.
    pub sync_maxlen: Option<u16>,
    /// Multicast group, if reported.
    pub mcast_group: Option<std::net::IpAddr>,
    /// Multicast port, if reported.
    pub mcast_port: Option<u16>,
    /// Multicast TTL, if reported.
    pub mcast_ttl: Option<u8>,
}

/// Whose realservers a refresh reads. Every refresh reads every service with
/// its counters and rates (one dump); the realservers take one dump per
/// service, so the console reads those of the services it shows, not all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// Every service's (a complete snapshot).
    All,
    /// The first N services' in the table's order (the first screen, before
    /// anything is known).
    First(usize),
    /// These services'.
    Keys(Vec<super::ServiceKey>),
    /// These services only, each read alone, with their realservers; the
    /// rest of the table is not read (the list of every service costs too
    /// much on a large table to read it every second).
    Alone(Vec<super::ServiceKey>),
}

impl Serialize for Snapshot {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Snapshot", Self::FIELDS)?;
        self.serialize_fields(&mut st)?;
        st.end()
    }
}

/// Everything lvstop knows about the IPVS table at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Netlink or the /proc fallback.
    pub source: Source,
    /// Version and table size.
    pub info: Option<Info>,
    /// Protocol timeouts (netlink only).
    pub timeouts: Option<Timeouts>,
    /// Running sync daemons (netlink only).
    pub daemons: Vec<SyncDaemon>,
    /// Services sorted like ipvsadm (by key).
    pub services: Vec<Service>,
    /// Netns-wide totals from /proc/net/ip_vs_stats, when readable.
    pub totals: Option<(Counters, Rates)>,
}

impl Snapshot {
    /// Its fields, one after another, into a struct being serialized: its own
    /// JSON form and `lvstop dump --json`'s document share this one list.
    pub fn serialize_fields<S: serde::ser::SerializeStruct>(&self, st: &mut S) -> Result<(), S::Error> {
        st.serialize_field("source", &self.source)?;
        st.serialize_field("info", &self.info)?;
        st.serialize_field("timeouts", &self.timeouts)?;
        st.serialize_field("daemons", &self.daemons)?;
        st.serialize_field("services", &self.services)?;
        st.serialize_field("totals", &self.totals)
    }

    /// How many fields [`Snapshot::serialize_fields`] writes.
    pub const FIELDS: usize = 6;

    /// A snapshot with no services (a kernel without IPVS, or a test).
    pub fn empty() -> Self {
        Snapshot {
            source: Source::Netlink,
            info: None,
            timeouts: None,
            daemons: Vec::new(),
            services: Vec::new(),
            totals: None,
        }
    }

    /// Whether the snapshot is the degraded /proc one.
    pub fn is_degraded(&self) -> bool {
        matches!(self.source, Source::Procfs { .. })
    }

    /// Find a service by key (binary search: snapshots are kept sorted by key).
    pub fn service(&self, key: &super::ServiceKey) -> Option<&Service> {
        match self.services.binary_search_by(|s| s.spec.key.cmp(key)) {
            Ok(i) => self.services.get(i),
            // Not sorted (built by hand): fall back to a scan.
            Err(_) => self.services.iter().find(|s| s.spec.key == *key),
        }
    }

    /// The virtual addresses of address-based services, sorted, without repeats.
    pub fn vips(&self) -> Vec<std::net::IpAddr> {
        let mut v: Vec<_> = self
            .services
            .iter()
            .filter_map(|s| match s.spec.key {
                super::ServiceKey::Addr { addr, .. } => Some(addr),
                super::ServiceKey::Fwmark { .. } => None,
            })
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Every realserver address, sorted, without repeats.
    pub fn rips(&self) -> Vec<std::net::IpAddr> {
        let mut v: Vec<_> = self.services.iter().flat_map(|s| s.destinations.iter().map(|d| d.spec.addr)).collect();
        v.sort();
        v.dedup();
        v
    }

    /// Sort services and destinations into lvstop's stable order.
    pub fn sort(&mut self) {
        self.services.sort_by_key(|a| a.spec.key);
        for s in &mut self.services {
            s.sort_destinations();
        }
    }
}

/// A complete snapshot handed over as it is read (`lvstop dump` and `save`
/// format what has been read while the rest is read): first the snapshot
/// without services or totals, then each service with its realservers in
/// order, then the totals. A stream that stops before its totals is
/// incomplete: the read failed.
#[derive(Debug)]
pub enum Part {
    /// Source, info, timeouts and daemons (no services, no totals).
    Head(Snapshot),
    /// The next service, in order, with its realservers sorted.
    Service(Service),
    /// The netns-wide totals, last.
    Totals(Option<(Counters, Rates)>),
}

impl Snapshot {
    /// This snapshot as its parts, in order.
    pub fn into_parts(mut self) -> impl Iterator<Item = Part> {
        let services = std::mem::take(&mut self.services);
        let totals = self.totals.take();
        std::iter::once(Part::Head(self))
            .chain(services.into_iter().map(Part::Service))
            .chain(std::iter::once(Part::Totals(totals)))
    }
}
