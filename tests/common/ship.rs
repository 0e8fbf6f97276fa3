//! Where `.ci/package` and `.ci/old-glibc` put what they build, for
//! tests/ship.rs and the VM tests (included by path in both).

#![allow(dead_code)] // each test binary takes what it needs

use std::path::{Path, PathBuf};

/// Whether `path` was built: true if it is there; without it, false (a SKIP
/// line printed), or on CI (`CI` set) what is missing and how to build it.
pub fn built(path: &Path, how: &str) -> Result<bool, String> {
    if path.is_file() {
        return Ok(true);
    }
    let why = format!("{} is not there: run {how}", path.display());
    if std::env::var_os("CI").is_some() {
        return Err(format!("required on CI: {why}"));
    }
    println!("SKIP: {why}");
    Ok(false)
}

/// The cargo target directory of the test binary that runs
/// (`target/debug/deps/NAME-HASH`).
pub fn target_dir() -> Option<PathBuf> {
    std::env::current_exe().ok()?.ancestors().nth(3).map(Path::to_path_buf)
}

/// The portable binary (`cargo zigbuild --target x86_64-unknown-linux-gnu.2.17`).
pub fn portable() -> Option<PathBuf> {
    Some(target_dir()?.join("x86_64-unknown-linux-gnu/release/lvstop"))
}

/// The Debian package of this version.
pub fn package() -> Option<PathBuf> {
    Some(target_dir()?.join("debian").join(format!("lvstop_{}-1_amd64.deb", env!("CARGO_PKG_VERSION"))))
}

/// Debian 11's C library: `$LVSTOP_OLD_GLIBC`, else where `.ci/old-glibc`
/// unpacks it in the cache (`$XDG_CACHE_HOME`, else `~/.cache`).
pub fn old_glibc() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("LVSTOP_OLD_GLIBC") {
        return Some(PathBuf::from(d));
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(cache.join("lvstop/ship/glibc-2.31/lib/x86_64-linux-gnu"))
}
