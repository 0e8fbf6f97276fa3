//! The append-only audit log of changes, one JSON object per line, in the XDG
//! state directory (`~/.local/state/lvstop/audit.log`). A change is logged
//! before it is sent, and its result after; a change whose first line cannot
//! be written is not sent.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::model::Change;

/// Where the audit log lives: `$LVSTOP_AUDIT_LOG`, else the XDG state directory.
pub fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os("LVSTOP_AUDIT_LOG") {
        return PathBuf::from(p);
    }
    directories::ProjectDirs::from("", "", "lvstop")
        .and_then(|d| d.state_dir().map(Path::to_path_buf))
        .unwrap_or_else(|| std::env::temp_dir().join("lvstop"))
        .join("audit.log")
}

/// The operator: `SUDO_USER` under sudo, else `USER`/`LOGNAME`, else the uid.
pub fn operator() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| {
            format!("uid {}", std::fs::metadata("/proc/self").map_or(0, |m| std::os::unix::fs::MetadataExt::uid(&m)))
        })
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
    user: &'a str,
    action: &'a str,
    change: String,
    before: String,
    after: String,
    ipvsadm: Vec<String>,
    result: &'a str,
}

/// An append-only audit log.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
    user: String,
}

impl AuditLog {
    /// A log at `path` written as `user`.
    pub fn new(path: PathBuf, user: String) -> Self {
        AuditLog { path, user }
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
            user: &self.user,
            action: change.kind(),
            change: change.describe(),
            before,
            after,
            ipvsadm: change.ipvsadm(),
            result,
        };
        let line = serde_json::to_string(&entry).map_err(|e| e.to_string())?;
        let fail = |e: std::io::Error| format!("cannot write the audit log {}: {e}", self.path.display());
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&self.path).map_err(fail)?;
        f.write_all(format!("{line}\n").as_bytes()).map_err(fail)
    }
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
        let log = AuditLog::new(dir.join("audit.log"), "alice".into());
        let c = Change::Zero(None);
        log.record(&c, "sending").expect("write");
        log.record(&c, "ok").expect("write");
        let text = std::fs::read_to_string(log.path()).expect("read");
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["user"], "alice");
        assert_eq!(lines[0]["action"], "zero");
        assert_eq!(lines[1]["result"], "ok");
        let _ = std::fs::remove_dir_all(dir);
    }
}
