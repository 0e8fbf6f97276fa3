//! The `:` command line: `weight RIP[:PORT] N`, `drain RIP[:PORT]`,
//! `restore RIP[:PORT]`, `save FILE` (`save! FILE` replaces one), `client ADDR[/PREFIX]`,
//! `pair NAME`, `director NAME`, `zero`, `quit`, `help`.

use std::net::IpAddr;
use std::path::PathBuf;

use crate::model::Change;
use crate::model::{Destination, ServiceKey, Snapshot};

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdLine {
    /// Set the weight of a realserver in every service that has it.
    Weight(Target, u32),
    /// Drain a realserver in every service that has it.
    Drain(Target),
    /// Restore a drained realserver's remembered weight everywhere.
    Restore(Target),
    /// Write `ipvsadm -R` rules to a new file (`save!`: replace an existing one).
    Save(PathBuf, bool),
    /// Which realserver a client (address or network) is on: the connections view.
    Client(crate::model::Prefix),
    /// This director beside another: the pair view.
    Pair(String),
    /// Show another director (or `local`) in the main view.
    Director(String),
    /// Zero all counters.
    Zero,
    /// Quit.
    Quit,
    /// Help.
    Help,
}

/// A realserver address with an optional port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Address.
    pub addr: IpAddr,
    /// Port, if given.
    pub port: Option<u16>,
}

impl Target {
    fn parse(s: &str) -> Result<Target, String> {
        if let Ok(addr) = s.parse::<IpAddr>() {
            return Ok(Target { addr, port: None });
        }
        let bad = || format!("'{s}' is not a realserver: use RIP, RIP:PORT or [RIPv6]:PORT");
        let (a, p) = s.rsplit_once(':').ok_or_else(bad)?;
        let addr = a.trim_start_matches('[').trim_end_matches(']').parse().map_err(|_| bad())?;
        let port = p.parse().map_err(|_| bad())?;
        Ok(Target { addr, port: Some(port) })
    }

    /// Whether `d` is this realserver.
    pub fn matches(&self, d: &Destination) -> bool {
        d.spec.addr == self.addr && self.port.is_none_or(|p| p == d.spec.port)
    }

    /// Every (service, realserver) that matches, in table order.
    pub fn find<'a>(&self, snap: &'a Snapshot) -> Vec<(ServiceKey, &'a Destination)> {
        snap.services
            .iter()
            .flat_map(|s| s.destinations.iter().filter(|d| self.matches(d)).map(move |d| (s.spec.key, d)))
            .collect()
    }
}

const USAGE: &str = "use weight RIP[:PORT] N, drain RIP[:PORT], restore RIP[:PORT], save FILE, save! FILE, \
                     client ADDR[/PREFIX], pair NAME, director NAME, zero, quit or help";

/// Parse a command line.
pub fn parse(line: &str) -> Result<CmdLine, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["weight" | "w", t, n] => {
            let w = super::layer::weight_of(n)?;
            Ok(CmdLine::Weight(Target::parse(t)?, w))
        }
        ["drain" | "d", t] => Ok(CmdLine::Drain(Target::parse(t)?)),
        ["restore" | "r", t] => Ok(CmdLine::Restore(Target::parse(t)?)),
        ["save", f] => Ok(CmdLine::Save(PathBuf::from(f), false)),
        ["save!", f] => Ok(CmdLine::Save(PathBuf::from(f), true)),
        ["client" | "c", a] => Ok(CmdLine::Client(crate::model::Prefix::parse(a)?)),
        ["pair", name] => Ok(CmdLine::Pair((*name).to_string())),
        ["director", name] => Ok(CmdLine::Director((*name).to_string())),
        ["zero"] => Ok(CmdLine::Zero),
        ["quit" | "q"] => Ok(CmdLine::Quit),
        ["help"] => Ok(CmdLine::Help),
        [] => Err(format!("empty command: {USAGE}")),
        [w, ..] => Err(format!("'{}' is not understood: {USAGE}", if words.len() > 1 { line.trim() } else { w })),
    }
}

/// Weight changes for `t` across the snapshot (one per service that has it).
pub fn weight_changes(snap: &Snapshot, t: Target, weight: impl Fn(&Destination) -> Option<u32>) -> Vec<Change> {
    t.find(snap)
        .into_iter()
        .filter_map(|(svc, d)| {
            let w = weight(d)?;
            (w != d.spec.weight).then(|| Change::EditDest {
                svc,
                before: d.spec.clone(),
                after: d.spec.clone().weight(w),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_with_the_bad_value() {
        assert_eq!(
            parse("weight 198.51.100.11 5"),
            Ok(CmdLine::Weight(Target { addr: "198.51.100.11".parse().expect("ip"), port: None }, 5))
        );
        assert_eq!(
            parse("drain [2001:db8::11]:80"),
            Ok(CmdLine::Drain(Target { addr: "2001:db8::11".parse().expect("ip"), port: Some(80) }))
        );
        assert!(parse("weight 198.51.100.11 70000").expect_err("range").contains("'70000'"));
        assert!(parse("drain nohost").expect_err("addr").contains("'nohost'"));
        assert!(parse("fly away").expect_err("cmd").contains("'fly away'"));
        assert_eq!(parse("save /tmp/rules"), Ok(CmdLine::Save("/tmp/rules".into(), false)));
        assert_eq!(parse("save! /tmp/rules"), Ok(CmdLine::Save("/tmp/rules".into(), true)));
        assert!(matches!(parse("client 203.0.113.0/24"), Ok(CmdLine::Client(p)) if p.to_string() == "203.0.113.0/24"));
        assert!(parse("client 203.0.113.0/99").expect_err("prefix").contains("0 to 32"));
    }
}
