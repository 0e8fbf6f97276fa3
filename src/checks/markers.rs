//! The worst finding about each address and service, for the console's `!`
//! markers: built once per report instead of searched for every row.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::{CheckReport, Severity, Subject};
use crate::model::ServiceKey;

/// The worst severity of the findings about each address and each service.
/// A realserver that could not be read (R-UNREACHABLE) is no finding about
/// its configuration, so it marks nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Markers {
    addrs: BTreeMap<IpAddr, Severity>,
    services: BTreeMap<ServiceKey, Severity>,
}

fn worst<K: Ord>(map: &mut BTreeMap<K, Severity>, key: K, sev: Severity) {
    let e = map.entry(key).or_insert(sev);
    *e = (*e).max(sev);
}

impl Markers {
    /// Index `report`: realserver hosts, VIP and realserver subjects by
    /// address; per-service subjects by service.
    pub fn new(report: &CheckReport) -> Markers {
        let mut m = Markers::default();
        // A host that could not be read, or answered nonsense, says nothing about its configuration.
        for f in report.findings.iter().filter(|f| !f.rule.is_unread_host()) {
            m.mark(f.host, &f.subject, f.severity);
        }
        for more in report.more.iter().filter(|x| !x.rule.is_unread_host()) {
            for subject in &more.subjects {
                m.mark(more.host, subject, more.severity);
            }
        }
        m
    }

    /// A finding of `sev` about `subject` on `host`.
    fn mark(&mut self, host: super::Host, subject: &Subject, sev: Severity) {
        if let Some(a) = host.address() {
            worst(&mut self.addrs, a, sev);
        }
        match subject {
            Subject::Vip(a) => worst(&mut self.addrs, *a, sev),
            Subject::Realserver { addr, service, .. } => {
                worst(&mut self.addrs, *addr, sev);
                if let Some(s) = service {
                    worst(&mut self.services, *s, sev);
                }
            }
            Subject::Service(s) => worst(&mut self.services, *s, sev),
            _ => {}
        }
    }

    /// The worst finding about a VIP or realserver address.
    pub fn addr(&self, a: IpAddr) -> Option<Severity> {
        self.addrs.get(&a).copied()
    }

    /// The worst finding about a service itself (not its VIP or realservers).
    pub fn service(&self, key: &ServiceKey) -> Option<Severity> {
        self.services.get(key).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Evidence, Finding, Fix, Host, Rule};

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn finding(rule: Rule, severity: Severity, host: Host, subject: Subject) -> Finding {
        let (evidence, message, fix) = (Evidence::NotConfigured, String::new(), Fix::advice("x"));
        Finding { rule, severity, host, subject, evidence, message, fix }
    }

    #[test]
    fn the_worst_finding_marks_addresses_and_services() {
        let svc = ServiceKey::tcp(ip("198.51.100.100"), 80);
        let other = ServiceKey::udp(ip("198.51.100.100"), 53);
        let rs = |a| Host::Realserver(ip(a));
        let report = CheckReport {
            findings: vec![
                finding(Rule::DFwdOn, Severity::Warning, Host::Director, Subject::Interface("eth0".into())),
                finding(Rule::DRsOffLink, Severity::Error, Host::Director, Subject::realserver(ip("198.51.100.13"))),
                finding(Rule::RFwd, Severity::Info, rs("198.51.100.11"), Subject::DefaultRoute),
                finding(Rule::RArpIgnore, Severity::Error, rs("198.51.100.11"), Subject::Interface("eth0".into())),
                finding(Rule::RUnreachable, Severity::Warning, rs("198.51.100.12"), Subject::Ssh("rs2".into())),
                finding(Rule::DVipAbsent, Severity::Error, Host::Director, Subject::Vip(ip("198.51.100.101"))),
                finding(
                    Rule::DDrain,
                    Severity::Warning,
                    Host::Director,
                    Subject::Realserver { addr: ip("198.51.100.14"), port: Some(80), service: Some(svc) },
                ),
                finding(Rule::RListen, Severity::Info, rs("198.51.100.15"), Subject::Service(other)),
            ],
            skipped: Vec::new(),
            skipped_on_request: 0,
            more: Vec::new(),
        };
        let m = Markers::new(&report);
        assert_eq!(m.addr(ip("198.51.100.13")), Some(Severity::Error));
        assert_eq!(m.addr(ip("198.51.100.11")), Some(Severity::Error), "the worst of info and error");
        assert_eq!(m.addr(ip("198.51.100.12")), None, "an unreachable host is no finding about it");
        assert_eq!(m.addr(ip("198.51.100.101")), Some(Severity::Error));
        assert_eq!(m.addr(ip("198.51.100.14")), Some(Severity::Warning));
        assert_eq!(m.addr(ip("198.51.100.15")), Some(Severity::Info));
        assert_eq!(m.addr(ip("198.51.100.100")), None, "per-service findings mark the service, not its VIP");
        assert_eq!(m.service(&svc), Some(Severity::Warning));
        assert_eq!(m.service(&other), Some(Severity::Info));
        assert_eq!(m.service(&ServiceKey::tcp(ip("198.51.100.101"), 80)), None);
        assert_eq!(Markers::new(&CheckReport::default()), Markers::default());
    }
}
