//! How to fix a finding: commands built from typed parts, with advice between
//! them, rendered to text in one place ([`Command`]'s and [`Fix`]'s `Display`).
//! Every value that goes into a command goes through [`shell_quote`], so a
//! realserver's odd interface name or a configured host name cannot turn a
//! copied fix into another command.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use super::evidence::Sysctl;
use crate::model::{fmt_addr_port, ipvsadm, DestSpec, ForwardMethod, ServiceKey};

/// `s` as one POSIX sh word: as it is when it is plain
/// (`[A-Za-z0-9@%+=:,./_-]`, not empty), else in single quotes, each `'`
/// written `'\''`.
pub fn shell_quote(s: &str) -> Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(format!("'{}'", s.replace('\'', r"'\''")))
    }
}

/// One word of a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Word {
    /// Fixed syntax (a program, an option, `|`), written as it is.
    Lit(&'static str),
    /// A value, quoted for the shell when it needs to be.
    Val(String),
    /// Something the operator fills in, written `<like this>`.
    Hole(&'static str),
}

/// The interface of an `ip addr` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dev {
    /// A named interface.
    Named(String),
    /// The director's client-facing interface, which lvstop cannot know.
    ClientFacing,
}

/// Add or delete, for `ip addr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrOp {
    /// `ip addr add`.
    Add,
    /// `ip addr del`.
    Del,
}

/// A command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command(Vec<Word>);

fn val(v: impl fmt::Display) -> Word {
    Word::Val(v.to_string())
}

/// An interface name as a word: the name, or a hole when it is not one lvstop
/// places in a command ([`crate::text::valid_ifname`]).
fn dev_word(name: &str) -> Word {
    if crate::text::valid_ifname(name) {
        Word::Val(name.to_string())
    } else {
        Word::Hole(INVALID_DEV)
    }
}

/// What stands for an interface whose name lvstop will not place in a command.
const INVALID_DEV: &str = "interface with an invalid name";

/// A service key as ipvsadm arguments (`-t ADDR:PORT`, `-f MARK`).
fn service_words(key: &ServiceKey) -> Vec<Word> {
    ipvsadm::key_args(key).split_whitespace().map(val).collect()
}

impl Command {
    /// `sysctl -w KEY=VALUE …`.
    pub fn sysctl(settings: impl IntoIterator<Item = (Sysctl, u32)>) -> Command {
        let mut w = vec![Word::Lit("sysctl"), Word::Lit("-w")];
        w.extend(settings.into_iter().map(|(k, v)| match &k {
            Sysctl::Conf { dev, .. }
                if !matches!(dev.as_str(), "all" | "default" | "*") && !crate::text::valid_ifname(dev) =>
            {
                Word::Hole(INVALID_DEV)
            }
            _ => Word::Val(format!("{k}={v}")),
        }));
        Command(w)
    }

    /// `sysctl -w net.ipv4.conf.all.KEY=V net.ipv4.conf.DEV.KEY=V`.
    pub fn sysctl_all_and(dev: &str, key: &'static str, v: u32) -> Command {
        Command::sysctl([(Sysctl::conf("all", key), v), (Sysctl::conf(dev, key), v)])
    }

    /// `ip addr add|del ADDR/PREFIX dev DEV`.
    pub fn ip_addr(op: AddrOp, addr: IpAddr, prefix: u8, dev: Dev) -> Command {
        let op = match op {
            AddrOp::Add => "add",
            AddrOp::Del => "del",
        };
        let dev = match dev {
            Dev::Named(d) => dev_word(&d),
            Dev::ClientFacing => Word::Hole("client-facing interface"),
        };
        Command(vec![
            Word::Lit("ip"),
            Word::Lit("addr"),
            Word::Lit(op),
            val(format!("{addr}/{prefix}")),
            Word::Lit("dev"),
            dev,
        ])
    }

    /// `ip route get ADDR`.
    pub fn route_get(addr: IpAddr) -> Command {
        Command(vec![Word::Lit("ip"), Word::Lit("route"), Word::Lit("get"), val(addr)])
    }

    /// `ip route replace default via <the real router>`.
    pub fn default_via_router() -> Command {
        let w = ["ip", "route", "replace", "default", "via"].map(Word::Lit);
        Command(w.into_iter().chain([Word::Hole("the real router")]).collect())
    }

    /// `ping -c1 ADDR`.
    pub fn ping(addr: IpAddr) -> Command {
        Command(vec![Word::Lit("ping"), Word::Lit("-c1"), val(addr)])
    }

