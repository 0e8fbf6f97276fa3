//! Reading lvstop's own JSON back: the `lvstop dump --json` document (a
//! director's snapshot sent by `lvstop agent` over ssh, or a file kept from
//! an earlier dump) into a [`Snapshot`]. The document comes from another
//! host: every name is checked against what lvstop writes, every number's
//! range by its type, and an unknown name is an error naming it, never a
//! guess.

use std::net::{IpAddr, Ipv4Addr};

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use super::{
    Counters, DestSpec, Destination, ForwardMethod, Info, Netmask, Protocol, Rates, Service, ServiceFlags, ServiceKey,
    ServiceSpec, Snapshot, Source, SyncDaemon, Timeouts, TunnelCsum, TunnelType,
};

/// `unknown(N)`'s N.
fn unknown<T: std::str::FromStr>(s: &str) -> Option<T> {
    s.strip_prefix("unknown(")?.strip_suffix(')')?.parse().ok()
}

/// A string read and mapped by `parse`, or an error naming it and `what` it should be.
fn named<'de, D: Deserializer<'de>, T>(d: D, what: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T, D::Error> {
    let s = String::deserialize(d)?;
    parse(&s).ok_or_else(|| D::Error::custom(format!("'{}' is not {what}", crate::text::sanitize(&s))))
}

impl<'de> Deserialize<'de> for Protocol {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        named(d, "a protocol (tcp, udp, sctp, protoN)", |s| match s {
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            "sctp" => Some(Protocol::Sctp),
            _ => s.strip_prefix("proto")?.parse().ok().map(Protocol::from_number),
        })
    }
}

/// The value `table` names `s`, else the kernel value of `unknown(N)` as `other`.
fn by_name<T: Copy, N: std::str::FromStr>(s: &str, table: &[(&str, T)], other: impl Fn(N) -> T) -> Option<T> {
    table.iter().find(|(n, _)| *n == s).map(|(_, v)| *v).or_else(|| unknown(s).map(other))
}

impl<'de> Deserialize<'de> for ForwardMethod {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use ForwardMethod::{Bypass, Local, Masq, Route, Tunnel};
        let names = [("nat", Masq), ("local", Local), ("tunnel", Tunnel), ("dr", Route), ("bypass", Bypass)];
        named(d, "a forwarding method (nat, local, tunnel, dr, bypass)", |s| by_name(s, &names, ForwardMethod::Unknown))
    }
}

impl<'de> Deserialize<'de> for TunnelType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = [("ipip", TunnelType::Ipip), ("gue", TunnelType::Gue), ("gre", TunnelType::Gre)];
        named(d, "a tunnel type (ipip, gue, gre)", |s| by_name(s, &names, TunnelType::Unknown))
    }
}

impl<'de> Deserialize<'de> for TunnelCsum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = [("nocsum", TunnelCsum::NoCsum), ("csum", TunnelCsum::Csum), ("remcsum", TunnelCsum::RemCsum)];
        named(d, "a tunnel checksum (nocsum, csum, remcsum)", |s| by_name(s, &names, TunnelCsum::Unknown))
    }
}

impl<'de> Deserialize<'de> for Netmask {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        named(d, "a netmask (an IPv4 mask or an IPv6 prefix length)", |s| {
            if s.contains('.') {
                s.parse::<Ipv4Addr>().ok().map(Netmask::V4)
            } else {
                s.parse::<u8>().ok().map(Netmask::V6)
            }
        })
    }
}

/// A service's flags: the raw bits (the names beside them follow from them).
#[derive(Deserialize)]
struct FlagsDoc {
    raw: u32,
}

/// [`ServiceSpec`]'s fields at the top level of a service, with its counters.
#[derive(Deserialize)]
struct ServiceDoc {
    key: ServiceKey,
    scheduler: String,
    flags: FlagsDoc,
    timeout: u32,
    netmask: Netmask,
    pe_name: Option<String>,
    stats: Counters,
    rates: Rates,
    destinations: Vec<DestDoc>,
}

/// [`DestSpec`]'s fields at the top level of a destination, with its counters.
#[derive(Deserialize)]
struct DestDoc {
    addr: IpAddr,
    port: u16,
    forward: ForwardMethod,
    weight: u32,
    u_thresh: u32,
    l_thresh: u32,
    tun_type: TunnelType,
    tun_port: u16,
    tun_csum: TunnelCsum,
    active_conns: u32,
    inact_conns: u32,
    persist_conns: u32,
    stats: Counters,
    rates: Rates,
}

