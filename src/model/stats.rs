//! Counters and estimator rates, as the kernel reports them.

use serde::{Deserialize, Serialize};

/// 64-bit totals since the counters were created or last zeroed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Connections scheduled.
    pub conns: u64,
    /// Packets received from clients.
    pub inpkts: u64,
    /// Packets sent to clients (always 0 for DR and TUN: replies bypass the director).
    pub outpkts: u64,
    /// Bytes received from clients.
    pub inbytes: u64,
    /// Bytes sent to clients.
    pub outbytes: u64,
}

/// Per-second rates from the kernel's estimator (a ~2 s EWMA).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rates {
    /// Connections per second.
    pub cps: u64,
    /// Incoming packets per second.
    pub inpps: u64,
    /// Outgoing packets per second.
    pub outpps: u64,
    /// Incoming bytes per second.
    pub inbps: u64,
    /// Outgoing bytes per second.
    pub outbps: u64,
}
