//! Several directors: two network namespaces, each with its own IPVS table,
//! sshd and lvstop, on a bridge; `lvstop diff` reads both over ssh (lvstop's
//! agent) and is checked against ipvsadm in each namespace.

use std::time::{Duration, Instant};

use super::cases::Tmux;
use super::util::{ensure, lvstop_bin, sh, sh_in, sh_status};

const DIR: &str = "/tmp/directors";

/// The pair's table, the same on both before anything is planted.
const PAIR: &str = "\
-A -t 203.0.113.10:80 -s wlc
-a -t 203.0.113.10:80 -r 198.51.100.11:80 -g -w 1
-a -t 203.0.113.10:80 -r 198.51.100.12:80 -g -w 1
-a -t 203.0.113.10:80 -r 198.51.100.13:80 -g -w 2 -x 100 -y 50
-A -t 203.0.113.10:443 -s sh -b sh-fallback -p 300
-a -t 203.0.113.10:443 -r 198.51.100.11:443 -g -w 1
-a -t 203.0.113.10:443 -r 198.51.100.12:443 -g -w 1
-A -u [2001:db8::10]:53 -s rr
-a -u [2001:db8::10]:53 -r [2001:db8::11]:53 -g -w 1
-A -f 7 -s rr
-a -f 7 -r 198.51.100.11:0 -g -w 1
";

/// Namespace `ns` at `addr` on bridge `lbbr`, running sshd on that address.
fn director_ns(ns: &str, n: u8) -> Result<(), String> {
    let addr = format!("2001:db8:d::{n}");
    sh(&format!(
        "ip netns add {ns} && ip link add v{ns} type veth peer name eth0 netns {ns} && ip link set v{ns} master lbbr up && \
         ip -n {ns} link set lo up && ip -n {ns} link set eth0 up && ip -n {ns} addr add {addr}/64 dev eth0 nodad && \
         ssh-keygen -q -t ed25519 -N '' -f {DIR}/host_{ns} && \
         printf 'ListenAddress {addr}\\nHostKey {DIR}/host_{ns}\\nPidFile {DIR}/sshd_{ns}.pid\\nAuthorizedKeysFile {DIR}/authorized_keys\\n\
PermitRootLogin prohibit-password\\nPasswordAuthentication no\\nKbdInteractiveAuthentication no\\nUsePAM no\\nStrictModes no\\n\
SetEnv LVSTOP_AUDIT_LOG={DIR}/audit_{ns}.log\\n' > {DIR}/sshd_{ns}.conf && \
         ip netns exec {ns} /usr/sbin/sshd -f {DIR}/sshd_{ns}.conf && \
         for i in $(seq 300); do [ -s {DIR}/sshd_{ns}.pid ] && break; sleep 0.1; done && [ -s {DIR}/sshd_{ns}.pid ] && \
         echo \"{addr} $(cut -d' ' -f1,2 {DIR}/host_{ns}.pub)\" >> {DIR}/known_hosts"
    ))
    .map(drop)
}

fn teardown() {
    let _ = sh_status(&format!(
        "for ns in lb1 lb2; do [ -f {DIR}/sshd_$ns.pid ] && kill $(cat {DIR}/sshd_$ns.pid); ip netns del $ns; done; ip link del lbbr; rm -rf {DIR}; true"
    ));
}

/// `lvstop diff` with the pair's configuration: (status, stdout, stderr).
fn diff(args: &str) -> (i32, String, String) {
    sh_status(&format!("LVSTOP_CONFIG={DIR}/lvstop.toml {} diff {args}", lvstop_bin()))
}

/// One difference: what, service, realserver, fields (`name:B->A`).
type Found = (String, String, String, String);

