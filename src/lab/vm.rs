//! Booting the lab VM and running one command in it.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::cpio::CpioWriter;
use super::kernel::{index_modules, module_closure, Kernel};
use super::{LabError, MODULES};

/// Marker the guest prints with the command's exit status.
pub const EXIT_MARK: &str = "LVSTOP-LAB-EXIT=";

/// One command to run in a fresh VM.
#[derive(Debug, Clone)]
pub struct LabRun {
    /// Shell command run as root inside the guest (in the host's root file system).
    pub command: String,
    /// Extra environment for the command.
    pub env: Vec<(String, String)>,
    /// Guest memory in MiB.
    pub memory_mib: u32,
    /// Give up (and kill qemu) after this long.
    pub timeout: Duration,
    /// Copy the guest console to our stdout as it arrives.
    pub echo: bool,
    /// Copy what the guest writes to `$LVSTOP_OUT` into this directory.
    pub out_dir: Option<PathBuf>,
    /// Give the guest console this terminal (stdin and stdout, raw), at its
    /// size, instead of capturing it: the command is a full-screen program.
    pub interactive: bool,
}

impl LabRun {
    /// A run with defaults: 1 GiB, 20 minutes, echo on.
    pub fn new(command: impl Into<String>) -> Self {
        LabRun {
            command: command.into(),
            env: Vec::new(),
            memory_mib: 1024,
            timeout: Duration::from_secs(1200),
            echo: true,
            out_dir: None,
            interactive: false,
        }
    }
}

/// What happened in the VM.
#[derive(Debug, Clone)]
pub struct LabOutcome {
    /// The command's exit status.
    pub exit_code: i32,
    /// Everything the guest console printed.
    pub console: String,
    /// Wall time from qemu start to exit.
    pub elapsed: Duration,
}

fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(cmd)).find(|p| p.is_file()))
}

/// Check the host tools the lab needs; the error says what to install.
pub fn check_tools() -> Result<(PathBuf, PathBuf), LabError> {
    let qemu = which("qemu-system-x86_64");
    let busybox = ["/bin/busybox", "/usr/bin/busybox"].iter().map(PathBuf::from).find(|p| p.is_file());
    match (qemu, busybox) {
        (Some(q), Some(b)) => Ok((q, b)),
        (q, b) => {
            let mut missing = Vec::new();
            if q.is_none() {
                missing.push("qemu-system-x86");
            }
            if b.is_none() {
                missing.push("busybox-static");
            }
            Err(LabError::Missing(format!(
                "the lab needs {}: install with `sudo apt-get install -y qemu-system-x86 busybox-static iproute2`",
                missing.join(" and ")
            )))
        }
    }
}

const INIT: &str = r#"#!/bin/busybox sh
B=/bin/busybox
$B mkdir -p /proc /sys /dev /host
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
for m in $($B cat /modules.list); do $B insmod /mod/$m.ko 2>/dev/null || echo "lvstop-lab: insmod $m failed"; done
share=$($B cat /share.path)
fail() { echo "lvstop-lab: $*"; echo "LVSTOP-LAB-EXIT=125"; $B poweroff -f; }
$B mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /host || fail "cannot mount the host root"
# /tmp stays writable but keeps showing the host's /tmp (a checkout may live there):
# an overlay of a tmpfs on the read-only 9p view, or a plain tmpfs if overlay fails.
$B mkdir -p /ovl && $B mount -t tmpfs tmpfs /ovl && $B mkdir -p /ovl/up /ovl/work
$B mount -t overlay overlay -o lowerdir=/host/tmp,upperdir=/ovl/up,workdir=/ovl/work /host/tmp 2>/dev/null || $B mount -t tmpfs tmpfs /host/tmp
$B mount -t tmpfs tmpfs /host/run
$B mount -o bind /proc /host/proc
$B mount -o bind /sys /host/sys
$B mount -o bind /dev /host/dev
$B mkdir -p /host/dev/pts /host/dev/shm
$B mount -t devpts devpts /host/dev/pts
$B mount -t tmpfs tmpfs /host/dev/shm
$B mkdir -p "/host$share" 2>/dev/null
$B mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 share "/host$share" || fail "cannot mount the share"
$B hostname lvstop-lab
$B ip link set lo up
$B chroot /host /bin/sh -c 'cd "$1" && . ./env.sh && /bin/sh ./run.sh' lvstop-lab "$share"
code=$?
echo $code > "/host$share/exit-code"
$B grep -q lvstop.interactive /proc/cmdline || echo "LVSTOP-LAB-EXIT=$code"
$B sync
$B poweroff -f
"#;

