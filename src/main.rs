#![deny(clippy::print_stderr, clippy::print_stdout)]

fn main() {
    few_malloc_arenas();
    let cli = lvstop::cli::Cli::parse_checked();
    match lvstop::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            lvstop::say!("lvstop: {e:#}");
            std::process::exit(1);
        }
    }
}

/// At most two malloc arenas, whatever the number of CPUs. glibc gives threads
/// arenas of their own (up to eight per CPU), and memory freed in one is not
/// reused by another: the console reads a table on its IPVS thread, judges it
/// on a blocking thread and keeps it on the main one, so at 10 000 services
/// its peak was the sum of three arenas' (41 MiB in the bench, 38 with two).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn few_malloc_arenas() {
    // SAFETY: mallopt only sets a tunable of glibc's allocator; it is called
    // first thing in main, before any other thread exists, and its result
    // (0 when the value is refused) leaves the defaults, which are safe too.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn few_malloc_arenas() {}