/// The exit status, differences and commands of `lvstop diff A B --json`.
fn differences(a: &str, b: &str) -> Result<(i32, Vec<Found>, Vec<String>), String> {
    let (code, out, err) = diff(&format!("{a} {b} --json"));
    let doc: serde_json::Value = serde_json::from_str(&out).map_err(|e| format!("diff --json: {e}\n{out}\n{err}"))?;
    let mut found = Vec::new();
    let mut commands = Vec::new();
    for d in doc["differences"].as_array().ok_or_else(|| format!("no differences array: {out}"))? {
        let s = |k: &str| d[k].as_str().unwrap_or("").to_string();
        let fields: Vec<String> = d["fields"]
            .as_array()
            .map(|f| f.iter().map(|f| format!("{}:{}->{}", f["name"].as_str().unwrap_or(""), f["b"], f["a"])).collect())
            .unwrap_or_default();
        found.push((s("what"), s("service"), s("realserver"), fields.join(",")));
        commands.push(s("command"));
    }
    ensure(doc["same"].as_bool() == Some(found.is_empty()), || format!("same disagrees: {out}"))?;
    Ok((code, found, commands))
}

fn saved(ns: &str) -> Result<String, String> {
    sh(&format!("ip netns exec {ns} ipvsadm -S -n"))
}

