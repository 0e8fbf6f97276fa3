//! What lvstop ships, built by `.ci/package`: the portable binary runs on
//! glibc 2.17 and later, and the Debian package holds it with the man page,
//! completions, example configuration and themes kept in the repository.
//! Without the build they print SKIP, and fail when `CI` is set (.ci/run
//! builds them first). The VM case `vm_portable_binary` runs the same binary
//! against a real IPVS kernel.

#![allow(clippy::panic)] // a failing test panics

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "common/ship.rs"]
mod paths;

/// `path` if it was built; otherwise SKIP (None), or fail on CI.
fn built(path: Option<PathBuf>, how: &str) -> Option<PathBuf> {
    let path = path.expect("the test binary's path");
    paths::built(&path, how).unwrap_or_else(|e| panic!("{e}")).then_some(path)
}

fn portable() -> Option<PathBuf> {
    built(paths::portable(), ".ci/package")
}

fn package() -> Option<PathBuf> {
    built(paths::package(), ".ci/package")
}

/// The directory of Debian 11's C library.
fn old_glibc() -> Option<PathBuf> {
    let dir = paths::old_glibc();
    built(dir.as_ref().map(|d| d.join("ld-linux-x86-64.so.2")), ".ci/old-glibc").and(dir)
}

fn run(program: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn text(program: &str, args: &[&str]) -> String {
    String::from_utf8(run(program, args)).expect("utf-8 output")
}

/// A glibc symbol version ("2.17") as numbers, to compare.
fn version(v: &str) -> Vec<u32> {
    v.split('.').map(|n| n.parse().unwrap_or(0)).collect()
}

#[test]
fn portable_binary_needs_nothing_newer_than_glibc_2_17() {
    let Some(bin) = portable() else { return };
    let bin = bin.to_str().expect("utf-8 path");
    let symbols = text("objdump", &["-T", bin]);
    let mut versions: Vec<&str> = symbols
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|w| w.strip_prefix("GLIBC_"))
        .collect();
    versions.sort_by_key(|v| version(v));
    versions.dedup();
    let newest = versions.last().expect("no GLIBC symbol versions: not a dynamically linked glibc binary?");
    assert!(version(newest) <= version("2.17"), "{bin} needs GLIBC_{newest}: every version it needs: {versions:?}");

    // Only libraries every glibc system has.
    let headers = text("objdump", &["-p", bin]);
    let needed: Vec<&str> = headers.lines().filter_map(|l| l.trim().strip_prefix("NEEDED")).map(str::trim).collect();
    let glibc = ["libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "ld-linux-x86-64.so.2"];
    let extra: Vec<&&str> = needed.iter().filter(|l| !glibc.contains(l)).collect();
    assert!(extra.is_empty(), "{bin} needs libraries beyond glibc: {extra:?}");
    assert!(headers.contains("file format elf64-x86-64"), "{bin} is not an x86_64 ELF binary");

    // It starts, and says which version it is.
    let shown = text(bin, &["--version"]);
    assert_eq!(shown.trim(), format!("lvstop {}", env!("CARGO_PKG_VERSION")));
    let size = std::fs::metadata(bin).expect("size").len();
    println!("{bin}: {size} bytes, newest glibc symbol version {newest}, needs {needed:?}");
}

#[test]
fn portable_binary_starts_on_an_older_glibc_where_a_native_build_does_not() {
    let Some(bin) = portable() else { return };
    let Some(lib) = old_glibc() else { return };
    let ld = lib.join("ld-linux-x86-64.so.2");
    let with_old = |bin: &Path, args: &[&str]| {
        Command::new(&ld).arg("--library-path").arg(&lib).arg(bin).args(args).output().expect("old ld.so")
    };
    let out = with_old(&bin, &["--version"]);
    assert!(out.status.success(), "the portable binary on glibc 2.31: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("lvstop {}", env!("CARGO_PKG_VERSION")));
    // Its netlink start-up: a table where the kernel has IPVS, else the first-contact message.
    let out = with_old(&bin, &["dump"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() || err.contains("modprobe ip_vs"), "dump on glibc 2.31: {err}");
    // The control: this machine's own build needs a newer glibc than 2.31.
    let out = with_old(Path::new(env!("CARGO_BIN_EXE_lvstop")), &["--version"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("GLIBC_2.3"), "the native build on glibc 2.31: {err}");
}

/// `program args` fed `input`, its output (read while it is fed).
fn pipe(program: &str, args: &[&str], input: Vec<u8>) -> Vec<u8> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
    let out = child.wait_with_output().expect("output");
    writer.join().expect("writer").expect("input");
    assert!(out.status.success(), "{program} {args:?} failed");
    out.stdout
}

/// A file of the package's data, extracted.
fn member(deb: &Path, path: &str) -> Vec<u8> {
    let tar = run("dpkg-deb", &["--fsys-tarfile", deb.to_str().expect("utf-8 path")]);
    pipe("tar", &["-xO", &format!("./{path}")], tar)
}

fn repo(path: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn debian_package_holds_the_portable_binary_and_the_files_kept_here() {
    let Some(deb) = package() else { return };
    let Some(bin) = portable() else { return };
    let d = deb.to_str().expect("utf-8 path");

    let field = |name: &str| text("dpkg-deb", &["-f", d, name]).trim().to_string();
    assert_eq!(field("Package"), "lvstop");
    assert_eq!(field("Version"), format!("{}-1", env!("CARGO_PKG_VERSION")));
    assert_eq!(field("Architecture"), "amd64");
    // What the binary needs (the test above), and nothing else.
    assert_eq!(field("Depends"), "libc6 (>= 2.17)");

    // Every file, where man, the shells and the documentation look for it.
    let listing = text("dpkg-deb", &["-c", d]);
    let mut files: Vec<(String, String)> = listing
        .lines()
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let mode = w.next()?.to_string();
            let path = w.last()?.trim_start_matches("./").to_string();
            Some((path, mode))
        })
        .collect();
    files.sort();
    let want = [
        ("usr/bin/lvstop", "-rwxr-xr-x"),
        ("usr/share/bash-completion/completions/lvstop", "-rw-r--r--"),
        ("usr/share/doc/lvstop/README.md", "-rw-r--r--"),
        ("usr/share/doc/lvstop/copyright", "-rw-r--r--"),
        ("usr/share/doc/lvstop/examples/lvstop.toml", "-rw-r--r--"),
        ("usr/share/fish/vendor_completions.d/lvstop.fish", "-rw-r--r--"),
        ("usr/share/lvstop/themes/default.toml", "-rw-r--r--"),
        ("usr/share/lvstop/themes/high-contrast.toml", "-rw-r--r--"),
        ("usr/share/lvstop/themes/light.toml", "-rw-r--r--"),
        ("usr/share/man/man1/lvstop.1.gz", "-rw-r--r--"),
        ("usr/share/zsh/vendor-completions/_lvstop", "-rw-r--r--"),
    ];
    let want: Vec<(String, String)> = want.iter().map(|(p, m)| ((*p).to_string(), (*m).to_string())).collect();
    assert_eq!(files, want, "the package's files and modes");
    assert!(listing.lines().all(|l| l.contains(" 0/0 ")), "every file belongs to root:\n{listing}");

    // The files are the ones built and kept here, byte for byte.
    assert!(
        member(&deb, "usr/bin/lvstop") == std::fs::read(&bin).expect("portable binary"),
        "usr/bin/lvstop is not {}",
        bin.display()
    );
    let page = pipe("gzip", &["-dc"], member(&deb, "usr/share/man/man1/lvstop.1.gz"));
    assert!(page == repo("assets/lvstop.1"), "the packaged man page is not assets/lvstop.1");
    for (inside, kept) in [
        ("usr/share/bash-completion/completions/lvstop", "assets/completions/lvstop.bash"),
        ("usr/share/zsh/vendor-completions/_lvstop", "assets/completions/_lvstop"),
        ("usr/share/fish/vendor_completions.d/lvstop.fish", "assets/completions/lvstop.fish"),
        ("usr/share/doc/lvstop/examples/lvstop.toml", "assets/lvstop.example.toml"),
        ("usr/share/lvstop/themes/default.toml", "themes/default.toml"),
        ("usr/share/lvstop/themes/high-contrast.toml", "themes/high-contrast.toml"),
        ("usr/share/lvstop/themes/light.toml", "themes/light.toml"),
    ] {
        assert!(member(&deb, inside) == repo(kept), "{inside} is not {kept}");
    }
}
