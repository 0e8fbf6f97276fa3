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
