//! Benchmark: in one boot of the lab VM, at 1000 services x 10 DR
//! destinations and then 10 000 x 5, side by side: the cost of reading the
//! table once (`cat /proc/net/ip_vs`, CPU-seconds) and `ipvsadm -L -n --stats
//! --exact` (whole process), lvstop's in-process snapshot, `lvstop dump` and
//! `lvstop save` (whole processes, from a copy on the VM's tmpfs), and the
//! console at a 1 s refresh: time to its first frame with data, CPU-seconds
//! per second while idle, and memory.
//! Run with `cargo bench --bench snapshot`. Figures, not assertions.

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lvstop::ipvs::NetlinkIpvs;
use lvstop::lab;

/// The tables measured: services, realservers per service, rounds of the interleaved runs.
const TABLES: &[(u32, u32, usize)] = &[(1000, 10, 11), (10_000, 5, 5)];

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
    if let Ok(only) = std::env::var("LVSTOP_BENCH_SERVICES") {
        run.env.push(("LVSTOP_BENCH_SERVICES".into(), only));
    }
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
    // Whole processes start from a copy on the VM's tmpfs (/tmp is a tmpfs
    // over the host's): exec from the 9p share re-reads the binary each time,
    // which a director's disk would not.
    let shared = std::env::var("LVSTOP_BIN").map_err(|_| "LVSTOP_BIN not set")?;
    std::fs::create_dir_all("/tmp/bench").map_err(|e| format!("/tmp/bench: {e}"))?;
    let bin = "/tmp/bench/lvstop".to_string();
    std::fs::copy(&shared, &bin).map_err(|e| format!("copy {shared} to {bin}: {e}"))?;
    // LVSTOP_BENCH_SERVICES=10000 runs only that table.
    let only: Option<u32> = std::env::var("LVSTOP_BENCH_SERVICES").ok().and_then(|v| v.parse().ok());
    for &(services, dests, rounds) in TABLES.iter().filter(|t| only.is_none_or(|n| n == t.0)) {
        table(services, dests, rounds, &bin)?;
    }
    Ok(())
}

/// CPU-seconds (user + system) and wall time of one run of `program`.
fn cpu_of(program: &str, args: &[&str]) -> Result<(f64, Duration), String> {
    use nix::sys::resource::{getrusage, UsageWho};
    let secs = |u: nix::sys::resource::Usage| {
        let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
        t(u.user_time()) + t(u.system_time())
    };
    let before = getrusage(UsageWho::RUSAGE_CHILDREN).map_err(|e| e.to_string())?;
    let t = Instant::now();
    spawn_quiet(program, args)?;
    let wall = t.elapsed();
    let after = getrusage(UsageWho::RUSAGE_CHILDREN).map_err(|e| e.to_string())?;
    Ok((secs(after) - secs(before), wall))
}

/// Seconds, or a duration.
enum X {
    S(f64),
    D(Duration),
}

