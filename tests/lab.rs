//! `lvstop lab` end to end: each scenario boots in the real-kernel VM and its
//! finding or state appears (`lvstop check --json`, `lvstop dump --json`
//! inside the lab), and the interactive console starts, drains a realserver
//! and quits cleanly under tmux. Two VM boots, one after the other. Without
//! qemu or the kernel they print SKIP, and fail when `CI` is set.
#![allow(clippy::panic)] // a failing test panics

use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One VM at a time: two at once on two cores would starve each other.
static VM: Mutex<()> = Mutex::new(());

fn lab_ready() -> bool {
    let ready = lvstop::lab::vm::check_tools()
        .map_err(|e| e.to_string())
        .and_then(|_| lvstop::lab::ensure_kernel(&mut |m| println!("{m}")).map_err(|e| e.to_string()));
    match ready {
        Ok(_) => true,
        Err(e) => {
            assert!(std::env::var_os("CI").is_none(), "the lab tests are required on CI but cannot run: {e}");
            println!("SKIP: the lab cannot run here: {e}");
            false
        }
    }
}

fn findings(v: &serde_json::Value) -> Vec<(String, String, String)> {
    v["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
                    (s("id"), s("host"), format!("{} = {}", s("subject"), s("value")))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn each_scenario_shows_in_the_checks_and_the_table() {
    let _one = VM.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !lab_ready() {
        return;
    }
    let out = std::env::temp_dir().join(format!("lvstop-lab-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    // rs1 strict rp_filter, rs2 dead, rs3 the ARP problem, rs4 healthy; the
    // UDP stream near the practical limit. rs4 is also checked as a tunnel
    // realserver with strict rp_filter on tunl0 (the ipip module is loaded).
    let script = r#"sleep 30
"$LVSTOP_BIN" dump --json > "$LVSTOP_OUT/dump.json"
ip netns exec rs4 sysctl -qw net.ipv4.conf.tunl0.rp_filter=1
"$LVSTOP_BIN" check --json --vip 198.51.100.100 --tunnel-realserver 198.51.100.14:80 > "$LVSTOP_OUT/check.json"
echo $? > "$LVSTOP_OUT/check.code"
"#;
    let status = Command::new(env!("CARGO_BIN_EXE_lvstop"))
        .args(["lab", "--scenario", "arp-problem,rp-filter,overload,dead-realserver", "--run", script, "--out"])
        .arg(&out)
        .status()
        .expect("run lvstop lab");
    assert!(status.success(), "lvstop lab --run failed: {status}");
    let read = |name: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"))
    };
    let check = read("check.json");
    let found = findings(&check);
    let has = |id: &str, host: &str, evidence: &str| {
        found.iter().any(|(i, h, e)| i == id && h.contains(host) && e.contains(evidence))
    };
    // arp-problem: the probe names rs3 by its RIP.
    assert!(has("D-ARP-FOREIGN", "director", "198.51.100.13"), "arp-problem: {check:#}");
    assert!(!has("D-ARP-FOREIGN", "director", "198.51.100.11"), "{check:#}");
    // rp-filter: read over ssh on rs1, and its handshakes fail at the director.
    assert!(has("R-RPF-STRICT", "198.51.100.11", "rp_filter"), "rp-filter: {check:#}");
    assert!(has("D-HANDSHAKE", "director", "198.51.100.11:80"), "rp-filter: {check:#}");
    // dead-realserver: SYN_RECV pile-up on rs2.
    assert!(has("D-HANDSHAKE", "director", "198.51.100.12:80"), "dead-realserver: {check:#}");
    // overload: the director's LAN interface near the practical limit the lab configured.
    assert!(has("D-LOAD", "director", "interface br0"), "overload: {check:#}");
    // The tunnel realserver with strict rp_filter on tunl0.
    assert!(has("R-RPF-TUN", "198.51.100.14", "tunl0"), "tunnel: {check:#}");
    // A healthy realserver, read over ssh, has no error.
    let rs4_errors: Vec<_> = check["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["host"] == "realserver 198.51.100.14" && f["severity"] == "error" && f["id"] != "R-RPF-TUN")
        .collect();
    assert!(rs4_errors.is_empty(), "rs4 is healthy: {rs4_errors:#?}");
    let code = std::fs::read_to_string(out.join("check.code")).unwrap_or_default();
    assert_eq!(code.trim(), "1", "errors make lvstop check exit 1");

    // The table: rs2's connections pile up as inactive, none active.
    let dump = read("dump.json");
    let http = dump["services"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["key"]["addr"] == "198.51.100.100" && s["key"]["port"] == 80 && s["key"]["protocol"] == "tcp")
        .unwrap_or_else(|| panic!("no VIP:80 service: {dump:#}"));
    let dead = http["destinations"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["addr"] == "198.51.100.12")
        .unwrap_or_else(|| panic!("no rs2: {http:#}"));
    assert_eq!(dead["active_conns"], 0, "{dead:#}");
    assert!(dead["inact_conns"].as_u64().unwrap_or(0) >= 5, "inactive connections pile up: {dead:#}");
    let udp = dump["totals"][1]["inpps"].as_u64().unwrap_or(0);
    assert!(udp > 1000, "overload: {udp} packets/s in: {:#}", dump["totals"]);
    let _ = std::fs::remove_dir_all(&out);
}

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Kills the tmux session however the test ends.
struct Kill(String);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.0]).output();
    }
}

