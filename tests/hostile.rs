//! Hostile and broken realservers, answered by a stand-in `ssh` on PATH
//! while `lvstop check` runs in a private network namespace:
//! * .11 answers with an escape sequence in an interface name,
//! * .12 answers with a shell greeting instead of the script's output,
//! * .13 answers 300 MB,
//! * .14 answers correctly but leaves a child holding the pipes (what ssh's
//!   connection sharing does), which must not turn a good answer into a timeout,
//! * .15 cannot be reached, and ssh's error carries an escape sequence,
//! * .16 names an interface `a$(id)b` (shell metacharacters).
//!
//! Nothing reaches the terminal raw, the bad answers are told apart from the
//! unreachable host, the flood is cut at 4 MiB with memory bounded, the
//! lingering child is killed, and `--strict` fails because hosts went unchecked.
#![allow(clippy::panic)] // a failing test panics

mod common;

use common::run;

const FAKE_SSH: &str = r#"#!/bin/sh
# Stand-in for ssh: the host is the argument after --, the script the one after it.
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do shift; done
host=$2; script=$3
case "$host" in
198.51.100.11) printf '@@addr\n2: x\033]0;pwned\007    inet 198.51.100.11/24 scope global x\n@@end\n' ;;
198.51.100.12) echo "Welcome to rs2! Have a nice day." ;;
198.51.100.13) head -c 300000000 /dev/zero | tr '\0' 'A' ;;
198.51.100.14) sh -c "$script"; sleep 31.5 & ;;
198.51.100.15) printf 'ssh: connect to host 198.51.100.15 port 22: Connection refused\033[2J\n' >&2; exit 255 ;;
198.51.100.16) printf '@@addr\n2: a$(id)b    inet 198.51.100.16/24 scope global x\n@@end\n' ;;
esac
"#;

struct Cleanup(String, std::path::PathBuf);
impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = run(&format!("ip netns pids {0} | xargs -r kill 2>/dev/null; ip netns del {0}", self.0));
        let _ = run("pkill -f 'sleep 31[.]5'");
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

fn findings_of<'a>(v: &'a serde_json::Value, host: &str) -> Vec<&'a serde_json::Value> {
    v["findings"].as_array().map(|a| a.iter().filter(|f| f["host"] == host).collect()).unwrap_or_default()
}

#[test]
fn hostile_and_broken_realservers_are_contained() {
    let id = std::process::id();
    let ns = format!("lvsh{id}");
    let dir = std::env::temp_dir().join(format!("lvstop-hostile-{id}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let _cleanup = Cleanup(ns.clone(), dir.clone());
    if let Err(e) = run(&format!("ip netns add {ns} && ip -n {ns} link set lo up")) {
        assert!(std::env::var_os("CI").is_none(), "network namespaces are required on CI: {e}");
        println!("SKIP: cannot create network namespaces here (need root and iproute2): {e}");
        return;
    }
    let ssh = dir.join("ssh");
    std::fs::write(&ssh, FAKE_SSH).expect("fake ssh");
    run(&format!("chmod 755 {}", ssh.display())).expect("chmod");
    let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default());
    let check = |extra: &[&str]| {
        let mut cmd = std::process::Command::new("ip");
        cmd.args(["netns", "exec", &ns, env!("CARGO_BIN_EXE_lvstop"), "check", "--vip", "198.51.100.100"])
            .args(extra)
            .env("PATH", &path)
            .env_remove("LVSTOP_CONFIG");
        for n in 11..=16 {
            cmd.args(["--realserver", &format!("198.51.100.{n}:80")]);
        }
        let t = std::time::Instant::now();
        let out = cmd.output().expect("run lvstop check");
        (out, t.elapsed())
    };

    // The text report: no control character but the line ends reaches the terminal.
    let (out, took) = check(&[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "a control character reached the report:\n{text}");
    assert!(text.contains("\\x1b]0;pwned\\x07"), "the escape is shown escaped:\n{text}");
    assert!(took.as_secs() < 14, "a lingering child made lvstop wait for the ssh timeout: {took:?}");
    let rusage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).expect("rusage");
    let peak_mib = rusage.max_rss() / 1024;
    println!("peak resident memory of lvstop check with a 300 MB answer: {peak_mib} MiB");
    assert!(peak_mib < 64, "lvstop check grew to {peak_mib} MiB");
    let left = run("pgrep -f 'sleep 31[.]5' || true").expect("pgrep");
    assert!(left.trim().is_empty(), "ssh's lingering child was left running: {left}");

    // The JSON report: each host's answer judged for what it was.
    let (out, _) = check(&["--json", "--strict"]);
    assert_eq!(out.status.code(), Some(1), "--strict fails when hosts went unchecked");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["unchecked"], 5, "{v}");
    let only = |host: &str, rule: &str| -> String {
        let f = findings_of(&v, host);
        assert!(f.len() == 1 && f[0]["id"] == rule, "{host}: want only {rule}, got {f:?}");
        f[0]["value"].as_str().unwrap_or_default().to_string()
    };
    let e = only("realserver 198.51.100.11", "R-BAD-ANSWER");
    assert!(e.contains("not an interface name") && e.contains("\\x1b"), "{e}");
    assert!(only("realserver 198.51.100.12", "R-BAD-ANSWER").contains("output before the first section"));
    assert!(only("realserver 198.51.100.13", "R-BAD-ANSWER").contains("more than 4194304 bytes"));
    let e = only("realserver 198.51.100.15", "R-UNREACHABLE");
    assert!(e.contains("Connection refused\\x1b[2J") && !e.contains('\u{1b}'), "{e}");
    assert!(only("realserver 198.51.100.16", "R-BAD-ANSWER").contains("a$(id)b"));
    let good: Vec<_> = findings_of(&v, "realserver 198.51.100.14")
        .into_iter()
        .filter(|f| f["id"] == "R-UNREACHABLE" || f["id"] == "R-BAD-ANSWER")
        .collect();
    assert!(good.is_empty(), "the lingering host's good answer was refused: {good:?}");
}
