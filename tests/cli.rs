//! The command line on this host (whose kernel may have no IPVS).

use std::process::Command;

fn lvstop(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lvstop")).args(args).output().expect("run lvstop");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn without_ipvs_the_error_names_the_fix() {
    if std::path::Path::new("/proc/net/ip_vs").exists() {
        println!("SKIP: this kernel has IPVS; the VM tests cover it");
        return;
    }
    for cmd in [&["dump"][..], &["dump", "--json"], &["save"]] {
        let (code, out, err) = lvstop(cmd);
        assert_eq!(code, 1, "{cmd:?}: {out}{err}");
        assert!(
            err.contains("IPVS is not available") && err.contains("modprobe ip_vs") && err.contains("`lvstop lab`"),
            "{cmd:?}: {err}"
        );
        assert!(out.is_empty(), "{cmd:?} printed a partial table: {out}");
    }
    let (code, out, err) = lvstop(&["conns", "--json"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("IPVS is not available") && err.contains("modprobe ip_vs") && err.contains("lvstop lab"),
        "{err}"
    );
    assert!(out.is_empty(), "{out}");
}

#[test]
fn bad_arguments_are_named() {
    let (code, _, err) = lvstop(&["dump", "--jsn"]);
    assert_eq!(code, 2);
    assert!(err.contains("--jsn"), "{err}");
}

#[test]
fn a_bad_config_or_theme_stops_the_console_before_the_terminal_is_touched() {
    let dir = std::env::temp_dir().join(format!("lvstop-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join("lvstop.toml");
    std::fs::write(&bad, "interval = 1.0\nweight-step = 70000\n").expect("write");
    let (code, out, err) = lvstop(&["--config", bad.to_str().expect("utf-8 path")]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("lvstop.toml:2: weight-step: '70000' is out of range"), "{err}");
    assert!(!out.contains("\u{1b}[?1049h"), "the alternate screen was entered");
    let (code, _, err) = lvstop(&["--theme", "neon"]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown theme 'neon'"), "{err}");
    let (code, _, err) = lvstop(&["--interval", "0"]);
    assert_eq!(code, 2);
    assert!(err.contains("'0' is not an interval"), "{err}");
    let pair = dir.join("pair.toml");
    std::fs::write(&pair, "[directors]\nlb2 = \"lb2.example.net\"\n").expect("write");
    let (code, _, err) = lvstop(&["--config", pair.to_str().expect("utf-8 path"), "--director", "lb9"]);
    assert_eq!(code, 1);
    assert!(err.contains("'lb9' is not a director: use local, lb2"), "{err}");
    let (code, _, err) = lvstop(&["--director", "lb2", "dump"]);
    assert_eq!(code, 2);
    assert!(err.contains("--director is a console option"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_lab_says_what_to_install_and_checks_its_options() {
    // No qemu on this PATH: the message names the package and the command.
    let empty = std::env::temp_dir().join(format!("lvstop-empty-path-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&empty);
    let out = Command::new(env!("CARGO_BIN_EXE_lvstop"))
        .args(["lab", "--run", "true"])
        .env("PATH", &empty)
        .output()
        .expect("run lvstop");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("qemu-system-x86") && err.contains("sudo apt-get install -y qemu-system-x86"), "{err}");
    let _ = std::fs::remove_dir(&empty);
    // Bad options are named with the fix, before anything is booted.
    for (args, needle) in [
        (&["lab", "--rate", "0"][..], "from 0.1 to 500"),
        (&["lab", "--scenario", "arp"], "arp-problem"),
        (&["lab", "--realservers", "51"], "1..=50"),
        (&["lab", "--services", "0"], "1..=20"),
    ] {
        let (code, _, err) = lvstop(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // lab-guest parts refuse to run outside the lab VM (they send traffic).
    let (code, _, err) = lvstop(&["lab-guest", "serve", "--ports", "80"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("only inside the lab VM"), "{err}");
}

#[test]
fn each_command_offers_only_its_own_options() {
    let (code, help, _) = lvstop(&["dump", "--help"]);
    assert_eq!(code, 0);
    for console_only in ["--theme", "--read-only", "--interval"] {
        assert!(!help.contains(console_only), "dump --help offers {console_only}:\n{help}");
    }
    assert!(help.contains("--json") && help.contains("--config"), "{help}");
    let (_, help, _) = lvstop(&["save", "--help"]);
    assert!(help.contains("--director") && help.contains("--config") && !help.contains("--theme"), "{help}");
    let (_, help, _) = lvstop(&["lab", "--help"]);
    assert!(!help.contains("--config") && !help.contains("--read-only"), "{help}");
    // Each command's help opens with its own description (its options are
    // defined only when it runs: a doc comment on them would take its place).
    for (cmd, about) in [
        ("dump", "Print every virtual service"),
        ("check", "Run the LVS-DR checks once"),
        ("lab", "Boot a disposable LVS-DR lab"),
        ("save", "Print the rules in `ipvsadm -S -n` form"),
        ("diff", "Compare two directors' tables"),
    ] {
        let (_, help, _) = lvstop(&[cmd, "--help"]);
        assert!(help.starts_with(about), "lvstop {cmd} --help:\n{help}");
    }
    let (_, help, _) = lvstop(&["--help"]);
    for opt in ["--interval", "--read-only", "--theme", "--config"] {
        assert!(help.contains(opt), "lvstop --help lacks {opt}:\n{help}");
    }
    // The console's options still parse: this one stops at the unknown theme, after parsing.
    let (code, _, err) = lvstop(&["--read-only", "--interval", "0.5", "--theme", "neon"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("unknown theme 'neon'"), "{err}");
    // With a command they are refused, naming the option and the fix.
    let (code, _, err) = lvstop(&["--read-only", "dump"]);
    assert_eq!(code, 2);
    assert!(err.contains("--read-only is a console option: leave it out of `lvstop dump`"), "{err}");
    let (code, _, err) = lvstop(&["--config", "/etc/lvstop/lvstop.toml", "conns"]);
    assert_eq!(code, 2);
    assert!(err.contains("`lvstop conns` reads no configuration file: leave out --config"), "{err}");
}

#[test]
fn config_is_read_before_or_after_the_command() {
    let dir = std::env::temp_dir().join(format!("lvstop-cli-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join("lvstop.toml");
    std::fs::write(&bad, "[nic]\nwarn-percent = 0.5\n").expect("write");
    let bad = bad.to_str().expect("utf-8 path");
    // --vip lets check run without IPVS, so each of these reaches the configuration.
    for args in [
        &["--config", bad, "check", "--vip", "198.51.100.100", "--no-ssh"][..],
        &["check", "--config", bad, "--vip", "198.51.100.100", "--no-ssh"],
        &["--config", bad, "dump"],
        &["dump", "--config", bad],
    ] {
        let (code, _, err) = lvstop(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains("lvstop.toml:2: warn-percent: '0.5' is out of range: use 1 to 100"), "{args:?}: {err}");
    }
    let (code, _, err) = lvstop(&["--config", bad, "check", "--config", bad]);
    assert_eq!(code, 2);
    assert!(err.contains("--config is given twice"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn check_explain_prints_a_rule_and_names_the_bad_one() {
    let (code, out, err) = lvstop(&["check", "--explain", "d-arp-foreign"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("D-ARP-FOREIGN (error): "), "{out}");
    for part in ["What:", "Why:", "Fix:", "arp_ignore"] {
        assert!(out.contains(part), "no {part}: {out}");
    }
    let (code, out, err) = lvstop(&["check", "--explain", "D-NOPE"]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("'D-NOPE' is not a rule") && err.contains("R-UNREACHABLE"), "{err}");
    // A realserver to read needs the VIP it serves.
    let (code, _, err) = lvstop(&["check", "--realserver", "198.51.100.11:80"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--vip"), "{err}");
}

#[test]
fn a_user_theme_that_does_not_parse_is_named_with_its_file() {
    let dir = std::env::temp_dir().join(format!("lvstop-theme-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("lvstop/themes")).expect("dir");
    std::fs::write(dir.join("lvstop/themes/neon.toml"), "[palette\n").expect("theme");
    let out = Command::new(env!("CARGO_BIN_EXE_lvstop"))
        .args(["--theme", "neon"])
        .env("XDG_CONFIG_HOME", &dir)
        .env_remove("LVSTOP_CONFIG")
        .output()
        .expect("run lvstop");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("lvstop/themes/neon.toml"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_console_without_a_terminal_points_at_dump() {
    let (code, out, err) = lvstop(&[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("needs a terminal") && err.contains("lvstop dump"), "{err}");
    assert!(!out.contains("\u{1b}["), "the terminal was touched: {out:?}");
}

#[test]
fn a_broken_stderr_never_panics() {
    // Standard error is a pipe whose reader has gone: writing to it fails with EPIPE.
    for args in ["check --explain NO-SUCH-RULE", "dump --jsn"] {
        let script = format!(
            "exec 3>&1; (sleep 0.3; {} {args}; echo $? >&3) 2>&1 >/dev/null | true; sleep 0.5",
            env!("CARGO_BIN_EXE_lvstop")
        );
        let out = Command::new("sh").args(["-c", &script]).output().expect("sh");
        let status = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(status == "1" || status == "2", "lvstop {args} with a broken stderr exited {status}, not 1 or 2");
    }
}
