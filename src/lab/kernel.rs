//! Finding a kernel with IPVS for the lab VM: the host's own when it carries
//! ip_vs, otherwise Debian's stock kernel package, fetched once with apt and
//! cached.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::LabError;

/// A bootable kernel and its module tree.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// The kernel image.
    pub vmlinuz: PathBuf,
    /// `lib/modules/<release>`.
    pub modules: PathBuf,
    /// Where it came from, for messages.
    pub origin: String,
}

/// The lab cache directory: `$LVSTOP_LAB_CACHE`, else `$XDG_CACHE_HOME/lvstop/lab`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("LVSTOP_LAB_CACHE") {
        return PathBuf::from(d);
    }
    directories::ProjectDirs::from("", "", "lvstop")
        .map_or_else(|| std::env::temp_dir().join("lvstop-cache"), |p| p.cache_dir().to_path_buf())
        .join("lab")
}

fn run(cmd: &mut Command, what: &str) -> Result<String, LabError> {
    let out = cmd.output().map_err(|e| {
        LabError::Kernel(format!(
            "cannot run {what}: {e} (is apt installed? this needs a Debian or Ubuntu host, or set LVSTOP_LAB_KERNEL)"
        ))
    })?;
    if !out.status.success() {
        return Err(LabError::Kernel(format!("{what} failed: {}", String::from_utf8_lossy(&out.stderr).trim())));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn has_ipvs(modules: &Path) -> bool {
    modules.join("kernel/net/netfilter/ipvs/ip_vs.ko").exists()
}

fn from_tree(root: &Path, origin: &str) -> Option<Kernel> {
    let boot = std::fs::read_dir(root.join("boot")).ok()?;
    let vmlinuz = boot
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-")))?;
    let release = vmlinuz.file_name()?.to_string_lossy().trim_start_matches("vmlinuz-").to_string();
    let modules = root.join("lib/modules").join(&release);
    has_ipvs(&modules).then(|| Kernel { vmlinuz, modules, origin: origin.to_string() })
}

/// Find or fetch a kernel. `say` receives progress messages.
pub fn ensure_kernel(say: &mut dyn FnMut(&str)) -> Result<Kernel, LabError> {
    if let Some(dir) = std::env::var_os("LVSTOP_LAB_KERNEL") {
        let dir = PathBuf::from(dir);
        return from_tree(&dir, "LVSTOP_LAB_KERNEL").ok_or_else(|| {
            LabError::Kernel(format!(
                "LVSTOP_LAB_KERNEL='{}' holds no boot/vmlinuz-* with lib/modules/*/kernel/net/netfilter/ipvs/ip_vs.ko: point it at an unpacked kernel package",
                dir.display()
            ))
        });
    }
    let release = sysinfo::System::kernel_version().unwrap_or_default();
    let host_modules = PathBuf::from("/lib/modules").join(&release);
    let host_vmlinuz = PathBuf::from("/boot").join(format!("vmlinuz-{release}"));
    if has_ipvs(&host_modules) && std::fs::File::open(&host_vmlinuz).is_ok() {
        return Ok(Kernel {
            vmlinuz: host_vmlinuz,
            modules: host_modules,
            origin: format!("the host's kernel {release}"),
        });
    }
    let cache = cache_dir();
    let deps =
        run(Command::new("apt-cache").args(["depends", "linux-image-amd64"]), "apt-cache depends linux-image-amd64");
    let package = deps.as_ref().ok().and_then(|d| {
        d.lines()
            .filter_map(|l| l.trim().strip_prefix("Depends: "))
            .find(|p| p.starts_with("linux-image-"))
            .map(str::to_string)
    });
    let Some(package) = package else {
        // No apt or no package lists: use the newest kernel already cached.
        let mut cached: Vec<Kernel> = std::fs::read_dir(&cache)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|e| from_tree(&e.path(), "the lab cache"))
            .collect();
        cached.sort_by(|a, b| a.vmlinuz.cmp(&b.vmlinuz));
        return cached.pop().ok_or_else(|| {
            LabError::Kernel(format!(
                "cannot resolve Debian's kernel package ({}); run `sudo apt-get update` and retry, or set LVSTOP_LAB_KERNEL to an unpacked kernel package",
                deps.err().map_or_else(|| "no linux-image-* dependency".to_string(), |e| e.to_string())
            ))
        });
    };
    let dir = cache.join(&package);
    if let Some(k) = from_tree(&dir, &format!("{package} (cached in {})", dir.display())) {
        return Ok(k);
    }
    let tmp = cache.join(format!("{package}.download"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| LabError::Kernel(format!("cannot create {}: {e}", tmp.display())))?;
    download(&package, &tmp, &cache, say)?;
    let deb = std::fs::read_dir(&tmp)
        .map_err(|e| LabError::Kernel(e.to_string()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| LabError::Kernel(format!("apt-get download {package} left no .deb in {}", tmp.display())))?;
    say(&format!("Unpacking {}", deb.display()));
    let unpacked = tmp.join("x");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked), "dpkg-deb -x")?;
    let _ = std::fs::remove_file(&deb);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&unpacked, &dir)
        .map_err(|e| LabError::Kernel(format!("cannot move the kernel into {}: {e}", dir.display())))?;
    let _ = std::fs::remove_dir_all(&tmp);
    from_tree(&dir, &format!("{package} (cached in {})", dir.display()))
        .ok_or_else(|| LabError::Kernel(format!("{package} has no IPVS modules")))
}

