//! Services managed by a running keepalived or ldirectord: lvstop marks them
//! and warns before an edit the daemon may overwrite.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use crate::model::{Family, Protocol, ServiceKey};

/// Which of `names` run here: a process whose name (comm) is one of them, or
/// the file name of its first or second argument (`perl /usr/sbin/ldirectord`).
/// The process table comes from sysinfo.
pub fn running(names: &[&str]) -> Vec<String> {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};
    let mut system = System::new();
    system.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing().with_cmd(UpdateKind::Always),
    );
    let processes: Vec<(String, Vec<String>)> = system
        .processes()
        .values()
        .map(|p| {
            let args = p.cmd().iter().take(2).map(|a| a.to_string_lossy().into_owned()).collect();
            (p.name().to_string_lossy().into_owned(), args)
        })
        .collect();
    matching(names, &processes)
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
/// and `virtual_server fwmark N`; groups are not resolved).
pub fn parse_keepalived(text: &str) -> Vec<ServiceKey> {
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
                _ => {}
            }
            k += 1;
        }
        if a == "fwmark" {
            if let Ok(mark) = b.parse() {
                out.push(ServiceKey::Fwmark { family: if v6 { Family::Inet6 } else { Family::Inet }, mark });
            }
        } else if let (Ok(addr), Ok(port)) = (a.parse::<IpAddr>(), b.parse::<u16>()) {
            out.push(ServiceKey::Addr { protocol: proto, addr, port });
        }
        i = k.max(i + 1);
    }
    out
}

/// The services an ldirectord.cf defines (`virtual=IP:PORT` or `virtual=MARK`, `protocol=`).
pub fn parse_ldirectord(text: &str) -> Vec<ServiceKey> {
    let mut out = Vec::new();
    let mut current: Option<(String, Protocol)> = None;
    let flush = |cur: &Option<(String, Protocol)>, out: &mut Vec<ServiceKey>| {
        if let Some((v, proto)) = cur {
            if let Ok(mark) = v.parse::<u32>() {
                out.push(ServiceKey::Fwmark { family: Family::Inet, mark });
            } else if let Some((a, p)) = v.rsplit_once(':') {
                if let (Ok(addr), Ok(port)) = (a.trim_matches(['[', ']']).parse::<IpAddr>(), p.parse::<u16>()) {
                    out.push(ServiceKey::Addr { protocol: *proto, addr, port });
                }
            }
        }
    };
    for line in strip_comments(text).lines() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix("virtual=").or_else(|| t.strip_prefix("virtual =")) {
            flush(&current, &mut out);
            current = Some((v.trim().to_string(), Protocol::Tcp));
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
    flush(&current, &mut out);
    out
}

type Parser = fn(&str) -> Vec<ServiceKey>;

/// The most lvstop reads of keepalived.conf or ldirectord.cf.
const DAEMON_FILE_MAX: u64 = 16 << 20;

/// Services managed by a running daemon, with a label naming daemon and file.
pub fn detect() -> HashMap<ServiceKey, String> {
    let mut out = HashMap::new();
    let daemons = running(&["keepalived", "ldirectord"]);
    let sources: [(&str, &str, Parser); 2] = [
        ("keepalived", "/etc/keepalived/keepalived.conf", parse_keepalived),
        ("ldirectord", "/etc/ha.d/ldirectord.cf", parse_ldirectord),
    ];
    for (daemon, file, parse) in sources {
        if !daemons.iter().any(|d| d == daemon) {
            continue;
        }
        if let Ok(text) = super::read_text(file, DAEMON_FILE_MAX) {
            for k in parse(&text) {
                out.insert(k, format!("{daemon} ({file})"));
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
        let keys = parse_keepalived(conf);
        let ip: IpAddr = "198.51.100.100".parse().expect("ip");
        assert_eq!(keys.len(), 4, "{keys:?}");
        assert_eq!(keys[0], ServiceKey::tcp(ip, 80));
        assert_eq!(keys[1], ServiceKey::udp(ip, 53));
        assert_eq!(keys[2], ServiceKey::fwmark(Family::Inet, 7));
        assert_eq!(keys[3], ServiceKey::tcp("2001:db8::100".parse().expect("ip"), 443));
    }

    #[test]
    fn ldirectord_virtuals() {
        let conf = "checktimeout=3\nvirtual=198.51.100.100:80\n\treal=198.51.100.11:80 gate\n\tprotocol=tcp\nvirtual=198.51.100.100:53\n\tprotocol=udp\nvirtual=5\n";
        let keys = parse_ldirectord(conf);
        let ip: IpAddr = "198.51.100.100".parse().expect("ip");
        assert_eq!(keys, vec![ServiceKey::tcp(ip, 80), ServiceKey::udp(ip, 53), ServiceKey::fwmark(Family::Inet, 5)]);
    }
}
