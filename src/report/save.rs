//! `ipvsadm -S -n` rules that `ipvsadm -R` restores.

use std::fmt::Write as _;

use crate::model::{ForwardMethod, Netmask, Snapshot, TunnelType};

/// Rules in `ipvsadm -S -n` form. Unlike ipvsadm, thresholds are kept (`-x`/`-y`),
/// so that a restore reproduces the table exactly.
pub fn save_rules(snap: &Snapshot) -> String {
    let mut out = String::new();
    for s in &snap.services {
        let spec = &s.spec;
        let name = spec.key.ipvsadm_args();
        let _ = write!(out, "-A {name} -s {}", spec.scheduler);
        if spec.flags.is_persistent() {
            let _ = write!(out, " -p {}", spec.timeout);
            if !spec.netmask.is_default() {
                match spec.netmask {
                    Netmask::V4(m) => {
                        let _ = write!(out, " -M {m}");
                    }
                    Netmask::V6(p) => {
                        let _ = write!(out, " -M {p}");
                    }
                }
            }
        }
        if let Some(pe) = &spec.pe_name {
            let _ = write!(out, " --pe {pe}");
        }
        if spec.flags.is_one_packet() {
            out.push_str(" -o");
        }
        let sched_flags = spec.flags.sched_flag_names(&spec.scheduler);
        if !sched_flags.is_empty() {
            let _ = write!(out, " -b {}", sched_flags.join(","));
        }
        out.push('\n');
        for d in &s.destinations {
            let ds = &d.spec;
            let _ = write!(out, "-a {name} -r {} {} -w {}", ds.addr_port(), ds.forward.ipvsadm_switch(), ds.weight);
            if ds.forward == ForwardMethod::Tunnel {
                let _ = write!(out, " --tun-type {}", ds.tun_type.name());
                if ds.tun_type == TunnelType::Gue {
                    let _ = write!(out, " --tun-port {}", ds.tun_port);
                }
                if ds.tun_type != TunnelType::Ipip {
                    let _ = write!(out, " {}", ds.tun_csum.option());
                }
            }
            if ds.u_thresh != 0 {
                let _ = write!(out, " -x {}", ds.u_thresh);
            }
            if ds.l_thresh != 0 {
                let _ = write!(out, " -y {}", ds.l_thresh);
            }
            out.push('\n');
        }
    }
    out
}