/// What `apt-get download --print-uris` says about a package:
/// `'URL' FILE SIZE SHA256:HEX`.
pub fn parse_print_uris(text: &str) -> Option<(String, String, u64, Option<String>)> {
    let line = text.lines().find(|l| l.starts_with('\''))?;
    let mut w = line.split_whitespace();
    let url = w.next()?.trim_matches('\'').to_string();
    let file = w.next()?.to_string();
    let size = w.next()?.parse().ok()?;
    let sha = w.next().and_then(|h| h.strip_prefix("SHA256:")).map(str::to_string);
    let safe = |s: &str| !s.is_empty() && !s.contains('/') && !s.starts_with('.');
    (url.starts_with("http") && safe(&file)).then_some((url, file, size, sha))
}

/// A progress bar line: `[#####.....]  45%  31.5 / 70.6 MB`.
pub fn progress_line(done: u64, total: u64) -> String {
    let pct = (done.min(total) * 100).checked_div(total).unwrap_or(0) as usize;
    let filled = pct * 30 / 100;
    format!(
        "[{}{}] {pct:>3}%  {:.1} / {:.1} MB",
        "#".repeat(filled),
        ".".repeat(30 - filled),
        done as f64 / 1e6,
        total as f64 / 1e6
    )
}

/// Fetch `package` into `tmp`: with curl and a progress bar, checked against
/// apt's SHA256, when curl is there and apt gives a SHA256; else with
/// `apt-get download`, which checks it against apt's signed indexes. A package
/// nothing has checked is never unpacked and booted (LVSTOP_LAB_KERNEL is the
/// way to boot a kernel of one's own choosing).
fn download(package: &str, tmp: &Path, cache: &Path, say: &mut dyn FnMut(&str)) -> Result<(), LabError> {
    let uris =
        run(Command::new("apt-get").args(["download", "--print-uris", package]), "apt-get download --print-uris");
    let have_curl = Command::new("curl").arg("--version").output().is_ok_and(|o| o.status.success());
    let with_apt = |say: &mut dyn FnMut(&str)| {
        say(&format!(
            "Downloading Debian's kernel package {package} (about 70 MB, once) with apt-get into {}",
            cache.display()
        ));
        run(
            Command::new("apt-get").args(["download", "-q", package]).current_dir(tmp),
            &format!("apt-get download {package}"),
        )
        .map(|_| ())
    };
    let plan = uris.ok().as_deref().and_then(parse_print_uris).filter(|_| have_curl);
    let Some((url, file, size, Some(sha))) = plan else {
        return with_apt(say);
    };
    if !(sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit())) {
        return with_apt(say);
    }
    match download_with_curl(&url, &tmp.join(&file), size, &sha, cache, say) {
        Ok(()) => Ok(()),
        Err(e) => {
            // apt may know a proxy that curl does not.
            say(&format!("{e}; trying apt-get instead"));
            let _ = std::fs::remove_file(tmp.join(&file));
            with_apt(say)
        }
    }
}

