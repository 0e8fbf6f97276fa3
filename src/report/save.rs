//! `ipvsadm -S -n` rules that `ipvsadm -R` restores.

use std::fmt::Write as _;

use crate::model::{DestSpec, ForwardMethod, ServiceKey, ServiceSpec, Snapshot, TunnelType};

/// The arguments after `-A`/`-E` that create `spec`: `-t VIP:PORT -s wrr -p 300 …`.
pub fn service_args(spec: &ServiceSpec) -> String {
    let mut out = format!("{} -s {}", spec.key.ipvsadm_args(), spec.scheduler);
    if spec.flags.is_persistent() {
        let _ = write!(out, " -p {}", spec.timeout);
        if !spec.netmask.is_default() {
            let _ = write!(out, " -M {}", spec.netmask);
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
    out
}

/// The arguments after `-a`/`-e` that create destination `d` of service `svc`.
/// Unlike ipvsadm's own save, thresholds are kept (`-x`/`-y`).
pub fn dest_args(svc: &ServiceKey, d: &DestSpec) -> String {
    let mut out = format!("{} -r {} {} -w {}", svc.ipvsadm_args(), d.addr_port(), d.forward.ipvsadm_switch(), d.weight);
    if d.forward == ForwardMethod::Tunnel {
        let _ = write!(out, " --tun-type {}", d.tun_type.name());
        if d.tun_type == TunnelType::Gue {
            let _ = write!(out, " --tun-port {}", d.tun_port);
        }
        if d.tun_type != TunnelType::Ipip {
            let _ = write!(out, " {}", d.tun_csum.option());
        }
    }
    if d.u_thresh != 0 {
        let _ = write!(out, " -x {}", d.u_thresh);
    }
    if d.l_thresh != 0 {
        let _ = write!(out, " -y {}", d.l_thresh);
    }
    out
}

/// Rules in `ipvsadm -S -n` form, so that a restore reproduces the table exactly.
pub fn save_rules(snap: &Snapshot) -> String {
    let mut out = String::new();
    for s in &snap.services {
        let _ = writeln!(out, "-A {}", service_args(&s.spec));
        for d in &s.destinations {
            let _ = writeln!(out, "-a {}", dest_args(&s.spec.key, &d.spec));
        }
    }
    out
}
