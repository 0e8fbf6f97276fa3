//! The shape of `lvstop.toml` and its validating types. Every value is checked
//! as it is read, so a bad one fails inside the TOML parser, which knows where
//! it is: the error's span gives the line and the key (see `super::parse`).

use std::collections::BTreeMap;
use std::fmt::{self, Display};
use std::path::PathBuf;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use super::{Key, SparkSource};

/// The range check of every number in the file: `v` in `lo..=hi` (and
/// representable as `T`), else `'v' is out of range: use lo to hi{unit}`.
fn in_range<R, T>(v: R, lo: R, hi: R, unit: &str) -> Result<T, String>
where
    R: PartialOrd + Display + Copy,
    T: TryFrom<R>,
{
    (lo..=hi)
        .contains(&v)
        .then(|| T::try_from(v).ok())
        .flatten()
        .ok_or_else(|| format!("'{v}' is out of range: use {lo} to {hi}{unit}"))
}

/// Newtypes for numbers with a range: `Name: read as => kept as, LO to HI "unit";`.
macro_rules! ranged {
    ($( $(#[$doc:meta])* $name:ident: $raw:ty => $ty:ty, $lo:literal to $hi:literal $unit:literal; )*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct $name(pub $ty);

        impl $name {
            /// The smallest value accepted.
            pub const LO: $raw = $lo;
            /// The largest value accepted.
            pub const HI: $raw = $hi;

            /// `v`, if it is in range; else what is accepted.
            pub fn new(v: $raw) -> Result<Self, String> {
                in_range(v, Self::LO, Self::HI, $unit).map(Self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Self::new(<$raw>::deserialize(d)?).map_err(de::Error::custom)
            }
        }
    )*};
}

ranged! {
    /// Seconds between two snapshots (also `--interval`).
    Interval: f64 => f64, 0.1 to 60.0 " seconds";
    /// The step of `+`/`-` on a weight.
    WeightStep: i64 => u32, 1 to 65535 "";
    /// Seconds a changed value stays highlighted.
    FlashSeconds: f64 => f64, 0.0 to 60.0 "";
    /// Seconds between two runs of the checks in the console.
    CheckInterval: f64 => f64, 10.0 to 86400.0 " seconds";
    /// A NIC load level.
    Percent: f64 => f64, 1.0 to 100.0 " (percent)";
    /// A TCP port.
    Port: i64 => u16, 1 to 65535 "";
    /// Seconds for ssh's TCP connect and handshake.
    ConnectTimeout: i64 => u64, 1 to 60 " seconds";
    /// Seconds for a whole ssh read.
    Timeout: i64 => u64, 1 to 600 " seconds";
    /// Realservers read at once.
    Parallel: i64 => usize, 1 to 64 "";
}

/// Deserialize a string and check it with `check`, which returns the value or
/// what is wrong. The check runs inside the parser's visit, so that its error
/// carries the span of the string itself (an element of an array too).
fn checked_string<'de, D, T, F>(d: D, check: F) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: FnOnce(&str) -> Result<T, String>,
{
    struct Checked<F>(F);
    impl<T, F: FnOnce(&str) -> Result<T, String>> Visitor<'_> for Checked<F> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<T, E> {
            (self.0)(s).map_err(E::custom)
        }
    }
    d.deserialize_str(Checked(check))
}

/// A theme name: a built-in theme or a file name in the user themes directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeName(pub String);

impl<'de> Deserialize<'de> for ThemeName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_string(d, |t| {
            if !t.is_empty() && t.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_') {
                Ok(ThemeName(t.to_string()))
            } else {
                Err(format!("'{t}' is not a theme name: use letters, digits, '-' or '_'"))
            }
        })
    }
}

/// A user name safe on an ssh command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(pub String);

impl<'de> Deserialize<'de> for UserName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_string(d, |u| {
            if crate::remote::valid_user(u) {
                Ok(UserName(u.to_string()))
            } else {
                Err(format!("'{u}' is not a user name: use letters, digits, '.', '_' or '-'"))
            }
        })
    }
}

impl<'de> Deserialize<'de> for SparkSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_string(d, |s| match s {
            "cps" => Ok(SparkSource::Cps),
            "pps" => Ok(SparkSource::Pps),
            _ => Err(format!("'{s}' is not a sparkline source: use \"cps\" or \"pps\"")),
        })
    }
}

/// A practical packets/s limit: a positive number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PpsLimit(pub u64);

impl<'de> Deserialize<'de> for PpsLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        u64::try_from(v)
            .ok()
            .filter(|v| *v > 0)
            .map(PpsLimit)
            .ok_or_else(|| de::Error::custom(format!("'{v}' is not a packets/s limit: use a positive number")))
    }
}

/// One key of `[keys]`.
struct KeyName(Key);

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_string(d, |k| Key::parse(k).map(KeyName))
    }
}

/// The keys of one action: `"d"` or `["d", "ctrl-d"]`, at least one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyList(pub Vec<Key>);

impl<'de> Deserialize<'de> for KeyList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> Visitor<'de> for Keys {
            type Value = KeyList;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key or a list of keys, e.g. \"d\" or [\"d\", \"ctrl-d\"]")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<KeyList, E> {
                Key::parse(s).map(|k| KeyList(vec![k])).map_err(E::custom)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyList, A::Error> {
                let mut keys = Vec::new();
                while let Some(KeyName(k)) = seq.next_element()? {
                    keys.push(k);
                }
                if keys.is_empty() {
                    return Err(de::Error::custom("an action needs at least one key"));
                }
                Ok(KeyList(keys))
            }
        }
        d.deserialize_any(Keys)
    }
}