/// Build the initramfs; `share` is the run directory's path, which the
/// guest's init reads from `/share.path` (no kernel command line to split or
/// shell to re-parse it).
fn build_initramfs(kernel: &Kernel, busybox: &Path, share: &str, out: &Path) -> Result<(), LabError> {
    let io = |e: std::io::Error| LabError::Vm(format!("cannot write the initramfs {}: {e}", out.display()));
    let index = index_modules(&kernel.modules);
    let mods = module_closure(&index, MODULES)?;
    let file = std::fs::File::create(out).map_err(io)?;
    let mut w = CpioWriter::new(std::io::BufWriter::new(file));
    for d in ["bin", "mod", "proc", "sys", "dev", "host"] {
        w.dir(d).map_err(io)?;
    }
    let bb = std::fs::read(busybox).map_err(|e| LabError::Vm(format!("cannot read {}: {e}", busybox.display())))?;
    w.file("bin/busybox", 0o755, &bb).map_err(io)?;
    w.file("init", 0o755, INIT.as_bytes()).map_err(io)?;
    let mut list = String::new();
    for (name, path) in &mods {
        let data = std::fs::read(path).map_err(|e| LabError::Vm(format!("cannot read {}: {e}", path.display())))?;
        w.file(&format!("mod/{name}.ko"), 0o644, &data).map_err(io)?;
        list.push_str(name);
        list.push('\n');
    }
    w.file("modules.list", 0o644, list.as_bytes()).map_err(io)?;
    w.file("share.path", 0o644, share.as_bytes()).map_err(io)?;
    w.finish().map_err(io)?.flush().map_err(io)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Boot a VM, run `run.command` in it as root, and return its status and console.
pub fn run_in_vm(kernel: &Kernel, run: &LabRun) -> Result<LabOutcome, LabError> {
    let (qemu, busybox) = check_tools()?;
    let base = super::cache_dir().join("runs");
    std::fs::create_dir_all(&base).map_err(|e| LabError::Vm(format!("cannot create {}: {e}", base.display())))?;
    prune_runs(&base);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let share = tempdir_in(&base.join(format!("{}-{nanos}", std::process::id())))?;
    let result = run_with_share(kernel, run, &qemu, &busybox, &share);
    let _ = std::fs::remove_dir_all(&share);
    result
}

/// Remove run directories left by lab processes that no longer exist (killed
/// before they could clean up): each is named after its process id.
fn prune_runs(base: &Path) {
    for e in std::fs::read_dir(base).into_iter().flatten().filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = name.split(['-', '.']).next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists()) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn tempdir_in(path: &Path) -> Result<PathBuf, LabError> {
    let mut p = path.to_path_buf();
    for n in 0..1000 {
        if std::fs::create_dir(&p).is_ok() {
            return Ok(p);
        }
        p = path.with_extension(n.to_string());
    }
    Err(LabError::Vm(format!("cannot create a run directory near {}", path.display())))
}

/// Whether to use KVM (hardware virtualisation, much faster than TCG): the
/// CPU must offer it (a /dev/kvm without vmx/svm, as in some sandboxes, hangs
/// qemu) and this user must be able to open /dev/kvm. `LVSTOP_LAB_ACCEL=tcg`
/// or `=kvm` decides instead.
pub fn kvm_usable() -> bool {
    match std::env::var("LVSTOP_LAB_ACCEL").as_deref() {
        Ok("tcg") => return false,
        Ok("kvm") => return true,
        _ => {}
    }
    let cpu_has_it = crate::sys::read_text("/proc/cpuinfo", 64 << 20)
        .is_ok_and(|c| c.lines().any(|l| l.starts_with("flags") && (l.contains(" vmx") || l.contains(" svm"))));
    cpu_has_it && std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm").is_ok()
}

fn qemu_command(kernel: &Kernel, run: &LabRun, qemu: &Path, initrd: &Path, share: &Path) -> Command {
    let mut cmd = Command::new(qemu);
    if kvm_usable() {
        // KVM can still fail at start (another hypervisor holds VT-x): qemu then falls back to TCG.
        cmd.args(["-accel", "kvm", "-accel", "tcg,thread=multi", "-cpu", "max"]);
    } else {
        cmd.args(["-accel", "tcg,thread=multi", "-cpu", "max"]);
    }
    cmd.args(["-smp", "2", "-no-reboot", "-nic", "none"]);
    if run.interactive {
        // The guest's serial console is this terminal; Ctrl-C goes to the guest,
        // and qemu's escape Ctrl-A x stays as an emergency exit.
        cmd.args(["-display", "none", "-chardev", "stdio,id=con,mux=on,signal=off"]).args([
            "-serial",
            "chardev:con",
            "-mon",
            "chardev=con,mode=readline",
        ]);
    } else {
        cmd.arg("-nographic");
    }
    cmd.args(["-m", &run.memory_mib.to_string()]).arg("-kernel").arg(&kernel.vmlinuz).arg("-initrd").arg(initrd);
    cmd.arg("-append").arg(format!(
        "console=ttyS0 quiet loglevel=1 panic=-1{}",
        if run.interactive { " lvstop.interactive=1" } else { "" }
    ));
    cmd.args(["-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"])
        .arg("-virtfs")
        .arg(format!("local,path={},mount_tag=share,security_model=none,multidevs=remap", qemu_escape(share)));
    cmd
}

/// A path as a value in qemu's option syntax, where `,` separates options
/// and a literal comma is written `,,`.
fn qemu_escape(p: &Path) -> String {
    p.display().to_string().replace(',', ",,")
}

/// The run directory's path as the guest sees it (the same path, under the
/// host's root): UTF-8 without control characters, which the guest's shell
/// can quote; anything else is refused, naming the path and the fix.
fn guest_path(p: &Path) -> Result<&str, LabError> {
    p.to_str().filter(|s| crate::text::is_clean(s)).ok_or_else(|| {
        LabError::Vm(format!(
            "the lab's run directory {} has characters the guest cannot use: set XDG_CACHE_HOME to a plain directory",
            crate::text::sanitize(&p.to_string_lossy())
        ))
    })
}

/// The most lvstop copies of one file out of the guest.
const COPY_OUT_MAX: u64 = 1 << 30;

/// Copy a file the guest left in the share to the host's `to`. The guest is
/// root over the share: it may have put a symlink there (to a host file) or a
/// device, so only a regular file is copied, opened without following a
/// symlink, at most [`COPY_OUT_MAX`] bytes; `to` is not followed either. What
/// is skipped is said.
fn copy_out(from: &Path, to: &Path) -> Result<(), LabError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let shown = |p: &Path| crate::text::sanitize(&p.display().to_string());
    let src = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(from);
    let meta = src.as_ref().ok().and_then(|f| f.metadata().ok());
    let (Ok(src), Some(meta)) = (src, meta) else {
        crate::say!("lvstop lab: not copying {}: not a regular file the guest wrote", shown(from));
        return Ok(());
    };
    if !meta.is_file() || meta.len() > COPY_OUT_MAX {
        crate::say!("lvstop lab: not copying {}: not a regular file of at most {COPY_OUT_MAX} bytes", shown(from));
        return Ok(());
    }
    let err = |e: std::io::Error| LabError::Vm(format!("cannot copy to {}: {e}", shown(to)));
    let mut dst = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(to)
        .map_err(err)?;
    std::io::copy(&mut std::io::Read::take(src, COPY_OUT_MAX), &mut dst).map_err(err)?;
    Ok(())
}

