//! `lvstop save`: the rules in `ipvsadm -S -n` form.

use crate::{ipvs, report, sys};

/// Print the rules; refused without netlink, whose absence would lose settings.
pub fn run() -> anyhow::Result<i32> {
    sys::privilege::keep_only(sys::privilege::Needs::Ipvs).map_err(anyhow::Error::msg)?;
    let mut backend = ipvs::Backend::open()?;
    if let ipvs::Backend::Procfs { reason } = &backend {
        anyhow::bail!(
            "cannot save a complete rule set without netlink: /proc/net/ip_vs lacks thresholds, tunnel settings and persistence engines ({reason})"
        );
    }
    let snap = backend.snapshot()?;
    super::print_out(&report::save_rules(&snap).map_err(anyhow::Error::msg)?)?;
    Ok(0)
}
