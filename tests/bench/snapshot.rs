//! Benchmark: in one boot of the lab VM, load 1000 services x 10 DR
//! destinations and print the median time of lvstop's full snapshot, of
//! `ipvsadm -L -n --stats --exact` and of `cat /proc/net/ip_vs`, with ratios.
//! Run with `cargo bench --bench snapshot`. Figures, not assertions.

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lvstop::ipvs::NetlinkIpvs;
use lvstop::lab;

const SERVICES: u16 = 1000;
const DESTS: u8 = 10;
const RUNS: usize = 21;

fn main() {
    if std::env::var_os("LVSTOP_IN_VM").is_some() {
        std::process::exit(match inside() {
            Ok(()) => 0,
            Err(e) => {
                println!("bench failed: {e}");
                1
            }
        });
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let kernel = match lab::vm::check_tools().and_then(|_| lab::ensure_kernel(&mut |m| println!("lvstop-lab: {m}"))) {
        Ok(k) => k,
        Err(e) => {
            println!("SKIP: benchmark not run: {e}");
            return;
        }
    };
    let exe = std::env::current_exe().expect("bench binary path");
    let mut run = lab::LabRun::new(format!("exec {}", exe.display()));
    run.env.push(("LVSTOP_BIN".into(), env!("CARGO_BIN_EXE_lvstop").into()));
    run.timeout = Duration::from_secs(1800);
    match lab::vm::run_in_vm(&kernel, &run) {
        Ok(out) if out.exit_code == 0 => {}
        Ok(out) => {
            println!("benchmark failed in the VM (status {})", out.exit_code);
            std::process::exit(1);
        }
        Err(e) => {
            println!("benchmark VM failed: {e}");
            std::process::exit(1);
        }
    }
}

fn sh(cmd: &str, input: Option<&str>) -> Result<(), String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .spawn()
        .map_err(|e| e.to_string())?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        std::io::Write::write_all(&mut stdin, text.as_bytes()).map_err(|e| e.to_string())?;
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    status.success().then_some(()).ok_or_else(|| format!("'{cmd}' failed: {status}"))
}

fn median(mut f: impl FnMut() -> Result<(), String>) -> Result<Duration, String> {
    f()?; // warm-up
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed());
    }
    times.sort();
    Ok(times[RUNS / 2])
}

