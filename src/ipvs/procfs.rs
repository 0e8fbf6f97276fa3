//! The degraded, read-only snapshot from /proc/net/ip_vs, used when netlink is
//! refused (no CAP_NET_ADMIN). It lacks per-service and per-destination stats
//! and rates, thresholds, PersistConn, tunnel details and persistence engines.

use std::net::Ipv4Addr;

use super::IpvsError;
use crate::model::{
    Counters, DestSpec, Destination, Info, Netmask, Rates, Service, ServiceFlags, ServiceSpec, Snapshot, Source,
};
use crate::sys::{self, ipvs_proc};

/// Build a snapshot from /proc; `reason` says why netlink was not used.
pub fn snapshot(reason: &str) -> Result<Snapshot, IpvsError> {
    let table = ipvs_proc::read_table()
        .map_err(|e| IpvsError::BadReply { op: "read /proc/net/ip_vs".into(), detail: e.to_string() })?;
    let (hz, _) = sys::kernel_hz();
    let services = table
        .services
        .into_iter()
        .map(|s| {
            let family = s.key.family();
            let mut flags = 0;
            let (mut timeout, mut netmask) = (0, Netmask::default_for(family));
            if let Some((jiffies, mask)) = s.persistent {
                flags |= ServiceFlags::PERSISTENT;
                timeout = u32::try_from(jiffies / u64::from(hz.max(1))).unwrap_or(u32::MAX);
                // The kernel prints ntohl() of the raw field; for IPv6 that field holds
                // the prefix length in host order, so undo the swap to recover it.
                netmask = match family {
                    crate::model::Family::Inet6 => Netmask::V6(u32::from_ne_bytes(mask.to_be_bytes()).min(128) as u8),
                    crate::model::Family::Inet => Netmask::V4(Ipv4Addr::from(mask)),
                };
            }
            if s.one_packet {
                flags |= ServiceFlags::ONEPACKET;
            }
            Service {
                spec: ServiceSpec {
                    key: s.key,
                    scheduler: s.scheduler,
                    flags: ServiceFlags(flags),
                    timeout,
                    netmask,
                    pe_name: None,
                },
                stats: Counters::default(),
                rates: Rates::default(),
                destinations: s
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
        })
        .collect();
    let mut snap = Snapshot {
        source: Source::Procfs { reason: reason.to_string() },
        info: Some(Info { version_code: table.version_code, conn_tab_size: table.size }),
        timeouts: None,
        daemons: Vec::new(),
        services,
        totals: ipvs_proc::read_totals().ok(),
    };
    snap.sort();
    Ok(snap)
}
