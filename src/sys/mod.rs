//! The director host itself: /proc and /sys (interfaces, CPU, IPVS's /proc
//! files), an rtnetlink client for addresses and routes, and the daemons that
//! manage IPVS. No UI; IPVS's own netlink family is [`crate::ipvs`]'s.

pub mod ipvs_proc;
pub mod load;
pub mod managed;
pub mod nic;
pub mod rtnl;

use std::path::Path;

/// Read a small text file (a sysctl, a sysfs attribute), trimmed.
pub fn read_trimmed(path: impl AsRef<Path>) -> std::io::Result<String> {
    Ok(std::fs::read_to_string(path)?.trim().to_string())
}

/// The kernel's timer frequency, for converting the jiffies /proc/net/ip_vs
/// prints. Read from the running kernel's config (`/boot/config-RELEASE`)
/// when it is there; else 250, Debian's (RHEL and recent Ubuntu use 1000).
pub fn kernel_hz() -> u32 {
    let release = read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_default();
    let config = std::fs::read_to_string(format!("/boot/config-{release}")).unwrap_or_default();
    config.lines().find_map(|l| l.strip_prefix("CONFIG_HZ=").and_then(|v| v.trim().parse().ok())).unwrap_or(250)
}
