//! The append-only audit log of changes, one JSON object per line, in the XDG
//! state directory (`~/.local/state/lvstop/audit.log`). A change is logged
//! before it is sent, and its result after; a change whose first line cannot
//! be written is not sent.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::model::Change;

/// Whether this process got privileges from its file (setcap) while its real
/// user is not root: then the environment must not choose where it writes.
fn is_privileged_by_file() -> bool {
    if nix::unistd::getuid().is_root() {
        return false;
    }
    let status = crate::sys::read_text("/proc/self/status", crate::sys::SMALL_FILE).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|caps| caps != 0)
}

/// Where the audit log lives: `$LVSTOP_AUDIT_LOG`, else the XDG state
/// directory. A non-root user running a setcap'd lvstop gets the state
/// directory under their home as the password database names it, whatever
/// the environment says.
pub fn default_path() -> PathBuf {
    if is_privileged_by_file() {
        let home = nix::unistd::User::from_uid(nix::unistd::getuid()).ok().flatten().map(|u| u.dir);
        return home.unwrap_or_else(|| PathBuf::from("/var/empty")).join(".local/state/lvstop/audit.log");
    }
    if let Some(p) = std::env::var_os("LVSTOP_AUDIT_LOG") {
        return PathBuf::from(p);
    }
    directories::ProjectDirs::from("", "", "lvstop")
        .and_then(|d| d.state_dir().map(Path::to_path_buf))
        .unwrap_or_else(|| std::env::temp_dir().join("lvstop"))
        .join("audit.log")
}

/// Who makes the changes, as each record names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operator {
    /// `SUDO_USER` under sudo, else `USER`/`LOGNAME`, else `uid N` (as before).
    pub user: String,
    /// The real uid.
    pub uid: u32,
    /// The login uid (`/proc/self/loginuid`): who logged in, whatever sudo or su did since; None if unset.
    pub loginuid: Option<u32>,
    /// `SUDO_USER`, if set.
    pub sudo_user: Option<String>,
}

/// The operator of this process.
pub fn operator() -> Operator {
    let env = |v: &str| std::env::var(v).ok().filter(|s| !s.is_empty()).map(|s| crate::text::sanitize(&s));
    let uid = nix::unistd::getuid().as_raw();
    let loginuid = crate::sys::read_text("/proc/self/loginuid", crate::sys::SMALL_FILE)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .filter(|u| *u != u32::MAX);
    let sudo_user = env("SUDO_USER");
    let user = sudo_user.clone().or_else(|| env("USER")).or_else(|| env("LOGNAME")).unwrap_or(format!("uid {uid}"));
    Operator { user, uid, loginuid, sudo_user }
}

/// RFC 3339 UTC time from a Unix timestamp.
pub fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[derive(Serialize)]
struct Entry<'a> {
    time: String,
    #[serde(flatten)]
    who: &'a Operator,
    action: &'a str,
    change: String,
    before: String,
    after: String,
    ipvsadm: Vec<String>,
    result: &'a str,
}

/// An append-only audit log, copied to syslog (authpriv).
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
    who: Operator,
    syslog: bool,
}

/// syslog's `authpriv.notice`: facility 10, severity 5.
const AUTHPRIV_NOTICE: u8 = 10 * 8 + 5;

impl AuditLog {
    /// A log at `path` written as `who`, each record also sent to syslog.
    pub fn new(path: PathBuf, who: Operator) -> Self {
        AuditLog { path, who, syslog: true }
    }

    /// The same log without the syslog copy (tests).
    #[must_use]
    pub fn without_syslog(mut self) -> Self {
        self.syslog = false;
        self
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one entry for `change` with `result` ("sending", "ok", "error: …").
    pub fn record(&self, change: &Change, result: &str) -> Result<(), String> {
        let (before, after) = change.before_after();
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let entry = Entry {
            time: rfc3339(secs),
            who: &self.who,
            action: change.kind(),
            change: change.describe(),
            before,
            after,
            ipvsadm: change.ipvsadm(),
            result,
        };
        let line = serde_json::to_string(&entry).map_err(|e| e.to_string())?;
        if self.syslog {
            // Best effort: a user who can edit IPVS but not the system log cannot erase this copy.
            to_syslog(&line);
        }
        let fail = |e: std::io::Error| format!("cannot write the audit log {}: {e}", self.path.display());
        if let Some(dir) = self.path.parent() {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(fail)?;
        }
        // Append only, never through a symlink, readable by its owner only, on disk before the change is sent.
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&self.path)
            .map_err(fail)?;
        f.write_all(format!("{line}\n").as_bytes()).map_err(fail)?;
        f.sync_data().map_err(fail)
    }
}

/// Send `line` to the local syslog (`/dev/log`) as authpriv.notice; nothing if there is none.
fn to_syslog(line: &str) {
    let Ok(sock) = std::os::unix::net::UnixDatagram::unbound() else { return };
    let msg = format!("<{AUTHPRIV_NOTICE}>lvstop[{}]: {line}", std::process::id());
    let _ = sock.send_to(msg.as_bytes(), "/dev/log");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn appends_json_lines() {
        let dir = std::env::temp_dir().join(format!("lvstop-audit-{}", std::process::id()));
        let who = Operator { user: "alice".into(), uid: 1000, loginuid: Some(1000), sudo_user: Some("alice".into()) };
        let log = AuditLog::new(dir.join("audit.log"), who).without_syslog();
        let c = Change::Zero(None);
        log.record(&c, "sending").expect("write");
        log.record(&c, "ok").expect("write");
        let text = std::fs::read_to_string(log.path()).expect("read");
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0]["user"].as_str(), lines[0]["uid"].as_u64()), (Some("alice"), Some(1000)));
        assert_eq!((lines[0]["loginuid"].as_u64(), lines[0]["sudo_user"].as_str()), (Some(1000), Some("alice")));
        assert_eq!(lines[0]["action"], "zero");
        assert_eq!(lines[1]["result"], "ok");
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(log.path()).expect("meta").permissions());
        assert_eq!(mode & 0o777, 0o600, "the log is its owner's only");
        // A symlink planted where the log goes is not followed.
        let target = dir.join("elsewhere");
        let link = dir.join("link.log");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let planted = AuditLog::new(link, operator()).without_syslog();
        assert!(planted.record(&c, "sending").is_err(), "the log followed a symlink");
        assert!(!target.exists());
        let _ = std::fs::remove_dir_all(dir);
    }
}