/// [`ServiceSpec`]'s own JSON form (a remote edit's).
#[derive(Deserialize)]
struct ServiceSpecDoc {
    key: ServiceKey,
    scheduler: String,
    flags: FlagsDoc,
    timeout: u32,
    netmask: Netmask,
    pe_name: Option<String>,
}

impl<'de> Deserialize<'de> for ServiceSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = ServiceSpecDoc::deserialize(d)?;
        let spec = ServiceSpec {
            key: s.key,
            scheduler: s.scheduler,
            flags: ServiceFlags(s.flags.raw),
            timeout: s.timeout,
            netmask: s.netmask,
            pe_name: s.pe_name,
        };
        if !is_word(&spec.scheduler) || spec.pe_name.as_deref().is_some_and(|p| !is_word(p)) {
            return Err(D::Error::custom("a scheduler or persistence engine name that is not a word"));
        }
        Ok(spec)
    }
}

/// [`DestSpec`]'s own JSON form (a remote edit's before and after).
#[derive(Deserialize)]
struct DestSpecDoc {
    addr: IpAddr,
    port: u16,
    forward: ForwardMethod,
    weight: u32,
    u_thresh: u32,
    l_thresh: u32,
    tun_type: TunnelType,
    tun_port: u16,
    tun_csum: TunnelCsum,
}

impl<'de> Deserialize<'de> for DestSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let d = DestSpecDoc::deserialize(d)?;
        Ok(DestSpec {
            addr: d.addr,
            port: d.port,
            forward: d.forward,
            weight: d.weight,
            u_thresh: d.u_thresh,
            l_thresh: d.l_thresh,
            tun_type: d.tun_type,
            tun_port: d.tun_port,
            tun_csum: d.tun_csum,
        })
    }
}

impl<'de> Deserialize<'de> for Service {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = ServiceDoc::deserialize(d)?;
        let spec = ServiceSpec {
            key: s.key,
            scheduler: s.scheduler,
            flags: ServiceFlags(s.flags.raw),
            timeout: s.timeout,
            netmask: s.netmask,
            pe_name: s.pe_name,
        };
        let destinations = s
            .destinations
            .into_iter()
            .map(|d| Destination {
                spec: DestSpec {
                    addr: d.addr,
                    port: d.port,
                    forward: d.forward,
                    weight: d.weight,
                    u_thresh: d.u_thresh,
                    l_thresh: d.l_thresh,
                    tun_type: d.tun_type,
                    tun_port: d.tun_port,
                    tun_csum: d.tun_csum,
                },
                active_conns: d.active_conns,
                inact_conns: d.inact_conns,
                persist_conns: d.persist_conns,
                stats: d.stats,
                rates: d.rates,
            })
            .collect();
        Ok(Service { spec, stats: s.stats, rates: s.rates, destinations })
    }
}

/// The `lvstop dump --json` document (schema 2): its head and the snapshot's
/// fields; `ipvs_version` follows from `info`, `director` is not a table's.
#[derive(Deserialize)]
struct DumpDoc {
    schema: u32,
    source: Source,
    info: Option<Info>,
    timeouts: Option<Timeouts>,
    daemons: Vec<SyncDaemon>,
    services: Vec<Service>,
    totals: Option<(Counters, Rates)>,
}

/// The JSON schema [`parse_dump`] reads.
pub const DUMP_SCHEMA: u32 = crate::report::JSON_SCHEMA;

/// A snapshot from an `lvstop dump --json` document, sorted as lvstop keeps
/// it; or what is wrong with the document (another schema, a bad value).
pub fn parse_dump(json: &str) -> Result<Snapshot, String> {
    #[derive(Deserialize)]
    struct Schema {
        schema: Option<u32>,
    }
    let clean = |e: serde_json::Error| crate::text::sanitize(&e.to_string());
    match serde_json::from_str::<Schema>(json).map_err(clean)?.schema {
        Some(DUMP_SCHEMA) => {}
        Some(other) => {
            return Err(format!(
                "it is an lvstop dump of JSON schema {other}; this lvstop reads schema {DUMP_SCHEMA}: use the same lvstop version on both"
            ))
        }
        None => return Err("it is not an lvstop dump --json document (no \"schema\")".into()),
    }
    let doc: DumpDoc = serde_json::from_str(json).map_err(clean)?;
    debug_assert_eq!(doc.schema, DUMP_SCHEMA);
    let mut snap = Snapshot {
        source: doc.source,
        info: doc.info,
        timeouts: doc.timeouts,
        daemons: doc.daemons,
        services: doc.services,
        totals: doc.totals,
    };
    snap.sort();
    check_names(&snap)?;
    if let Some(w) = snap.services.windows(2).find(|w| w[0].spec.key == w[1].spec.key) {
        return Err(format!("service {} is listed twice", w[0].spec.key));
    }
    for s in &snap.services {
        if let Some(w) =
            s.destinations.windows(2).find(|w| (w[0].spec.addr, w[0].spec.port) == (w[1].spec.addr, w[1].spec.port))
        {
            return Err(format!("realserver {} of service {} is listed twice", w[0].spec.addr_port(), s.spec.key));
        }
    }
    Ok(snap)
}

