//! IPVS generic-netlink attributes to and from the model: the encoding of
//! services and destinations for requests, and the defensive parsing of the
//! kernel's replies (old kernels' 32-bit stats and missing attributes included).
//! The parsers are public for the fuzz targets (`fuzz/`), the encoders for the
//! property tests (`tests/properties.rs`) that parse what they write.

use super::wire::{self, Attrs, TlvWriter};
use crate::model::{
    Counters, DestSpec, Destination, Destinations, Family, ForwardMethod, Netmask, Protocol, Rates, Service,
    ServiceFlags, ServiceKey, ServiceSpec, SyncDaemon, SyncState, TunnelCsum, TunnelType,
};

/// A service's identity attributes (family, then mark or protocol, address and port).
pub fn service_identity(key: &ServiceKey) -> Vec<u8> {
    let mut w = TlvWriter::default();
    w.u16(wire::svc::AF, key.family().af());
    match key {
        ServiceKey::Fwmark { mark, .. } => {
            w.u32(wire::svc::FWMARK, *mark);
        }
        ServiceKey::Addr { protocol, addr, port } => {
            w.u16(wire::svc::PROTOCOL, protocol.number()).addr(wire::svc::ADDR, *addr).be16(wire::svc::PORT, *port);
        }
    }
    w.into_inner()
}

/// A service's attributes for an add or edit: its identity and its configuration.
pub fn service_full(spec: &ServiceSpec) -> Vec<u8> {
    let mut w = TlvWriter::default();
    let mut flags = [0u8; 8];
    flags[..4].copy_from_slice(&(spec.flags.0 & !ServiceFlags::HASHED).to_ne_bytes());
    flags[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    let netmask = match spec.netmask {
        Netmask::V4(m) => m.octets(),
        Netmask::V6(p) => u32::from(p).to_ne_bytes(),
    };
    w.string(wire::svc::SCHED_NAME, &spec.scheduler);
    if let Some(pe) = &spec.pe_name {
        w.string(wire::svc::PE_NAME, pe);
    }
    w.bytes(wire::svc::FLAGS, &flags).u32(wire::svc::TIMEOUT, spec.timeout).bytes(wire::svc::NETMASK, &netmask);
    let mut out = service_identity(&spec.key);
    out.extend(w.into_inner());
    out
}

/// A destination's attributes for an add or edit.
pub fn dest_full(d: &DestSpec) -> Vec<u8> {
    let mut w = TlvWriter::default();
    w.addr(wire::dest::ADDR, d.addr)
        .be16(wire::dest::PORT, d.port)
        .u16(wire::dest::ADDR_FAMILY, d.family().af())
        .u32(wire::dest::FWD_METHOD, d.forward.value())
        .u32(wire::dest::WEIGHT, d.weight)
        .u32(wire::dest::U_THRESH, d.u_thresh)
        .u32(wire::dest::L_THRESH, d.l_thresh)
        .u8(wire::dest::TUN_TYPE, d.tun_type.value())
        .be16(wire::dest::TUN_PORT, d.tun_port)
        .u16(wire::dest::TUN_FLAGS, d.tun_csum.value());
    w.into_inner()
}

pub(super) fn parse_stats(a: &Attrs<'_>) -> Result<(Counters, Rates), String> {
    use wire::stats as s;
    Ok((
        Counters {
            conns: a.counter(s::CONNS)?,
            inpkts: a.counter(s::INPKTS)?,
            outpkts: a.counter(s::OUTPKTS)?,
            inbytes: a.counter(s::INBYTES)?,
            outbytes: a.counter(s::OUTBYTES)?,
        },
        Rates {
            cps: a.counter(s::CPS)?,
            inpps: a.counter(s::INPPS)?,
            outpps: a.counter(s::OUTPPS)?,
            inbps: a.counter(s::INBPS)?,
            outbps: a.counter(s::OUTBPS)?,
        },
    ))
}

/// STATS64 when present (kernel ≥ 4.1), else the 32-bit STATS.
pub(super) fn stats_of(a: &Attrs<'_>, st64: u16, st32: u16) -> Result<(Counters, Rates), String> {
    if let Some(n) = a.nested(st64, "stats64")? {
        return parse_stats(&n);
    }
    match a.nested(st32, "stats")? {
        Some(n) => parse_stats(&n),
        None => Ok((Counters::default(), Rates::default())),
    }
}

/// A service from its attributes in a GET_SERVICE reply.
pub fn parse_service(a: &Attrs<'_>) -> Result<Service, String> {
    use wire::svc as s;
    let af = a.u16(s::AF)?;
    let family = Family::from_af(af).ok_or_else(|| format!("service has unknown address family {af}"))?;
    let key = match a.opt_u32(s::FWMARK)? {
        Some(mark) => ServiceKey::Fwmark { family, mark },
        None => ServiceKey::Addr {
            protocol: Protocol::from_number(a.u16(s::PROTOCOL)?),
            addr: a.addr(s::ADDR, af)?,
            port: a.be16(s::PORT)?,
        },
    };
    let flags_raw = a.get(s::FLAGS).ok_or("service flags missing")?;
    let flags = flags_raw
        .get(..4)
        .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| format!("service flags have {} bytes, expected 8", flags_raw.len()))?;
    let mask = a.get(s::NETMASK).ok_or("service netmask missing")?;
    let mask: [u8; 4] = mask.try_into().map_err(|_| format!("netmask has {} bytes, expected 4", mask.len()))?;
    let netmask = match family {
        Family::Inet => Netmask::V4(mask.into()),
        Family::Inet6 => Netmask::V6(u32::from_ne_bytes(mask).min(255) as u8),
    };
    let (stats, rates) = stats_of(a, s::STATS64, s::STATS)?;
    Ok(Service {
        spec: ServiceSpec {
            key,
            scheduler: a.string(s::SCHED_NAME)?,
            flags: ServiceFlags(flags & !ServiceFlags::HASHED),
            timeout: a.u32(s::TIMEOUT)?,
            netmask,
            pe_name: a.opt_string(s::PE_NAME),
        },
        stats,
        rates,
        destinations: Destinations::default(),
    })
}

