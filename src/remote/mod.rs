//! Reading realservers agentlessly over OpenSSH: the system `ssh` in batch
//! mode (never a prompt), a connect timeout and a kill timer, a bounded number
//! at once, and no shell injection: the remote command is a fixed script and
//! host names are validated.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::process::Command;

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

/// Run `script` on `host`, as `user` on `port` when given (else as `cfg`
/// says); stdout, or a message naming the host and the cause.
pub async fn run(
    host: &str,
    user: Option<&str>,
    port: Option<u16>,
    script: &str,
    cfg: &SshConfig,
) -> Result<String, String> {
    if !valid_host(host) {
        return Err(format!("'{host}' is not a valid host name: use an IP address or an ssh alias"));
    }
    let user = user.or(cfg.user.as_deref());
    if let Some(u) = user.filter(|u| !valid_user(u)) {
        return Err(format!("'{u}' is not a valid user name"));
    }
    let mut cmd = Command::new("ssh");
    cmd.args(["-T", "-n", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR"])
        .args(["-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2", "-o", "ClearAllForwardings=yes"])
        .args(["-o", "ForwardAgent=no", "-o", "ForwardX11=no"])
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
    cmd.arg("--").arg(host).arg(script);
    cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    cmd.kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| format!("cannot run ssh for {host}: {e} (install openssh-client)"))?;
    match tokio::time::timeout(cfg.timeout, child.wait_with_output()).await {
        Err(_) => Err(format!("{host} did not answer within {} s (killed)", cfg.timeout.as_secs())),
        Ok(Err(e)) => Err(format!("ssh to {host} failed: {e}")),
        Ok(Ok(out)) if out.status.code() == Some(255) => Err(format!(
            "ssh to {host} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim().lines().last().unwrap_or("exit status 255")
        )),
        Ok(Ok(out)) => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
    }
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
