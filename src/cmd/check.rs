//! `lvstop check`: the LVS-DR checks, once.

use anyhow::Context as _;

use crate::cli::CheckArgs;
use crate::{checks, config, ipvs, model};

/// Run the checks and print the report; the status is 1 if any finding is an error.
pub fn run(args: CheckArgs) -> anyhow::Result<i32> {
    let CheckArgs { json, vips, realservers, tunnel_realservers, no_ssh, listen, config: config_file } = args;
    let snap = match ipvs::Backend::open().and_then(|mut b| b.snapshot()) {
        Ok(s) => s,
        Err(ipvs::IpvsError::NotAvailable) if !vips.is_empty() => model::Snapshot::empty(),
        Err(e) => return Err(e.into()),
    };
    let cfg = config::load(config_file.path.as_deref())?;
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
    let text = if json {
        serde_json::to_string_pretty(&report).context("cannot encode the report")?
    } else {
        checks::report_text(&report)
    };
    super::print_out(&text)?;
    Ok(i32::from(report.has_errors()))
}