/// A destination from its attributes in a GET_DEST reply (`svc_family` when the kernel omits its own).
pub fn parse_dest(a: &Attrs<'_>, svc_family: Family) -> Result<Destination, String> {
    use wire::dest as d;
    let af = a.opt_u16(d::ADDR_FAMILY)?.filter(|&f| f != 0).unwrap_or(svc_family.af());
    let fwd = a.u32(d::FWD_METHOD)?;
    let forward = ForwardMethod::from_value(fwd);
    let tun = a.opt_u8(d::TUN_TYPE)?.unwrap_or(0);
    let csum = a.opt_u16(d::TUN_FLAGS)?.unwrap_or(0);
    let (stats, rates) = stats_of(a, d::STATS64, d::STATS)?;
    Ok(Destination {
        spec: DestSpec {
            addr: a.addr(d::ADDR, af)?,
            port: a.be16(d::PORT)?,
            forward,
            weight: a.u32(d::WEIGHT)?,
            u_thresh: a.u32(d::U_THRESH)?,
            l_thresh: a.u32(d::L_THRESH)?,
            tun_type: TunnelType::from_value(tun),
            tun_port: a.opt_be16(d::TUN_PORT)?.unwrap_or(0),
            tun_csum: TunnelCsum::from_value(csum),
        },
        active_conns: a.u32(d::ACTIVE_CONNS)?,
        inact_conns: a.u32(d::INACT_CONNS)?,
        persist_conns: a.opt_u32(d::PERSIST_CONNS)?.unwrap_or(0),
        stats,
        rates,
    })
}