fn table(services: u32, dests: u32, rounds: usize, bin: &str) -> Result<(), String> {
    let mut rules = String::new();
    for port in 1..=services {
        let _ = writeln!(rules, "-A -t 203.0.113.1:{port} -s wlc");
        for d in 1..=dests {
            let _ = writeln!(rules, "-a -t 203.0.113.1:{port} -r 198.51.100.{}:{port} -g -w {d}", 10 + d);
        }
    }
    let t = Instant::now();
    sh("ipvsadm -C && ipvsadm -R", Some(&rules))?;
    println!("\nloaded {services} services x {dests} destinations with ipvsadm -R in {:.0} ms", ms(t.elapsed()));
    let mut ipvs = NetlinkIpvs::connect().map_err(|e| e.to_string())?;
    let snap = ipvs.snapshot().map_err(|e| e.to_string())?;
    let n: usize = snap.services.iter().map(|s| s.destinations.len()).sum();
    if snap.services.len() != services as usize || n != (services * dests) as usize {
        return Err(format!("snapshot has {} services and {n} destinations", snap.services.len()));
    }
    drop(snap);
    // Interleaved round by round, so that the machine's drift (qemu TCG on a
    // shared host is noisy) hits every measurement alike.
    let mut t: [Vec<f64>; 8] = Default::default();
    for round in 0..=rounds {
        let s = Instant::now();
        ipvs.snapshot().map_err(|e| e.to_string())?;
        let lv = X::S(s.elapsed().as_secs_f64());
        let adm = X::D(cpu_of("ipvsadm", &["-L", "-n", "--stats", "--exact"])?.1);
        let (cat_cpu, cat) = cpu_of("cat", &["/proc/net/ip_vs"])?;
        let (cat_cpu, cat) = (X::S(cat_cpu), X::D(cat));
        let dump = X::D(cpu_of(bin, &["dump", "--json"])?.1);
        let save = X::D(cpu_of(bin, &["save"])?.1);
        let text = X::D(cpu_of(bin, &["dump"])?.1);
        let start = X::D(cpu_of(bin, &["--version"])?.1);
        if round > 0 {
            let all = [lv, adm, cat_cpu, cat, dump, save, text, start].map(|x| match x {
                X::S(s) => s,
                X::D(d) => d.as_secs_f64(),
            });
            for (v, x) in t.iter_mut().zip(all) {
                v.push(x);
            }
        }
    }
    for v in &mut t {
        v.sort_by(f64::total_cmp);
    }
    let med = |v: &Vec<f64>| v[v.len() / 2];
    let (lv, adm, cat_cpu, cat, dump, save) = (med(&t[0]), med(&t[1]), med(&t[2]), med(&t[3]), med(&t[4]), med(&t[5]));
    let (text, start) = (med(&t[6]), med(&t[7]));
    println!("bench table: {services} services x {dests} destinations, median of {rounds} interleaved runs (lab VM, qemu TCG)");
    println!("  cat /proc/net/ip_vs: CPU-seconds per read     {cat_cpu:9.3} s  (wall {:.0} ms)", cat * 1000.0);
    println!("  ipvsadm -L -n --stats --exact (process)      {:9.0} ms", adm * 1000.0);
    println!("  lvstop snapshot (in process, open socket)    {:9.0} ms", lv * 1000.0);
    println!(
        "  lvstop dump --json (process)                 {:9.0} ms   ratio to ipvsadm {:.3} (target <= 0.35)",
        dump * 1000.0,
        dump / adm
    );
    println!(
        "  lvstop save (process)                        {:9.0} ms   ratio to ipvsadm {:.3} (target <= 0.35)",
        save * 1000.0,
        save / adm
    );
    println!(
        "  lvstop dump (text, process)                  {:9.0} ms   ratio to ipvsadm {:.3} (target <= 0.35)",
        text * 1000.0,
        text / adm
    );
    println!("  lvstop --version (process start and exit)    {:9.0} ms", start * 1000.0);
    parts(&mut ipvs)?;
    console(bin, services, cat_cpu)
}