/// Two directors compared over ssh: the same tables exit 0; each planted
/// difference is found exactly, with the command that undoes it, and
/// running those commands on B makes ipvsadm's saved rules of both equal;
/// an unreachable director and one without lvstop are told within the timeout.
pub fn two_directors_diff() -> Result<(), String> {
    teardown();
    let r = (|| {
        sh(&format!(
            "mkdir -p {DIR} /run/sshd && ssh-keygen -q -t ed25519 -N '' -f {DIR}/client && cp {DIR}/client.pub {DIR}/authorized_keys && \
             : > {DIR}/known_hosts && ip link add name lbbr type bridge && ip link set lbbr up && ip addr add 2001:db8:d::100/64 dev lbbr nodad"
        ))?;
        ensure(std::path::Path::new("/usr/sbin/sshd").exists(), || "no /usr/sbin/sshd: install openssh-server".into())?;
        director_ns("lb1", 1)?;
        director_ns("lb2", 2)?;
        let bin = lvstop_bin();
        std::fs::write(
            format!("{DIR}/lvstop.toml"),
            format!(
                "[ssh]\nuser = \"root\"\nidentity-file = \"{DIR}/client\"\nknown-hosts = \"{DIR}/known_hosts\"\nconnect-timeout = 3\ntimeout = 30\n\n\
                 [directors]\nlb1 = {{ host = \"2001:db8:d::1\", lvstop = \"{bin}\" }}\nlb2 = {{ host = \"2001:db8:d::2\", lvstop = \"{bin}\" }}\n\
                 gone = {{ host = \"2001:db8:d::9\", lvstop = \"{bin}\" }}\nnolvstop = {{ host = \"2001:db8:d::2\", lvstop = \"/nonexistent/lvstop\" }}\n"
            ),
        )
        .map_err(|e| e.to_string())?;
        for ns in ["lb1", "lb2"] {
            sh_in(&format!("ip netns exec {ns} ipvsadm -R"), Some(PAIR))?;
        }
        // The same tables: exit 0, nothing listed.
        let (code, found, _) = differences("lb1", "lb2")?;
        ensure(code == 0 && found.is_empty(), || format!("the same tables: exit {code}, {found:?}"))?;
        let (code, out, err) = diff("lb1 lb2");
        ensure(code == 0 && out.contains("the tables are the same"), || format!("text diff: {code} {out} {err}"))?;

        // Plant: a missing service, another weight, a missing realserver, a service on B only, another scheduler.
        sh(
            "ip netns exec lb2 sh -c 'ipvsadm -D -f 7 && ipvsadm -e -t 203.0.113.10:80 -r 198.51.100.12:80 -g -w 0 && \
            ipvsadm -d -t 203.0.113.10:443 -r 198.51.100.12:443 && ipvsadm -A -t 203.0.113.99:80 -s rr && \
            ipvsadm -E -u [2001:db8::10]:53 -s wrr'",
        )?;
        let (code, found, commands) = differences("lb1", "lb2")?;
        let want: Vec<Found> = [
            ("differs", "-t 203.0.113.10:80", "198.51.100.12:80", "weight:\"0\"->\"1\""),
            ("only-in-a", "-t 203.0.113.10:443", "198.51.100.12:443", ""),
            ("only-in-b", "-t 203.0.113.99:80", "", ""),
            ("differs", "-u [2001:db8::10]:53", "", "scheduler:\"wrr\"->\"rr\""),
            ("only-in-a", "-f 7", "", ""),
            ("only-in-a", "-f 7", "198.51.100.11:0", ""),
        ]
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect();
        ensure(code == 1, || format!("planted differences: exit {code}"))?;
        let (mut got, mut wanted) = (found.clone(), want.clone());
        got.sort();
        wanted.sort();
        ensure(got == wanted, || format!("differences:\n got {found:?}\nwant {want:?}"))?;
        // The text form lists the same commands.
        let (code, text, _) = diff("lb1 lb2");
        ensure(code == 1 && commands.iter().all(|c| text.contains(c.as_str())), || format!("text:\n{text}"))?;
        // Run them on B: then ipvsadm sees the same rules on both, and diff agrees.
        sh_in("ip netns exec lb2 sh -e", Some(&commands.join("\n")))?;
        let (a, b) = (saved("lb1")?, saved("lb2")?);
        ensure(a == b, || format!("after the commands, ipvsadm -S differs:\nlb1:\n{a}\nlb2:\n{b}"))?;
        let (code, found, _) = differences("lb1", "lb2")?;
        ensure(code == 0 && found.is_empty(), || format!("after the commands: exit {code}, {found:?}"))?;

        // dump and save of another director: what lvstop there prints itself.
        let there = sh(&format!("ip netns exec lb2 {bin} save"))?;
        let here = sh(&format!("LVSTOP_CONFIG={DIR}/lvstop.toml {bin} save --director lb2"))?;
        ensure(here == there && !here.is_empty(), || format!("save --director lb2:\n{here}\nthere:\n{there}"))?;
        let dump = sh(&format!("LVSTOP_CONFIG={DIR}/lvstop.toml {bin} dump --director lb2"))?;
        let listed = sh("ip netns exec lb2 ipvsadm -L -n")?;
        for line in listed.lines().filter(|l| l.starts_with("TCP") || l.starts_with("UDP") || l.starts_with("FWM")) {
            let key = line.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
            ensure(dump.contains(&key), || format!("dump --director lb2 lacks {key}:\n{dump}"))?;
        }

        // A dump file kept earlier is a director too.
        sh(&format!("ip netns exec lb1 {bin} dump --json > {DIR}/lb1.json"))?;
        sh("ip netns exec lb1 ipvsadm -e -t 203.0.113.10:80 -r 198.51.100.11:80 -g -w 5")?;
        let (code, found, _) = differences(&format!("{DIR}/lb1.json"), "lb1")?;
        ensure(code == 1 && found.len() == 1 && found[0].3 == "weight:\"5\"->\"1\"", || {
            format!("file vs lb1: {found:?}")
        })?;

        // Unreachable, and lvstop missing there: told within the timeout, naming the director.
        let t = Instant::now();
        let (code, _, err) = diff("lb1 gone");
        ensure(code != 0 && code != 1 && err.contains("director gone"), || format!("unreachable: {code} {err}"))?;
        ensure(t.elapsed() < Duration::from_secs(15), || format!("unreachable took {:?}", t.elapsed()))?;
        let (code, _, err) = diff("lb1 nolvstop");
        ensure(code > 1 && err.contains("lvstop is not installed"), || format!("missing lvstop: {code} {err}"))?;
        let (code, _, err) = diff("lb1 nosuch");
        ensure(code > 1 && err.contains("'nosuch' is not a director") && err.contains("lb1, lb2"), || {
            format!("{code} {err}")
        })?;
        pair_checks()
    })();
    teardown();
    r
}

