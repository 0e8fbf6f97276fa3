//! The real-kernel lab: a kernel with IPVS (`$LVSTOP_LAB_KERNEL`, else the
//! host's when it carries ip_vs, else Debian's stock kernel package, fetched
//! once and cached) booted under qemu (KVM where the CPU and /dev/kvm allow it,
//! else software emulation), the host's root shared read-only over 9p, and a
//! command run inside as root. The VM tests, the benchmark and `lvstop lab`
//! all use it.

pub mod cpio;
pub mod kernel;
pub mod scenario;
pub mod topology;
pub mod traffic;
pub mod vm;

use thiserror::Error;

pub use kernel::{cache_dir, ensure_kernel, Kernel};
pub use vm::{LabOutcome, LabRun};

/// Why the lab could not run.
#[derive(Debug, Error)]
pub enum LabError {
    /// qemu or busybox is missing.
    #[error("{0}")]
    Missing(String),
    /// No kernel with IPVS could be found or fetched.
    #[error("lab kernel: {0}")]
    Kernel(String),
    /// The VM could not be built or started, or misbehaved.
    #[error("lab VM: {0}")]
    Vm(String),
}

/// Modules the lab loads (their dependencies are added automatically).
pub const MODULES: &[&str] = &[
    "virtio_pci",
    "9pnet_virtio",
    "9p",
    "overlay",
    "crc32c_generic",
    "ip_vs",
    "ip_vs_rr",
    "ip_vs_wrr",
    "ip_vs_lc",
    "ip_vs_wlc",
    "ip_vs_lblc",
    "ip_vs_lblcr",
    "ip_vs_dh",
    "ip_vs_sh",
    "ip_vs_sed",
    "ip_vs_nq",
    "ip_vs_fo",
    "ip_vs_ovf",
    "ip_vs_mh",
    "ip_vs_twos",
    "ip_vs_pe_sip",
    "bridge",
    "veth",
    "dummy",
    "ipip",
    "ip_gre",
    "fou",
    // ARP filtering on realservers, the other way than the sysctls (nft, arptables).
    "nf_tables",
    "arptable_filter",
    "arpt_mangle",
];
