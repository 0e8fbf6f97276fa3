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
pub mod privilege;
pub mod rtnl;
pub mod synprobe;

/// The most lvstop reads of a one-value file (/proc/sys, /sys, /proc/self).
pub const SMALL_FILE: u64 = 64 * 1024;

/// The text of the file at `path`, read whole but never more than `limit`
/// bytes: a larger file is an error that names the limit (as is text that is
/// not UTF-8), so that no file, however large or endless, can make lvstop
/// grow on a director.
pub fn read_text(path: impl AsRef<std::path::Path>, limit: u64) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {limit} bytes, the most lvstop reads of it"),
        ));
    }
    String::from_utf8(bytes).map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// The kernel's timer frequency, for converting the jiffies /proc/net/ip_vs
/// prints. Read from the running kernel's config (`/boot/config-RELEASE`)
/// when it is there; else 250, Debian's (RHEL and recent Ubuntu use 1000).
pub fn kernel_hz() -> u32 {
    let release = sysinfo::System::kernel_version().unwrap_or_default();
    let config = read_text(format!("/boot/config-{release}"), 4 << 20).unwrap_or_default();
    config.lines().find_map(|l| l.strip_prefix("CONFIG_HZ=").and_then(|v| v.trim().parse().ok())).unwrap_or(250)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_at_their_limit() {
        let dir = std::env::temp_dir().join(format!("lvstop-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let f = dir.join("f");
        std::fs::write(&f, "x".repeat(100)).expect("write");
        assert_eq!(read_text(&f, 100).expect("fits").len(), 100);
        let e = read_text(&f, 99).expect_err("too large");
        assert!(e.to_string().contains("larger than 99 bytes"), "{e}");
        assert_eq!(read_text("/dev/zero", 4096).expect_err("endless").kind(), std::io::ErrorKind::InvalidData);
        std::fs::write(&f, b"\xff\xfe").expect("write");
        assert!(read_text(&f, 100).expect_err("binary").to_string().contains("UTF-8"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
