//! Other directors, read by running lvstop itself there over one ssh
//! connection (`lvstop agent`, which speaks JSON lines on its standard input
//! and output): the same safety as the realserver reads (batch mode, strict
//! host keys, no connection sharing, its own process group killed at the
//! end) with every answer bounded and every wait timed out.
//!
//! The protocol: the agent first says hello (`{"agent":"lvstop","version":
//! "…","protocol":1}`); each request is one line (`{"op":"snapshot"}`); a
//! snapshot's answer is a line `{"ok":"snapshot","addresses":[…]}` followed
//! by the `lvstop dump --json` document on one line; an error is one line
//! `{"error":"…"}`.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};

use super::SshConfig;
use crate::model::Snapshot;

/// The agent protocol's version: both ends must speak the same one.
pub const PROTOCOL: u32 = 1;

/// The longest line read from an agent: a snapshot of 100 000 realservers is
/// some 40 MB of JSON.
pub const LINE_MAX: usize = 64 << 20;

/// How to reach a director (a value of `[directors]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// This host, read in process.
    Local,
    /// Over ssh: `lvstop` is the path of lvstop there.
    Ssh {
        /// ssh host: an address or an alias from ~/.ssh/config.
        host: String,
        /// Remote user (default `[ssh]`'s, else ssh's).
        user: Option<String>,
        /// Port (default `[ssh]`'s, else ssh's).
        port: Option<u16>,
        /// lvstop's path (or name, looked up in the remote PATH).
        lvstop: String,
    },
}

/// The lvstop run on a director when `[directors]` names none.
pub const DEFAULT_LVSTOP: &str = "lvstop";

/// Whether `name` can name a director: 1 to 32 letters, digits, `.`, `_`,
/// `-`, not starting with `-`; `local` is this host.
pub fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && !name.starts_with('-')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Whether `path` is safe in the remote command line: letters, digits and
/// `/._+-`, not starting with `-` (the remote shell sees it unquoted).
pub fn valid_lvstop_path(path: &str) -> bool {
    (1..=255).contains(&path.len())
        && !path.starts_with('-')
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'+' | b'-'))
}

/// An address a director holds on one of its interfaces (a VIP is held by
/// the director that has it: the VRRP master).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HeldAddr {
    /// The interface's name.
    pub ifname: String,
    /// The address.
    pub addr: IpAddr,
}

/// What a director reports: its table and the addresses it holds.
#[derive(Debug, Clone)]
pub struct View {
    /// Its IPVS table.
    pub snapshot: Snapshot,
    /// Its interfaces' addresses (loopback left out); None where not known
    /// (a table read from a file).
    pub addresses: Option<Vec<HeldAddr>>,
}

/// This host's addresses, on every interface but loopback.
pub fn local_addresses() -> Vec<HeldAddr> {
    let Ok(mut rtnl) = crate::sys::rtnl::Rtnl::connect() else { return Vec::new() };
    let (Ok(links), Ok(addrs)) = (rtnl.links(), rtnl.addresses()) else { return Vec::new() };
    let mut out: Vec<HeldAddr> = addrs
        .into_iter()
        .filter(|a| !a.addr.is_loopback())
        .filter_map(|a| {
            let link = links.iter().find(|l| l.ifindex == a.ifindex)?;
            (link.name != "lo").then(|| HeldAddr { ifname: link.name.clone(), addr: a.addr })
        })
        .collect();
    out.sort();
    out
}

/// The agent's hello.
#[derive(Debug, Serialize, Deserialize)]
pub struct Hello {
    /// Always "lvstop".
    pub agent: String,
    /// lvstop's version there.
    pub version: String,
    /// [`PROTOCOL`].
    pub protocol: u32,
}

impl Hello {
    /// This lvstop's hello.
    pub fn ours() -> Self {
        Hello { agent: "lvstop".into(), version: env!("CARGO_PKG_VERSION").into(), protocol: PROTOCOL }
    }
}

/// An agent's answer line: what follows, or an error.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Answer {
    /// What follows on the next line (`snapshot`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ok: Option<String>,
    /// The director's addresses (with a snapshot).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<HeldAddr>,
    /// What went wrong there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `apply` that failed part-way: how many of its first steps were applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<usize>,
}

/// A request line.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Request {
    /// `snapshot`, `apply` or `bye`.
    pub op: String,
    /// `apply`: the change, as the other director's console made it (its
    /// objects as that console saw them: the agent refuses a step whose
    /// object has changed since).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<crate::model::Change>,
}

