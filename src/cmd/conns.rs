//! `lvstop conns`: the kernel's connection entries (`/proc/net/ip_vs_conn`,
//! what `ipvsadm -Lcn` prints), filtered while they are read.

use crate::cli::ConnsArgs;
use crate::{report, sys};

/// Print the entries that pass the filter, and how many were read.
pub fn run(args: &ConnsArgs) -> anyhow::Result<i32> {
    // The file is world-readable: no capability is needed.
    sys::privilege::keep_only(sys::privilege::Needs::Nothing).map_err(anyhow::Error::msg)?;
    let filter = args.filter();
    let path = sys::ipvs_proc::IP_VS_CONN;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
            "IPVS is not available in this kernel (no {path}): load it with modprobe ip_vs on a director, \
             or try lvstop in a disposable VM with lvstop lab"
        ),
        Err(e) => anyhow::bail!("cannot read {path}: {e}"),
    };
    let out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut w = match report::ConnWriter::start(out, args.json) {
        Ok(w) => w,
        Err(e) => return write_error(e),
    };
    let mut failed = None;
    let read = sys::ipvs_proc::read_conn_entries(path, std::io::BufReader::with_capacity(1 << 16, file), |e| {
        if !filter.matches(&e) {
            return true;
        }
        w.entry(&e).map_err(|err| failed = Some(err)).is_ok()
    })?;
    if let Some(e) = failed {
        return write_error(e);
    }
    match w.finish(read) {
        Ok(_) => Ok(0),
        Err(e) => write_error(e),
    }
}

/// A closed pipe (`lvstop conns | head`) is not an error.
fn write_error(e: std::io::Error) -> anyhow::Result<i32> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(0)
    } else {
        Err(anyhow::Error::new(e).context("cannot write to standard output"))
    }
}
