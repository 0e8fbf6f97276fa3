//! Configuration: `lvstop.toml` from `--config`, `$LVSTOP_CONFIG`, the XDG
//! config directory or `/etc/lvstop/` (sudo runs lvstop as root), merged over
//! the defaults. A bad file is refused whole, with its path, line and key.

mod file;
pub mod keymap;

use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;
use toml::Spanned;

use file::FileConfig;
pub use file::Interval;
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
    /// Other directors (`[directors]`), by name.
    pub directors: std::collections::BTreeMap<String, crate::remote::director::Target>,
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
            directors: std::collections::BTreeMap::new(),
            source: None,
        }
    }
}

/// A configuration file lvstop refuses, located precisely.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{}", self.located())]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line (0 if unknown).
    pub line: usize,
    /// The key at fault, as written in the file (empty if none).
    pub key: String,
    /// What is wrong and what is accepted.
    pub msg: String,
}

impl ConfigError {
    /// `file:line: key: msg`, leaving out an unknown line and an empty key;
    /// what the file said is shown with control characters escaped.
    fn located(&self) -> String {
        let mut out = self.file.display().to_string();
        if self.line > 0 {
            out.push_str(&format!(":{}", self.line));
        }
        if !self.key.is_empty() {
            out.push_str(&format!(": {}", self.key));
        }
        crate::text::sanitize(&format!("{out}: {}", self.msg))
    }
}

/// The 1-based line of byte `offset` of `text`.
fn line_at(text: &str, offset: usize) -> usize {
    text.bytes().take(offset).filter(|b| *b == b'\n').count() + 1
}

/// The innermost key of the parsed `text` whose name or value holds byte
/// `offset`: the key a deserialization error's span points into.
fn key_at(text: &str, offset: usize) -> Option<String> {
    fn innermost(table: &dyn toml_edit::TableLike, offset: usize) -> Option<String> {
        let holds = |span: Option<std::ops::Range<usize>>| span.is_some_and(|s| s.contains(&offset));
        table.iter().find_map(|(name, item)| {
            item.as_table_like().and_then(|t| innermost(t, offset)).or_else(|| {
                (holds(table.key(name).and_then(toml_edit::Key::span)) || holds(item.span())).then(|| name.to_string())
            })
        })
    }
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    innermost(doc.as_table(), offset)
}