fn download_with_curl(
    url: &str,
    dest: &Path,
    size: u64,
    sha: &str,
    cache: &Path,
    say: &mut dyn FnMut(&str),
) -> Result<(), LabError> {
    use std::io::{IsTerminal as _, Write as _};
    say(&format!("Downloading {url} ({:.1} MB, once) into {}", size as f64 / 1e6, cache.display()));
    let mut child = Command::new("curl")
        .args(["-fsSL", "--retry", "3", "--connect-timeout", "20", "--speed-limit", "1000", "--speed-time", "60", "-o"])
        .arg(dest)
        .arg(url)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| LabError::Kernel(format!("cannot run curl: {e}")))?;
    let tty = std::io::stderr().is_terminal();
    let mut last_pct = None;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) => {}
            Err(e) => {
                let _ = child.kill();
                return Err(LabError::Kernel(format!("lost track of curl: {e}")));
            }
        }
        let done = std::fs::metadata(dest).map_or(0, |m| m.len());
        let pct = done.min(size) * 100 / size.max(1);
        if tty {
            let _ = write!(std::io::stderr(), "\r  {}", progress_line(done, size));
            let _ = std::io::stderr().flush();
        } else if last_pct.is_none_or(|p| pct >= p + 25) {
            crate::say!("  {}", progress_line(done, size));
            last_pct = Some(pct);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    // The last line shows where it ended (100%, or how far a failed download got).
    let got = std::fs::metadata(dest).map_or(0, |m| m.len());
    crate::say!("{}  {}", if tty { "\r" } else { "" }, progress_line(got, size));
    if !status.success() {
        let mut err = String::new();
        if let Some(e) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut std::io::Read::take(e, 64 * 1024), &mut err);
        }
        return Err(LabError::Kernel(format!(
            "downloading {url} failed ({status}): {}; check the network or apt's proxy settings, then retry",
            err.trim()
        )));
    }
    let sum = run(Command::new("sha256sum").arg(dest), "sha256sum")?;
    if !sum.split_whitespace().next().is_some_and(|s| s.eq_ignore_ascii_case(sha)) {
        let _ = std::fs::remove_file(dest);
        return Err(LabError::Kernel(format!(
            "{} does not match apt's SHA256 {sha}: the download was damaged",
            dest.display()
        )));
    }
    Ok(())
}

/// Index every module file under `modules` by its name (with `-` as `_`).
pub fn index_modules(modules: &Path) -> HashMap<String, PathBuf> {
    let mut out = HashMap::new();
    let mut stack = vec![modules.join("kernel")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Some(name) = p.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".ko")) {
                out.insert(name.replace('-', "_"), p.clone());
            }
        }
    }
    out
}

/// The `depends=` list from a module's `.modinfo` section.
pub fn module_depends(ko: &[u8]) -> Vec<String> {
    let key = b"\0depends=";
    let Some(pos) = ko.windows(key.len()).position(|w| w == key) else {
        return Vec::new();
    };
    let rest = &ko[pos + key.len()..];
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end]).split(',').filter(|s| !s.is_empty()).map(|s| s.replace('-', "_")).collect()
}

/// `wanted` modules and their dependencies, dependencies first. Modules that
/// are not found (built into the kernel) are skipped.
#[allow(clippy::implicit_hasher)]
pub fn module_closure(index: &HashMap<String, PathBuf>, wanted: &[&str]) -> Result<Vec<(String, PathBuf)>, LabError> {
    fn visit(
        name: &str,
        index: &HashMap<String, PathBuf>,
        seen: &mut Vec<String>,
        out: &mut Vec<(String, PathBuf)>,
    ) -> Result<(), LabError> {
        if seen.iter().any(|s| s == name) {
            return Ok(());
        }
        seen.push(name.to_string());
        let Some(path) = index.get(name) else {
            return Ok(());
        };
        let bytes =
            std::fs::read(path).map_err(|e| LabError::Kernel(format!("cannot read {}: {e}", path.display())))?;
        for dep in module_depends(&bytes) {
            visit(&dep, index, seen, out)?;
        }
        out.push((name.to_string(), path.clone()));
        Ok(())
    }
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for w in wanted {
        visit(&w.replace('-', "_"), index, &mut seen, &mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_plan_and_progress() {
        let text = "'http://deb.debian.org/debian-security/pool/updates/main/l/linux-signed-amd64/linux-image-6.1.0-56-amd64_6.1.192-2_amd64.deb' linux-image-6.1.0-56-amd64_6.1.192-2_amd64.deb 70550672 SHA256:a86e2049672f52354c4536a089203b6c82639420424d31c91cf31a181fd4d8f1\n";
        let (url, file, size, sha) = parse_print_uris(text).expect("parsed");
        assert!(url.starts_with("http://deb.debian.org/") && file.ends_with("_amd64.deb"));
        assert_eq!(size, 70_550_672);
        assert_eq!(sha.map(|h| h.len()), Some(64));
        assert!(parse_print_uris("'http://x/y' ../evil.deb 1 SHA256:00").is_none());
        assert!(parse_print_uris("E: Unable to locate package").is_none());
        assert_eq!(
            progress_line(35_275_336, 70_550_672),
            format!("[{}{}]  50%  35.3 / 70.6 MB", "#".repeat(15), ".".repeat(15))
        );
    }

    #[test]
    fn depends_are_read_from_modinfo() {
        let blob = b"\x7fELF....\0license=GPL\0depends=nf_conntrack,libcrc32c,nf_defrag_ipv6\0retpoline=Y\0";
        assert_eq!(module_depends(blob), vec!["nf_conntrack", "libcrc32c", "nf_defrag_ipv6"]);
        assert!(module_depends(b"\0depends=\0").is_empty());
        assert!(module_depends(b"nothing").is_empty());
    }
}
