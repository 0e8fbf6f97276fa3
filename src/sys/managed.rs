//! Services managed by a running keepalived or ldirectord: lvstop marks them,
//! warns before an edit the daemon may overwrite, and shows the realservers
//! the daemon configures but the kernel's table lacks (removed by a failed
//! health check) as "down (health check)".

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use crate::model::{Family, Protocol, ServiceKey};

/// A daemon a service is managed by, and the realservers it configures there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Managed {
    /// The daemon and its file: `keepalived (/etc/keepalived/keepalived.conf)`.
    pub by: String,
    /// The realservers the file configures for the service.
    pub realservers: Vec<SocketAddr>,
}

/// A service of a daemon's file, with its realservers.
pub type Configured = (ServiceKey, Vec<SocketAddr>);

/// The process table: name (comm), arguments, whether it runs as root.
fn processes() -> Vec<(String, Vec<String>, bool)> {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};
    let mut system = System::new();
    system.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing().with_cmd(UpdateKind::Always).with_user(UpdateKind::Always),
    );
    system
        .processes()
        .values()
        .map(|p| {
            let args = p.cmd().iter().take(64).map(|a| a.to_string_lossy().into_owned()).collect();
            let root = p.user_id().is_some_and(|u| **u == 0);
            (p.name().to_string_lossy().into_owned(), args, root)
        })
        .collect()
}

/// Which of `names` run here: a process whose name (comm) is one of them, or
/// the file name of its first or second argument (`perl /usr/sbin/ldirectord`).
/// The process table comes from sysinfo.
pub fn running(names: &[&str]) -> Vec<String> {
    let processes: Vec<(String, Vec<String>)> =
        processes().into_iter().map(|(n, a, _)| (n, a.into_iter().take(2).collect())).collect();
    matching(names, &processes)
}

/// The configuration file a keepalived running as root was started with
/// (`-f FILE`, `--use-file FILE`, `--use-file=FILE`), if it names one.
fn keepalived_file(processes: &[(String, Vec<String>, bool)]) -> Option<String> {
    processes.iter().filter(|(_, _, root)| *root).find_map(|(comm, args, _)| {
        let is = comm == "keepalived"
            || args.iter().take(2).any(|a| Path::new(a).file_name().is_some_and(|f| f == "keepalived"));
        if !is {
            return None;
        }
        args.iter().enumerate().find_map(|(i, a)| match a.as_str() {
            "-f" | "--use-file" => args.get(i + 1).cloned(),
            _ => a.strip_prefix("--use-file=").map(str::to_string),
        })
    })
}

/// The `names` that some of `processes` (name, first arguments) is.
fn matching(names: &[&str], processes: &[(String, Vec<String>)]) -> Vec<String> {
    names
        .iter()
        .filter(|n| {
            processes.iter().any(|(comm, args)| {
                comm == *n || args.iter().any(|a| Path::new(a).file_name().is_some_and(|f| f == **n))
            })
        })
        .map(|n| (*n).to_string())
        .collect()
}

fn strip_comments(text: &str) -> String {
    text.lines().map(|l| l.split(['#', '!']).next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// The services a keepalived.conf defines (`virtual_server IP PORT { protocol … }`
/// and `virtual_server fwmark N`; groups are not resolved), each with its
/// `real_server IP PORT` (port 0 when left out, as for a fwmark service).
pub fn parse_keepalived(text: &str) -> Vec<Configured> {
    let text = strip_comments(text).replace('{', " { ").replace('}', " } ");
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i] != "virtual_server" {
            i += 1;
            continue;
        }
        let (a, b) = (tokens.get(i + 1).copied().unwrap_or(""), tokens.get(i + 2).copied().unwrap_or(""));
        // Find the block and its protocol.
        let mut j = i + 1;
        while j < tokens.len() && tokens[j] != "{" {
            j += 1;
        }
        let (mut depth, mut k, mut proto, mut v6) = (0, j, Protocol::Tcp, false);
        let mut reals = Vec::new();
        while k < tokens.len() {
            match tokens[k] {
                "{" => depth += 1,
                "}" => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                "protocol" if depth == 1 => {
                    proto = match tokens.get(k + 1).map(|p| p.to_ascii_uppercase()).as_deref() {
                        Some("UDP") => Protocol::Udp,
                        Some("SCTP") => Protocol::Sctp,
                        _ => Protocol::Tcp,
                    };
                }
                "ip_family" if depth == 1 => v6 = tokens.get(k + 1) == Some(&"inet6"),
                "real_server" if depth == 1 => {
                    if let Some(addr) = tokens.get(k + 1).and_then(|a| a.parse::<IpAddr>().ok()) {
                        let port = tokens.get(k + 2).and_then(|p| p.parse::<u16>().ok()).unwrap_or(0);
                        reals.push(SocketAddr::new(addr, port));
                    }
                }
                _ => {}
            }
            k += 1;
        }
        if a == "fwmark" {
            if let Ok(mark) = b.parse() {
                out.push((ServiceKey::Fwmark { family: if v6 { Family::Inet6 } else { Family::Inet }, mark }, reals));
            }
        } else if let (Ok(addr), Ok(port)) = (a.parse::<IpAddr>(), b.parse::<u16>()) {
            out.push((ServiceKey::Addr { protocol: proto, addr, port }, reals));
        }
        i = k.max(i + 1);
    }
    out
}