/// `lvstop check --director lb1 --director lb2 --json`: exit status, and
/// each finding as `RULE subject | evidence | fix`.
fn pair_findings() -> Result<(i32, Vec<String>), String> {
    let (code, out, err) = sh_status(&format!(
        "LVSTOP_CONFIG={DIR}/lvstop.toml {} check --director lb1 --director lb2 --json",
        lvstop_bin()
    ));
    let doc: serde_json::Value = serde_json::from_str(&out).map_err(|e| format!("check --json: {e}\n{out}\n{err}"))?;
    let s = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let found = doc["findings"]
        .as_array()
        .ok_or_else(|| format!("no findings: {out}"))?
        .iter()
        .map(|f| format!("{} {} | {} | {}", s(&f["id"]), s(&f["subject"]), s(&f["evidence"]), s(&f["fix"])))
        .collect();
    Ok((code, found))
}

/// The pair rules on the two namespaces: each planted fault found, and the
/// daemons lvstop read are the ones ipvsadm lists.
fn pair_checks() -> Result<(), String> {
    let rules =
        |found: &[String]| found.iter().map(|f| f.split(' ').next().unwrap_or("").to_string()).collect::<Vec<_>>();
    sh("ip netns exec lb2 ipvsadm -e -t 203.0.113.10:80 -r 198.51.100.11:80 -g -w 5")?;
    sh("ip -n lb1 addr add 203.0.113.10/32 dev eth0 && ip -n lb1 addr add 2001:db8::10/128 dev eth0 nodad")?;
    let (code, found) = pair_findings()?;
    ensure(code == 0 && found.is_empty(), || format!("a healthy pair: exit {code}, {found:#?}"))?;

    // A master sync daemon on lb1 alone; then lb2's backup with another syncid.
    sh("ip netns exec lb1 ipvsadm --start-daemon master --mcast-interface eth0 --syncid 7")?;
    let (code, found) = pair_findings()?;
    ensure(code == 0 && rules(&found) == ["P-SYNC-ONESIDED"], || format!("one-sided: {code} {found:#?}"))?;
    let fix = "on lb2: ipvsadm --start-daemon backup --mcast-interface eth0 --syncid 7";
    ensure(found[0].ends_with(fix), || format!("one-sided fix: {found:#?}"))?;
    sh("ip netns exec lb2 ipvsadm --start-daemon backup --mcast-interface eth0 --syncid 8")?;
    let daemons = sh("ip netns exec lb2 ipvsadm -L --daemon")?;
    ensure(daemons.contains("backup sync daemon (mcast=eth0, syncid=8,"), || format!("ipvsadm --daemon: {daemons}"))?;
    let (code, found) = pair_findings()?;
    ensure(code == 1 && rules(&found) == ["P-SYNC-ID"], || format!("syncid: {code} {found:#?}"))?;
    ensure(found[0].contains("syncid 8") && found[0].contains("--syncid 7"), || format!("syncid: {found:#?}"))?;
    sh("ip netns exec lb2 ipvsadm --stop-daemon backup && ip netns exec lb2 ipvsadm --start-daemon backup --mcast-interface eth0 --syncid 7")?;
    let (code, found) = pair_findings()?;
    ensure(code == 0 && found.is_empty(), || format!("sync fixed: exit {code}, {found:#?}"))?;

    // Both hold the VIPs (split brain), then neither; then the tables drift.
    sh("ip -n lb2 addr add 203.0.113.10/32 dev eth0 && ip -n lb2 addr add 2001:db8::10/128 dev eth0 nodad")?;
    let (code, found) = pair_findings()?;
    ensure(code == 1 && rules(&found) == ["P-VIP-SPLIT", "P-VIP-SPLIT"], || format!("split: {code} {found:#?}"))?;
    ensure(found[0].contains(r#""holders":["lb1 (eth0)","lb2 (eth0)"]"#), || format!("split: {found:#?}"))?;
    for ns in ["lb1", "lb2"] {
        sh(&format!("ip -n {ns} addr del 203.0.113.10/32 dev eth0 && ip -n {ns} addr del 2001:db8::10/128 dev eth0"))?;
    }
    let (code, found) = pair_findings()?;
    ensure(code == 1 && rules(&found) == ["P-VIP-NONE", "P-VIP-NONE"], || format!("none: {code} {found:#?}"))?;
    sh("ip -n lb1 addr add 203.0.113.10/32 dev eth0 && ip -n lb1 addr add 2001:db8::10/128 dev eth0 nodad")?;
    sh("ip netns exec lb2 ipvsadm -e -t 203.0.113.10:443 -r 198.51.100.11:443 -g -w 0")?;
    let (code, found) = pair_findings()?;
    ensure(code == 1 && rules(&found) == ["P-DRIFT"], || format!("drift: {code} {found:#?}"))?;
    ensure(found[0].contains(r#""differ":1"#) && found[0].contains("lvstop diff lb1 lb2"), || format!("{found:#?}"))?;
    console_pair()?;
    console_started_on_another_director()
}

/// `lvstop --director lb2`: the console opens on lb2's table, read through
/// its agent (it once asked for that read and dropped the request: the
/// table never came).
fn console_started_on_another_director() -> Result<(), String> {
    let t = Tmux { session: "other" };
    sh(&format!(
        "tmux new-session -d -s other -x 160 -y 48 'LVSTOP_CONFIG={DIR}/lvstop.toml ip netns exec lb1 {} --director lb2 --interval 1'",
        lvstop_bin()
    ))?;
    let r = t
        .wait("lb2's table", |s| s.contains("director lb2 (over ssh)") && s.contains("TCP 203.0.113.10:80"))
        .map(|_| ());
    let _ = sh_status("tmux kill-session -t other");
    r
}

/// The console on lb1 with lb2 beside it (P): the drift and both sync
/// daemons on screen, a change made on lb2 shown within a refresh, and an
/// unreachable director told while the console keeps answering.
fn console_pair() -> Result<(), String> {
    let t = Tmux { session: "pair" };
    sh(&format!(
        "tmux new-session -d -s pair -x 160 -y 48 'LVSTOP_CONFIG={DIR}/lvstop.toml LVSTOP_AUDIT_LOG={DIR}/audit_console.log \
         ip netns exec lb1 {} --interval 1'",
        lvstop_bin()
    ))?;
    let r = (|| {
        t.wait("the table", |s| s.contains("TCP 203.0.113.10:80"))?;
        // Four directors configured: P asks which; :pair names it.
        t.keys(&["P"])?;
        t.wait("the question", |s| s.contains("pair: which director? type :pair NAME (gone, lb1, lb2, nolvstop)"))?;
        t.keys(&[":"])?;
        t.type_text("pair lb2")?;
        t.keys(&["Enter"])?;
        let s = t.wait("the pair view", |s| s.contains("This director beside lb2") && s.contains("weight 1 ≠ 0"))?;
        for want in ["P-DRIFT", "master on eth0 syncid 7", "backup on eth0 syncid 7", "203.0.113.10 on this director"] {
            ensure(s.contains(want), || format!("the pair view lacks {want}:\n{s}"))?;
        }
        let row = s.lines().find(|l| l.contains("weight 1 ≠ 0")).unwrap_or_default();
        ensure(row.contains("198.51.100.11:443"), || format!("the drained row: {row}"))?;
        sh("ip netns exec lb2 ipvsadm -e -t 203.0.113.10:443 -r 198.51.100.11:443 -g -w 1")?;
        t.wait("the drift gone", |s| s.contains("the pair rules find nothing wrong") && !s.contains("≠"))?;
        // Drain 198.51.100.11:80 on both directors in one confirmed step.
        t.keys(&["Escape", "Tab", "d"])?;
        t.wait("the offer for lb2", |s| {
            s.contains("applies it here and on director lb2 too")
                && s.contains("on lb2: ipvsadm -e -t 203.0.113.10:80 -r 198.51.100.11:80 -g -w 0")
        })?;
        t.keys(&["b"])?;
        let weight = |ns: &str| {
            sh(&format!("ip netns exec {ns} ipvsadm -L -n"))
                .map(|s| s.lines().any(|l| l.contains("198.51.100.11:80") && l.split_whitespace().nth(3) == Some("0")))
        };
        let mut both = false;
        for _ in 0..60 {
            if weight("lb1")? && weight("lb2")? {
                both = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        ensure(both, || format!("not drained on both: {:?}", (weight("lb1"), weight("lb2"))))?;
        t.wait("lb2's answer", |s| s.contains("lb2: 1 weight(s) set"))?;
        let here = sh(&format!("cat {DIR}/audit_console.log"))?;
        ensure(here.contains("sending to director lb2") && here.contains("ok on director lb2"), || {
            format!("console audit:\n{here}")
        })?;
        let there = sh(&format!("cat {DIR}/audit_lb2.log"))?;
        ensure(
            there.contains("\"sending\"")
                && there.contains("\"ok\"")
                && there.contains("via lvstop agent from 2001:db8:d::1"),
            || format!("lb2's audit:\n{there}"),
        )?;
        // The main view on lb2 (read through its agent): a drain there lands on lb2 only.
        t.keys(&["Escape", ":"])?;
        t.type_text("director lb2")?;
        t.keys(&["Enter"])?;
        t.wait("lb2 in the main view", |s| s.contains("director lb2 (over ssh)") && s.contains("TCP 203.0.113.10:80"))?;
        t.keys(&["Tab", "j", "d"])?;
        t.wait("the confirmation", |s| s.contains("ipvsadm -e -t 203.0.113.10:80 -r 198.51.100.12:80 -g -w 0"))?;
        t.keys(&["y"])?;
        let w12 = |ns: &str| {
            sh(&format!("ip netns exec {ns} ipvsadm -L -n")).map(|s| {
                s.lines()
                    .find(|l| l.contains("198.51.100.12:80"))
                    .and_then(|l| l.split_whitespace().nth(3).map(str::to_string))
                    .unwrap_or_default()
            })
        };
        let mut landed = false;
        for _ in 0..60 {
            if w12("lb2")? == "0" {
                landed = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        ensure(landed && w12("lb1")? == "1", || format!("lb2 {:?}, lb1 {:?}", w12("lb2"), w12("lb1")))?;
        let there = sh(&format!("cat {DIR}/audit_lb2.log"))?;
        ensure(there.contains("198.51.100.12:80") && there.contains("via lvstop agent"), || {
            format!("lb2's audit:\n{there}")
        })?;
        t.wait("the drained realserver on lb2", |s| {
            s.lines()
                .any(|l| l.contains("198.51.100.12:80") && (l.contains("draining") || l.contains("safe to remove")))
        })?;
        // Paired from there, lb2 (the director shown) is on the left, beside lb1.
        t.keys(&["Escape", ":"])?;
        t.type_text("pair lb1")?;
        t.keys(&["Enter"])?;
        let s = t.wait("lb2 beside lb1", |s| s.contains("lb2 beside lb1") && s.contains("weight 0 ≠ 1"))?;
        let row = s.lines().find(|l| l.contains("weight 0 ≠ 1")).unwrap_or_default();
        ensure(row.contains("198.51.100.12:80"), || format!("the row drained on lb2 only: {row}\n{s}"))?;
        t.keys(&["Escape", ":"])?;
        t.type_text("director local")?;
        t.keys(&["Enter"])?;
        t.wait("this host again", |s| !s.contains("(over ssh)") && s.contains("TCP 203.0.113.10:80"))?;
        t.keys(&["Escape", ":"])?;
        t.type_text("pair gone")?;
        t.keys(&["Enter"])?;
        let started = Instant::now();
        t.wait("the unreachable director", |s| s.contains("director gone:"))?;
        ensure(started.elapsed() < Duration::from_secs(15), || format!("told after {:?}", started.elapsed()))?;
        // Still answering: the view closes and the help opens.
        t.keys(&["Escape", "?"])?;
        t.wait("the help", |s| s.contains("show this help"))?;
        t.keys(&["Escape", "q"])?;
        for _ in 0..40 {
            if sh_status("tmux has-session -t pair").0 != 0 {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Err("the console did not quit".into())
    })();
    let _ = sh_status("tmux kill-session -t pair");
    r
}
