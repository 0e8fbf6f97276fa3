//! Row markers: the worst finding per address and per service, built once
//! when a report arrives.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::checks::{CheckReport, Severity};
use crate::model::ServiceKey;

/// The worst finding about each address (a VIP, a realserver) and each service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Markers {
    addrs: HashMap<IpAddr, Severity>,
    services: HashMap<ServiceKey, Severity>,
}

impl Markers {
    /// The markers of a report (a host that could not be read over ssh is not
    /// a finding about its configuration).
    pub fn new(report: &CheckReport) -> Self {
        let mut m = Markers::default();
        for f in report.findings.iter().filter(|f| f.id != "R-UNREACHABLE") {
            for word in f.subject.split_whitespace().chain(f.host.split_whitespace()) {
                let addr =
                    word.parse::<IpAddr>().ok().or_else(|| word.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()));
                if let Some(a) = addr {
                    let w = m.addrs.entry(a).or_insert(f.severity);
                    *w = (*w).max(f.severity);
                }
            }
        }
        m
    }

    /// The worst finding about an address.
    pub fn addr(&self, addr: IpAddr) -> Option<Severity> {
        self.addrs.get(&addr).copied()
    }

    /// The worst finding about a service as such.
    pub fn service(&self, key: &ServiceKey) -> Option<Severity> {
        self.services.get(key).copied()
    }
}