/// `IP:PORT`, `[IPv6]:PORT` or a bare address (port 0).
fn addr_port(v: &str) -> Option<SocketAddr> {
    if let Ok(a) = v.parse::<IpAddr>() {
        return Some(SocketAddr::new(a, 0));
    }
    let (a, p) = v.rsplit_once(':')?;
    Some(SocketAddr::new(a.trim_matches(['[', ']']).parse().ok()?, p.parse().ok()?))
}

/// The services an ldirectord.cf defines (`virtual=IP:PORT` or `virtual=MARK`,
/// `protocol=`), each with its `real=IP:PORT` lines.
pub fn parse_ldirectord(text: &str) -> Vec<Configured> {
    let mut out = Vec::new();
    let mut current: Option<(String, Protocol, Vec<SocketAddr>)> = None;
    let flush = |cur: &mut Option<(String, Protocol, Vec<SocketAddr>)>, out: &mut Vec<Configured>| {
        if let Some((v, proto, reals)) = cur.take() {
            if let Ok(mark) = v.parse::<u32>() {
                out.push((ServiceKey::Fwmark { family: Family::Inet, mark }, reals));
            } else if let Some(a) = addr_port(&v).filter(|a| a.port() != 0 || v.ends_with(":0")) {
                out.push((ServiceKey::Addr { protocol: proto, addr: a.ip(), port: a.port() }, reals));
            }
        }
    };
    for line in strip_comments(text).lines() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix("virtual=").or_else(|| t.strip_prefix("virtual =")) {
            flush(&mut current, &mut out);
            current = Some((v.trim().to_string(), Protocol::Tcp, Vec::new()));
        } else if let Some(r) = t.strip_prefix("real=").or_else(|| t.strip_prefix("real =")) {
            if let (Some(c), Some(a)) = (current.as_mut(), r.split_whitespace().next().and_then(addr_port)) {
                c.2.push(a);
            }
        } else if let Some(p) = t.strip_prefix("protocol=").or_else(|| t.strip_prefix("protocol =")) {
            if let Some(c) = current.as_mut() {
                c.1 = match p.trim() {
                    "udp" => Protocol::Udp,
                    "sctp" => Protocol::Sctp,
                    _ => Protocol::Tcp,
                };
            }
        }
    }
    flush(&mut current, &mut out);
    out
}

type Parser = fn(&str) -> Vec<Configured>;

/// The most lvstop reads of keepalived.conf or ldirectord.cf.
const DAEMON_FILE_MAX: u64 = 16 << 20;

