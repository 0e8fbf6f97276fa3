//! Reading realservers agentlessly over OpenSSH: the system `ssh` in batch
//! mode (never a prompt), a connect timeout and a kill timer, a bounded number
//! at once, and no shell injection: the remote command is a fixed script and
//! host names are validated.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::process::Command;

pub mod director;

/// How to reach realservers (the config file's `[ssh]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshConfig {
    /// Remote user (default: ssh's own default).
    pub user: Option<String>,
    /// Port (default: ssh's).
    pub port: Option<u16>,
    /// Private key.
    pub identity: Option<PathBuf>,
    /// known_hosts file (host keys are always checked strictly).
    pub known_hosts: Option<PathBuf>,
    /// TCP connect plus SSH handshake limit.
    pub connect_timeout: Duration,
    /// Limit for the whole exchange; the ssh process is killed after it.
    pub timeout: Duration,
    /// Hosts read at once.
    pub parallel: usize,
    /// Realserver address → how to reach it, or None to skip it.
    pub hosts: BTreeMap<IpAddr, Option<SshHost>>,
}

/// How to reach one realserver (an entry of `[ssh.hosts]`); unset fields fall
/// back to the realserver's address and to `[ssh]`'s user and port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshHost {
    /// The ssh host: an address or an alias from ~/.ssh/config.
    pub host: Option<String>,
    /// Remote user.
    pub user: Option<String>,
    /// Port.
    pub port: Option<u16>,
}

impl Default for SshConfig {
    fn default() -> Self {
        SshConfig {
            user: None,
            port: None,
            identity: None,
            known_hosts: None,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
            parallel: 8,
            hosts: BTreeMap::new(),
        }
    }
}

/// Whether `host` is safe to put on an ssh command line: an IP literal or an
/// alias of letters, digits, `.`, `_`, `-`, `@`, not starting with `-`.
pub fn valid_host(host: &str) -> bool {
    host.parse::<IpAddr>().is_ok()
        || (!host.is_empty()
            && host.len() <= 253
            && !host.starts_with('-')
            && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@')))
}

/// Whether `user` is safe to put on an ssh command line: letters, digits,
/// `.`, `_`, `-`, not starting with `-` (a host name's characters without `@`).
pub fn valid_user(user: &str) -> bool {
    !user.is_empty()
        && user.len() <= 253
        && !user.starts_with('-')
        && user.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The most a realserver's answer may be: the script prints a few hundred
/// KiB on a host with thousands of sockets.
pub const STDOUT_MAX: usize = 4 << 20;
/// The most of ssh's stderr kept (its last line names the cause).
pub const STDERR_MAX: usize = 64 << 10;

/// Why a realserver could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// ssh could not reach or log in to the host, or the host did not answer
    /// in time: an access problem (R-UNREACHABLE).
    Unreachable(String),
    /// The host answered, but with more than [`STDOUT_MAX`] bytes (R-BAD-ANSWER).
    TooMuch(usize),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Unreachable(why) => f.write_str(why),
            ReadError::TooMuch(n) => write!(f, "it answered more than {n} bytes (the script prints far less)"),
        }
    }
}

/// Read at most `max` bytes of `r`, stopping early once `until` has been read
/// (at the end of a line); the bytes, and whether more were sent than `max`.
pub(crate) async fn read_bounded<R: tokio::io::AsyncRead + Unpin>(
    mut r: R,
    max: usize,
    until: Option<&[u8]>,
) -> (Vec<u8>, bool) {
    use tokio::io::AsyncReadExt as _;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => return (out, false),
            Ok(n) => n,
        };
        let room = max.saturating_sub(out.len());
        out.extend_from_slice(&buf[..n.min(room)]);
        if n > room {
            return (out, true);
        }
        if let Some(marker) = until {
            // The marker as a line of its own (the script's last line).
            let tail = out.len().saturating_sub(n + marker.len() + 1);
            if out[tail..].windows(marker.len()).any(|w| w == marker) {
                return (out, false);
            }
        }
    }
}

/// Kill the process group `group` (ssh, which leads it, and whatever it left
/// running: a ProxyCommand, a connection-sharing master), then reap ssh. The
/// group outlives its leader, so this works after ssh itself has exited.
pub(crate) async fn kill_group(child: &mut tokio::process::Child, group: Option<i32>) {
    if let Some(pgid) = group {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), nix::sys::signal::Signal::SIGKILL);
    }
    let _ = child.kill().await;
}

