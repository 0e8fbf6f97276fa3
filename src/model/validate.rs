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

/// The field of a spec that a [`ValidationError`] is about. Its `Display` is
/// the name used in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The service's protocol.
    Protocol,
    /// The virtual address.
    VirtualAddress,
    /// The service port.
    Port,
    /// The firewall mark of a fwmark service.
    Fwmark,
    /// The scheduler name.
    Scheduler,
    /// The persistence engine name.
    PersistenceEngine,
    /// The service flags as a whole.
    Flags,
    /// One-packet scheduling.
    OnePacket,
    /// The persistence timeout.
    PersistenceTimeout,
    /// The IPv4 persistence netmask.
    Netmask,
    /// The IPv6 persistence prefix length.
    PrefixLength,
    /// A realserver's weight.
    Weight,
    /// A realserver's upper connection threshold.
    UpperThreshold,
    /// A realserver's lower connection threshold.
    LowerThreshold,
    /// A realserver's address.
    RealserverAddress,
    /// A realserver's port.
    RealserverPort,
    /// A realserver's forwarding method.
    ForwardingMethod,
    /// A tunnel's UDP port.
    TunnelPort,
    /// A tunnel's checksum option.
    TunnelChecksum,
    /// A tunnel's type and options together.
    TunnelOptions,
    /// A protocol timeout.
    Timeout,
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Field::Protocol => "protocol",
            Field::VirtualAddress => "virtual address",
            Field::Port => "port",
            Field::Fwmark => "fwmark",
            Field::Scheduler => "scheduler",
            Field::PersistenceEngine => "persistence engine",
            Field::Flags => "flags",
            Field::OnePacket => "one-packet",
            Field::PersistenceTimeout => "persistence timeout",
            Field::Netmask => "netmask",
            Field::PrefixLength => "prefix length",
            Field::Weight => "weight",
            Field::UpperThreshold => "upper threshold",
            Field::LowerThreshold => "lower threshold",
            Field::RealserverAddress => "realserver address",
            Field::RealserverPort => "realserver port",
            Field::ForwardingMethod => "forwarding method",
            Field::TunnelPort => "tunnel port",
            Field::TunnelChecksum => "tunnel checksum",
            Field::TunnelOptions => "tunnel options",
            Field::Timeout => "timeout",
        })
    }
}

/// A request that would be refused, explained.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid {field} '{value}': {reason}")]
pub struct ValidationError {
    /// The field at fault.
    pub field: Field,
    /// The bad value as given.
    pub value: String,
    /// What is accepted instead.
    pub reason: String,
}

fn bad(field: Field, value: impl std::fmt::Display, reason: impl Into<String>) -> ValidationError {
    ValidationError { field, value: value.to_string(), reason: reason.into() }
}

fn check_name(field: Field, name: &str) -> Result<(), ValidationError> {
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
        check_name(Field::Scheduler, &self.scheduler)?;
        if let Some(pe) = &self.pe_name {
            check_name(Field::PersistenceEngine, pe)?;
        }
        match self.key {
            super::ServiceKey::Addr { protocol, addr, port } => {
                if super::ipvsadm::protocol_option(protocol).is_none() {
                    return Err(bad(Field::Protocol, protocol.number(), "use TCP, UDP or SCTP"));
                }
                if addr.is_unspecified() || addr.is_multicast() {
                    return Err(bad(Field::VirtualAddress, addr, "use a unicast address"));
                }
                if port == 0 && !self.flags.is_persistent() {
                    return Err(bad(
                        Field::Port,
                        port,
                        "port 0 (all ports) needs a persistent service: set a persistence timeout, or use 1-65535",
                    ));
                }
                if self.flags.is_one_packet() && protocol != super::Protocol::Udp {
                    return Err(bad(
                        Field::OnePacket,
                        "on",
                        "one-packet scheduling is only for UDP or fwmark services",
                    ));
                }
            }
            super::ServiceKey::Fwmark { mark, .. } => {
                if mark == 0 {
                    return Err(bad(Field::Fwmark, mark, "use a mark from 1 to 4294967295"));
                }
            }
        }
        if self.flags.0 & !super::ServiceFlags::KNOWN != 0 {
            return Err(bad(
                Field::Flags,
                format!("{:#x}", self.flags.0),
                "only persistent, one-packet and scheduler flags 1-3 can be set",
            ));
        }
        if self.flags.is_persistent() && !(1..=TIMEOUT_MAX).contains(&self.timeout) {
            return Err(bad(Field::PersistenceTimeout, self.timeout, format!("use 1 to {TIMEOUT_MAX} seconds")));
        }
        match (self.key.family(), self.netmask) {
            (Family::Inet, Netmask::V4(m)) => {
                let bits = u32::from(m);
                if bits.leading_ones() + bits.trailing_zeros() != 32 || bits == 0 {
                    return Err(bad(Field::Netmask, m, "use a contiguous IPv4 netmask such as 255.255.255.0"));
                }
            }
            (Family::Inet6, Netmask::V6(p)) => {
                if !(1..=128).contains(&p) {
                    return Err(bad(Field::PrefixLength, p, "use 1 to 128 for an IPv6 service"));
                }
            }
            (_, m) => return Err(bad(Field::Netmask, m, "the netmask must match the service's address family")),
        }
        Ok(())
    }
}