/// Services managed by a running daemon: which daemon and file, and the
/// realservers it configures. keepalived's file is the one it was started
/// with (`-f`), else its default.
pub fn detect() -> HashMap<ServiceKey, Managed> {
    let mut out = HashMap::new();
    let table = processes();
    let with_args: Vec<(String, Vec<String>)> =
        table.iter().map(|(n, a, _)| (n.clone(), a.iter().take(2).cloned().collect())).collect();
    let daemons = matching(&["keepalived", "ldirectord"], &with_args);
    let keepalived = keepalived_file(&table).unwrap_or_else(|| "/etc/keepalived/keepalived.conf".into());
    let sources: [(&str, String, Parser); 2] = [
        ("keepalived", keepalived, parse_keepalived),
        ("ldirectord", "/etc/ha.d/ldirectord.cf".into(), parse_ldirectord),
    ];
    for (daemon, file, parse) in sources {
        if !daemons.iter().any(|d| d == daemon) {
            continue;
        }
        if let Ok(text) = super::read_text(&file, DAEMON_FILE_MAX) {
            let by = format!("{daemon} ({})", crate::text::sanitize(&file));
            for (k, realservers) in parse(&text) {
                out.insert(k, Managed { by: by.clone(), realservers });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemons_are_found_by_name_or_by_their_script() {
        let ps = |v: &[(&str, &[&str])]| -> Vec<(String, Vec<String>)> {
            v.iter().map(|(c, a)| ((*c).to_string(), a.iter().map(ToString::to_string).collect())).collect()
        };
        let procs = ps(&[
            ("sshd", &["sshd: /usr/sbin/sshd -D"]),
            ("keepalived", &["/usr/sbin/keepalived", "--dont-fork"]),
            ("perl", &["/usr/bin/perl", "/usr/sbin/ldirectord"]),
        ]);
        assert_eq!(matching(&["keepalived", "ldirectord"], &procs), vec!["keepalived", "ldirectord"]);
        assert!(matching(&["keepalived"], &ps(&[("bash", &["/bin/bash", "/tmp/keepalived-watch.sh"])])).is_empty());
        // This test process, by its executable's name.
        let me = std::env::current_exe().ok().and_then(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()));
        if let Some(me) = me {
            assert_eq!(running(&[me.as_str(), "no-such-daemon"]), vec![me]);
        }
    }

    #[test]
    fn keepalived_virtual_servers() {
        let conf = r"
! Configuration File for keepalived
vrrp_instance VI_1 { state MASTER  virtual_ipaddress { 198.51.100.100 } }
virtual_server 198.51.100.100 80 {
    delay_loop 6
    lb_algo wrr
    lb_kind DR
    protocol TCP
    real_server 198.51.100.11 80 { weight 1 TCP_CHECK { connect_timeout 3 } }
}
virtual_server 198.51.100.100 53 { protocol UDP }
virtual_server fwmark 7 { lb_kind DR }
virtual_server 2001:db8::100 443 { protocol TCP }
";
        let found = parse_keepalived(conf);
        let keys: Vec<ServiceKey> = found.iter().map(|(k, _)| *k).collect();
        let ip: IpAddr = "198.51.100.100".parse().expect("ip");
        assert_eq!(keys.len(), 4, "{keys:?}");
        assert_eq!(found[0].1, vec!["198.51.100.11:80".parse::<SocketAddr>().expect("rs")]);
        assert!(found[1].1.is_empty());
        assert_eq!(keys[0], ServiceKey::tcp(ip, 80));
        assert_eq!(keys[1], ServiceKey::udp(ip, 53));
        assert_eq!(keys[2], ServiceKey::fwmark(Family::Inet, 7));
        assert_eq!(keys[3], ServiceKey::tcp("2001:db8::100".parse().expect("ip"), 443));
    }

    #[test]
    fn ldirectord_virtuals() {
        let conf = "checktimeout=3\nvirtual=198.51.100.100:80\n\treal=198.51.100.11:80 gate\n\tprotocol=tcp\nvirtual=198.51.100.100:53\n\tprotocol=udp\nvirtual=5\n";
        let found = parse_ldirectord(conf);
        let keys: Vec<ServiceKey> = found.iter().map(|(k, _)| *k).collect();
        let ip: IpAddr = "198.51.100.100".parse().expect("ip");
        assert_eq!(keys, vec![ServiceKey::tcp(ip, 80), ServiceKey::udp(ip, 53), ServiceKey::fwmark(Family::Inet, 5)]);
        assert_eq!(found[0].1, vec!["198.51.100.11:80".parse::<SocketAddr>().expect("rs")]);
    }

    #[test]
    fn keepalived_s_own_file_comes_from_its_command_line_when_it_runs_as_root() {
        let p =
            |comm: &str, args: &[&str], root| (comm.to_string(), args.iter().map(ToString::to_string).collect(), root);
        assert_eq!(
            keepalived_file(&[p("keepalived", &["/usr/sbin/keepalived", "--dont-fork", "-f", "/etc/k/lb.conf"], true)]),
            Some("/etc/k/lb.conf".into())
        );
        assert_eq!(
            keepalived_file(&[p("keepalived", &["keepalived", "--use-file=/srv/k.conf"], true)]),
            Some("/srv/k.conf".into())
        );
        assert_eq!(keepalived_file(&[p("keepalived", &["keepalived", "-f", "/etc/shadow"], false)]), None);
        assert_eq!(keepalived_file(&[p("sh", &["/bin/sh", "/tmp/x", "-f", "/etc/k.conf"], true)]), None);
        assert_eq!(keepalived_file(&[p("keepalived", &["keepalived", "-D"], true)]), None);
    }
}
