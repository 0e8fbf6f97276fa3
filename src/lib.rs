//! lvstop: a live terminal console for Linux Virtual Server (IPVS) load balancers.
//!
//! The engine (`model`, `ipvs`, `sys`) never touches the terminal; `report`
//! renders snapshots for the headless commands; `lab` boots a real IPVS kernel
//! under qemu for tests and demos.

pub mod app;
pub mod audit;
pub mod checks;
pub mod cli;
pub mod config;
pub mod ipvs;
pub mod lab;
pub mod model;
pub mod netlink;
pub mod privilege;
pub mod remote;
pub mod report;
pub mod sys;
pub mod tui;
pub mod ui;

use std::io::Write;

use anyhow::Context;

use cli::{Cli, Cmd};

/// Run the command line; the returned code is the process exit status.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    let Some(command) = cli.command else {
        return console(cli.config.as_deref(), cli.interval, cli.theme.as_deref(), cli.read_only);
    };
    match command {
        Cmd::Dump { json } => {
            let policy = config::load(cli.config.as_deref())?.nic;
            // Interface rates need two readings: the second comes a second after the first.
            let window = sys::load::LoadWindow::open();
            let mut backend = ipvs::Backend::open()?;
            let snap = backend.snapshot()?;
            let load = window.close(&policy, &snap.vips(), &snap.rips());
            let text = if json {
                report::dump_json(&snap, Some(&load))
            } else {
                format!("{}{}", report::dump_text(&snap), report::director_text(&load))
            };
            print_out(&text)?;
            if let model::Source::Procfs { reason } = &snap.source {
                eprintln!("lvstop: {reason}");
            }
            Ok(0)
        }
        Cmd::Check { json, vips, realservers, tunnel_realservers, no_ssh, listen } => {
            let snap = match ipvs::Backend::open().and_then(|mut b| b.snapshot()) {
                Ok(s) => s,
                Err(ipvs::IpvsError::NotAvailable) if !vips.is_empty() => model::Snapshot::empty(),
                Err(e) => return Err(e.into()),
            };
            let cfg = config::load(cli.config.as_deref())?;
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
            let opts = checks::CheckOptions {
                extra_vips: vips,
                extra_targets: targets,
                ssh,
                nic: cfg.nic,
                listen_secs: listen,
            };
            let report = rt.block_on(checks::run(snap, opts));
            let text = if json { checks::report_json(&report) } else { checks::report_text(&report) };
            print_out(&text)?;
            Ok(i32::from(report.has_errors()))
        }
        Cmd::Save => {
            let mut backend = ipvs::Backend::open()?;
            if let ipvs::Backend::Procfs { reason } = &backend {
                anyhow::bail!(
                    "cannot save a complete rule set without netlink: /proc/net/ip_vs lacks thresholds, tunnel settings and persistence engines ({reason})"
                );
            }
            let snap = backend.snapshot()?;
            print_out(&report::save_rules(&snap))?;
            Ok(0)
        }
        Cmd::Lab { run, out, fetch, realservers, services, no_ipv6, rate, scenarios } => {
            lab::vm::check_tools()?;
            let kernel = lab::ensure_kernel(&mut |m| eprintln!("lvstop lab: {m}"))?;
            if fetch {
                eprintln!("lvstop lab: kernel ready: {} ({})", kernel.vmlinuz.display(), kernel.origin);
                return Ok(0);
            }
            let (plan, note) = lab::scenario::LabPlan::new(realservers, services, !no_ipv6, rate, scenarios);
            if let Some(note) = note {
                eprintln!("lvstop lab: {note}");
            }
            let exe = std::env::current_exe().context("cannot find the lvstop binary")?;
            let interactive = run.is_none();
            let command = run.map_or_else(|| LAB_CONSOLE.to_string(), |r| format!("set +e\n{r}"));
            let mut lab_run = lab::LabRun::new(plan.guest_script(&command));
            lab_run.env.push(("LVSTOP_BIN".into(), exe.display().to_string()));
            lab_run.env.push(("LVSTOP_LAB_PLAN".into(), serde_json::to_string(&plan)?));
            for var in ["TERM", "COLORTERM", "NO_COLOR"] {
                if let Some(v) = std::env::var_os(var) {
                    lab_run.env.push((var.into(), v.to_string_lossy().into_owned()));
                }
            }
            lab_run.out_dir = out;
            lab_run.interactive = interactive;
            if interactive {
                lab_run.timeout = std::time::Duration::from_secs(24 * 3600);
                let how = if lab::vm::kvm_usable() { "KVM" } else { "software emulation: about a minute" };
                eprintln!(
                    "lvstop lab: booting {} under qemu ({how}); the console opens here, q quits and shuts the VM down (Ctrl-A x forces it off)",
                    kernel.origin
                );
            }
            let out = lab::vm::run_in_vm(&kernel, &lab_run)?;
            if interactive {
                eprintln!("lvstop lab: the VM has shut down ({:.0} s)", out.elapsed.as_secs_f64());
            }
            Ok(out.exit_code)
        }
        Cmd::LabGuest { what } => lab_guest(what),
    }
}

