//! `lvstop check`: the LVS-DR checks, once; `--explain RULE` prints a rule's explanation.

use crate::cli::CheckArgs;
use crate::{checks, config, ipvs, model, sys};

/// Run the checks and print the report; the status is 1 if any finding is an error.
pub fn run(args: CheckArgs) -> anyhow::Result<i32> {
    let CheckArgs { explain, json, strict, vips, realservers, tunnel_realservers, no_ssh, listen, config: config_file } =
        args;
    if let Some(id) = explain {
        super::print_out(&explain_text(&id)?)?;
        return Ok(0);
    }
    let cfg = config::load(config_file.path.as_deref())?;
    sys::privilege::keep_only(sys::privilege::Needs::IpvsAndProbe).map_err(anyhow::Error::msg)?;
    let snap = match ipvs::Backend::open().and_then(|mut b| b.snapshot()) {
        Ok(s) => s,
        Err(ipvs::IpvsError::NotAvailable) if !vips.is_empty() => model::Snapshot::empty(),
        Err(e) => return Err(e.into()),
    };
    let ssh = if no_ssh { None } else { Some(cfg.ssh) };
    let targets = match vips.first() {
        Some(std::net::IpAddr::V4(vip)) => realservers
            .iter()
            .map(|rs| (rs, false))
            .chain(tunnel_realservers.iter().map(|rs| (rs, true)))
            .map(|(rs, tunnel)| checks::realserver::Target {
                rip: rs.ip(),
                serves: vec![checks::realserver::Serve {
                    vip: *vip,
                    port: rs.port(),
                    tunnel,
                    active_conns: None,
                    protocol: model::Protocol::Tcp,
                }],
            })
            .collect(),
        _ => Vec::new(),
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let opts =
        checks::CheckOptions { extra_vips: vips, extra_targets: targets, ssh, nic: cfg.nic, listen_secs: listen };
    let report = rt.block_on(checks::run(snap, opts));
    let text = if json { checks::report_json(&report) } else { checks::report_text(&report) };
    super::print_out(&text)?;
    let gaps = report.gaps();
    if strict && gaps > 0 {
        crate::say!(
            "lvstop: --strict: {gaps} thing(s) went unchecked (see 'skipped', R-UNREACHABLE and R-BAD-ANSWER above)"
        );
    }
    Ok(i32::from(report.has_errors() || (strict && gaps > 0)))
}

/// The explanation of rule `id` (in any case), or an error naming every rule.
fn explain_text(id: &str) -> anyhow::Result<String> {
    if let Some(doc) = checks::Rule::parse(id).and_then(checks::Rule::doc) {
        return Ok(doc.render());
    }
    let ids: Vec<&str> = checks::Rule::ALL.iter().map(|r| r.id()).collect();
    anyhow::bail!("'{}' is not a rule: use one of {}", id.trim(), ids.join(", "))
}