    /// `ipvsadm -d SERVICE -r ADDR:PORT`.
    pub fn ipvsadm_delete(service: &ServiceKey, addr: IpAddr, port: u16) -> Command {
        let mut w = vec![Word::Lit("ipvsadm"), Word::Lit("-d")];
        w.extend(service_words(service));
        w.extend([Word::Lit("-r"), val(fmt_addr_port(&addr, port))]);
        Command(w)
    }

    /// `ipvsadm -a SERVICE -r ADDR:PORT -g|-i|-m -w WEIGHT`.
    pub fn ipvsadm_add(service: &ServiceKey, addr: IpAddr, port: u16, forward: ForwardMethod, weight: u32) -> Command {
        let mut w = vec![Word::Lit("ipvsadm"), Word::Lit("-a")];
        w.extend(service_words(service));
        w.extend([Word::Lit("-r"), val(fmt_addr_port(&addr, port)), Word::Lit(ipvsadm::forward_switch(forward))]);
        w.extend([Word::Lit("-w"), val(weight)]);
        Command(w)
    }

    /// `ipvsadm -e SERVICE -r ADDR:PORT …` with every setting of `dest`.
    pub fn ipvsadm_edit(service: &ServiceKey, dest: &DestSpec) -> Command {
        let args = ipvsadm::dest_args(service, dest);
        Command([Word::Lit("ipvsadm"), Word::Lit("-e")].into_iter().chain(args.split_whitespace().map(val)).collect())
    }

    /// `ipvsadm -E SERVICE -s SCHED …` with every setting of `spec`.
    pub fn ipvsadm_edit_service(spec: &crate::model::ServiceSpec) -> Command {
        let args = ipvsadm::service_args(spec);
        Command([Word::Lit("ipvsadm"), Word::Lit("-E")].into_iter().chain(args.split_whitespace().map(val)).collect())
    }

    /// `arping -U -c 3 -I DEV ADDR`: unsolicited ARP, to correct neighbours' caches.
    pub fn arping(name: &str, addr: IpAddr) -> Command {
        let w = ["arping", "-U", "-c", "3", "-I"].map(Word::Lit);
        Command(w.into_iter().chain([dev_word(name), val(addr)]).collect())
    }

    /// `ethtool -S DEV`.
    pub fn ethtool_stats(name: &str) -> Command {
        Command(vec![Word::Lit("ethtool"), Word::Lit("-S"), dev_word(name)])
    }

    /// `ethtool -G DEV rx ENTRIES`.
    pub fn ethtool_rx_ring(name: &str, entries: u32) -> Command {
        Command(vec![Word::Lit("ethtool"), Word::Lit("-G"), dev_word(name), Word::Lit("rx"), val(entries)])
    }

    /// `journalctl -k | grep PATTERN`.
    pub fn kernel_log_grep(pattern: &str) -> Command {
        Command(vec![Word::Lit("journalctl"), Word::Lit("-k"), Word::Lit("|"), Word::Lit("grep"), val(pattern)])
    }

    /// `ssh -o BatchMode=yes HOST true`: whether HOST is reachable without a prompt.
    pub fn ssh_batch(host: &str) -> Command {
        let w = [Word::Lit("ssh"), Word::Lit("-o"), Word::Lit("BatchMode=yes"), val(host), Word::Lit("true")];
        Command(w.to_vec())
    }

    /// `lvstop diff A B`: the differences of two directors' tables.
    pub fn lvstop_diff(a: &str, b: &str) -> Command {
        Command(vec![Word::Lit("lvstop"), Word::Lit("diff"), val(a), val(b)])
    }

    /// `ipvsadm --start-daemon STATE --mcast-interface IFACE --syncid ID`.
    pub fn ipvsadm_start_daemon(state: &'static str, iface: &str, syncid: u32) -> Command {
        Command(vec![
            Word::Lit("ipvsadm"),
            Word::Lit("--start-daemon"),
            Word::Lit(state),
            Word::Lit("--mcast-interface"),
            dev_word(iface),
            Word::Lit("--syncid"),
            val(syncid),
        ])
    }

    /// `lvstop check --vip VIP --realserver ADDR:PORT` (`--tunnel-realserver`
    /// for a tunnelled one); a service without a VIP (fwmark): `lvstop check`,
    /// which reads every realserver of the table.
    pub fn check_realserver(vip: Option<IpAddr>, addr: IpAddr, port: u16, tunnel: bool) -> Command {
        let mut w = vec![Word::Lit("lvstop"), Word::Lit("check")];
        // lvstop check reads --realserver RIPs for an IPv4 --vip only.
        if let Some(vip @ IpAddr::V4(_)) = vip {
            let opt = if tunnel { "--tunnel-realserver" } else { "--realserver" };
            w.extend([Word::Lit("--vip"), val(vip), Word::Lit(opt), val(fmt_addr_port(&addr, port))]);
        }
        Command(w)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, w) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match w {
                Word::Lit(s) => f.write_str(s)?,
                Word::Val(s) => f.write_str(&shell_quote(s))?,
                Word::Hole(s) => write!(f, "<{s}>")?,
            }
        }
        Ok(())
    }
}