/// The console inside the lab: on the serial terminal, as its session's
/// controlling terminal, at the size the host writes to `$LVSTOP_SHARE/winsize`
/// (re-read every second, so resizing the host terminal resizes the console).
const LAB_CONSOLE: &str = r#"W=$LVSTOP_SHARE/winsize
setsize() { read r c < "$W" && stty -F /dev/ttyS0 rows "$r" cols "$c"; }
setsize
( last=$(cat "$W"); while sleep 1; do cur=$(cat "$W" 2>/dev/null); [ "$cur" = "$last" ] || { last=$cur; setsize; }; done ) &
# Keys typed during the boot would reach the console at once (a stray q quits it): drop them.
stty -F /dev/ttyS0 -icanon min 0 time 0 2>/dev/null && cat /dev/ttyS0 >/dev/null
setsid -c -w "$LVSTOP_BIN" </dev/ttyS0 >/dev/ttyS0 2>&1
"#;

/// The lab's parts that run inside the VM (never on a real network).
fn lab_guest(what: cli::LabGuest) -> anyhow::Result<i32> {
    if std::env::var_os("LVSTOP_IN_VM").is_none() {
        anyhow::bail!("lab-guest runs only inside the lab VM: use `lvstop lab`");
    }
    let read_plan = |p: &std::path::Path| -> anyhow::Result<lab::scenario::LabPlan> {
        let text = std::fs::read_to_string(p).with_context(|| format!("cannot read the lab plan {}", p.display()))?;
        serde_json::from_str(&text).with_context(|| format!("bad lab plan {}", p.display()))
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    match what {
        cli::LabGuest::Serve { ports, udp_ports } => {
            rt.block_on(lab::traffic::serve(&ports, &udp_ports)).context("lab server")?;
        }
        cli::LabGuest::Client { plan, from } => {
            let plan = read_plan(&plan)?;
            let traffic = match from.as_str() {
                "wan" => plan.wan_traffic(),
                "v6" => plan.v6_traffic().context("the plan has no IPv6")?,
                other => anyhow::bail!("'{other}' is not a lab client: use wan or v6"),
            };
            rt.block_on(lab::traffic::client(traffic));
        }
        cli::LabGuest::Services { plan } => {
            lab::scenario::create_services(&read_plan(&plan)?)?;
        }
    }
    Ok(0)
}

fn print_out(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

/// Open the console: configuration and theme first (a bad file stops here,
/// before the terminal is touched), then the IPVS worker, then the loop.
fn console(
    config: Option<&std::path::Path>,
    interval: Option<f64>,
    theme: Option<&str>,
    read_only: bool,
) -> anyhow::Result<i32> {
    let mut cfg = config::load(config)?;
    if let Some(i) = interval {
        cfg.interval = std::time::Duration::from_secs_f64(i);
    }
    let theme_name = theme.unwrap_or(&cfg.theme).to_string();
    let theme = if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        ui::Theme::no_color()
    } else {
        ui::Theme::load(&theme_name, config::user_themes_dir().as_deref()).map_err(anyhow::Error::msg)?
    };
    let (ipvs, reason) = ipvs::IpvsHandle::spawn(read_only)?;
    let host = sys::read_trimmed("/proc/sys/kernel/hostname").unwrap_or_else(|_| "localhost".into());
    let writable = reason.map_or(Ok(()), Err);
    let mut state = app::AppState::new(&cfg, writable, host, std::time::Instant::now());
    state.managed = sys::managed::detect();
    let audit = audit::AuditLog::new(audit::default_path(), audit::operator());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(tui::run(tui::Console { state, theme, ipvs, audit, interval: cfg.interval, ssh: cfg.ssh.clone() }))?;
    Ok(0)
}