fn wait_for(session: &str, what: &str, within: Duration) -> String {
    let start = Instant::now();
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session]);
        if screen.contains(what) {
            return screen;
        }
        assert!(start.elapsed() < within, "'{what}' did not appear within {within:?}; screen:\n{screen}");
        std::thread::sleep(Duration::from_secs(2));
    }
}

#[test]
fn the_console_opens_drains_and_quits_in_the_lab() {
    let _one = VM.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "tmux is required on CI");
        println!("SKIP: tmux is not installed");
        return;
    }
    if !lab_ready() {
        return;
    }
    let session = format!("lvstop-lab-{}", std::process::id());
    let done = std::env::temp_dir().join(format!("{session}.exit"));
    let _ = std::fs::remove_file(&done);
    let cmd = format!(
        "{} lab --realservers 2 --services 1 --no-ipv6 --scenario drain; echo $? > {}; sleep 120",
        env!("CARGO_BIN_EXE_lvstop"),
        done.display()
    );
    tmux(&["new-session", "-d", "-s", &session, "-x", "120", "-y", "36", &cmd]);
    let _kill = Kill(session.clone());
    // The console fills the terminal (120×36) with the lab's service and its realservers.
    let screen = wait_for(&session, "Realservers of TCP 198.51.100.100:80", Duration::from_secs(400));
    assert!(screen.contains("lvstop-lab") && screen.contains("198.51.100.12:80"), "{screen}");
    assert_eq!(screen.lines().count(), 36, "{screen}");
    // The held connections show as active; drain the first realserver (Tab, d, y).
    std::thread::sleep(Duration::from_secs(15));
    for k in ["Tab", "d"] {
        tmux(&["send-keys", "-t", &session, k]);
        std::thread::sleep(Duration::from_secs(2));
    }
    wait_for(&session, "→ 0", Duration::from_secs(30));
    tmux(&["send-keys", "-t", &session, "y"]);
    // Its held connections keep it busy: "draining (N)" (or "draining: N active" when wide), not yet safe to remove.
    let screen = wait_for(&session, "draining", Duration::from_secs(60));
    let row = screen.lines().find(|l| l.contains("198.51.100.11:80") && l.contains("draining")).unwrap_or_default();
    let active = row
        .split("draining")
        .nth(1)
        .and_then(|r| r.trim_start_matches([':', ' ', '(']).split([' ', ')']).next()?.parse::<u64>().ok());
    assert!(active.is_some_and(|n| n > 0), "the drained realserver still holds connections: {row}\n{screen}");
    // q quits the console, and the VM shuts down.
    tmux(&["send-keys", "-t", &session, "q"]);
    let start = Instant::now();
    while !done.exists() {
        assert!(start.elapsed() < Duration::from_secs(120), "the lab did not end after q");
        std::thread::sleep(Duration::from_secs(1));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(std::fs::read_to_string(&done).unwrap_or_default().trim(), "0");
    let screen = tmux(&["capture-pane", "-p", "-t", &session]);
    assert!(screen.contains("the VM has shut down"), "{screen}");
    let left = Command::new("pgrep").args(["-f", "lvstop.interactive"]).output().map(|o| o.stdout);
    assert!(left.is_ok_and(|o| o.is_empty()), "the VM is gone");
    let _ = std::fs::remove_file(&done);
}