/// The ssh command that reaches `host` (as `user` on `port` when given, else
/// as `cfg` says), up to and including the host: the caller adds the remote
/// command. Batch mode (never a prompt), strict host keys, no forwarding and
/// no connection sharing (a ControlMaster in ~/.ssh/config would leave a
/// process holding the pipes); `stdin` keeps ssh's standard input open (else
/// `-n`). An invalid host or user is refused with what is wrong.
pub fn ssh_command(
    host: &str,
    user: Option<&str>,
    port: Option<u16>,
    cfg: &SshConfig,
    stdin: bool,
) -> Result<Command, String> {
    if !valid_host(host) {
        return Err(format!(
            "'{}' is not a valid host name: use an IP address or an ssh alias",
            crate::text::sanitize(host)
        ));
    }
    let user = user.or(cfg.user.as_deref());
    if let Some(u) = user.filter(|u| !valid_user(u)) {
        return Err(format!("'{}' is not a valid user name", crate::text::sanitize(u)));
    }
    let mut cmd = Command::new("ssh");
    cmd.arg("-T");
    if !stdin {
        cmd.arg("-n");
    }
    cmd.args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR"])
        .args(["-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2", "-o", "ClearAllForwardings=yes"])
        .args(["-o", "ForwardAgent=no", "-o", "ForwardX11=no"])
        .args(["-o", "ControlMaster=no", "-o", "ControlPath=none", "-o", "ControlPersist=no"])
        .arg("-o")
        .arg(format!("ConnectTimeout={}", cfg.connect_timeout.as_secs().max(1)));
    if let Some(k) = &cfg.known_hosts {
        cmd.arg("-o").arg(format!("UserKnownHostsFile={}", k.display()));
    }
    if let Some(i) = &cfg.identity {
        cmd.arg("-i").arg(i).args(["-o", "IdentitiesOnly=yes"]);
    }
    if let Some(p) = port.or(cfg.port) {
        cmd.arg("-p").arg(p.to_string());
    }
    if let Some(u) = user {
        cmd.arg("-l").arg(u);
    }
    cmd.arg("--").arg(host);
    Ok(cmd)
}

/// Run `script` on `host`, as `user` on `port` when given (else as `cfg`
/// says): its output up to and including the line `end_marker` (at most
/// [`STDOUT_MAX`] bytes), or why not. ssh runs in its own process group,
/// without connection sharing (a ControlMaster in ~/.ssh/config would leave a
/// process holding the pipes); on a timeout the whole group is killed.
pub async fn run(
    host: &str,
    user: Option<&str>,
    port: Option<u16>,
    script: &str,
    end_marker: &str,
    cfg: &SshConfig,
) -> Result<String, ReadError> {
    let unreachable = |why: String| Err(ReadError::Unreachable(why));
    let mut cmd = match ssh_command(host, user, port, cfg, false) {
        Ok(c) => c,
        Err(why) => return unreachable(why),
    };
    cmd.arg(script);
    cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    cmd.kill_on_drop(true).process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return unreachable(format!("cannot run ssh for {host}: {e} (install openssh-client)")),
    };
    // ssh leads a process group of its own (process_group(0)): its id is ssh's pid.
    let group = child.id().and_then(|p| i32::try_from(p).ok());
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        kill_group(&mut child, group).await;
        return unreachable(format!("ssh to {host}: no pipes"));
    };
    let marker = format!("\n{end_marker}\n");
    // stderr is read beside stdout, and given up shortly after ssh is gone: a
    // lingering child (connection sharing) may hold it open.
    let stderr = tokio::spawn(read_bounded(stderr, STDERR_MAX, None));
    let result = tokio::time::timeout(cfg.timeout, read_bounded(stdout, STDOUT_MAX, Some(marker.as_bytes()))).await;
    let grace = std::time::Duration::from_millis(200);
    let status = match tokio::time::timeout(grace, child.wait()).await {
        Ok(Ok(s)) => s.code(),
        _ => None,
    };
    kill_group(&mut child, group).await;
    let abort = stderr.abort_handle();
    let err = if let Ok(Ok((e, _))) = tokio::time::timeout(grace, stderr).await {
        e
    } else {
        abort.abort();
        Vec::new()
    };
    let Ok((out, too_much)) = result else {
        return unreachable(format!("{host} did not answer within {} s (killed)", cfg.timeout.as_secs()));
    };
    if too_much {
        return Err(ReadError::TooMuch(STDOUT_MAX));
    }
    let ended = out.windows(marker.len()).any(|w| w == marker.as_bytes());
    if !ended && (status == Some(255) || out.is_empty()) {
        let err = String::from_utf8_lossy(&err);
        let last = err.trim().lines().last().map_or_else(|| "exit status 255".to_string(), crate::text::sanitize);
        return unreachable(format!("ssh to {host} failed: {last}"));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_that_could_inject_are_refused() {
        for ok in ["198.51.100.11", "2001:db8::11", "rs1", "rs-1.example.net", "root@rs1"] {
            assert!(valid_host(ok), "{ok}");
        }
        for bad in ["-oProxyCommand=sh", "rs1;reboot", "rs1 rs2", "$(id)", "", "a`b`"] {
            assert!(!valid_host(bad), "{bad}");
        }
        for ok in ["root", "ops", "lvs-check", "svc_lvstop", "a.b"] {
            assert!(valid_user(ok), "{ok}");
        }
        for bad in ["root@rs1", "-l", "", "a b", "$(id)", "::1", "a;b"] {
            assert!(!valid_user(bad), "{bad}");
        }
    }
}
