//! Capabilities: whether lvstop may administer IPVS and send raw packets.

use caps::{CapSet, Capability};

/// What this process may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Privilege {
    /// CAP_NET_ADMIN is effective (or could be raised from the permitted set).
    pub net_admin: bool,
    /// CAP_NET_RAW is effective (or could be raised).
    pub net_raw: bool,
}

fn ensure(cap: Capability) -> bool {
    if caps::has_cap(None, CapSet::Effective, cap).unwrap_or(false) {
        return true;
    }
    // A setcap'd binary has the capability permitted but maybe not effective.
    caps::has_cap(None, CapSet::Permitted, cap).unwrap_or(false) && caps::raise(None, CapSet::Effective, cap).is_ok()
}

impl Privilege {
    /// Discover (and raise from the permitted set where possible) the capabilities.
    pub fn discover() -> Self {
        Privilege { net_admin: ensure(Capability::CAP_NET_ADMIN), net_raw: ensure(Capability::CAP_NET_RAW) }
    }
}
