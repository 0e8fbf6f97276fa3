//! Realserver rules (R-*, and D-BYPASS judged on the realserver's sockets),
//! judged on the output of a read-only script (sysctls, `ip -o addr`,
//! `ip -o link`, routes, the routes to the director and to the clients,
//! /proc/net/tcp, the rp_filter drop counter read twice) run over ssh.
//!
//! [`script()`] is what runs remotely, [`parse()`] reads its untrusted output into
//! [`RemoteFacts`], [`check`] judges them (pure), and [`run_all`] reads every
//! [`Target`] over ssh.

mod arp_rules;
mod parse;
mod rules;
mod run;
mod script;
#[cfg(test)]
mod tests;

use std::net::Ipv4Addr;

pub use arp_rules::Ipv4Ranges;
pub use parse::{parse, Addr4, RemoteFacts, RouteGet};
pub use rules::{check, Ctx, Scope, RULES};
pub use run::{dip_for, run_all, targets, Target};
pub use script::{script, END};

/// One DR or tunnel service a realserver is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serve {
    /// Virtual address.
    pub vip: Ipv4Addr,
    /// Virtual port (0: a persistent all-ports service).
    pub port: u16,
    /// Tunnelled (LVS-TUN) rather than direct routing.
    pub tunnel: bool,
    /// The director's ActiveConn for this destination, when known (TCP services of the IPVS table).
    pub active_conns: Option<u32>,
    /// The service's protocol (R-LISTEN reads TCP or UDP sockets; SCTP is not read).
    pub protocol: crate::model::Protocol,
}

impl Serve {
    /// The service, as the director's table keys it.
    pub fn key(&self) -> crate::model::ServiceKey {
        crate::model::ServiceKey::Addr { protocol: self.protocol, addr: self.vip.into(), port: self.port }
    }
}
