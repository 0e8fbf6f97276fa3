//! `lvstop diff A B`: what differs between two directors' tables, as the
//! ipvsadm commands that would make B's like A's; exit 1 when they differ,
//! 0 when they are the same (for cron before a planned failover).

use crate::cli::DiffArgs;
use crate::config::Config;
use crate::model::diff::{diff, Difference};
use crate::model::Snapshot;
use crate::remote::director::{Session, Target, View};
use crate::{config, ipvs, sys};

/// Read a director: `local` (this host), a name from `[directors]`, or a
/// file kept from `lvstop dump --json` (a path with a `/`).
pub async fn read_director(name: &str, cfg: &Config) -> anyhow::Result<View> {
    if name.contains('/') {
        let text = sys::read_text(std::path::Path::new(name), 1 << 30)
            .map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?;
        let snapshot = crate::model::json::parse_dump(&text).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        return Ok(View { snapshot, addresses: None });
    }
    let target = if name == "local" {
        Target::Local
    } else {
        cfg.directors.get(name).cloned().ok_or_else(|| {
            let known: Vec<&str> = cfg.directors.keys().map(String::as_str).collect();
            anyhow::anyhow!(
                "'{}' is not a director: use local, a file from `lvstop dump --json` (with a /), or a name from [directors] in the configuration{}",
                crate::text::sanitize(name),
                if known.is_empty() { " (it has none)".to_string() } else { format!(" ({})", known.join(", ")) }
            )
        })?
    };
    match target {
        Target::Local => {
            let snapshot = tokio::task::spawn_blocking(|| ipvs::Backend::open()?.snapshot()).await??;
            let addresses = tokio::task::spawn_blocking(crate::remote::director::local_addresses).await?;
            Ok(View { snapshot, addresses: Some(addresses) })
        }
        Target::Ssh { host, user, port, lvstop } => {
            let mut s = Session::open(name, &host, user.as_deref(), port, &lvstop, &cfg.ssh)
                .await
                .map_err(anyhow::Error::msg)?;
            let view = s.view().await;
            s.close().await;
            view.map_err(anyhow::Error::msg)
        }
    }
}

/// Print the differences; exit 1 when there are some, 2 when a table could
/// not be read (as diff(1) does: a cron job tells "differ" from "trouble").
pub fn run(args: &DiffArgs) -> anyhow::Result<i32> {
    match compare(args) {
        Ok(code) => Ok(code),
        Err(e) => {
            crate::say!("lvstop: {e:#}");
            Ok(2)
        }
    }
}

fn compare(args: &DiffArgs) -> anyhow::Result<i32> {
    let cfg = config::load(args.config.path.as_deref())?;
    sys::privilege::keep_only(sys::privilege::Needs::Ipvs).map_err(anyhow::Error::msg)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (a, b) = rt.block_on(async { tokio::try_join!(read_director(&args.a, &cfg), read_director(&args.b, &cfg)) })?;
    for (name, v) in [(&args.a, &a), (&args.b, &b)] {
        if let crate::model::Source::Procfs { reason } = &v.snapshot.source {
            anyhow::bail!(
                "cannot compare {}: its table was read from /proc, without thresholds, tunnel settings or persistence engines ({reason})",
                crate::text::sanitize(name)
            );
        }
    }
    let found = diff(&a.snapshot, &b.snapshot);
    let out = if args.json { json(args, &found) } else { text(args, &a.snapshot, &b.snapshot, &found) };
    super::print_out(&out)?;
    Ok(i32::from(!found.is_empty()))
}

fn json(args: &DiffArgs, found: &[Difference]) -> String {
    let doc = serde_json::json!({
        "a": crate::text::sanitize(&args.a),
        "b": crate::text::sanitize(&args.b),
        "same": found.is_empty(),
        "differences": found,
    });
    doc.to_string() + "\n"
}

fn text(args: &DiffArgs, a: &Snapshot, b: &Snapshot, found: &[Difference]) -> String {
    use std::fmt::Write as _;
    let (an, bn) = (crate::text::sanitize(&args.a), crate::text::sanitize(&args.b));
    let count = |s: &Snapshot| (s.services.len(), s.services.iter().map(|s| s.destinations.len()).sum::<usize>());
    let ((sa, ra), (sb, rb)) = (count(a), count(b));
    let mut out = format!("# A = {an}: {sa} services, {ra} realservers; B = {bn}: {sb} services, {rb} realservers\n");
    if found.is_empty() {
        out.push_str("# the tables are the same (rates and counters are not compared)\n");
        return out;
    }
    let _ = writeln!(out, "# {} differences; the commands that make B's table like A's, to run on {bn}:", found.len());
    for d in found {
        let what = match d.what {
            "only-in-a" => format!("only on {an}"),
            "only-in-b" => format!("only on {bn}"),
            _ => d
                .fields
                .iter()
                .map(|f| format!("{} {} on {an}, {} on {bn}", f.name, f.a, f.b))
                .collect::<Vec<_>>()
                .join("; "),
        };
        match &d.realserver {
            Some(r) => {
                let _ = writeln!(out, "# service {} realserver {r}: {what}", d.service);
            }
            None => {
                let _ = writeln!(out, "# service {}: {what}", d.service);
            }
        }
        let _ = writeln!(out, "{}", d.command);
    }
    out
}
