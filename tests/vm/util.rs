//! Helpers for the cases: shell commands, ipvsadm, the lvstop binary.

use std::io::Write;
use std::process::{Command, Stdio};

use lvstop::ipvs::NetlinkIpvs;
use lvstop::lab::topology::{setup_script, Topology};

/// Run a shell command; stdout on success, everything on failure.
pub fn sh(cmd: &str) -> Result<String, String> {
    sh_in(cmd, None)
}

/// Run a shell command with `input` on stdin.
pub fn sh_in(cmd: &str, input: Option<&str>) -> Result<String, String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run '{cmd}': {e}"))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(text.as_bytes()).map_err(|e| format!("cannot feed '{cmd}': {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("'{cmd}': {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!("'{cmd}' failed ({}):\n{stdout}{}", out.status, String::from_utf8_lossy(&out.stderr)))
    }
}

/// Run a shell command and return (status code, stdout, stderr) whatever happens.
pub fn sh_status(cmd: &str) -> (i32, String, String) {
    match Command::new("sh").arg("-c").arg(cmd).stdin(Stdio::null()).output() {
        Ok(o) => (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ),
        Err(e) => (-1, String::new(), e.to_string()),
    }
}

/// The lvstop binary under test.
pub fn lvstop_bin() -> String {
    std::env::var("LVSTOP_BIN").unwrap_or_else(|_| "lvstop".into())
}

/// A fresh netlink client.
pub fn nl() -> Result<NetlinkIpvs, String> {
    NetlinkIpvs::connect().map_err(|e| e.to_string())
}

/// Replace the whole IPVS table with `rules` (ipvsadm -R syntax), and the
/// connection entries a case left with it: deleting every service with
/// expire_nodest_conn=1 expires their entries and templates (Linux 5.9+),
/// which `ipvsadm -C` alone leaves until they time out.
pub fn load_rules(rules: &str) -> Result<(), String> {
    sh("sysctl -qw net.ipv4.vs.expire_nodest_conn=1 && ipvsadm -C")?;
    // The kernel (5.9+) expires the old services' entries when they go; a case
    // must not start with another's connections in the table.
    let mut left = String::new();
    for _ in 0..100 {
        left = sh("cat /proc/net/ip_vs_conn")?;
        if left.lines().count() <= 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if left.lines().count() > 1 {
        return Err(format!("connection entries left from an earlier case after 10 s:\n{left}"));
    }
    sh("sysctl -qw net.ipv4.vs.expire_nodest_conn=0")?;
    sh_in("ipvsadm -R", Some(rules)).map(|_| ())
}

/// Build the DR topology once for the whole run.
pub fn setup_lab() -> Result<(), String> {
    sh(&setup_script(&Topology::default())).map(|_| ())
}

/// Fail with `msg` unless `cond`.
pub fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(msg())
    }
}

/// Between cases: stop consoles, tmux and background traffic a case left behind.
pub fn reset() {
    // Each pattern bracketed so that it does not match this shell's own command line.
    let _ = sh_status(
        "tmux kill-server 2>/dev/null; pkill -f '[f]or i in'; pkill -x curl; pkill -f '[b]usybox nc'; \
         pkill -xf 'sleep [0-9]+'; pkill -x lvstop; sleep 0.2; true",
    );
}
