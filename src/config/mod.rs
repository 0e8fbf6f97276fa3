//! Configuration: `lvstop.toml` from `--config`, `$LVSTOP_CONFIG`, the XDG
//! config directory or `/etc/lvstop/` (sudo runs lvstop as root), merged over
//! the defaults. A bad file is refused whole, with its path, line and key.

pub mod keymap;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

pub use keymap::{Action, Context, Key, Keymap};

/// The documented example, which must equal the defaults (tested).
pub const EXAMPLE: &str = include_str!("../../assets/lvstop.example.toml");

/// What the sparkline of each service shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SparkSource {
    /// New connections per second.
    Cps,
    /// Incoming packets per second.
    Pps,
}

/// The resolved configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Refresh interval.
    pub interval: Duration,
    /// Step of `+`/`-` on a weight.
    pub weight_step: u32,
    /// Theme name (built in, or a file in the user themes directory).
    pub theme: String,
    /// Sparkline source.
    pub sparkline: SparkSource,
    /// How long changed values stay highlighted.
    pub flash: Duration,
    /// Key bindings.
    pub keys: Keymap,
    /// NIC load thresholds and practical limits.
    pub nic: crate::sys::load::NicPolicy,
    /// How often the console re-runs the LVS-DR checks.
    pub check_interval: Duration,
    /// How to read realservers over ssh.
    pub ssh: crate::remote::SshConfig,
    /// The file this came from, if any.
    pub source: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            interval: Duration::from_secs(1),
            weight_step: 1,
            theme: "default".into(),
            sparkline: SparkSource::Cps,
            flash: Duration::from_secs(3),
            keys: Keymap::defaults(),
            nic: crate::sys::load::NicPolicy::default(),
            check_interval: Duration::from_secs(60),
            ssh: crate::remote::SshConfig::default(),
            source: None,
        }
    }
}

/// A configuration file lvstop refuses, located precisely.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{}:{line}: {key}: {msg}", file.display())]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line (0 if unknown).
    pub line: usize,
    /// The key at fault, as written in the file.
    pub key: String,
    /// What is wrong and what is accepted.
    pub msg: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    interval: Option<f64>,
    weight_step: Option<i64>,
    theme: Option<String>,
    sparkline: Option<String>,
    flash_seconds: Option<f64>,
    check_interval: Option<f64>,
    keys: Option<BTreeMap<String, KeyList>>,
    nic: Option<NicFile>,
    ssh: Option<SshFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct SshFile {
    user: Option<String>,
    port: Option<i64>,
    identity_file: Option<PathBuf>,
    known_hosts: Option<PathBuf>,
    connect_timeout: Option<u64>,
    timeout: Option<u64>,
    parallel: Option<usize>,
    hosts: Option<BTreeMap<String, toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct NicFile {
    warn_percent: Option<f64>,
    crit_percent: Option<f64>,
    show_idle: Option<bool>,
    limits: Option<BTreeMap<String, i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum KeyList {
    One(String),
    Many(Vec<String>),
}

fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key).is_some_and(|r| r.trim_start().starts_with('='))
                || l.strip_prefix(&format!("\"{key}\"")).is_some()
                || (l.starts_with('[') && l.contains(&format!(".\"{key}\"]")))
        })
        .map_or(0, |i| i + 1)
}

