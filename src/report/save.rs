//! `ipvsadm -S -n` rules that `ipvsadm -R` restores.

use std::fmt::Write as _;

use crate::model::ipvsadm::{dest_args, service_args};
use crate::model::Snapshot;

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
