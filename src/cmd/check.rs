//! `lvstop check`: the LVS-DR checks, once; `--explain RULE` prints a rule's explanation.

use crate::cli::CheckArgs;
use crate::{checks, config, ipvs, model, sys};

/// Run the checks and print the report; the status is 1 if any finding is an error.
pub fn run(args: CheckArgs) -> anyhow::Result<i32> {
    let CheckArgs {
        explain,
        json,
        strict,
        vips,
        realservers,
        tunnel_realservers,
        no_ssh,
        listen,
        directors,
        config: config_file,
    } = args;
    if let Some(id) = explain {
        super::print_out(&explain_text(&id)?)?;
        return Ok(0);
    }
    let cfg = config::load(config_file.path.as_deref())?;
    if !directors.is_empty() {
        return pair(&directors, &cfg, json);
    }
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

/// The pair rules on two directors (`--director A --director B`).
fn pair(names: &[String], cfg: &config::Config, json: bool) -> anyhow::Result<i32> {
    let [a, b] = names else {
        anyhow::bail!("--director is given {} time(s): give it twice, e.g. --director lb1 --director lb2", names.len());
    };
    sys::privilege::keep_only(sys::privilege::Needs::Ipvs).map_err(anyhow::Error::msg)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (va, vb) =
        rt.block_on(async { tokio::join!(super::diff::read_director(a, cfg), super::diff::read_director(b, cfg)) });
    let mut report = checks::CheckReport::default();
    match (va, vb) {
        (Ok(va), Ok(vb)) => {
            let da = checks::pair::Director { name: a, table: &va.snapshot, addresses: va.addresses.as_deref() };
            let db = checks::pair::Director { name: b, table: &vb.snapshot, addresses: vb.addresses.as_deref() };
            report.add_all(checks::pair::judge(&da, &db));
            if va.addresses.is_none() || vb.addresses.is_none() {
                // Asked for with a dump file, which cannot say: not a gap.
                report
                    .skipped
                    .push("P-VIP-SPLIT, P-VIP-NONE: a dump file does not say which addresses its director held".into());
                report.skipped_on_request += 1;
            }
            report.sort();
        }
        (ra, rb) => {
            for e in [ra.err(), rb.err()].into_iter().flatten() {
                report.skipped.push(format!("the pair rules: {e:#}"));
            }
        }
    }
    let text = if json { checks::report_json(&report) } else { checks::report_text(&report) };
    super::print_out(&text)?;
    Ok(i32::from(report.has_errors() || report.gaps() > 0))
}

/// The explanation of rule `id` (in any case), or an error naming every rule.
fn explain_text(id: &str) -> anyhow::Result<String> {
    if let Some(doc) = checks::Rule::parse(id).and_then(checks::Rule::doc) {
        return Ok(doc.render());
    }
    let ids: Vec<&str> = checks::Rule::ALL.iter().map(|r| r.id()).collect();
    anyhow::bail!("'{}' is not a rule: use one of {}", id.trim(), ids.join(", "))
}