/// Parse a configuration file's text. `file` names it in errors.
pub fn parse(file: &Path, text: &str) -> Result<Config, ConfigError> {
    let err = |key: &str, msg: String| ConfigError {
        file: file.to_path_buf(),
        line: line_of(text, key),
        key: key.to_string(),
        msg,
    };
    let parsed: FileConfig = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let key = text
            .lines()
            .nth(line.saturating_sub(1))
            .and_then(|l| l.split('=').next())
            .map(|k| k.trim().trim_matches('"').to_string())
            .unwrap_or_default();
        ConfigError { file: file.to_path_buf(), line, key, msg: e.message().to_string() }
    })?;
    let mut c = Config { source: Some(file.to_path_buf()), ..Config::default() };
    if let Some(i) = parsed.interval {
        if !(0.1..=60.0).contains(&i) {
            return Err(err("interval", format!("'{i}' is out of range: use 0.1 to 60 seconds")));
        }
        c.interval = Duration::from_secs_f64(i);
    }
    if let Some(w) = parsed.weight_step {
        c.weight_step = u32::try_from(w)
            .ok()
            .filter(|w| (1..=65535).contains(w))
            .ok_or_else(|| err("weight-step", format!("'{w}' is out of range: use 1 to 65535")))?;
    }
    if let Some(t) = parsed.theme {
        if t.is_empty() || !t.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_') {
            return Err(err("theme", format!("'{t}' is not a theme name: use letters, digits, '-' or '_'")));
        }
        c.theme = t;
    }
    if let Some(s) = parsed.sparkline {
        c.sparkline = match s.as_str() {
            "cps" => SparkSource::Cps,
            "pps" => SparkSource::Pps,
            _ => return Err(err("sparkline", format!("'{s}' is not a sparkline source: use \"cps\" or \"pps\""))),
        };
    }
    if let Some(f) = parsed.flash_seconds {
        if !(0.0..=60.0).contains(&f) {
            return Err(err("flash-seconds", format!("'{f}' is out of range: use 0 to 60")));
        }
        c.flash = Duration::from_secs_f64(f);
    }
    if let Some(i) = parsed.check_interval {
        if !(10.0..=86400.0).contains(&i) {
            return Err(err("check-interval", format!("'{i}' is out of range: use 10 to 86400 seconds")));
        }
        c.check_interval = Duration::from_secs_f64(i);
    }
    for (name, keys) in parsed.keys.unwrap_or_default() {
        let action = Action::ALL.iter().copied().find(|a| a.name() == name).ok_or_else(|| {
            err(
                &name,
                format!(
                    "'{name}' is not an action: use one of {}",
                    Action::ALL.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        let list = match keys {
            KeyList::One(k) => vec![k],
            KeyList::Many(v) => v,
        };
        if list.is_empty() {
            return Err(err(&name, "an action needs at least one key".into()));
        }
        let keys = list.iter().map(|k| Key::parse(k)).collect::<Result<Vec<_>, _>>().map_err(|e| err(&name, e))?;
        c.keys.rebind(action, &keys);
    }
    if let Some(n) = parsed.nic {
        for (key, v, slot) in [
            ("warn-percent", n.warn_percent, &mut c.nic.warn_percent),
            ("crit-percent", n.crit_percent, &mut c.nic.crit_percent),
        ] {
            if let Some(v) = v {
                if !(1.0..=100.0).contains(&v) {
                    return Err(err(key, format!("'{v}' is out of range: use 1 to 100 (percent)")));
                }
                *slot = v;
            }
        }
        if c.nic.warn_percent > c.nic.crit_percent {
            return Err(err(
                "warn-percent",
                format!(
                    "'{}' is above crit-percent '{}': the warning must come first",
                    c.nic.warn_percent, c.nic.crit_percent
                ),
            ));
        }
        if let Some(b) = n.show_idle {
            c.nic.show_idle = b;
        }
        for (name, v) in n.limits.unwrap_or_default() {
            if name.is_empty() || name.len() > 15 || name.contains(['/', ' ']) {
                return Err(err(&name, format!("'{name}' is not an interface name")));
            }
            let v = u64::try_from(v)
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| err(&name, format!("'{v}' is not a packets/s limit: use a positive number")))?;
            c.nic.limits.insert(name, v);
        }
    }
    if let Some(ssh) = parsed.ssh {
        let t = &mut c.ssh;
        if let Some(u) = ssh.user {
            if !crate::remote::valid_user(&u) {
                return Err(err("user", format!("'{u}' is not a user name: use letters, digits, '.', '_' or '-'")));
            }
            t.user = Some(u);
        }
        if let Some(p) = ssh.port {
            t.port = Some(valid_port(p).ok_or_else(|| err("port", format!("'{p}' is out of range: use 1 to 65535")))?);
        }
        t.identity = ssh.identity_file.or(t.identity.take());
        t.known_hosts = ssh.known_hosts.or(t.known_hosts.take());
        if let Some(v) = ssh.connect_timeout {
            if !(1..=60).contains(&v) {
                return Err(err("connect-timeout", format!("'{v}' is out of range: use 1 to 60 seconds")));
            }
            t.connect_timeout = Duration::from_secs(v);
        }
        if let Some(v) = ssh.timeout {
            if !(1..=600).contains(&v) {
                return Err(err("timeout", format!("'{v}' is out of range: use 1 to 600 seconds")));
            }
            t.timeout = Duration::from_secs(v);
        }
        if let Some(v) = ssh.parallel {
            if !(1..=64).contains(&v) {
                return Err(err("parallel", format!("'{v}' is out of range: use 1 to 64")));
            }
            t.parallel = v;
        }
        for (ip, value) in ssh.hosts.unwrap_or_default() {
            let addr: std::net::IpAddr =
                ip.parse().map_err(|_| err(&ip, format!("'{ip}' is not a realserver address")))?;
            let target = ssh_host(&value).map_err(|msg| err(&ip, msg))?;
            t.hosts.insert(addr, target);
        }
    }
    if let Some(a) = c.keys.unbound().first() {
        return Err(err("keys", format!("these bindings leave '{}' without a key: give it one in [keys]", a.name())));
    }
    Ok(c)
}

fn valid_port(p: i64) -> Option<u16> {
    u16::try_from(p).ok().filter(|p| *p != 0)
}

/// One value of `[ssh.hosts]`: an ssh host, "-" (skip: `None`), or a table
/// `{ host = "...", user = "...", port = N }` with every key optional.
fn ssh_host(value: &toml::Value) -> Result<Option<crate::remote::SshHost>, String> {
    const USE: &str =
        "use an address, an alias from ~/.ssh/config, \"-\" to skip, or { host = \"rs1\", user = \"ops\", port = 2222 }";
    let valid_host = |h: &str| -> Result<String, String> {
        if crate::remote::valid_host(h) {
            Ok(h.to_string())
        } else {
            Err(format!("'{h}' is not an ssh host: {USE}"))
        }
    };
    match value {
        toml::Value::String(s) if s == "-" => Ok(None),
        toml::Value::String(s) => {
            Ok(Some(crate::remote::SshHost { host: Some(valid_host(s)?), ..crate::remote::SshHost::default() }))
        }
        toml::Value::Table(table) => {
            let mut h = crate::remote::SshHost::default();
            for (k, v) in table {
                match (k.as_str(), v) {
                    ("host", toml::Value::String(s)) => h.host = Some(valid_host(s)?),
                    ("user", toml::Value::String(u)) => {
                        if !crate::remote::valid_user(u) {
                            return Err(format!("user '{u}' is not a user name: use letters, digits, '.', '_' or '-'"));
                        }
                        h.user = Some(u.clone());
                    }
                    ("port", toml::Value::Integer(p)) => {
                        h.port =
                            Some(valid_port(*p).ok_or_else(|| format!("port '{p}' is out of range: use 1 to 65535"))?);
                    }
                    ("host" | "user", v) => return Err(format!("{k} = {v} is not a string: {USE}")),
                    ("port", v) => return Err(format!("port = {v} is not a number: use 1 to 65535")),
                    (k, _) => return Err(format!("unknown key '{k}' in the table: use host, user or port")),
                }
            }
            Ok(Some(h))
        }
        v => Err(format!("{v} is not an ssh host: {USE}")),
    }
}

/// Where lvstop looks for its configuration, in order.
pub fn search_path(explicit: Option<&Path>) -> Vec<PathBuf> {
    if let Some(p) = explicit {
        return vec![p.to_path_buf()];
    }
    if let Some(p) = std::env::var_os("LVSTOP_CONFIG") {
        return vec![PathBuf::from(p)];
    }
    let mut out = Vec::new();
    if let Some(d) = directories::ProjectDirs::from("", "", "lvstop") {
        out.push(d.config_dir().join("lvstop.toml"));
    }
    out.push(PathBuf::from("/etc/lvstop/lvstop.toml"));
    out
}

/// Load the first configuration file found (an explicit one must exist), or the defaults.
pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
    let must_exist = explicit.is_some() || std::env::var_os("LVSTOP_CONFIG").is_some();
    for path in search_path(explicit) {
        match std::fs::read_to_string(&path) {
            Ok(text) => return parse(&path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {}
            Err(e) => {
                return Err(ConfigError { file: path, line: 0, key: String::new(), msg: format!("cannot read: {e}") });
            }
        }
    }
    Ok(Config::default())
}

/// The user themes directory (`$XDG_CONFIG_HOME/lvstop/themes`).
pub fn user_themes_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "lvstop").map(|d| d.config_dir().join("themes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("/etc/lvstop/lvstop.toml")
    }

    #[test]
    fn example_equals_defaults() {
        let c = parse(p(), EXAMPLE).expect("the example parses");
        assert_eq!(Config { source: None, ..c }, Config::default());
        // Every key of the file and every action is documented in the example.
        for a in Action::ALL {
            assert!(EXAMPLE.contains(&format!("{} = ", a.name())), "example lacks {}", a.name());
        }
        // The commented [ssh] example, uncommented, is a valid file.
        let ssh: String = EXAMPLE
            .lines()
            .skip_while(|l| *l != "# [ssh]")
            .take_while(|l| l.starts_with("# "))
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| l.starts_with('[') || l.starts_with('"') || l.contains(" = "))
            .flat_map(|l| [l, "\n"])
            .collect();
        let c = parse(p(), &ssh).map_err(|e| format!("{e}\n{ssh}")).expect("the [ssh] example parses");
        assert_eq!(c.ssh.hosts.len(), 4, "{ssh}");
        assert_eq!(c.ssh.port, Some(22));
    }

    #[test]
    fn bad_files_name_file_line_and_key() {
        let e = parse(p(), "interval = 1.0\nweight-step = 0\n").expect_err("bad");
        assert_eq!((e.line, e.key.as_str()), (2, "weight-step"));
        assert_eq!(e.to_string(), "/etc/lvstop/lvstop.toml:2: weight-step: '0' is out of range: use 1 to 65535");
        let e = parse(p(), "\n\ncolour = \"red\"\n").expect_err("unknown");
        assert_eq!((e.line, e.key.as_str()), (3, "colour"));
        assert!(e.msg.contains("unknown field"), "{e}");
        let e = parse(p(), "interval = \"fast\"\n").expect_err("type");
        assert_eq!((e.line, e.key.as_str()), (1, "interval"));
        let e = parse(p(), "[keys]\ndrain = \"hyper-d\"\n").expect_err("key");
        assert_eq!((e.line, e.key.as_str()), (2, "drain"));
        let e = parse(p(), "[keys]\nfly = \"f\"\n").expect_err("action");
        assert!(e.msg.contains("'fly' is not an action"), "{e}");
        let e = parse(p(), "[keys]\ndrain = \"q\"\n").expect_err("quit loses q");
        assert!(e.msg.contains("'quit'"), "{e}");
        let e = parse(p(), "[nic]\nwarn-percent = 95.0\n").expect_err("warn above crit");
        assert_eq!((e.line, e.key.as_str()), (2, "warn-percent"));
        let e = parse(p(), "[nic.limits]\neth0 = -5\n").expect_err("negative limit");
        assert_eq!((e.line, e.key.as_str()), (2, "eth0"));
        let c = parse(p(), "[nic]\nshow-idle = true\n[nic.limits]\n\"eth0.100\" = 800000\n").expect("ok");
        assert_eq!(c.nic.limits.get("eth0.100"), Some(&800_000));
        assert!(c.nic.show_idle);
        let e = parse(p(), "interval = [\n").expect_err("syntax");
        assert!(e.line >= 1, "{e}");
    }

    #[test]
    fn ssh_hosts_take_an_alias_a_skip_or_a_table() {
        use crate::remote::SshHost;
        let ip = |s: &str| s.parse::<std::net::IpAddr>().expect("ip");
        let c = parse(
            p(),
            "[ssh]\nuser = \"lvstop\"\nport = 22\n[ssh.hosts]\n\"198.51.100.11\" = \"rs1\"\n\"198.51.100.12\" = \"-\"\n\
             \"198.51.100.13\" = { host = \"rs3.example.net\", user = \"ops\", port = 2222 }\n\
             \"198.51.100.14\" = { port = 2200 }\n\"2001:db8::11\" = {}\n\
             [ssh.hosts.\"198.51.100.15\"]\nuser = \"root\"\n",
        )
        .expect("ok");
        assert_eq!((c.ssh.user.as_deref(), c.ssh.port), (Some("lvstop"), Some(22)));
        let h = &c.ssh.hosts;
        assert_eq!(h[&ip("198.51.100.11")], Some(SshHost { host: Some("rs1".into()), user: None, port: None }));
        assert_eq!(h[&ip("198.51.100.12")], None);
        assert_eq!(
            h[&ip("198.51.100.13")],
            Some(SshHost { host: Some("rs3.example.net".into()), user: Some("ops".into()), port: Some(2222) })
        );
        assert_eq!(h[&ip("198.51.100.14")], Some(SshHost { host: None, user: None, port: Some(2200) }));
        assert_eq!(h[&ip("2001:db8::11")], Some(SshHost::default()));
        assert_eq!(h[&ip("198.51.100.15")], Some(SshHost { host: None, user: Some("root".into()), port: None }));
    }

    #[test]
    fn bad_ssh_hosts_name_the_key_and_the_fix() {
        let bad = |body: &str| parse(p(), &format!("[ssh]\n[ssh.hosts]\n{body}\n")).expect_err(body);
        for (body, needle) in [
            ("\"198.51.100.11\" = \"rs1;reboot\"", "'rs1;reboot' is not an ssh host: use an address"),
            ("\"198.51.100.11\" = { host = \"-oProxyCommand=sh\" }", "is not an ssh host"),
            ("\"198.51.100.11\" = { user = \"root@rs1\" }", "user 'root@rs1' is not a user name"),
            ("\"198.51.100.11\" = { user = \"-oX\" }", "user '-oX' is not a user name"),
            ("\"198.51.100.11\" = { port = 0 }", "port '0' is out of range: use 1 to 65535"),
            ("\"198.51.100.11\" = { port = 65536 }", "port '65536' is out of range"),
            ("\"198.51.100.11\" = { port = \"22\" }", "is not a number: use 1 to 65535"),
            ("\"198.51.100.11\" = { user = 7 }", "is not a string"),
            ("\"198.51.100.11\" = { hots = \"rs1\" }", "unknown key 'hots' in the table: use host, user or port"),
            ("\"198.51.100.11\" = 22", "is not an ssh host"),
            ("\"rs1\" = \"rs1\"", "'rs1' is not a realserver address"),
        ] {
            let e = bad(body);
            assert!(e.msg.contains(needle), "{body}: {e}");
            assert_eq!(e.line, 3, "{body}: {e}");
        }
        let e = bad("[ssh.hosts.\"198.51.100.11\"]\nport = -1");
        assert_eq!((e.line, e.key.as_str()), (3, "198.51.100.11"), "{e}");
        assert_eq!(
            e.to_string(),
            "/etc/lvstop/lvstop.toml:3: 198.51.100.11: port '-1' is out of range: use 1 to 65535"
        );
        let e = parse(p(), "[ssh]\nport = 0\n").expect_err("port 0");
        assert_eq!((e.line, e.key.as_str()), (2, "port"), "{e}");
        let e = parse(p(), "[ssh]\nuser = \"a@b\"\n").expect_err("user");
        assert!(e.msg.contains("is not a user name"), "{e}");
    }

    #[test]
    fn overrides_apply() {
        let c = parse(p(), "weight-step = 5\nsparkline = \"pps\"\n[keys]\ndrain = [\"d\", \"ctrl-d\"]\n").expect("ok");
        assert_eq!(c.weight_step, 5);
        assert_eq!(c.sparkline, SparkSource::Pps);
        assert_eq!(c.keys.action(&Key::parse("ctrl-d").expect("key")), Some(Action::Drain));
    }
}
