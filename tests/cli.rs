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
        assert!(err.contains("IPVS is not available") && err.contains("modprobe ip_vs"), "{cmd:?}: {err}");
        assert!(out.is_empty(), "{cmd:?} printed a partial table: {out}");
    }
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