/// The whole file. Names that are checked after reading (actions, interfaces,
/// realserver addresses, the warning level against the critical one) keep
/// their spans, so their errors are located too.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub interval: Option<Interval>,
    pub weight_step: Option<WeightStep>,
    pub theme: Option<ThemeName>,
    pub sparkline: Option<SparkSource>,
    pub flash_seconds: Option<FlashSeconds>,
    pub check_interval: Option<CheckInterval>,
    pub keys: Option<BTreeMap<Spanned<String>, KeyList>>,
    pub nic: Option<NicFile>,
    pub ssh: Option<SshFile>,
    pub directors: Option<BTreeMap<Spanned<String>, toml::Value>>,
}

/// `[nic]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NicFile {
    pub warn_percent: Option<Spanned<Percent>>,
    pub crit_percent: Option<Spanned<Percent>>,
    pub show_idle: Option<bool>,
    pub limits: Option<BTreeMap<Spanned<String>, PpsLimit>>,
}

/// `[ssh]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SshFile {
    pub user: Option<UserName>,
    pub port: Option<Port>,
    pub identity_file: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    pub connect_timeout: Option<ConnectTimeout>,
    pub timeout: Option<Timeout>,
    pub parallel: Option<Parallel>,
    pub hosts: Option<BTreeMap<Spanned<String>, toml::Value>>,
}

/// One value of `[ssh.hosts]`: an ssh host, "-" (skip: `None`), or a table
/// `{ host = "...", user = "...", port = N }` with every key optional. Checked
/// as a whole, so that its errors name the realserver.
pub fn ssh_host(value: &toml::Value) -> Result<Option<crate::remote::SshHost>, String> {
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
                        h.port = Some(Port::new(*p).map_err(|e| format!("port {e}"))?.0);
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

/// One value of `[directors]`: "local", an ssh host, or a table `{ host =
/// "...", user = "...", port = N, lvstop = "/path/to/lvstop" }` (host
/// required). Checked as a whole, so that its errors name the director.
pub fn director(value: &toml::Value) -> Result<crate::remote::director::Target, String> {
    use crate::remote::director::{valid_lvstop_path, Target, DEFAULT_LVSTOP};
    const USE: &str =
        "use \"local\", an ssh host, or { host = \"lb2\", user = \"ops\", port = 22, lvstop = \"/usr/bin/lvstop\" }";
    let host = |h: &str| -> Result<String, String> {
        if crate::remote::valid_host(h) {
            Ok(h.to_string())
        } else {
            Err(format!("'{h}' is not an ssh host: {USE}"))
        }
    };
    match value {
        toml::Value::String(s) if s == "local" => Ok(Target::Local),
        toml::Value::String(s) => {
            Ok(Target::Ssh { host: host(s)?, user: None, port: None, lvstop: DEFAULT_LVSTOP.into() })
        }
        toml::Value::Table(table) => {
            let (mut h, mut user, mut port, mut lvstop) = (None, None, None, DEFAULT_LVSTOP.to_string());
            for (k, v) in table {
                match (k.as_str(), v) {
                    ("host", toml::Value::String(s)) => h = Some(host(s)?),
                    ("user", toml::Value::String(u)) => {
                        if !crate::remote::valid_user(u) {
                            return Err(format!("user '{u}' is not a user name: use letters, digits, '.', '_' or '-'"));
                        }
                        user = Some(u.clone());
                    }
                    ("port", toml::Value::Integer(p)) => port = Some(Port::new(*p).map_err(|e| format!("port {e}"))?.0),
                    ("lvstop", toml::Value::String(p)) => {
                        if !valid_lvstop_path(p) {
                            return Err(format!("lvstop = '{p}' is not a path: use letters, digits and /._+-"));
                        }
                        lvstop.clone_from(p);
                    }
                    ("host" | "user" | "lvstop", v) => return Err(format!("{k} = {v} is not a string: {USE}")),
                    ("port", v) => return Err(format!("port = {v} is not a number: use 1 to 65535")),
                    (k, _) => return Err(format!("unknown key '{k}' in the table: use host, user, port or lvstop")),
                }
            }
            let host = h.ok_or_else(|| format!("the table has no host: {USE}"))?;
            Ok(Target::Ssh { host, user, port, lvstop })
        }
        v => Err(format!("{v} is not a director: {USE}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_range_check_says_what_is_accepted() {
        assert_eq!(Interval::new(0.05), Err("'0.05' is out of range: use 0.1 to 60 seconds".into()));
        assert_eq!(Interval::new(60.0), Ok(Interval(60.0)));
        assert_eq!(Interval::new(f64::NAN).map_err(|e| e.contains("out of range")), Err(true));
        assert_eq!(WeightStep::new(70_000), Err("'70000' is out of range: use 1 to 65535".into()));
        assert_eq!(Port::new(-1), Err("'-1' is out of range: use 1 to 65535".into()));
        assert_eq!(Percent::new(0.5), Err("'0.5' is out of range: use 1 to 100 (percent)".into()));
        assert_eq!(CheckInterval::new(5.0), Err("'5' is out of range: use 10 to 86400 seconds".into()));
        assert_eq!(Parallel::new(64), Ok(Parallel(64)));
    }
}