/// What one console refresh is made of, each part timed in this process (one
/// thread: wall time is CPU time), median of 11.
fn parts(ipvs: &mut NetlinkIpvs) -> Result<(), String> {
    let time = |f: &mut dyn FnMut() -> Result<(), String>| -> Result<f64, String> {
        let mut v = Vec::new();
        for _ in 0..11 {
            let s = Instant::now();
            f()?;
            v.push(s.elapsed().as_secs_f64() * 1000.0);
        }
        v.sort_by(f64::total_cmp);
        Ok(v[5])
    };
    let services = time(&mut || ipvs.services().map(|_| ()).map_err(|e| e.to_string()))?;
    let key = ipvs.services().map_err(|e| e.to_string())?.first().map(|s| s.spec.key).ok_or("no service")?;
    let dests = time(&mut || ipvs.destinations(&key).map(|_| ()).map_err(|e| e.to_string()))?;
    let sampler = lvstop::sys::nic::Sampler::new();
    let sample = time(&mut || {
        sampler.sample();
        Ok(())
    })?;
    println!("  parts: every service (one dump) {services:.1} ms; one service's realservers {dests:.2} ms; interfaces and CPU {sample:.1} ms");
    Ok(())
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

/// Each thread of `pid`: its name and CPU ticks (user + system).
fn threads(pid: &str) -> std::collections::BTreeMap<String, (String, u64)> {
    let mut out = std::collections::BTreeMap::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten() {
        let tid = e.file_name().to_string_lossy().into_owned();
        let name = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default().trim().to_string();
        if let Ok((u, s)) = cpu_ticks(&format!("{pid}/task/{tid}")) {
            out.insert(tid, (name, u + s));
        }
    }
    out
}

fn status_kib(pid: &str, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// The console on the table: time to the first frame with data, CPU use while
/// idle at a 1 s refresh (against reading /proc/net/ip_vs once a second), and memory.
fn console(bin: &str, services: u32, cat_cpu: f64) -> Result<(), String> {
    let start = Instant::now();
    sh(&format!("tmux new-session -d -s bench -x 160 -y 48 '{bin} --interval 1'"), None)?;
    let mut first = None;
    let title = format!("Services ({services})");
    while start.elapsed() < Duration::from_secs(120) {
        if capture().contains(&title) {
            first = Some(start.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let first = first.ok_or_else(|| format!("the console never showed the {services} services"))?;
    let pid = Command::new("pidof").arg("lvstop").output().map_err(|e| e.to_string())?;
    let pid =
        String::from_utf8_lossy(&pid.stdout).split_whitespace().next().ok_or("lvstop is not running")?.to_string();
    std::thread::sleep(Duration::from_secs(5));
    let (t0, c0, th0) = (Instant::now(), cpu_ticks(&pid)?, threads(&pid));
    // A minute: one periodic check run (every 60 s by default) falls in it, as it does in use.
    // The reference, one read of /proc/net/ip_vs, is measured within the same minute (every
    // 10 s, median): the emulated VM's speed drifts over a run, and a reference taken minutes
    // earlier moved the ratio by a third. The console is paused (SIGSTOP) while it is read:
    // read beside a running console it cost up to half as much again; the paused time is
    // left out of the console's minute.
    let mut during = Vec::new();
    let mut paused = Duration::ZERO;
    let mut rss = vec![status_kib(&pid, "VmRSS:") / 1024];
    for _ in 0..6 {
        std::thread::sleep(Duration::from_secs(10));
        rss.push(status_kib(&pid, "VmRSS:") / 1024);
        let stop = Instant::now();
        sh(&format!("kill -STOP {pid}"), None)?;
        let read = cpu_of("cat", &["/proc/net/ip_vs"]);
        sh(&format!("kill -CONT {pid}"), None)?;
        paused += stop.elapsed();
        during.push(read?.0);
    }
    let (t1, c1, th1) = (Instant::now(), cpu_ticks(&pid)?, threads(&pid));
    during.sort_by(f64::total_cmp);
    let cat_during = f64::midpoint(during[2], during[3]);
    let hz = 100.0; // USER_HZ
    let secs = t1.duration_since(t0).saturating_sub(paused).as_secs_f64();
    let user = (c1.0 - c0.0) as f64 / hz / secs * 100.0;
    let system = (c1.1 - c0.1) as f64 / hz / secs * 100.0;
    let cpu = user + system;
    let per_sec = cpu / 100.0;
    println!("bench console: {services} services, 160x48, --interval 1 (lab VM, qemu TCG)");
    println!("  time to first frame with data                {:9.0} ms  (target <= 1500 at 10 000 x 5)", ms(first));
    println!(
        "  CPU while idle at 1 s refresh (60 s)         {per_sec:9.3} CPU-s/s (user {user:.1} %, kernel {system:.1} %)"
    );
    println!("  cat /proc/net/ip_vs during that minute       {cat_during:9.3} s   (before it: {cat_cpu:.3} s)");
    println!("  ratio to one /proc/net/ip_vs read a second   {:9.3}   (target <= 0.5)", per_sec / cat_during.max(1e-9));
    // By thread (name: CPU-seconds per second), to see where it goes.
    let mut by: std::collections::BTreeMap<String, f64> = std::collections::BTreeMap::new();
    for (tid, (name, ticks)) in &th1 {
        let before = th0.get(tid).map_or(0, |(_, t)| *t);
        *by.entry(name.clone()).or_default() += ticks.saturating_sub(before) as f64 / hz / secs;
    }
    let parts: Vec<String> = by.iter().filter(|(_, v)| **v > 0.0).map(|(k, v)| format!("{k} {v:.3}")).collect();
    println!("  by thread (CPU-s/s): {}", parts.join(", "));
    println!("  resident memory after the minute (VmRSS)    {:9} KiB", status_kib(&pid, "VmRSS:"));
    // In use the table fills up (every service's realservers are read within two
    // minutes) and each periodic check run holds a copy of it while it runs:
    // memory is measured again once two of them have run with the table full.
    while start.elapsed() < Duration::from_secs(150) {
        std::thread::sleep(Duration::from_secs(10).min(Duration::from_secs(150).saturating_sub(start.elapsed())));
        rss.push(status_kib(&pid, "VmRSS:") / 1024);
    }
    let rss: Vec<String> = rss.iter().map(ToString::to_string).collect();
    println!("  resident memory every 10 s from the first frame (MiB): {}", rss.join(" "));
    println!("  resident memory at 150 s (VmRSS)            {:9} KiB", status_kib(&pid, "VmRSS:"));
    println!("  peak resident memory by 150 s (VmHWM)       {:9} KiB", status_kib(&pid, "VmHWM:"));
    let _ = sh("tmux kill-server", None);
    Ok(())
}
