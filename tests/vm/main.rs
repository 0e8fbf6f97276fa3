//! VM tests: lvstop against a real IPVS kernel, with ipvsadm as the reference.
//!
//! On the host this binary boots the lab VM once (Debian's stock kernel under
//! qemu, the host's root shared read-only) and runs itself inside it; inside,
//! it runs every case in turn. Output follows libtest's format. When qemu or
//! the kernel cannot be had it prints a SKIP line, and fails if `CI` is set.

mod cases;
mod directors;
mod ipvsadm;
#[path = "../common/ship.rs"]
mod paths;
mod ship;
mod util;

use std::time::{Duration, Instant};

use lvstop::lab;

/// A named test case run inside the VM.
pub struct Case {
    name: &'static str,
    run: fn() -> Result<(), String>,
}

fn selected(filters: &[String]) -> Vec<&'static Case> {
    cases::ALL.iter().filter(|c| filters.is_empty() || filters.iter().any(|f| c.name.contains(f.as_str()))).collect()
}

fn summary(passed: usize, failed: usize, ignored: usize, secs: f64) {
    let status = if failed == 0 { "ok" } else { "FAILED" };
    println!("\ntest result: {status}. {passed} passed; {failed} failed; {ignored} ignored; 0 measured; 0 filtered out; finished in {secs:.2}s\n");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for c in cases::ALL {
            println!("{}: test", c.name);
        }
        return;
    }
    let mut filters: Vec<String> = Vec::new();
    let mut skip_next = false;
    for a in &args {
        if skip_next {
            skip_next = false;
        } else if matches!(a.as_str(), "--test-threads" | "--skip" | "--format" | "--color" | "-Z") {
            skip_next = true;
        } else if !a.starts_with('-') {
            filters.push(a.clone());
        }
    }
    if std::env::var_os("LVSTOP_IN_VM").is_some() {
        std::process::exit(inside(&filters));
    }
    std::process::exit(outside(&filters));
}

fn skip_or_fail(reason: &str, n: usize) -> i32 {
    if std::env::var_os("CI").is_some() {
        println!("FAIL: the VM tests are required on CI but cannot run: {reason}");
        summary(0, n, 0, 0.0);
        1
    } else {
        println!("SKIP: {n} VM tests not run: {reason}");
        summary(0, 0, n, 0.0);
        0
    }
}

fn outside(filters: &[String]) -> i32 {
    let cases = selected(filters);
    if cases.is_empty() {
        summary(0, 0, 0, 0.0);
        return 0;
    }
    if let Err(e) = lab::vm::check_tools() {
        return skip_or_fail(&e.to_string(), cases.len());
    }
    let kernel = match lab::ensure_kernel(&mut |m| println!("lvstop-lab: {m}")) {
        Ok(k) => k,
        Err(e) => return skip_or_fail(&e.to_string(), cases.len()),
    };
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => return skip_or_fail(&format!("cannot find this test binary: {e}"), cases.len()),
    };
    println!("running {} VM tests in one boot of {}", cases.len(), kernel.origin);
    let names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    let mut run = lab::LabRun::new(format!("exec {} --exact {}", exe.display(), names.join(" ")));
    run.env.push(("LVSTOP_BIN".into(), env!("CARGO_BIN_EXE_lvstop").into()));
    run.env.push(("RUST_BACKTRACE".into(), "1".into()));
    // What .ci/package and .ci/old-glibc build, for vm_portable_binary.
    for (name, path) in [(ship::PORTABLE_ENV, paths::portable()), (ship::OLD_GLIBC_ENV, paths::old_glibc())] {
        if let Some(p) = path {
            run.env.push((name.into(), p.display().to_string()));
        }
    }
    run.timeout = Duration::from_secs(1500);
    match lab::vm::run_in_vm(&kernel, &run) {
        Ok(out) => {
            println!("lvstop-lab: VM finished in {:.1}s with status {}", out.elapsed.as_secs_f64(), out.exit_code);
            out.exit_code
        }
        Err(e) => {
            println!("lvstop-lab: {e}");
            summary(0, cases.len(), 0, 0.0);
            1
        }
    }
}

fn inside(filters: &[String]) -> i32 {
    let start = Instant::now();
    let cases = selected(filters);
    println!("\nrunning {} tests", cases.len());
    if let Err(e) = util::setup_lab() {
        println!("lab setup failed: {e}");
        summary(0, cases.len(), 0, start.elapsed().as_secs_f64());
        return 1;
    }
    let (mut passed, mut failed) = (0, 0);
    let mut failures = Vec::new();
    for c in cases {
        util::reset();
        let t = Instant::now();
        let result = std::panic::catch_unwind(c.run).unwrap_or_else(|p| {
            Err(p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_default())
        });
        match result {
            Ok(()) => {
                passed += 1;
                println!("test {} ... ok ({:.1}s)", c.name, t.elapsed().as_secs_f64());
            }
            Err(e) => {
                failed += 1;
                println!("test {} ... FAILED ({:.1}s)", c.name, t.elapsed().as_secs_f64());
                failures.push((c.name, e));
            }
        }
    }
    if !failures.is_empty() {
        println!("\nfailures:");
        for (name, e) in &failures {
            println!("\n---- {name} ----\n{e}");
        }
    }
    summary(passed, failed, 0, start.elapsed().as_secs_f64());
    i32::from(failed > 0)
}
