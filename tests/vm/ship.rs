//! The portable binary (`.ci/package`) against the real kernel: it starts,
//! its dump agrees with ipvsadm, and the README's capability recipe (a copy
//! only one group may run, with cap_net_admin,cap_net_raw) works for a member
//! of that group and for nobody else.

use super::cases::RICH;
use super::ipvsadm;
use super::util::{ensure, load_rules, sh, sh_status};
use lvstop::checks::shell_quote as q;

/// The portable binary's path, passed in by the host side of the VM tests.
pub const PORTABLE_ENV: &str = "LVSTOP_PORTABLE";
/// Debian 11's C library (glibc 2.31) unpacked by `.ci/old-glibc`.
pub const OLD_GLIBC_ENV: &str = "LVSTOP_OLD_GLIBC";

/// Operators' group and one member, one non-member (numeric: the VM shares the
/// host's read-only /etc).
const GROUP: u32 = 4242;
const MEMBER: u32 = 4243;
const OUTSIDER: u32 = 4244;

/// The file `env` names (joined with `file`), if it was built; else None, or
/// an error on CI.
fn built(env: &str, file: &str, how: &str) -> Result<Option<String>, String> {
    let dir = std::env::var(env).unwrap_or_default();
    let path = if file.is_empty() { dir } else { format!("{dir}/{file}") };
    Ok(super::paths::built(std::path::Path::new(&path), how)?.then_some(path))
}

pub fn portable_binary() -> Result<(), String> {
    let Some(path) = built(PORTABLE_ENV, "", ".ci/package")? else { return Ok(()) };
    // A copy on the VM's own filesystem, as an operator copies it onto a director.
    let dir = "/tmp/portable";
    let bin = format!("{dir}/lvstop");
    sh(&format!("mkdir -p {dir} && cp {} {bin}", q(&path)))?;
    let version = sh(&format!("{bin} --version"))?;
    ensure(version.trim() == format!("lvstop {}", env!("CARGO_PKG_VERSION")), || format!("--version: {version}"))?;

    load_rules(RICH)?;
    ipvsadm::compare(|| lvstop::model::json::parse_dump(&sh(&format!("{bin} dump --json"))?))?;
    let text = sh(&format!("{bin} dump"))?;
    ensure(text.contains("198.51.100.100:80") && !text.contains("READ-ONLY"), || format!("dump:\n{text}"))?;
    // The same on an older C library than this machine's.
    if let Some(ld) = built(OLD_GLIBC_ENV, "ld-linux-x86-64.so.2", ".ci/old-glibc")? {
        let lib = std::env::var(OLD_GLIBC_ENV).unwrap_or_default();
        let dump = format!("{} --library-path {} {bin} dump --json", q(&ld), q(&lib));
        ipvsadm::compare(|| lvstop::model::json::parse_dump(&sh(&dump)?))?;
    }

    // The README's recipe: root owns it, the group may run it, the file
    // carries the two capabilities.
    let sbin = format!("{dir}/sbin");
    let grp = format!("{sbin}/lvstop");
    sh(&format!(
        "mkdir -p {sbin} && install -o root -g {GROUP} -m 0750 {bin} {grp} && setcap cap_net_admin,cap_net_raw+ep {grp}"
    ))?;
    let caps = sh(&format!("getcap {grp}"))?;
    ensure(caps.contains("cap_net_admin") && caps.contains("cap_net_raw"), || format!("getcap: {caps}"))?;
    // setpriv keeps root's capabilities until the next exec: a shell in
    // between is that user's login shell, without any.
    let as_user = |uid: u32, gid: u32, cmd: &str| {
        format!("setpriv --reuid={uid} --regid={gid} --groups={gid} --inh-caps=-all sh -c 'exec {cmd}'")
    };
    // A member reads the whole table over netlink, as root would.
    ipvsadm::compare(|| lvstop::model::json::parse_dump(&sh(&as_user(MEMBER, GROUP, &format!("{grp} dump --json")))?))?;
    let (code, save, err) = sh_status(&as_user(MEMBER, GROUP, &format!("{grp} save")));
    let as_root = sh(&format!("{bin} save"))?;
    ensure(code == 0 && save == as_root, || format!("save as a member ({code}): {err}\n{save}\n---\n{as_root}"))?;
    // Anyone else cannot even start it.
    let (code, _, err) = sh_status(&as_user(OUTSIDER, OUTSIDER, &format!("{grp} dump")));
    ensure(code == 126 && err.contains("Permission denied"), || format!("an outsider ran it ({code}): {err}"))?;
    Ok(())
}