/// Puts the terminal back however the interactive lab ends: the guest's
/// console may have left the alternate screen on and the cursor hidden (qemu
/// forced off, the guest killed).
struct RawGuard;

impl Drop for RawGuard {
    fn drop(&mut self) {
        let _ = ratatui::crossterm::execute!(
            std::io::stdout(),
            ratatui::crossterm::terminal::LeaveAlternateScreen,
            ratatui::crossterm::cursor::Show,
            ratatui::crossterm::style::ResetColor
        );
        let _ = ratatui::crossterm::terminal::disable_raw_mode();
    }
}

/// Run qemu on this terminal. The guest reads the terminal's size from
/// `winsize` in the share, which a thread here rewrites when it changes.
fn run_interactive(mut cmd: Command, run: &LabRun, share: &Path, start: Instant) -> Result<LabOutcome, LabError> {
    let winsize = share.join("winsize");
    let write_size = |(cols, rows): (u16, u16)| {
        let tmp = share.join("winsize.new");
        let _ = std::fs::write(&tmp, format!("{rows} {cols}\n")).and_then(|()| std::fs::rename(&tmp, &winsize));
    };
    let mut size = ratatui::crossterm::terminal::size().unwrap_or((80, 24));
    write_size(size);
    // A SIGTERM or SIGHUP to lvstop stops qemu and restores the terminal too.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        let _ = signal_hook::flag::register(sig, stop.clone());
    }
    ratatui::crossterm::terminal::enable_raw_mode()
        .map_err(|e| LabError::Vm(format!("the interactive lab needs a terminal (or use --run): {e}")))?;
    let guard = RawGuard;
    let mut child = cmd
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| LabError::Vm(format!("cannot start qemu: {e}")))?;
    let deadline = start + run.timeout;
    let status = loop {
        let why = match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if stop.load(std::sync::atomic::Ordering::Relaxed) => "lvstop was told to stop (signal)".into(),
            Ok(None) if Instant::now() >= deadline => format!("the lab ran longer than {:?}", run.timeout),
            Ok(None) => String::new(),
            Err(e) => format!("lost track of qemu: {e}"),
        };
        if !why.is_empty() {
            let _ = child.kill();
            let _ = child.wait();
            drop(guard);
            return Err(LabError::Vm(format!("{why}: the VM was stopped")));
        }
        let now = ratatui::crossterm::terminal::size().unwrap_or(size);
        if now != size {
            size = now;
            write_size(size);
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    drop(guard);
    let code =
        crate::sys::read_text(share.join("exit-code"), crate::sys::SMALL_FILE).ok().and_then(|c| c.trim().parse().ok());
    match code {
        Some(exit_code) => Ok(LabOutcome { exit_code, console: String::new(), elapsed: start.elapsed() }),
        None => Err(LabError::Vm(format!("the VM stopped ({status}) before the lab finished"))),
    }
}