fn spawn_quiet(program: &str, args: &[&str]) -> Result<(), String> {
    let status =
        Command::new(program).args(args).stdout(Stdio::null()).status().map_err(|e| format!("{program}: {e}"))?;
    status.success().then_some(()).ok_or_else(|| format!("{program} {args:?}: {status}"))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn inside() -> Result<(), String> {
    sh("ip link add d0 type dummy && ip addr add 198.51.100.1/24 dev d0 && ip link set d0 up", None)?;
    let mut rules = String::new();
    for port in 1..=SERVICES {
        let _ = writeln!(rules, "-A -t 203.0.113.1:{port} -s wlc");
        for d in 1..=DESTS {
            let _ = writeln!(rules, "-a -t 203.0.113.1:{port} -r 198.51.100.{}:{port} -g -w {d}", 10 + d);
        }
    }
    let t = Instant::now();
    sh("ipvsadm -R", Some(&rules))?;
    println!("loaded {SERVICES} services x {DESTS} destinations with ipvsadm -R in {:.0} ms", ms(t.elapsed()));
    let mut ipvs = NetlinkIpvs::connect().map_err(|e| e.to_string())?;
    let snap = ipvs.snapshot().map_err(|e| e.to_string())?;
    let dests: usize = snap.services.iter().map(|s| s.destinations.len()).sum();
    if snap.services.len() != usize::from(SERVICES) || dests != usize::from(SERVICES) * usize::from(DESTS) {
        return Err(format!("snapshot has {} services and {dests} destinations", snap.services.len()));
    }
    let bin = std::env::var("LVSTOP_BIN").map_err(|_| "LVSTOP_BIN not set")?;
    // Interleave the four measurements round by round, so that the machine's
    // drift (qemu TCG on a shared host is noisy) hits them alike.
    let mut t = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    let time = |f: &mut dyn FnMut() -> Result<(), String>| -> Result<Duration, String> {
        let s = Instant::now();
        f()?;
        Ok(s.elapsed())
    };
    for round in 0..=RUNS {
        let lv = time(&mut || ipvs.snapshot().map(|_| ()).map_err(|e| e.to_string()))?;
        let adm = time(&mut || spawn_quiet("ipvsadm", &["-L", "-n", "--stats", "--exact"]))?;
        let cat = time(&mut || spawn_quiet("cat", &["/proc/net/ip_vs"]))?;
        let lvp = time(&mut || spawn_quiet(&bin, &["dump", "--json"]))?;
        if round > 0 {
            for (v, d) in t.iter_mut().zip([lv, adm, cat, lvp]) {
                v.push(d);
            }
        }
    }
    for v in &mut t {
        v.sort();
    }
    let med = |v: &Vec<Duration>| v[v.len() / 2];
    let min = |v: &Vec<Duration>| v[0];
    let (lv, adm, cat, lv_proc) = (med(&t[0]), med(&t[1]), med(&t[2]), med(&t[3]));
    let lv_connect =
        median(|| NetlinkIpvs::connect().and_then(|mut c| c.snapshot()).map(|_| ()).map_err(|e| e.to_string()))?;
    println!("\nbench snapshot: {SERVICES} services x {DESTS} destinations, median of {RUNS} interleaved runs (lab VM, qemu TCG)");
    println!("  lvstop snapshot (netlink, open socket)      {:9.2} ms", ms(lv));
    println!("  lvstop connect + snapshot                   {:9.2} ms", ms(lv_connect));
    println!("  lvstop dump --json (whole process)          {:9.2} ms", ms(lv_proc));
    println!("  ipvsadm -L -n --stats --exact (process)     {:9.2} ms", ms(adm));
    println!("  cat /proc/net/ip_vs (process)               {:9.2} ms", ms(cat));
    println!(
        "  ratio lvstop snapshot / ipvsadm             {:9.3}   (target <= 0.25)",
        lv.as_secs_f64() / adm.as_secs_f64()
    );
    println!(
        "  ratio lvstop snapshot / cat /proc/net/ip_vs {:9.3}   (target <= 3)",
        lv.as_secs_f64() / cat.as_secs_f64()
    );
    println!(
        "  ratio lvstop dump --json / ipvsadm          {:9.3}   (dump waits 1 s to measure the NICs)",
        lv_proc.as_secs_f64() / adm.as_secs_f64()
    );
    println!(
        "  best runs: lvstop {:.2} ms, ipvsadm {:.2} ms, cat {:.2} ms; ratios {:.3} and {:.3}",
        ms(min(&t[0])),
        ms(min(&t[1])),
        ms(min(&t[2])),
        min(&t[0]).as_secs_f64() / min(&t[1]).as_secs_f64(),
        min(&t[0]).as_secs_f64() / min(&t[2]).as_secs_f64()
    );
    console(&bin)
}

fn capture() -> String {
    Command::new("tmux")
        .args(["capture-pane", "-p", "-t", "bench"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn cpu_ticks(pid: &str) -> Result<(u64, u64), String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    let after = stat.rsplit_once(')').map(|(_, r)| r).ok_or("bad stat")?;
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the command name.
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Ok((field(11), field(12)))
}

fn status_kib(pid: &str, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// The console on the 1000 x 10 table: time to the first frame with data, CPU
/// use while idle at a 1 s refresh, and memory.
fn console(bin: &str) -> Result<(), String> {
    let start = Instant::now();
    sh(&format!("tmux new-session -d -s bench -x 160 -y 48 '{bin} --interval 1'"), None)?;
    let mut first = None;
    while start.elapsed() < Duration::from_secs(60) {
        if capture().contains("Services (1000)") {
            first = Some(start.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let first = first.ok_or("the console never showed the 1000 services")?;
    let pid = Command::new("pidof").arg("lvstop").output().map_err(|e| e.to_string())?;
    let pid =
        String::from_utf8_lossy(&pid.stdout).split_whitespace().next().ok_or("lvstop is not running")?.to_string();
    std::thread::sleep(Duration::from_secs(5));
    let (t0, c0) = (Instant::now(), cpu_ticks(&pid)?);
    std::thread::sleep(Duration::from_secs(30));
    let (t1, c1) = (Instant::now(), cpu_ticks(&pid)?);
    let hz = 100.0; // USER_HZ
    let secs = t1.duration_since(t0).as_secs_f64();
    let user = (c1.0 - c0.0) as f64 / hz / secs * 100.0;
    let system = (c1.1 - c0.1) as f64 / hz / secs * 100.0;
    let cpu = user + system;
    println!("\nbench console: 1000 services x 10 destinations, 160x48, --interval 1 (lab VM, qemu TCG)");
    println!("  time to first frame with data               {:9.0} ms", ms(first));
    println!("  CPU while idle at 1 s refresh (30 s)        {cpu:9.1} %  (user {user:.1} %, kernel {system:.1} %)");
    println!("  resident memory (VmRSS)                     {:9} KiB", status_kib(&pid, "VmRSS:"));
    println!("  peak resident memory (VmHWM)                {:9} KiB", status_kib(&pid, "VmHWM:"));
    let _ = sh("tmux kill-server", None);
    Ok(())
}