/// A piece of a fix.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// A command to run.
    Run(Command),
    /// `on HOST: `: where what follows runs.
    On(String),
    /// Advice, or the words between commands.
    Text(Cow<'static, str>),
}

/// How to fix a finding: commands and advice, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix(Vec<Piece>);

impl Fix {
    /// Run `c`.
    pub fn run(c: Command) -> Fix {
        Fix(vec![Piece::Run(c)])
    }

    /// Advice with no command.
    pub fn advice(text: impl Into<Cow<'static, str>>) -> Fix {
        Fix(vec![Piece::Text(text.into())])
    }

    /// Run `c` on another host: `on HOST: c`.
    pub fn on(host: impl fmt::Display, c: Command) -> Fix {
        Fix(vec![Piece::On(host.to_string()), Piece::Run(c)])
    }

    /// A step that says what it is for: `LABEL: c`.
    pub fn step(label: &'static str, c: Command) -> Fix {
        Fix(vec![Piece::Text(Cow::Borrowed(label)), Piece::Text(Cow::Borrowed(": ")), Piece::Run(c)])
    }

    fn text(mut self, t: impl Into<Cow<'static, str>>) -> Fix {
        self.0.push(Piece::Text(t.into()));
        self
    }

    fn push(mut self, other: Fix) -> Fix {
        self.0.extend(other.0);
        self
    }

    /// Then run `c`: `…; c`.
    #[must_use]
    pub fn then(self, c: Command) -> Fix {
        self.text("; ").push(Fix::run(c))
    }

    /// Then a step that says what it is for: `…; LABEL: c`.
    #[must_use]
    pub fn then_step(self, label: &'static str, c: Command) -> Fix {
        self.text("; ").push(Fix::step(label, c))
    }

    /// Then advice: `…; TEXT`.
    #[must_use]
    pub fn then_advice(self, text: &'static str) -> Fix {
        self.text("; ").text(text)
    }

    /// Once the advice is followed, run `c`: `…, then c`.
    #[must_use]
    pub fn and_then(self, c: Command) -> Fix {
        self.text(", then ").push(Fix::run(c))
    }

    /// A comment set apart after a command: `…   (TEXT)`.
    #[must_use]
    pub fn aside(self, text: &'static str) -> Fix {
        self.text("   (").text(text).text(")")
    }

    /// A parenthesis: `… (TEXT)`.
    #[must_use]
    pub fn paren(self, text: &'static str) -> Fix {
        self.text(" (").text(text).text(")")
    }

    /// The commands of the fix, in order.
    pub fn commands(&self) -> impl Iterator<Item = &Command> {
        self.0.iter().filter_map(|p| match p {
            Piece::Run(c) => Some(c),
            _ => None,
        })
    }
}

impl fmt::Display for Fix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            match p {
                Piece::Run(c) => write!(f, "{c}")?,
                Piece::On(host) => write!(f, "on {host}: ")?,
                Piece::Text(t) => f.write_str(t)?,
            }
        }
        Ok(())
    }
}

