//! Readers of /proc and /sys. No netlink, no UI.

pub mod arp;
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
/// prints. Read from the running kernel's config when available; Debian,
/// Ubuntu and RHEL kernels use 250 (RHEL: 1000), so 250 is the fallback.
pub fn kernel_hz() -> (u32, bool) {
    let release = read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_default();
    let config = std::fs::read_to_string(format!("/boot/config-{release}")).unwrap_or_default();
    config
        .lines()
        .find_map(|l| l.strip_prefix("CONFIG_HZ=").and_then(|v| v.trim().parse().ok()))
        .map_or((250, false), |hz| (hz, true))
}
