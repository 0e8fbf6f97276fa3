//! Validation of service and destination specs before anything is sent, with
//! ipvsadm's ranges and the kernel's own rules. Each error names the field, the
//! bad value and the accepted range.

use thiserror::Error;

use super::{DestSpec, Family, ForwardMethod, Netmask, ServiceSpec, TunnelType};

/// Longest scheduler or persistence-engine name the kernel accepts.
pub const NAME_MAX: usize = 15;
/// ipvsadm's maximum weight.
pub const WEIGHT_MAX: u32 = 65535;
/// ipvsadm's maximum persistence timeout (31 days).
pub const TIMEOUT_MAX: u32 = 86400 * 31;
/// Largest threshold (`INT_MAX`).
pub const THRESH_MAX: u32 = i32::MAX as u32;

/// A request that would be refused, explained.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid {field} '{value}': {reason}")]
pub struct ValidationError {
    /// The field at fault (`weight`, `port`, `scheduler`…).
    pub field: &'static str,
    /// The bad value as given.
    pub value: String,
    /// What is accepted instead.
    pub reason: String,
}

fn bad(field: &'static str, value: impl std::fmt::Display, reason: impl Into<String>) -> ValidationError {
    ValidationError { field, value: value.to_string(), reason: reason.into() }
}

fn check_name(field: &'static str, name: &str) -> Result<(), ValidationError> {
    if name.is_empty()
        || name.len() > NAME_MAX
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(bad(field, name, format!("use 1 to {NAME_MAX} letters, digits, '-' or '_'")));
    }
    Ok(())
}

impl ServiceSpec {
    /// Check the spec against ipvsadm's and the kernel's rules.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_name("scheduler", &self.scheduler)?;
        if let Some(pe) = &self.pe_name {
            check_name("persistence engine", pe)?;
        }
        match self.key {
            super::ServiceKey::Addr { protocol, addr, port } => {
                if super::ipvsadm::protocol_option(protocol).is_none() {
                    return Err(bad("protocol", protocol.number(), "use TCP, UDP or SCTP"));
                }
                if addr.is_unspecified() || addr.is_multicast() {
                    return Err(bad("virtual address", addr, "use a unicast address"));
                }
                if port == 0 && !self.flags.is_persistent() {
                    return Err(bad(
                        "port",
                        port,
                        "port 0 (all ports) needs a persistent service: set a persistence timeout, or use 1-65535",
                    ));
                }
                if self.flags.is_one_packet() && protocol != super::Protocol::Udp {
                    return Err(bad("one-packet", "on", "one-packet scheduling is only for UDP or fwmark services"));
                }
            }
            super::ServiceKey::Fwmark { mark, .. } => {
                if mark == 0 {
                    return Err(bad("fwmark", mark, "use a mark from 1 to 4294967295"));
                }
            }
        }
        if self.flags.0 & !super::ServiceFlags::KNOWN != 0 {
            return Err(bad(
                "flags",
                format!("{:#x}", self.flags.0),
                "only persistent, one-packet and scheduler flags 1-3 can be set",
            ));
        }
        if self.flags.is_persistent() && !(1..=TIMEOUT_MAX).contains(&self.timeout) {
            return Err(bad("persistence timeout", self.timeout, format!("use 1 to {TIMEOUT_MAX} seconds")));
        }
        match (self.key.family(), self.netmask) {
            (Family::Inet, Netmask::V4(m)) => {
                let bits = u32::from(m);
                if bits.leading_ones() + bits.trailing_zeros() != 32 || bits == 0 {
                    return Err(bad("netmask", m, "use a contiguous IPv4 netmask such as 255.255.255.0"));
                }
            }
            (Family::Inet6, Netmask::V6(p)) => {
                if !(1..=128).contains(&p) {
                    return Err(bad("prefix length", p, "use 1 to 128 for an IPv6 service"));
                }
            }
            (_, m) => return Err(bad("netmask", m, "the netmask must match the service's address family")),
        }
        Ok(())
    }
}

impl DestSpec {
    /// Check the destination against ipvsadm's and the kernel's rules for `svc`.
    pub fn validate(&self, svc: &ServiceSpec) -> Result<(), ValidationError> {
        if self.weight > WEIGHT_MAX {
            return Err(bad("weight", self.weight, format!("use 0 to {WEIGHT_MAX} (0 drains the realserver)")));
        }
        if self.u_thresh > THRESH_MAX {
            return Err(bad("upper threshold", self.u_thresh, format!("use 0 (none) to {THRESH_MAX}")));
        }
        if self.l_thresh > THRESH_MAX {
            return Err(bad("lower threshold", self.l_thresh, format!("use 0 to {THRESH_MAX}")));
        }
        if self.l_thresh > self.u_thresh && self.l_thresh != 0 {
            return Err(bad(
                "lower threshold",
                self.l_thresh,
                format!("must not exceed the upper threshold ({}); with no upper threshold use 0", self.u_thresh),
            ));
        }
        if self.addr.is_unspecified() || self.addr.is_multicast() {
            return Err(bad("realserver address", self.addr, "use a unicast address"));
        }
        if let std::net::IpAddr::V4(a) = self.addr {
            if a.is_broadcast() {
                return Err(bad("realserver address", self.addr, "use a unicast address"));
            }
        }
        if self.family() != svc.key.family() && self.forward != ForwardMethod::Tunnel {
            return Err(bad(
                "realserver address",
                self.addr,
                "a realserver of another address family is only possible with tunnelling (-i)",
            ));
        }
        if matches!(self.forward, ForwardMethod::Bypass) {
            return Err(bad("forwarding method", "bypass", "use DR (-g), NAT (-m) or tunnel (-i)"));
        }
        let svc_port = svc.key.port();
        if !svc.key.is_fwmark() && self.forward.is_one_way() && self.port != svc_port {
            return Err(bad(
                "realserver port",
                self.port,
                format!("DR and tunnel cannot remap ports: use the service port {svc_port}"),
            ));
        }
        if self.port == 0 && !svc.key.is_fwmark() && svc_port != 0 {
            return Err(bad("realserver port", self.port, "use 1 to 65535"));
        }
        if self.forward == ForwardMethod::Tunnel {
            if self.tun_type == TunnelType::Gue && self.tun_port == 0 {
                return Err(bad("tunnel port", 0, "a GUE tunnel needs a UDP port from 1 to 65535"));
            }
            if self.tun_type == TunnelType::Ipip && (self.tun_port != 0 || self.tun_csum.value() != 0) {
                return Err(bad("tunnel options", self.tun_port, "an IPIP tunnel takes no port or checksum option"));
            }
            if self.tun_type == TunnelType::Gre && self.tun_port != 0 {
                return Err(bad("tunnel port", self.tun_port, "a GRE tunnel takes no port"));
            }
            if self.tun_type == TunnelType::Gre && self.tun_csum == super::TunnelCsum::RemCsum {
                return Err(bad("tunnel checksum", "remcsum", "a GRE tunnel takes --tun-nocsum or --tun-csum"));
            }
        } else if self.tun_type != TunnelType::Ipip || self.tun_port != 0 || self.tun_csum.value() != 0 {
            return Err(bad(
                "tunnel options",
                self.tun_type.name(),
                "tunnel options need the tunnel forwarding method (-i)",
            ));
        }
        Ok(())
    }
}