fn run_with_share(
    kernel: &Kernel,
    run: &LabRun,
    qemu: &Path,
    busybox: &Path,
    share: &Path,
) -> Result<LabOutcome, LabError> {
    let write = |name: &str, text: &str| {
        std::fs::write(share.join(name), text).map_err(|e| LabError::Vm(format!("cannot write {name}: {e}")))
    };
    let mut env = String::from("export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp TERM=${TERM:-xterm-256color} LVSTOP_IN_VM=1\n");
    for (k, v) in &run.env {
        let _ = writeln!(env, "export {k}={}", shell_quote(v));
    }
    write("run.sh", &format!("{}\n", run.command))?;
    let initrd = share.join("initrd.cpio");
    let share_abs = share.canonicalize().map_err(|e| LabError::Vm(e.to_string()))?;
    let share_text = guest_path(&share_abs)?;
    build_initramfs(kernel, busybox, share_text, &initrd)?;
    let out = share_abs.join("out");
    std::fs::create_dir_all(&out).map_err(|e| LabError::Vm(format!("cannot create {}: {e}", out.display())))?;
    std::fs::write(
        share.join("env.sh"),
        format!(
            "{env}export LVSTOP_OUT={} LVSTOP_SHARE={}\n",
            shell_quote(&out.display().to_string()),
            shell_quote(&share_abs.display().to_string())
        ),
    )
    .map_err(|e| LabError::Vm(format!("cannot write env.sh: {e}")))?;
    let start = Instant::now();
    let mut cmd = qemu_command(kernel, run, qemu, &initrd, &share_abs);
    if run.interactive {
        return run_interactive(cmd, run, &share_abs, start);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| LabError::Vm(format!("cannot start {}: {e}", qemu.display())))?;
    let stdout = child.stdout.take().ok_or_else(|| LabError::Vm("qemu has no stdout".into()))?;
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).split(b'\n').map_while(Result::ok) {
            let line = String::from_utf8_lossy(&line).trim_end_matches('\r').to_string();
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut console = String::new();
    let mut exit_code = None;
    let deadline = start + run.timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left.min(Duration::from_millis(500))) {
            Ok(line) => {
                if let Some(code) = line.trim().strip_prefix(EXIT_MARK) {
                    exit_code = code.trim().parse().ok();
                } else if run.echo && !line.contains('\u{1b}') {
                    let _ = writeln!(std::io::stdout(), "{line}");
                }
                console.push_str(&line);
                console.push('\n');
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(LabError::Vm(format!(
                        "the VM did not finish within {:?}; console so far:\n{console}",
                        run.timeout
                    )));
                }
            }
        }
    }
    let _ = reader.join();
    let status = child.wait().map_err(|e| LabError::Vm(e.to_string()))?;
    let mut stderr = String::new();
    if let Some(e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut std::io::Read::take(e, 64 * 1024), &mut stderr);
    }
    if let Some(dir) = &run.out_dir {
        std::fs::create_dir_all(dir).map_err(|e| LabError::Vm(format!("cannot create {}: {e}", dir.display())))?;
        for e in std::fs::read_dir(&out).into_iter().flatten().filter_map(Result::ok) {
            copy_out(&e.path(), &dir.join(e.file_name()))?;
        }
    }
    match exit_code {
        Some(exit_code) => Ok(LabOutcome { exit_code, console, elapsed: start.elapsed() }),
        None => Err(LabError::Vm(format!(
            "the VM stopped ({status}) without reporting an exit status.\nqemu said: {}\nconsole:\n{console}",
            stderr.trim()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_paths_are_escaped_for_qemu_and_refused_when_the_guest_cannot_quote_them() {
        assert_eq!(qemu_escape(Path::new("/home/a,b/lab")), "/home/a,,b/lab");
        assert_eq!(guest_path(Path::new("/home/o'neil/my lab")).expect("quotable"), "/home/o'neil/my lab");
        let e = guest_path(Path::new("/tmp/x\ny")).expect_err("a newline");
        assert!(e.to_string().contains(r"/tmp/x\x0ay") && e.to_string().contains("XDG_CACHE_HOME"), "{e}");
    }

    #[test]
    fn only_regular_files_are_copied_out_of_the_guest() {
        let dir = std::env::temp_dir().join(format!("lvstop-copy-out-{}", std::process::id()));
        let (share, out) = (dir.join("share"), dir.join("out"));
        std::fs::create_dir_all(&share).expect("share");
        std::fs::create_dir_all(&out).expect("out");
        std::fs::write(share.join("result.txt"), "ok\n").expect("write");
        std::fs::write(dir.join("secret"), "host secret\n").expect("write");
        std::os::unix::fs::symlink(dir.join("secret"), share.join("link")).expect("symlink");
        let fifo = std::process::Command::new("mkfifo").arg(share.join("fifo")).status().expect("mkfifo");
        assert!(fifo.success());
        // A symlink already at the destination is not written through either.
        std::os::unix::fs::symlink(dir.join("secret"), out.join("result2.txt")).expect("symlink");
        std::fs::write(share.join("result2.txt"), "two\n").expect("write");
        for name in ["result.txt", "link", "fifo"] {
            copy_out(&share.join(name), &out.join(name)).expect("copy or skip");
        }
        assert!(copy_out(&share.join("result2.txt"), &out.join("result2.txt")).is_err());
        assert_eq!(std::fs::read_to_string(out.join("result.txt")).expect("copied"), "ok\n");
        assert!(!out.join("link").exists() && !out.join("fifo").exists());
        assert_eq!(std::fs::read_to_string(dir.join("secret")).expect("secret"), "host secret\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
