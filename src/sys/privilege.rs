//! Capabilities: lvstop keeps only what it needs. CAP_NET_ADMIN stays
//! effective (every IPVS netlink command needs it, reads included);
//! CAP_NET_RAW stays permitted but is raised only while an ARP probe opens its
//! packet socket; everything else is dropped, from the bounding set too, so
//! that no program lvstop starts (ssh) regains it.
//!
//! Capabilities belong to a thread: [`keep_only`] must run before lvstop
//! starts any thread (threads inherit their creator's sets), and
//! [`with_net_raw`] raises CAP_NET_RAW in the calling thread only.

use caps::{CapSet, Capability, CapsHashSet};

/// What the command that runs needs beyond CAP_NET_ADMIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// No capability at all (conns: /proc/net/ip_vs_conn is world-readable).
    Nothing,
    /// IPVS only (dump, save).
    Ipvs,
    /// IPVS and, while an ARP probe runs, CAP_NET_RAW (console, check).
    IpvsAndProbe,
}

/// Drop every capability `needs` does not name, from the effective,
/// permitted, inheritable, ambient and (where lvstop may) bounding sets. An
/// unprivileged process has nothing to drop. The error says which set could
/// not be lowered.
pub fn keep_only(needs: Needs) -> Result<(), String> {
    let err = |what: &str, e: caps::errors::CapsError| format!("cannot drop capabilities ({what}): {e}");
    let permitted = caps::read(None, CapSet::Permitted).map_err(|e| err("reading them", e))?;
    let mut keep = CapsHashSet::new();
    if needs != Needs::Nothing {
        keep.insert(Capability::CAP_NET_ADMIN);
    }
    if needs == Needs::IpvsAndProbe {
        keep.insert(Capability::CAP_NET_RAW);
    }
    // The bounding set first, while CAP_SETPCAP may still be effective; a
    // process without it (file capabilities, not root) cannot lower it, and
    // needs not: a non-root user's programs gain nothing from it.
    if caps::has_cap(None, CapSet::Effective, Capability::CAP_SETPCAP).unwrap_or(false) {
        for cap in caps::all() {
            if caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
                caps::drop(None, CapSet::Bounding, cap).map_err(|e| err("bounding set", e))?;
            }
        }
    }
    // Old kernels have no ambient set: nothing to clear there.
    let _ = caps::clear(None, CapSet::Ambient);
    caps::clear(None, CapSet::Inheritable).map_err(|e| err("inheritable set", e))?;
    let kept: CapsHashSet = permitted.intersection(&keep).copied().collect();
    let mut effective = kept.clone();
    effective.remove(&Capability::CAP_NET_RAW);
    caps::set(None, CapSet::Effective, &effective).map_err(|e| err("effective set", e))?;
    caps::set(None, CapSet::Permitted, &kept).map_err(|e| err("permitted set", e))?;
    Ok(())
}

/// Run `f` with CAP_NET_RAW effective in this thread, if it is permitted
/// (else `f` runs without it and meets the kernel's refusal); lowered again
/// afterwards.
pub fn with_net_raw<T>(f: impl FnOnce() -> T) -> T {
    let raised = caps::has_cap(None, CapSet::Permitted, Capability::CAP_NET_RAW).unwrap_or(false)
        && !caps::has_cap(None, CapSet::Effective, Capability::CAP_NET_RAW).unwrap_or(true)
        && caps::raise(None, CapSet::Effective, Capability::CAP_NET_RAW).is_ok();
    let out = f();
    if raised {
        let _ = caps::drop(None, CapSet::Effective, Capability::CAP_NET_RAW);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A capability set of this thread, from /proc/thread-self/status.
    fn status(set: &str) -> u64 {
        let text = std::fs::read_to_string("/proc/thread-self/status").expect("status");
        let line = text.lines().find_map(|l| l.strip_prefix(&format!("{set}:"))).expect("set");
        u64::from_str_radix(line.trim(), 16).expect("hex")
    }

    #[test]
    fn only_net_admin_stays_effective_and_net_raw_is_raised_only_for_a_probe() {
        // Capabilities are per thread: this one drops them, the test runner keeps its own.
        std::thread::spawn(|| {
            if !nix::unistd::geteuid().is_root() {
                return; // nothing to drop; the VM tests run lvstop as root
            }
            let (admin, raw) = (1u64 << 12, 1u64 << 13);
            keep_only(Needs::IpvsAndProbe).expect("drop");
            assert_eq!(status("CapEff"), admin);
            assert_eq!(status("CapPrm"), admin | raw);
            assert_eq!(status("CapInh"), 0);
            assert_eq!(status("CapBnd"), 0, "a program lvstop starts gains nothing");
            assert_eq!(with_net_raw(|| status("CapEff")), admin | raw);
            assert_eq!(status("CapEff"), admin, "lowered again");
            keep_only(Needs::Ipvs).expect("drop again");
            assert_eq!((status("CapEff"), status("CapPrm")), (admin, admin));
            assert_eq!(with_net_raw(|| status("CapEff")), admin, "not permitted: not raised");
        })
        .join()
        .expect("thread");
    }
}
