//! Which host a finding is about, and what on it: data, with `Display` giving
//! the words the report uses.

use std::fmt;
use std::net::IpAddr;

use serde::ser::SerializeMap as _;

use super::evidence::Sysctl;
use crate::model::{fmt_addr_port, ServiceKey};

/// The host a finding concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    /// The director lvstop runs on.
    Director,
    /// A realserver, by its address.
    Realserver(IpAddr),
    /// Two directors read together (their names are in the finding).
    Pair,
}

impl Host {
    /// The realserver's address; none for the director.
    pub fn address(self) -> Option<IpAddr> {
        match self {
            Host::Director | Host::Pair => None,
            Host::Realserver(a) => Some(a),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Director => f.write_str("director"),
            Host::Pair => f.write_str("directors"),
            Host::Realserver(a) => write!(f, "realserver {a}"),
        }
    }
}

/// What on the host a finding is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A virtual IP address.
    Vip(IpAddr),
    /// A virtual service, named by the VIP:port its realservers accept it on.
    Service(ServiceKey),
    /// A realserver: its address, its port when the finding is about one
    /// destination, and the service when it is about one service's.
    Realserver {
        /// Its address.
        addr: IpAddr,
        /// Its port, when known.
        port: Option<u16>,
        /// The service, when the finding is per service.
        service: Option<ServiceKey>,
    },
    /// An interface of the finding's host.
    Interface(String),
    /// A sysctl.
    Sysctl(Sysctl),
    /// A TcpExt counter of /proc/net/netstat.
    TcpExt(&'static str),
    /// The CPUs' packet input backlog.
    Backlog,
    /// The host's route to the director's address on its segment.
    RouteToDirector(IpAddr),
    /// The host's default route.
    DefaultRoute,
    /// The ssh destination a realserver is read through.
    Ssh(String),
    /// The IPVS table as a whole.
    Table,
    /// Connection synchronisation between directors.
    Sync,
}

impl Subject {
    /// A realserver as a whole.
    pub fn realserver(addr: IpAddr) -> Subject {
        Subject::Realserver { addr, port: None, service: None }
    }

    /// The kind of subject, as the JSON report names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::Vip(_) => "vip",
            Subject::Service(_) => "service",
            Subject::Realserver { .. } => "realserver",
            Subject::Interface(_) => "interface",
            Subject::Sysctl(_) => "sysctl",
            Subject::TcpExt(_) => "counter",
            Subject::Backlog => "backlog",
            Subject::RouteToDirector(_) => "route_to_director",
            Subject::DefaultRoute => "default_route",
            Subject::Ssh(_) => "ssh",
            Subject::Table => "table",
            Subject::Sync => "sync",
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Vip(a) => write!(f, "VIP {a}"),
            Subject::Service(ServiceKey::Addr { addr, port, .. }) => f.write_str(&fmt_addr_port(addr, *port)),
            Subject::Service(key) => write!(f, "{key}"),
            Subject::Realserver { addr, port, service } => {
                match port {
                    Some(p) => write!(f, "realserver {}", fmt_addr_port(addr, *p))?,
                    None => write!(f, "realserver {addr}")?,
                }
                match service {
                    Some(s) => write!(f, " of {s}"),
                    None => Ok(()),
                }
            }
            Subject::Interface(name) => write!(f, "interface {name}"),
            Subject::Sysctl(s) => write!(f, "{s}"),
            Subject::TcpExt(name) => write!(f, "TcpExt {name}"),
            Subject::Backlog => f.write_str("CPU backlog"),
            Subject::RouteToDirector(a) => write!(f, "route to director {a}"),
            Subject::DefaultRoute => f.write_str("default route"),
            Subject::Ssh(host) => write!(f, "ssh {host}"),
            Subject::Table => f.write_str("IPVS table"),
            Subject::Sync => f.write_str("connection sync"),
        }
    }
}

/// `{"kind": …}` with the subject's parts as separate values: `address`,
/// `port`, `service`, `interface`, `sysctl`, `counter`, `host`.
impl serde::Serialize for Subject {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("kind", self.kind())?;
        match self {
            Subject::Vip(a) | Subject::RouteToDirector(a) => m.serialize_entry("address", a)?,
            Subject::Service(key) => {
                if let ServiceKey::Addr { addr, port, .. } = key {
                    m.serialize_entry("address", addr)?;
                    m.serialize_entry("port", port)?;
                }
                m.serialize_entry("service", key)?;
            }
            Subject::Realserver { addr, port, service } => {
                m.serialize_entry("address", addr)?;
                if let Some(p) = port {
                    m.serialize_entry("port", p)?;
                }
                if let Some(key) = service {
                    m.serialize_entry("service", key)?;
                }
            }
            Subject::Interface(name) => m.serialize_entry("interface", name)?,
            Subject::Sysctl(sysctl) => m.serialize_entry("sysctl", sysctl)?,
            Subject::TcpExt(name) => m.serialize_entry("counter", &format!("TcpExt {name}"))?,
            Subject::Ssh(host) => m.serialize_entry("host", host)?,
            Subject::Backlog | Subject::DefaultRoute | Subject::Table | Subject::Sync => {}
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn subjects_read_as_the_report_words_them() {
        let svc = ServiceKey::tcp(ip("198.51.100.100"), 80);
        let rs = |port, service| Subject::Realserver { addr: ip("198.51.100.11"), port, service };
        assert_eq!(Subject::Vip(ip("198.51.100.100")).to_string(), "VIP 198.51.100.100");
        assert_eq!(rs(Some(80), Some(svc)).to_string(), "realserver 198.51.100.11:80 of TCP 198.51.100.100:80");
        assert_eq!(rs(Some(80), None).to_string(), "realserver 198.51.100.11:80");
        assert_eq!(Subject::realserver(ip("2001:db8::11")).to_string(), "realserver 2001:db8::11");
        assert_eq!(Subject::Service(svc).to_string(), "198.51.100.100:80");
        assert_eq!(Subject::Interface("eth0".into()).to_string(), "interface eth0");
        assert_eq!(Subject::Sysctl(Sysctl::conf("*", "accept_local")).to_string(), "net.ipv4.conf.*.accept_local");
        assert_eq!(Subject::TcpExt("IPReversePathFilter").to_string(), "TcpExt IPReversePathFilter");
        assert_eq!(Subject::RouteToDirector(ip("198.51.100.1")).to_string(), "route to director 198.51.100.1");
        assert_eq!(Host::Director.to_string(), "director");
        assert_eq!(Host::Realserver(ip("198.51.100.13")).to_string(), "realserver 198.51.100.13");
        let json = serde_json::to_value(rs(Some(80), Some(svc))).expect("json");
        assert_eq!(json["kind"], "realserver");
        assert_eq!(json["address"], "198.51.100.11");
        assert_eq!(json["port"], 80);
        assert_eq!(json["service"]["addr"], "198.51.100.100");
    }
}