/// Parse a configuration file's text. `file` names it in errors.
pub fn parse(file: &Path, text: &str) -> Result<Config, ConfigError> {
    let err = |span: Option<std::ops::Range<usize>>, key: &str, msg: String| ConfigError {
        file: file.to_path_buf(),
        line: span.map_or(0, |s| line_at(text, s.start)),
        key: key.to_string(),
        msg,
    };
    let at = |name: &Spanned<String>, msg: String| err(Some(name.span()), name.get_ref(), msg);
    let parsed: FileConfig = toml::from_str(text).map_err(|e| {
        let key = e.span().and_then(|s| key_at(text, s.start)).unwrap_or_default();
        err(e.span(), &key, e.message().trim_end().replace('\n', ": "))
    })?;
    let mut c = Config { source: Some(file.to_path_buf()), ..Config::default() };
    if let Some(i) = parsed.interval {
        c.interval = Duration::from_secs_f64(i.0);
    }
    if let Some(w) = parsed.weight_step {
        c.weight_step = w.0;
    }
    if let Some(t) = parsed.theme {
        c.theme = t.0;
    }
    if let Some(s) = parsed.sparkline {
        c.sparkline = s;
    }
    if let Some(f) = parsed.flash_seconds {
        c.flash = Duration::from_secs_f64(f.0);
    }
    if let Some(i) = parsed.check_interval {
        c.check_interval = Duration::from_secs_f64(i.0);
    }
    let mut bindings = Vec::new();
    for (name, keys) in parsed.keys.unwrap_or_default() {
        let action = Action::ALL.iter().copied().find(|a| a.name() == name.get_ref()).ok_or_else(|| {
            at(
                &name,
                format!(
                    "'{}' is not an action: use one of {}",
                    name.get_ref(),
                    Action::ALL.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        if let Some(why) = keys.0.iter().find_map(|k| crate::config::keymap::refuse(action, k)) {
            return Err(at(&name, why));
        }
        c.keys.rebind(action, &keys.0);
        bindings.push((name, action, keys.0));
    }
    if let Some(lost) = c.keys.unbound().first().copied() {
        // Blame the binding that took one of its keys (its defaults, or those the file gave it).
        let own: Vec<Key> = lost.default_keys().iter().filter_map(|k| Key::parse(k).ok()).collect();
        let own: Vec<Key> =
            own.into_iter().chain(bindings.iter().filter(|b| b.1 == lost).flat_map(|b| b.2.clone())).collect();
        let msg = |who: &str| format!("{who} '{}' without a key: give it one in [keys]", lost.name());
        let took = |(_, a, keys): &&(_, Action, Vec<Key>)| {
            *a != lost && a.context() == lost.context() && keys.iter().any(|k| own.contains(k))
        };
        return Err(match bindings.iter().find(took) {
            Some((name, _, _)) => at(name, msg("this binding leaves")),
            None => err(None, "keys", msg("these bindings leave")),
        });
    }
    if let Some(n) = parsed.nic {
        let (warn, crit) = (n.warn_percent, n.crit_percent);
        if let Some(w) = &warn {
            c.nic.warn_percent = w.get_ref().0;
        }
        if let Some(w) = &crit {
            c.nic.crit_percent = w.get_ref().0;
        }
        if c.nic.warn_percent > c.nic.crit_percent {
            return Err(err(
                warn.as_ref().or(crit.as_ref()).map(Spanned::span),
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
        for (name, limit) in n.limits.unwrap_or_default() {
            let iface = name.get_ref();
            if iface.is_empty() || iface.len() > 15 || iface.contains(['/', ' ']) {
                return Err(at(&name, format!("'{iface}' is not an interface name")));
            }
            c.nic.limits.insert(name.into_inner(), limit.0);
        }
    }
    if let Some(ssh) = parsed.ssh {
        let t = &mut c.ssh;
        t.user = ssh.user.map(|u| u.0).or(t.user.take());
        t.port = ssh.port.map(|p| p.0).or(t.port);
        t.identity = ssh.identity_file.or(t.identity.take());
        t.known_hosts = ssh.known_hosts.or(t.known_hosts.take());
        if let Some(v) = ssh.connect_timeout {
            t.connect_timeout = Duration::from_secs(v.0);
        }
        if let Some(v) = ssh.timeout {
            t.timeout = Duration::from_secs(v.0);
        }
        if let Some(v) = ssh.parallel {
            t.parallel = v.0;
        }
        for (ip, value) in ssh.hosts.unwrap_or_default() {
            let addr: std::net::IpAddr =
                ip.get_ref().parse().map_err(|_| at(&ip, format!("'{}' is not a realserver address", ip.get_ref())))?;
            let target = file::ssh_host(&value).map_err(|msg| at(&ip, msg))?;
            t.hosts.insert(addr, target);
        }
    }
    for (name, value) in parsed.directors.unwrap_or_default() {
        let n = name.get_ref();
        if !crate::remote::director::valid_name(n) || n == "local" {
            return Err(at(
                &name,
                format!(
                    "'{n}' is not a director name: use 1 to 32 letters, digits, '.', '_' or '-' (local is this host)"
                ),
            ));
        }
        let target = file::director(&value).map_err(|msg| at(&name, msg))?;
        c.directors.insert(name.into_inner(), target);
    }
    Ok(c)
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

/// The largest configuration file read.
const CONFIG_MAX: u64 = 1 << 20;

/// Whether a configuration file is named (`explicit`, or `LVSTOP_CONFIG`):
/// then it must exist.
pub fn is_named(explicit: Option<&Path>) -> bool {
    explicit.is_some() || std::env::var_os("LVSTOP_CONFIG").is_some()
}

/// Load the first configuration file found (a named one must exist), or the defaults.
pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
    let must_exist = is_named(explicit);
    for path in search_path(explicit) {
        match crate::sys::read_text(&path, CONFIG_MAX) {
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

/// The largest user theme file read.
const THEME_MAX: u64 = 64 * 1024;

/// Read the user theme `name` (`<user_themes_dir>/<name>.toml`): its path and
/// text, why it cannot be read, or None where there is no theme directory.
pub fn read_user_theme(name: &str) -> Option<Result<(String, String), String>> {
    let path = user_themes_dir()?.join(format!("{name}.toml"));
    let shown = path.display().to_string();
    Some(match crate::sys::read_text(&path, THEME_MAX) {
        Err(e) => Err(format!("{shown} cannot be read: {e}")),
        Ok(text) => Ok((shown, text)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("/etc/lvstop/lvstop.toml")
    }

    #[test]
    fn an_oversized_config_file_is_refused_by_name() {
        let f = std::env::temp_dir().join(format!("lvstop-big-config-{}.toml", std::process::id()));
        std::fs::write(&f, format!("# {}\n", "x".repeat(2 << 20))).expect("write");
        let e = load(Some(&f)).expect_err("too large");
        let _ = std::fs::remove_file(&f);
        assert!(
            e.to_string().contains("larger than 1048576 bytes") && e.to_string().contains("lvstop-big-config"),
            "{e}"
        );
    }

    /// The example's commented section from line `first` on, uncommented
    /// (its comments left out).
    fn uncommented(first: &str) -> String {
        EXAMPLE
            .lines()
            .skip_while(|l| *l != first)
            .take_while(|l| l.starts_with("# "))
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| l.starts_with('[') || l.starts_with('"') || l.contains(" = "))
            .flat_map(|l| [l, "\n"])
            .collect()
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
        let ssh = uncommented("# [ssh]");
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
        let e = parse(p(), "[keys]\n\"\\u001b[2J\" = \"f\"\n").expect_err("escape");
        assert!(!e.to_string().contains('\u{1b}') && e.to_string().contains("\\x1b[2J"), "{e}");
        let e = parse(p(), "[keys]\nfly = \"f\"\n").expect_err("action");
        assert!(e.msg.contains("'fly' is not an action"), "{e}");
        let e = parse(p(), "[keys]\ndrain = \"q\"\n").expect_err("quit loses q");
        assert!(e.msg.contains("'quit'"), "{e}");
        // A key typed in forms cannot be a form action; Ctrl-C is never rebound.
        let e = parse(p(), "[keys]\nup = \"k\"\nnext-field = [\"tab\", \"j\"]\n").expect_err("typed");
        assert_eq!((e.line, e.key.as_str()), (3, "next-field"));
        assert!(e.msg.contains("'j' is typed in forms and prompts"), "{e}");
        let e = parse(p(), "[keys]\ninput-cancel = \"ctrl-c\"\n").expect_err("ctrl-c");
        assert!(e.msg.contains("always quits"), "{e}");
        // A key taken inside one context is blamed on a binding of that context.
        let e = parse(p(), "[keys]\nprev-field = [\"tab\", \"down\"]\n").expect_err("next-field loses its keys");
        assert!(e.msg.contains("'next-field'") && e.key == "prev-field", "{e}");
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
    fn every_bad_value_is_located_by_the_parser() {
        for (text, line, key, msg) in [
            ("\n[nic]\nbogus = 1\n", 3, "bogus", "unknown field `bogus`"),
            ("flash-seconds = 61.0\n", 1, "flash-seconds", "'61' is out of range: use 0 to 60"),
            ("check-interval = 5\n", 1, "check-interval", "'5' is out of range: use 10 to 86400 seconds"),
            ("theme = \"a b\"\n", 1, "theme", "'a b' is not a theme name"),
            ("sparkline = \"bps\"\n", 1, "sparkline", "'bps' is not a sparkline source: use \"cps\" or \"pps\""),
            ("[keys]\nhelp = [\n  \"?\",\n  \"hyper-x\",\n]\n", 4, "help", "unknown key 'hyper-x'"),
            ("[keys]\nhelp = []\n", 2, "help", "an action needs at least one key"),
            ("[keys]\nquit = \"x\"\ndelete = \"x\"\n", 2, "quit", "leaves 'delete' without a key"),
            ("[nic]\ncrit-percent = 50.0\n", 2, "warn-percent", "'70' is above crit-percent '50'"),
            ("[nic.limits]\n\"a/b\" = 5\n", 2, "a/b", "'a/b' is not an interface name"),
            ("nic.warn-percent = 0\n", 1, "warn-percent", "'0' is out of range: use 1 to 100 (percent)"),
            ("[ssh]\nconnect-timeout = -1\n", 2, "connect-timeout", "'-1' is out of range: use 1 to 60 seconds"),
            ("[ssh]\ntimeout = 601\n", 2, "timeout", "'601' is out of range: use 1 to 600 seconds"),
            ("[ssh]\nparallel = 0\n", 2, "parallel", "'0' is out of range: use 1 to 64"),
            ("interval = [\n", 2, "", "invalid array: expected `]`"),
        ] {
            let e = parse(p(), text).expect_err(text);
            assert_eq!((e.line, e.key.as_str()), (line, key), "{text}: {e}");
            assert!(e.msg.contains(msg), "{text}: {e}");
        }
        let e = parse(p(), "interval = [\n").expect_err("syntax");
        assert_eq!(e.to_string(), "/etc/lvstop/lvstop.toml:2: invalid array: expected `]`");
        let e = ConfigError { file: p().into(), line: 0, key: String::new(), msg: "cannot read: gone".into() };
        assert_eq!(e.to_string(), "/etc/lvstop/lvstop.toml: cannot read: gone");
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
    fn directors_are_local_a_host_or_a_table_and_bad_ones_name_the_key() {
        use crate::remote::director::Target;
        // The commented example, uncommented, is a valid file.
        let example = uncommented("# [directors]");
        let c = parse(p(), &example).map_err(|e| format!("{e}\n{example}")).expect("the [directors] example parses");
        assert_eq!(c.directors.len(), 2, "{example}");
        let c =
            parse(p(), "[directors]\nhere = \"local\"\nlb2 = \"lb2\"\nlb3 = { host = \"2001:db8::3\", port = 2222 }\n")
                .expect("parses");
        assert_eq!(c.directors["here"], Target::Local);
        assert_eq!(
            c.directors["lb2"],
            Target::Ssh { host: "lb2".into(), user: None, port: None, lvstop: "lvstop".into() }
        );
        assert!(matches!(&c.directors["lb3"], Target::Ssh { port: Some(2222), .. }));
        let bad = |body: &str| parse(p(), &format!("[directors]\n{body}\n")).expect_err(body);
        for (body, needle) in [
            ("local = \"lb1\"", "'local' is not a director name"),
            ("\"a b\" = \"lb1\"", "'a b' is not a director name"),
            ("lb2 = \"lb2;reboot\"", "'lb2;reboot' is not an ssh host"),
            ("lb2 = { user = \"ops\" }", "the table has no host"),
            ("lb2 = { host = \"lb2\", lvstop = \"lvstop; id\" }", "lvstop = 'lvstop; id' is not a path"),
            ("lb2 = { host = \"lb2\", where = 1 }", "unknown key 'where' in the table: use host, user, port or lvstop"),
            ("lb2 = 7", "is not a director"),
        ] {
            let e = bad(body);
            assert!(e.msg.contains(needle), "{body}: {e}");
            assert_eq!(e.line, 2, "{body}: {e}");
        }
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