/// A sync daemon from its attributes in a GET_DAEMON reply.
pub fn parse_daemon(a: &Attrs<'_>) -> Result<SyncDaemon, String> {
    use wire::daemon as d;
    let state = match a.u32(d::STATE)? {
        1 => SyncState::Master,
        2 => SyncState::Backup,
        n => SyncState::Unknown(n),
    };
    let group = if let Some(g) = a.get(d::MCAST_GROUP6).filter(|g| g.len() == 16) {
        Some(a.addr(d::MCAST_GROUP6, 10).map_err(|_| format!("bad IPv6 group {g:?}"))?)
    } else if a.get(d::MCAST_GROUP).is_some() {
        Some(a.addr(d::MCAST_GROUP, 2)?)
    } else {
        None
    };
    Ok(SyncDaemon {
        state,
        mcast_ifn: a.string(d::MCAST_IFN)?,
        sync_id: a.u32(d::SYNC_ID)?,
        sync_maxlen: a.opt_u16(d::SYNC_MAXLEN)?,
        mcast_group: group,
        mcast_port: a.opt_u16(d::MCAST_PORT)?,
        mcast_ttl: a.opt_u8(d::MCAST_TTL)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    #[test]
    fn service_encoding_matches_the_documented_bytes() {
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        let spec = ServiceSpec::new(ServiceKey::tcp(ip, 80), "wrr");
        let b = service_full(&spec);
        // AF, protocol, 16-byte address, be16 port, "wrr", flags {0, ~0}, timeout, netmask.
        assert_eq!(&b[..8], &[6, 0, 1, 0, 2, 0, 0, 0]);
        assert_eq!(&b[8..16], &[6, 0, 2, 0, 6, 0, 0, 0]);
        assert_eq!(&b[16..24], &[20, 0, 3, 0, 10, 0, 0, 1]);
        assert_eq!(&b[36..44], &[6, 0, 4, 0, 0, 80, 0, 0]);
        assert_eq!(&b[44..52], &[8, 0, 6, 0, b'w', b'r', b'r', 0]);
        let a = Attrs::parse("svc", &b).expect("parse");
        let flags = a.get(wire::svc::FLAGS).expect("flags");
        assert_eq!(flags, &[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(a.get(wire::svc::NETMASK), Some(&[0xff, 0xff, 0xff, 0xff][..]));
    }

    fn stats32() -> Vec<u8> {
        let mut st = TlvWriter::default();
        st.u32(wire::stats::CONNS, 7)
            .u32(wire::stats::INPKTS, 70)
            .bytes(wire::stats::INBYTES, &7000u64.to_ne_bytes())
            .u32(wire::stats::CPS, 1);
        st.into_inner()
    }

    #[test]
    fn old_kernels_32bit_stats_and_no_addr_family() {
        // A destination as a pre-3.18 kernel sends it: no ADDR_FAMILY, no STATS64, no TUN_*.
        let mut d = TlvWriter::default();
        d.addr(wire::dest::ADDR, "198.51.100.11".parse().expect("ip"))
            .be16(wire::dest::PORT, 80)
            .u32(wire::dest::FWD_METHOD, 3)
            .u32(wire::dest::WEIGHT, 65535)
            .u32(wire::dest::U_THRESH, 0)
            .u32(wire::dest::L_THRESH, 0)
            .u32(wire::dest::ACTIVE_CONNS, 2)
            .u32(wire::dest::INACT_CONNS, 3)
            .bytes(wire::dest::STATS, &stats32());
        let bytes = d.into_inner();
        let a = Attrs::parse("dest", &bytes).expect("parse");
        let dest = parse_dest(&a, Family::Inet).expect("dest");
        assert_eq!(dest.spec.forward, ForwardMethod::Route);
        assert_eq!(dest.spec.weight, 65535);
        assert_eq!((dest.stats.conns, dest.stats.inpkts, dest.stats.inbytes, dest.rates.cps), (7, 70, 7000, 1));
        assert_eq!((dest.active_conns, dest.inact_conns, dest.persist_conns), (2, 3, 0));
        // A forwarding method a newer kernel may add is kept as unknown(N), not a failed snapshot.
        let mut d = TlvWriter::default();
        d.addr(wire::dest::ADDR, "198.51.100.12".parse().expect("ip"))
            .be16(wire::dest::PORT, 80)
            .u32(wire::dest::FWD_METHOD, 5)
            .u32(wire::dest::WEIGHT, 1)
            .u32(wire::dest::U_THRESH, 0)
            .u32(wire::dest::L_THRESH, 0)
            .u32(wire::dest::ACTIVE_CONNS, 0)
            .u32(wire::dest::INACT_CONNS, 0)
            .bytes(wire::dest::STATS, &stats32());
        let bytes = d.into_inner();
        let dest = parse_dest(&Attrs::parse("dest", &bytes).expect("parse"), Family::Inet).expect("dest");
        assert_eq!(dest.spec.forward, ForwardMethod::Unknown(5));
        assert_eq!(dest.spec.forward.to_string(), "unknown(5)");
        let svc = ServiceSpec::new(ServiceKey::tcp("198.51.100.100".parse().expect("ip"), 80), "rr");
        assert!(dest.spec.validate(&svc).expect_err("not sent").to_string().contains("unknown(5)"));
        let mut snap = crate::model::Snapshot::empty();
        snap.services.push(crate::model::Service {
            spec: svc.clone(),
            stats: crate::model::Counters::default(),
            rates: crate::model::Rates::default(),
            destinations: vec![dest].into(),
        });
        let why = crate::report::save_rules(&snap).expect_err("not saved as -g");
        assert!(why.contains("198.51.100.12:80") && why.contains("forwarding method unknown(5)"), "{why}");
        // So are a tunnel type and checksum flags a newer kernel may add.
        let mut d = TlvWriter::default();
        d.addr(wire::dest::ADDR, "198.51.100.13".parse().expect("ip"))
            .be16(wire::dest::PORT, 80)
            .u32(wire::dest::FWD_METHOD, 2)
            .u32(wire::dest::WEIGHT, 1)
            .u32(wire::dest::U_THRESH, 0)
            .u32(wire::dest::L_THRESH, 0)
            .u8(wire::dest::TUN_TYPE, 7)
            .u16(wire::dest::TUN_FLAGS, 9)
            .u32(wire::dest::ACTIVE_CONNS, 0)
            .u32(wire::dest::INACT_CONNS, 0)
            .bytes(wire::dest::STATS, &stats32());
        let bytes = d.into_inner();
        let dest = parse_dest(&Attrs::parse("dest", &bytes).expect("parse"), Family::Inet).expect("dest");
        assert_eq!((dest.spec.tun_type, dest.spec.tun_csum), (TunnelType::Unknown(7), TunnelCsum::Unknown(9)));
        assert_eq!(dest.spec.tun_info().as_deref(), Some("unknown(7)"));
        assert_eq!(serde_json::to_value(dest.spec.tun_csum).expect("json"), "unknown(9)");
        assert!(dest.spec.validate(&svc).expect_err("not sent").to_string().contains("unknown(7)"));
        snap.services[0].destinations = vec![dest].into();
        assert!(crate::report::save_rules(&snap).expect_err("not saved").contains("tunnel type unknown(7)"));
    }

    #[test]
    fn malformed_service_reply_is_an_error() {
        let mut s = TlvWriter::default();
        s.u16(wire::svc::AF, 2)
            .u16(wire::svc::PROTOCOL, 6)
            .addr(wire::svc::ADDR, "198.51.100.1".parse().expect("ip"))
            .be16(wire::svc::PORT, 80)
            .string(wire::svc::SCHED_NAME, "rr")
            .bytes(wire::svc::FLAGS, &[1, 2, 3])
            .u32(wire::svc::TIMEOUT, 0)
            .bytes(wire::svc::NETMASK, &[255; 4]);
        let bytes = s.into_inner();
        let a = Attrs::parse("svc", &bytes).expect("parse");
        let e = parse_service(&a).expect_err("3-byte flags");
        assert!(e.contains("flags have 3 bytes"), "{e}");
        let mut s = TlvWriter::default();
        s.u16(wire::svc::AF, 99);
        let bytes = s.into_inner();
        let e = parse_service(&Attrs::parse("svc", &bytes).expect("parse")).expect_err("bad af");
        assert!(e.contains("99"), "{e}");
    }
}
