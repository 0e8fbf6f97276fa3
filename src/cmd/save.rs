//! `lvstop save`: the rules in `ipvsadm -S -n` form.

use crate::model::Part;
use crate::{ipvs, model, report, sys};

/// Print the rules; refused without netlink, whose absence would lose settings.
pub fn run(args: &crate::cli::SaveArgs) -> anyhow::Result<i32> {
    if let Some(name) = &args.director {
        let snap = super::remote_table(name, args.config.path.as_deref())?;
        if let model::Source::Procfs { reason } = &snap.source {
            anyhow::bail!("cannot save a complete rule set of {name}: lvstop there reads /proc ({reason})");
        }
        super::print_out(&report::save_rules(&snap).map_err(anyhow::Error::msg)?)?;
        return Ok(0);
    }
    // A file named is checked all the same, as dump does.
    if crate::config::is_named(args.config.path.as_deref()) {
        crate::config::load(args.config.path.as_deref())?;
    }
    sys::privilege::keep_only(sys::privilege::Needs::Ipvs).map_err(anyhow::Error::msg)?;
    let mut backend = ipvs::Backend::open()?;
    if let ipvs::Backend::Procfs { reason } = &backend {
        anyhow::bail!(
            "cannot save a complete rule set without netlink: /proc/net/ip_vs lacks thresholds, tunnel settings and persistence engines ({reason})"
        );
    }
    let rules = super::read_overlapped(&mut backend, |parts| {
        let mut rules = report::SaveRules::default();
        for part in parts {
            match part {
                Part::Service(s) => rules.service(&s)?,
                Part::Totals(_) => return Ok(rules.finish()),
                Part::Head(_) => {}
            }
        }
        Err("the table's read ended before its end".to_string())
    })?;
    super::print_out(&rules.map_err(anyhow::Error::msg)?)?;
    Ok(0)
}
