//! `lvstop lab`, the disposable LVS-DR lab under qemu, and `lvstop lab-guest`,
//! its parts that run inside the VM.

use anyhow::Context as _;

use crate::cli::{LabArgs, LabGuest};
use crate::lab;

/// Boot the lab and run the console, or `--run`'s command, in it.
pub fn run(args: LabArgs) -> anyhow::Result<i32> {
    let LabArgs { run, out, fetch, realservers, services, no_ipv6, rate, scenarios } = args;
    lab::vm::check_tools()?;
    let kernel = lab::ensure_kernel(&mut |m| crate::say!("lvstop lab: {m}"))?;
    if fetch {
        crate::say!("lvstop lab: kernel ready: {} ({})", kernel.vmlinuz.display(), kernel.origin);
        return Ok(0);
    }
    let (plan, note) = lab::scenario::LabPlan::new(realservers, services, !no_ipv6, rate, scenarios);
    if let Some(note) = note {
        crate::say!("lvstop lab: {note}");
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
        crate::say!(
            "lvstop lab: booting {} under qemu ({how}); the console opens here, q quits and shuts the VM down (Ctrl-A x forces it off)",
            kernel.origin
        );
    }
    let out = lab::vm::run_in_vm(&kernel, &lab_run)?;
    if interactive {
        crate::say!("lvstop lab: the VM has shut down ({:.0} s)", out.elapsed.as_secs_f64());
    }
    Ok(out.exit_code)
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
pub fn guest(what: LabGuest) -> anyhow::Result<i32> {
    if std::env::var_os("LVSTOP_IN_VM").is_none() {
        anyhow::bail!("lab-guest runs only inside the lab VM: use `lvstop lab`");
    }
    let read_plan = |p: &std::path::Path| -> anyhow::Result<lab::scenario::LabPlan> {
        let text =
            crate::sys::read_text(p, 1 << 20).with_context(|| format!("cannot read the lab plan {}", p.display()))?;
        serde_json::from_str(&text).with_context(|| format!("bad lab plan {}", p.display()))
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    match what {
        LabGuest::Serve { ports, udp_ports } => {
            rt.block_on(lab::traffic::serve(&ports, &udp_ports)).context("lab server")?;
        }
        LabGuest::Client { plan, from } => {
            let plan = read_plan(&plan)?;
            let traffic = match from.as_str() {
                "wan" => plan.wan_traffic(),
                "v6" => plan.v6_traffic().context("the plan has no IPv6")?,
                other => anyhow::bail!("'{other}' is not a lab client: use wan or v6"),
            };
            rt.block_on(lab::traffic::client(traffic));
        }
        LabGuest::Services { plan } => {
            lab::scenario::create_services(&read_plan(&plan)?)?;
        }
    }
    Ok(0)
}
