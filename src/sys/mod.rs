//! The director host itself: its interfaces and CPU ([`nic`], [`load`]), IPVS's
//! /proc files ([`ipvs_proc`]), an rtnetlink client for addresses and routes
//! ([`rtnl`]), the active ARP probe over AF_PACKET ([`arp`]) and the daemons
//! that manage IPVS ([`managed`]). sysinfo supplies
//! what it has (CPU use, processes, host name, kernel release); the rest is
//! read from /proc and /sys by hand. No UI; IPVS's own netlink family is
//! [`crate::ipvs`]'s.

pub mod arp;
pub mod ipvs_proc;
pub mod load;
pub mod managed;
pub mod nic;
pub mod rtnl;

/// The kernel's timer frequency, for converting the jiffies /proc/net/ip_vs
/// prints. Read from the running kernel's config (`/boot/config-RELEASE`)
/// when it is there; else 250, Debian's (RHEL and recent Ubuntu use 1000).
pub fn kernel_hz() -> u32 {
    let release = sysinfo::System::kernel_version().unwrap_or_default();
    let config = std::fs::read_to_string(format!("/boot/config-{release}")).unwrap_or_default();
    config.lines().find_map(|l| l.strip_prefix("CONFIG_HZ=").and_then(|v| v.trim().parse().ok())).unwrap_or(250)
}