impl serde::Serialize for Fix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServiceKey;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn plain_words_stay_and_others_are_single_quoted() {
        assert_eq!(shell_quote("eth0.100"), "eth0.100");
        assert_eq!(shell_quote("net.ipv4.conf.all.rp_filter=2"), "net.ipv4.conf.all.rp_filter=2");
        assert_eq!(shell_quote("user@rs-1.example:22"), "user@rs-1.example:22");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("martian source"), "'martian source'");
        assert_eq!(shell_quote("a;rm -rf /"), "'a;rm -rf /'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(x)`y`"), "'$(x)`y`'");
        assert_eq!(shell_quote("[2001:db8::1]:80"), "'[2001:db8::1]:80'");
    }

    #[test]
    fn an_interface_with_an_invalid_name_is_never_placed_in_a_command() {
        let bad = "x;touch${IFS}/p";
        let f = Fix::run(Command::sysctl_all_and(bad, "rp_filter", 2));
        assert_eq!(f.to_string(), "sysctl -w net.ipv4.conf.all.rp_filter=2 <interface with an invalid name>");
        let f = Fix::run(Command::ip_addr(AddrOp::Del, ip("198.51.100.100"), 24, Dev::Named(bad.into())));
        assert_eq!(f.to_string(), "ip addr del 198.51.100.100/24 dev <interface with an invalid name>");
        for c in [
            Command::arping(bad, ip("198.51.100.100")),
            Command::ethtool_stats(bad),
            Command::ethtool_rx_ring(bad, 4096),
        ] {
            assert!(
                c.to_string().contains("<interface with an invalid name>") && !c.to_string().contains("touch"),
                "{c}"
            );
        }
    }

    #[test]
    fn fixes_render_as_the_commands_an_operator_types() {
        let sysctl = |dev: &str, key, v| (Sysctl::conf(dev, key), v);
        let f = Fix::run(Command::sysctl([sysctl("all", "rp_filter", 2), sysctl("eth0", "rp_filter", 2)]));
        assert_eq!(f.to_string(), "sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.eth0.rp_filter=2");
        let f = Fix::run(Command::ip_addr(AddrOp::Del, ip("198.51.100.100"), 24, Dev::Named("lo".into())))
            .then(Command::ip_addr(AddrOp::Add, ip("198.51.100.100"), 32, Dev::Named("lo".into())));
        assert_eq!(f.to_string(), "ip addr del 198.51.100.100/24 dev lo; ip addr add 198.51.100.100/32 dev lo");
        let f = Fix::run(Command::ip_addr(AddrOp::Add, ip("2001:db8::100"), 128, Dev::ClientFacing));
        assert_eq!(f.to_string(), "ip addr add 2001:db8::100/128 dev <client-facing interface>");
        let f = Fix::run(Command::sysctl([(Sysctl::Ipv4("ip_forward"), 0)])).aside("and persist it in /etc/sysctl.d/");
        assert_eq!(f.to_string(), "sysctl -w net.ipv4.ip_forward=0   (and persist it in /etc/sysctl.d/)");
        let svc = ServiceKey::tcp(ip("198.51.100.101"), 80);
        let f = Fix::run(Command::ipvsadm_delete(&svc, ip("198.51.100.11"), 8080)).then(Command::ipvsadm_add(
            &svc,
            ip("198.51.100.11"),
            80,
            ForwardMethod::Route,
            0,
        ));
        assert_eq!(
            f.to_string(),
            "ipvsadm -d -t 198.51.100.101:80 -r 198.51.100.11:8080; ipvsadm -a -t 198.51.100.101:80 -r 198.51.100.11:80 -g -w 0"
        );
        let dest = DestSpec::new(ip("198.51.100.12"), 80, ForwardMethod::Tunnel).weight(0);
        let f =
            Fix::step("check it", Command::check_realserver(Some(ip("198.51.100.101")), ip("198.51.100.12"), 80, true))
                .paren("VIP on lo, a listener on VIP:port, rp_filter, its gateway")
                .then_step("meanwhile drain it (d in the console)", Command::ipvsadm_edit(&svc, &dest));
        assert_eq!(
            f.to_string(),
            "check it: lvstop check --vip 198.51.100.101 --tunnel-realserver 198.51.100.12:80 (VIP on lo, a listener on VIP:port, rp_filter, its gateway); \
             meanwhile drain it (d in the console): ipvsadm -e -t 198.51.100.101:80 -r 198.51.100.12:80 -i -w 0 --tun-type ipip"
        );
        let f = Fix::on("realserver 198.51.100.11", Command::sysctl([(Sysctl::conf("all", "arp_announce"), 2)]))
            .then_step("then here", Command::arping("eth0", ip("198.51.100.100")));
        assert_eq!(
            f.to_string(),
            "on realserver 198.51.100.11: sysctl -w net.ipv4.conf.all.arp_announce=2; then here: arping -U -c 3 -I eth0 198.51.100.100"
        );
        let f = Fix::run(Command::sysctl([(Sysctl::conf("all", "log_martians"), 1)]))
            .then(Command::kernel_log_grep("martian source"));
        assert_eq!(f.to_string(), "sysctl -w net.ipv4.conf.all.log_martians=1; journalctl -k | grep 'martian source'");
        assert_eq!(f.commands().count(), 2);
    }

    #[test]
    fn values_from_outside_are_quoted() {
        let f = Fix::step("check access without a prompt", Command::ssh_batch("rs1 'x"));
        assert_eq!(f.to_string(), r"check access without a prompt: ssh -o BatchMode=yes 'rs1 '\''x' true");
        assert_eq!(Command::kernel_log_grep("it's").to_string(), r"journalctl -k | grep 'it'\''s'");
    }
}
