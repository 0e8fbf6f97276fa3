//! `ipvsadm -S -n` rules that `ipvsadm -R` restores.

use std::fmt::Write as _;

use crate::model::ipvsadm::{key_args, service_args, write_dest_args};
use crate::model::{DestSpec, ForwardMethod, Service, Snapshot, TunnelCsum, TunnelType};

/// Rules in `ipvsadm -S -n` form, so that a restore reproduces the table
/// exactly; or, when a realserver has a setting a newer kernel sent that
/// ipvsadm's rules cannot express (a forwarding method, tunnel type or
/// checksum flags shown as unknown(N)), why nothing is written: a file that
/// would restore something else is worse than none.
pub fn save_rules(snap: &Snapshot) -> Result<String, String> {
    let mut rules = SaveRules::default();
    for s in &snap.services {
        rules.service(s)?;
    }
    Ok(rules.finish())
}

/// [`save_rules`] built as the table is read.
#[derive(Default)]
pub struct SaveRules {
    out: String,
}

impl SaveRules {
    /// The next service's rules, or why none can be written.
    pub fn service(&mut self, s: &Service) -> Result<(), String> {
        let out = &mut self.out;
        if s.spec.flags.unknown() != 0 {
            return Err(format!(
                "service {} has flags unknown({:#x}), which ipvsadm's rules cannot express: nothing saved (lvstop dump shows the whole table)",
                s.spec.key,
                s.spec.flags.unknown()
            ));
        }
        let _ = writeln!(out, "-A {}", service_args(&s.spec));
        let key = key_args(&s.spec.key);
        for d in &s.destinations {
            if let Some(what) = unsavable(&d.spec) {
                return Err(format!(
                    "realserver {} of service {} has {what}, which ipvsadm's rules cannot express: nothing saved (lvstop dump shows the whole table)",
                    d.spec.addr_port(),
                    s.spec.key
                ));
            }
            out.push_str("-a ");
            write_dest_args(out, &key, &d.spec);
            out.push('\n');
        }
        Ok(())
    }

    /// The rules.
    pub fn finish(self) -> String {
        self.out
    }
}

/// The setting of `d` that no ipvsadm rule expresses, if any.
fn unsavable(d: &DestSpec) -> Option<String> {
    if let ForwardMethod::Unknown(v) = d.forward {
        return Some(format!("forwarding method unknown({v})"));
    }
    if d.forward != ForwardMethod::Tunnel {
        return None;
    }
    if let TunnelType::Unknown(v) = d.tun_type {
        return Some(format!("tunnel type unknown({v})"));
    }
    match d.tun_csum {
        TunnelCsum::Unknown(v) => Some(format!("tunnel checksum flags unknown({v})")),
        _ => None,
    }
}
