//! `lvstop agent` (hidden): what another lvstop runs on this director over
//! ssh to read it (see [`crate::remote::director`] for the protocol). It
//! reads requests on standard input, one JSON line each (at most 64 KiB),
//! and answers on standard output until `bye` or the end of its input.

use std::io::{BufRead, Read as _, Write};

use crate::remote::director::{Answer, Hello, Request};
use crate::{ipvs, report, sys};

/// The longest request line read.
const REQUEST_MAX: u64 = 64 << 10;

/// Serve requests until `bye` or the end of standard input.
pub fn run() -> anyhow::Result<i32> {
    sys::privilege::keep_only(sys::privilege::Needs::Ipvs).map_err(anyhow::Error::msg)?;
    let mut input = std::io::stdin().lock();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut backend: Option<ipvs::Backend> = None;
    let answer = |out: &mut std::io::BufWriter<_>, a: &Answer| -> std::io::Result<()> {
        serde_json::to_writer(&mut *out, a)?;
        out.write_all(b"\n")
    };
    let hello = serde_json::to_string(&Hello::ours())?;
    // A closed connection ends the agent quietly: the other side has gone.
    if writeln!(out, "{hello}").and_then(|()| out.flush()).is_err() {
        return Ok(0);
    }
    loop {
        let mut line = Vec::new();
        match (&mut input).take(REQUEST_MAX + 1).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return Ok(0),
            Ok(_) => {}
        }
        if line.len() as u64 > REQUEST_MAX {
            let a = Answer { error: Some(format!("a request longer than {REQUEST_MAX} bytes")), ..Answer::default() };
            let _ = answer(&mut out, &a).and_then(|()| out.flush());
            return Ok(1);
        }
        let written = match serde_json::from_slice::<Request>(&line) {
            Ok(r) if r.op == "bye" => return Ok(0),
            Ok(r) if r.op == "snapshot" => snapshot(&mut backend, &mut out),
            Ok(r) if r.op == "apply" => {
                let a = match apply(&mut backend, r) {
                    Ok(()) => Answer { ok: Some("applied".into()), ..Answer::default() },
                    Err((e, applied)) => Answer { error: Some(e), applied: Some(applied), ..Answer::default() },
                };
                answer(&mut out, &a)
            }
            Ok(r) => {
                let what = crate::text::sanitize(&r.op);
                answer(&mut out, &Answer { error: Some(format!("unknown request '{what}'")), ..Answer::default() })
            }
            Err(e) => answer(&mut out, &Answer { error: Some(format!("a bad request: {e}")), ..Answer::default() }),
        };
        if written.and_then(|()| out.flush()).is_err() {
            return Ok(0);
        }
    }
}

/// Answer a snapshot request: the head line, then the dump document.
fn snapshot(backend: &mut Option<ipvs::Backend>, out: &mut impl Write) -> std::io::Result<()> {
    let read = match backend {
        Some(b) => b.snapshot(),
        None => ipvs::Backend::open().and_then(|mut b| {
            let snap = b.snapshot();
            *backend = Some(b);
            snap
        }),
    };
    let snap = match read {
        Ok(s) => s,
        Err(e) => {
            *backend = None;
            let a = Answer { error: Some(e.to_string()), ..Answer::default() };
            serde_json::to_writer(&mut *out, &a)?;
            return out.write_all(b"\n");
        }
    };
    let a = Answer {
        ok: Some("snapshot".into()),
        addresses: crate::remote::director::local_addresses(),
        ..Answer::default()
    };
    serde_json::to_writer(&mut *out, &a)?;
    out.write_all(b"\n")?;
    report::write_dump_json(out, &snap, None)
}

/// Apply a change made in another director's console: each step logged here
/// before it is sent (who: the ssh user, via the agent, from the ssh
/// client's address), refused if its object has changed since that console
/// saw it; the first failure stops the rest. Err: why, and how many steps
/// were applied.
fn apply(backend: &mut Option<ipvs::Backend>, r: Request) -> Result<(), (String, usize)> {
    let Some(change) = r.change else { return Err(("an apply request needs a change".into(), 0)) };
    let b = match backend {
        Some(b) => b,
        None => backend.insert(ipvs::Backend::open().map_err(|e| (e.to_string(), 0))?),
    };
    let mut who = crate::audit::operator();
    let from = std::env::var("SSH_CLIENT").ok().and_then(|c| c.split_whitespace().next().map(crate::text::sanitize));
    who.user = format!("{} via lvstop agent from {}", who.user, from.as_deref().unwrap_or("an unknown host"));
    let audit = crate::audit::AuditLog::new(crate::audit::default_path(), who);
    let steps = change.steps();
    for (i, step) in steps.iter().enumerate() {
        let nl = b.writer(step.kind()).map_err(|e| (e.to_string(), i))?;
        audit.record(step, "sending").map_err(|e| (format!("not sent: {e}"), i))?;
        let result = nl.apply(step).map_err(|e| e.to_string());
        let line = match &result {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("error: {e}"),
        };
        let _ = audit.record(step, &line);
        result.map_err(|e| (e, i))?;
    }
    Ok(())
}