/// Whether `s` is a name the kernel gives a scheduler or a persistence
/// engine: 1 to 32 letters, digits, `_` and `-` (such names go into audit
/// lines and suggested ipvsadm commands).
fn is_word(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

/// The kernel's names in a document from elsewhere: a scheduler's, a
/// persistence engine's, a sync daemon's interface are short words; anything
/// else (a control character, a very long name) is refused, not shown.
fn check_names(snap: &Snapshot) -> Result<(), String> {
    let word = |what: &str, s: &str| {
        if is_word(s) {
            Ok(())
        } else {
            Err(format!("{what} '{}' is not a name the kernel gives", crate::text::sanitize(s)))
        }
    };
    for s in &snap.services {
        word("scheduler", &s.spec.scheduler)?;
        if let Some(pe) = &s.spec.pe_name {
            word("persistence engine", pe)?;
        }
    }
    for d in &snap.daemons {
        if d.mcast_ifn.len() > 15 || !d.mcast_ifn.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "sync daemon interface '{}' is not an interface name",
                crate::text::sanitize(&d.mcast_ifn)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_from_elsewhere_are_checked_and_the_error_names_the_value() {
        let ok = crate::report::dump_json(&Snapshot::empty(), None);
        assert_eq!(parse_dump(&ok), Ok(Snapshot::empty()));
        let other = ok.replacen(&format!("\"schema\":{DUMP_SCHEMA}"), "\"schema\":99", 1);
        assert!(parse_dump(&other).is_err_and(|e| e.contains("schema 99") && e.contains("same lvstop version")));
        assert!(parse_dump("{}").is_err_and(|e| e.contains("not an lvstop dump")));
        assert!(parse_dump("not json").is_err());
        let service = |sched: &str, fwd: &str| {
            format!(
                "{{\"key\":{{\"kind\":\"addr\",\"protocol\":\"tcp\",\"addr\":\"203.0.113.1\",\"port\":80}},\"scheduler\":\"{sched}\",\
                 \"flags\":{{\"raw\":0}},\"timeout\":0,\"netmask\":\"255.255.255.255\",\"pe_name\":null,\"stats\":{z},\"rates\":{r},\
                 \"destinations\":[{{\"addr\":\"198.51.100.11\",\"port\":80,\"forward\":\"{fwd}\",\"weight\":1,\"u_thresh\":0,\
                 \"l_thresh\":0,\"tun_type\":\"ipip\",\"tun_port\":0,\"tun_csum\":\"nocsum\",\"active_conns\":0,\"inact_conns\":0,\
                 \"persist_conns\":0,\"stats\":{z},\"rates\":{r}}}]}}",
                z = "{\"conns\":0,\"inpkts\":0,\"outpkts\":0,\"inbytes\":0,\"outbytes\":0}",
                r = "{\"cps\":0,\"inpps\":0,\"outpps\":0,\"inbps\":0,\"outbps\":0}",
            )
        };
        let doc =
            |services: &[String]| ok.replacen("\"services\":[]", &format!("\"services\":[{}]", services.join(",")), 1);
        let good = parse_dump(&doc(&[service("wlc", "dr")])).expect("a good document");
        assert_eq!(good.services[0].destinations[0].spec.forward, ForwardMethod::Route);
        assert_eq!(
            parse_dump(&doc(&[service("wlc", "unknown(6)")])).map(|s| s.services[0].destinations[0].spec.forward),
            Ok(ForwardMethod::Unknown(6))
        );
        for (bad, says) in [
            (doc(&[service("wlc", "teleport")]), "'teleport' is not a forwarding method"),
            (doc(&[service("wlc;reboot", "dr")]), "scheduler 'wlc;reboot' is not a name"),
            (doc(&[service("w\\u001b[2J", "dr")]), "is not a name the kernel gives"),
            (doc(&[service("wlc", "dr"), service("rr", "dr")]), "is listed twice"),
        ] {
            let e = parse_dump(&bad).expect_err(says);
            assert!(e.contains(says), "{e}");
            assert!(!e.contains('\u{1b}'), "{e}");
        }
    }
}