/// Whether an edit of a realserver changes nothing but its weight (what the
/// pair view offers to send to the other director too).
pub fn weight_only(before: &crate::model::DestSpec, after: &crate::model::DestSpec) -> bool {
    *after == before.clone().weight(after.weight)
}

/// Read one line of at most `max` bytes (without its newline), or why not:
/// the end of the stream (None), a longer line, or a read error.
pub async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R, max: usize) -> Result<Option<Vec<u8>>, String> {
    let mut line = Vec::new();
    loop {
        let buf = r.fill_buf().await.map_err(|e| e.to_string())?;
        if buf.is_empty() {
            return Ok((!line.is_empty()).then_some(line));
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (buf.len(), false),
        };
        if line.len() + take > max {
            return Err(format!("a line longer than {} MiB", max >> 20));
        }
        line.extend_from_slice(&buf[..take]);
        r.consume(take + usize::from(done));
        if done {
            return Ok(Some(line));
        }
    }
}

/// One open connection to a director's agent.
pub struct Session {
    name: String,
    child: tokio::process::Child,
    group: Option<i32>,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::io::BufReader<tokio::process::ChildStdout>,
    stderr: tokio::task::JoinHandle<(Vec<u8>, bool)>,
    timeout: Duration,
}

impl Session {
    /// Start lvstop's agent on director `name` over ssh and check its hello
    /// (the same lvstop version as this one).
    pub async fn open(
        name: &str,
        host: &str,
        user: Option<&str>,
        port: Option<u16>,
        lvstop: &str,
        cfg: &SshConfig,
    ) -> Result<Session, String> {
        if !valid_lvstop_path(lvstop) {
            return Err(format!(
                "director {name}: '{}' is not a path lvstop runs from: use letters, digits and /._+-",
                crate::text::sanitize(lvstop)
            ));
        }
        let mut cmd = super::ssh_command(host, user, port, cfg, true).map_err(|e| format!("director {name}: {e}"))?;
        cmd.arg(format!("{lvstop} agent"));
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        let mut child =
            cmd.spawn().map_err(|e| format!("director {name}: cannot run ssh: {e} (install openssh-client)"))?;
        let group = child.id().and_then(|p| i32::try_from(p).ok());
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            super::kill_group(&mut child, group).await;
            return Err(format!("director {name}: ssh without pipes"));
        };
        let stderr = tokio::spawn(super::read_bounded(stderr, super::STDERR_MAX, None));
        let mut s = Session {
            name: name.to_string(),
            child,
            group,
            stdin,
            stdout: tokio::io::BufReader::with_capacity(256 << 10, stdout),
            stderr,
            timeout: cfg.connect_timeout + cfg.timeout,
        };
        let hello = match s.line(4096).await {
            Ok(l) => l,
            Err(e) => {
                let why = s.failure(e, host, lvstop).await;
                s.close().await;
                return Err(why);
            }
        };
        let Ok(hello) = serde_json::from_slice::<Hello>(&hello) else {
            s.close().await;
            return Err(format!(
                "director {name}: '{lvstop} agent' on {host} did not answer as lvstop's agent: set lvstop = \"/path/to/lvstop\" in [directors.{name}]"
            ));
        };
        let ours = Hello::ours();
        if hello.agent != "lvstop" || hello.version != ours.version || hello.protocol != PROTOCOL {
            s.close().await;
            return Err(format!(
                "director {name}: lvstop there is version {} (agent protocol {}), this one is {}: install the same lvstop on every director",
                crate::text::sanitize(&hello.version),
                hello.protocol,
                ours.version
            ));
        }
        s.timeout = cfg.timeout;
        Ok(s)
    }

    /// One line from the agent, within the session's timeout.
    async fn line(&mut self, max: usize) -> Result<Vec<u8>, String> {
        match tokio::time::timeout(self.timeout, read_line(&mut self.stdout, max)).await {
            Err(_) => Err(format!("did not answer within {} s", self.timeout.as_secs())),
            Ok(Err(e)) => Err(e),
            Ok(Ok(None)) => Err("closed the connection".into()),
            Ok(Ok(Some(l))) => Ok(l),
        }
    }

    /// Why the session failed: ssh's own words where it said something (its
    /// last line), else `e`; lvstop missing there is named with the fix.
    async fn failure(&mut self, e: String, host: &str, lvstop: &str) -> String {
        let name = self.name.clone();
        super::kill_group(&mut self.child, self.group).await;
        let err = match tokio::time::timeout(Duration::from_millis(500), &mut self.stderr).await {
            Ok(Ok((err, _))) => String::from_utf8_lossy(&err).into_owned(),
            _ => String::new(),
        };
        let last = err.trim().lines().last().map(crate::text::sanitize);
        match last {
            Some(l) if l.contains("not found") || l.contains("No such file") => format!(
                "director {name}: lvstop is not installed on {host} as '{lvstop}' ({l}): install it there, or set lvstop = \"/path/to/lvstop\" in [directors.{name}]"
            ),
            Some(l) => format!("director {name}: ssh to {host} failed: {l}"),
            None => format!("director {name}: {host} {e}"),
        }
    }

    /// The director's table and addresses.
    pub async fn view(&mut self) -> Result<View, String> {
        let name = self.name.clone();
        let fail = |e: String| format!("director {name}: {e}");
        let answer = self.ask(&Request { op: "snapshot".into(), ..Request::default() }).await.map_err(fail)?;
        if let Some(e) = answer.error {
            return Err(fail(crate::text::sanitize(&e)));
        }
        if answer.ok.as_deref() != Some("snapshot") {
            return Err(fail("answered without a snapshot".into()));
        }
        let doc = self.line(LINE_MAX).await.map_err(fail)?;
        let doc = String::from_utf8(doc).map_err(|_| fail("sent a snapshot that is not UTF-8".into()))?;
        let snapshot = crate::model::json::parse_dump(&doc).map_err(|e| fail(format!("sent a bad snapshot: {e}")))?;
        let mut addresses = answer.addresses;
        addresses.retain(|a| a.ifname.len() <= 15 && a.ifname.bytes().all(|b| b.is_ascii_graphic()));
        addresses.sort();
        Ok(View { snapshot, addresses: Some(addresses) })
    }

    /// Apply `change` there (each object as this console saw it: the agent
    /// refuses a step whose object has changed since), logged there before
    /// it is sent. Err carries why and how many of a batch's first steps were
    /// applied.
    pub async fn apply(&mut self, change: &crate::model::Change) -> Result<(), (String, usize)> {
        let name = self.name.clone();
        let fail = |e: String| (format!("director {name}: {e}"), 0);
        let answer = self.ask(&Request { op: "apply".into(), change: Some(change.clone()) }).await.map_err(fail)?;
        match (answer.ok.as_deref(), answer.error) {
            (_, Some(e)) => {
                Err((format!("director {name}: {}", crate::text::sanitize(&e)), answer.applied.unwrap_or(0)))
            }
            (Some("applied"), None) => Ok(()),
            _ => Err(fail("answered neither applied nor an error".into())),
        }
    }

    /// Send one request and read its answer line, each within the session's timeout.
    async fn ask(&mut self, req: &Request) -> Result<Answer, String> {
        let req = serde_json::to_string(req).map_err(|e| e.to_string())? + "\n";
        match tokio::time::timeout(self.timeout, self.stdin.write_all(req.as_bytes())).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("the connection broke: {e}")),
            Err(_) => return Err("does not take requests (timed out)".into()),
        }
        let line = self.line(1 << 20).await?;
        serde_json::from_slice(&line).map_err(|e| format!("answered nonsense: {e}"))
    }

    /// Say goodbye and end ssh (its whole process group).
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_millis(200), self.stdin.write_all(b"{\"op\":\"bye\"}\n")).await;
        super::kill_group(&mut self.child, self.group).await;
        self.stderr.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths_that_could_inject_are_refused() {
        for ok in ["lb1", "lb-2.dc1", "director_a"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "-x", "a b", "a;b", "$(id)", &"x".repeat(33)] {
            assert!(!valid_name(bad), "{bad}");
        }
        for ok in ["lvstop", "/usr/local/bin/lvstop", "/opt/lvstop-0.1/lvstop+x"] {
            assert!(valid_lvstop_path(ok), "{ok}");
        }
        for bad in ["", "-lvstop", "lvstop; reboot", "/tmp/a b", "$(id)", "a`b`", "a|b", "~/lvstop"] {
            assert!(!valid_lvstop_path(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_line_is_bounded_and_ends_at_its_newline() {
        let mut r = tokio::io::BufReader::with_capacity(4, &b"one\ntwo longer\nend"[..]);
        assert_eq!(read_line(&mut r, 100).await, Ok(Some(b"one".to_vec())));
        assert_eq!(read_line(&mut r, 100).await, Ok(Some(b"two longer".to_vec())));
        assert_eq!(read_line(&mut r, 100).await, Ok(Some(b"end".to_vec())));
        assert_eq!(read_line(&mut r, 100).await, Ok(None));
        let mut r = tokio::io::BufReader::with_capacity(4, &b"0123456789\n"[..]);
        assert!(read_line(&mut r, 5).await.is_err());
    }
}