impl DestSpec {
    /// Check the destination against ipvsadm's and the kernel's rules for `svc`.
    pub fn validate(&self, svc: &ServiceSpec) -> Result<(), ValidationError> {
        if self.weight > WEIGHT_MAX {
            return Err(bad(Field::Weight, self.weight, format!("use 0 to {WEIGHT_MAX} (0 drains the realserver)")));
        }
        if self.u_thresh > THRESH_MAX {
            return Err(bad(Field::UpperThreshold, self.u_thresh, format!("use 0 (none) to {THRESH_MAX}")));
        }
        if self.l_thresh > THRESH_MAX {
            return Err(bad(Field::LowerThreshold, self.l_thresh, format!("use 0 to {THRESH_MAX}")));
        }
        if self.l_thresh > self.u_thresh && self.l_thresh != 0 {
            return Err(bad(
                Field::LowerThreshold,
                self.l_thresh,
                format!("must not exceed the upper threshold ({}); with no upper threshold use 0", self.u_thresh),
            ));
        }
        if self.addr.is_unspecified() || self.addr.is_multicast() {
            return Err(bad(Field::RealserverAddress, self.addr, "use a unicast address"));
        }
        if let std::net::IpAddr::V4(a) = self.addr {
            if a.is_broadcast() {
                return Err(bad(Field::RealserverAddress, self.addr, "use a unicast address"));
            }
        }
        if self.family() != svc.key.family() && self.forward != ForwardMethod::Tunnel {
            return Err(bad(
                Field::RealserverAddress,
                self.addr,
                "a realserver of another address family is only possible with tunnelling (-i)",
            ));
        }
        if let ForwardMethod::Unknown(v) = self.forward {
            return Err(bad(Field::ForwardingMethod, format!("unknown({v})"), "use DR (-g), NAT (-m) or tunnel (-i)"));
        }
        if matches!(self.forward, ForwardMethod::Bypass) {
            return Err(bad(Field::ForwardingMethod, "bypass", "use DR (-g), NAT (-m) or tunnel (-i)"));
        }
        let svc_port = svc.key.port();
        if !svc.key.is_fwmark() && self.forward.is_one_way() && self.port != svc_port {
            return Err(bad(
                Field::RealserverPort,
                self.port,
                format!("DR and tunnel cannot remap ports: use the service port {svc_port}"),
            ));
        }
        if self.port == 0 && !svc.key.is_fwmark() && svc_port != 0 {
            return Err(bad(Field::RealserverPort, self.port, "use 1 to 65535"));
        }
        if let TunnelType::Unknown(v) = self.tun_type {
            return Err(bad(Field::TunnelOptions, format!("unknown({v})"), "use the tunnel type ipip, gue or gre"));
        }
        if let super::TunnelCsum::Unknown(v) = self.tun_csum {
            return Err(bad(
                Field::TunnelChecksum,
                format!("unknown({v})"),
                "use --tun-nocsum, --tun-csum or --tun-remcsum",
            ));
        }
        if self.forward == ForwardMethod::Tunnel {
            if self.tun_type == TunnelType::Gue && self.tun_port == 0 {
                return Err(bad(Field::TunnelPort, 0, "a GUE tunnel needs a UDP port from 1 to 65535"));
            }
            if self.tun_type == TunnelType::Ipip && (self.tun_port != 0 || self.tun_csum.value() != 0) {
                return Err(bad(
                    Field::TunnelOptions,
                    self.tun_port,
                    "an IPIP tunnel takes no port or checksum option",
                ));
            }
            if self.tun_type == TunnelType::Gre && self.tun_port != 0 {
                return Err(bad(Field::TunnelPort, self.tun_port, "a GRE tunnel takes no port"));
            }
            if self.tun_type == TunnelType::Gre && self.tun_csum == super::TunnelCsum::RemCsum {
                return Err(bad(Field::TunnelChecksum, "remcsum", "a GRE tunnel takes --tun-nocsum or --tun-csum"));
            }
        } else if self.tun_type != TunnelType::Ipip || self.tun_port != 0 || self.tun_csum.value() != 0 {
            return Err(bad(
                Field::TunnelOptions,
                self.tun_type.name(),
                "tunnel options need the tunnel forwarding method (-i)",
            ));
        }
        Ok(())
    }
}
