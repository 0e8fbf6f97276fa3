//! The console's event loop: one owner of the state, one `select!` over
//! terminal events, worker messages, ticks and signals; the terminal is
//! restored on every way out (quit, error, panic, SIGINT/SIGTERM/SIGHUP).

use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{Event, EventStream};
use ratatui::crossterm::terminal::{disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::crossterm::{cursor, execute};
use ratatui::Terminal;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use crate::app::{update, AppState, Effect, Msg};
use crate::audit::AuditLog;
use crate::ipvs::IpvsHandle;
use crate::model::Change;
use crate::ui::{self, Theme};

/// Puts the terminal back however the console ends.
pub struct TerminalGuard;

fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, cursor::Show);
}

impl TerminalGuard {
    /// Enter raw mode and the alternate screen, and hook panics to restore first.
    pub fn enter() -> io::Result<Self> {
        let hook = std::panic::take_hook();
        // A panic anywhere, a worker thread included, restores the terminal and
        // ends lvstop: no UI goes on behind a half-restored terminal.
        std::panic::set_hook(Box::new(move |info| {
            restore();
            hook(info);
            std::process::exit(101);
        }));
        enable_raw_mode()?;
        execute!(io::stdout(), EnterAlternateScreen, cursor::Hide)?;
        Ok(TerminalGuard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Everything the loop needs.
pub struct Console {
    /// Initial state.
    pub state: AppState,
    /// Theme.
    pub theme: Theme,
    /// The IPVS worker.
    pub ipvs: IpvsHandle,
    /// Where changes are logged.
    pub audit: AuditLog,
    /// Refresh interval.
    pub interval: Duration,
    /// How to read realservers for the checks.
    pub ssh: crate::remote::SshConfig,
    /// Reads the director's interfaces and CPU.
    pub sys: crate::sys::nic::Sampler,
    /// The other directors (`[directors]`).
    pub directors: std::collections::BTreeMap<String, crate::remote::director::Target>,
    /// Open connections to other directors' agents, kept between readings.
    pub sessions: Sessions,
    /// The director shown first (`--director NAME`), when not this host.
    pub director: Option<String>,
}

/// Open connections to other directors' agents, by name.
pub type Sessions = Arc<tokio::sync::Mutex<std::collections::HashMap<String, crate::remote::director::Session>>>;

/// The session kept for director `name` (taken out of `open`: the caller
/// puts it back after a success), or a new one to `(host, user, port, lvstop)`.
async fn session(
    name: &str,
    open: &mut std::collections::HashMap<String, crate::remote::director::Session>,
    (host, user, port, lvstop): (&str, Option<&str>, Option<u16>, &str),
    ssh: &crate::remote::SshConfig,
) -> Result<crate::remote::director::Session, String> {
    match open.remove(name) {
        Some(s) => Ok(s),
        None => crate::remote::director::Session::open(name, host, user, port, lvstop, ssh).await,
    }
}

/// Apply `change` on director `name` through its agent (the session kept
/// for it, or a new one), each step logged here before it is sent and with
/// its result (the agent logs it there too). Err: why, and how many of its
/// first steps were applied.
async fn apply_remote(
    name: &str,
    change: &Change,
    target: Option<crate::remote::director::Target>,
    ssh: &crate::remote::SshConfig,
    sessions: &Sessions,
    audit: &AuditLog,
) -> Result<(), (String, usize)> {
    use crate::remote::director::Target;
    let Some(Target::Ssh { host, user, port, lvstop }) = target else {
        return Err((format!("'{name}' is not a director reached over ssh"), 0));
    };
    let mut open = sessions.lock().await;
    let mut s = session(name, &mut open, (&host, user.as_deref(), port, &lvstop), ssh).await.map_err(|e| (e, 0))?;
    let steps = change.steps();
    for (i, step) in steps.iter().enumerate() {
        audit.record(step, &format!("sending to director {name}")).map_err(|e| (format!("not sent: {e}"), i))?;
        let result = s.apply(step).await;
        let line = match &result {
            Ok(()) => format!("ok on director {name}"),
            Err((e, _)) => format!("error on director {name}: {e}"),
        };
        let _ = audit.record(step, &line);
        if let Err((e, _)) = result {
            s.close().await;
            return Err((e, i));
        }
    }
    open.insert(name.to_string(), s);
    Ok(())
}

/// Read director `name` for the pair view: through its agent, over the
/// session kept from the last reading (a new one if there is none, and none
/// kept after a failure), or this host again if it is `local`.
async fn read_peer(
    name: &str,
    target: Option<crate::remote::director::Target>,
    ssh: &crate::remote::SshConfig,
    ipvs: &IpvsHandle,
    sessions: &Sessions,
) -> Result<crate::remote::director::View, String> {
    use crate::remote::director::{local_addresses, Target, View};
    match target {
        None => Err(format!("'{name}' is not in [directors]")),
        Some(Target::Local) => {
            let snapshot = ipvs.run(crate::ipvs::Backend::snapshot).await.map_err(|e| e.to_string())?;
            let addresses = tokio::task::spawn_blocking(local_addresses).await.map_err(|e| e.to_string())?;
            Ok(View { snapshot, addresses: Some(addresses) })
        }
        Some(Target::Ssh { host, user, port, lvstop }) => {
            let mut open = sessions.lock().await;
            let mut s = session(name, &mut open, (&host, user.as_deref(), port, &lvstop), ssh).await?;
            match s.view().await {
                Ok(v) => {
                    open.insert(name.to_string(), s);
                    Ok(v)
                }
                Err(e) => {
                    s.close().await;
                    Err(e)
                }
            }
        }
    }
}

/// Start the work an effect asks for; false when the console should end.
fn run_effect(e: Effect, con: &Console, tx: &mpsc::UnboundedSender<Msg>, stop: &Arc<AtomicBool>) -> bool {
    let (ipvs, audit) = (&con.ipvs, &con.audit);
    match e {
        Effect::Quit => return false,
        Effect::Refresh(want) => {
            let tx = tx.clone();
            let all = want == crate::model::Want::All;
            let alone = matches!(want, crate::model::Want::Alone(_));
            let read = ipvs.run(move |b| b.refresh(&want));
            tokio::spawn(async move {
                let msg = match read.await {
                    Ok((s, _)) if all => Msg::Snapshot(Box::new(s), Instant::now()),
                    Ok((s, read)) if alone => Msg::ReadAlone(Box::new(s), read, Instant::now()),
                    Ok((s, read)) => Msg::Refreshed(Box::new(s), read, Instant::now()),
                    Err(e) => Msg::SnapshotFailed(e.to_string(), Instant::now()),
                };
                let _ = tx.send(msg);
            });
        }
        Effect::Apply { id, change } => {
            let (tx, audit, stop) = (tx.clone(), audit.clone(), stop.clone());
            // Handed to the IPVS thread now, in the order asked (a refresh
            // asked after it reads the change).
            let applied = ipvs.run(move |b| Ok(apply_steps(b, &audit, &change, &stop)));
            tokio::spawn(async move {
                let done = applied.await.unwrap_or_else(|e| Applied {
                    result: Err(e.to_string()),
                    steps: 0,
                    log_incomplete: None,
                    meanwhile: None,
                });
                let Applied { result, steps, log_incomplete, meanwhile } = done;
                let _ = tx.send(Msg::Done { id, result, applied_steps: steps, log_incomplete, meanwhile });
            });
        }
        Effect::SampleSys { roles_for } => {
            let (tx, sampler) = (tx.clone(), con.sys.clone());
            tokio::task::spawn_blocking(move || {
                let sample = sampler.sample();
                let roles = roles_for.map(|(vips, rips)| crate::sys::load::find_roles(&sample, &vips, &rips));
                let _ = tx.send(Msg::Sys(Box::new(sample), roles, Instant::now()));
            });
        }
        Effect::RunChecks { run, table } => {
            let (ipvs, tx) = (ipvs.clone(), tx.clone());
            let opts = crate::checks::CheckOptions {
                ssh: Some(con.ssh.clone()),
                nic: con.state.settings.nic_policy.clone(),
                ..Default::default()
            };
            tokio::spawn(async move {
                // The checks judge every realserver: the table shown when every
                // service's realservers are in it (a periodic run), else a
                // complete snapshot of their own, which then fills in what the
                // table lacks (moved, not copied: the run has let go of it).
                let (snap, fill) = match table {
                    Some(snap) => (Ok(*snap), false),
                    None => (ipvs.run(crate::ipvs::Backend::snapshot).await, true),
                };
                let report = match snap {
                    Ok(snap) => {
                        let snap = std::sync::Arc::new(snap);
                        let report = crate::checks::run(std::sync::Arc::clone(&snap), opts).await;
                        if let (true, Ok(snap)) = (fill, std::sync::Arc::try_unwrap(snap)) {
                            let _ = tx.send(Msg::CheckTable(Box::new(snap)));
                        }
                        report
                    }
                    Err(e) => crate::checks::CheckReport::unreadable(&e.to_string()),
                };
                let _ = tx.send(Msg::Checks(Box::new(report), run, Instant::now()));
            });
        }
        Effect::ReadPair(left, name) => {
            let (ipvs, tx, ssh, sessions) = (ipvs.clone(), tx.clone(), con.ssh.clone(), con.sessions.clone());
            let target = con.directors.get(&name).cloned();
            // The left side is the director the main view shows: this host, or one of [directors].
            let (left_name, left_target) = match &left {
                None => ("local".to_string(), Some(crate::remote::director::Target::Local)),
                Some(d) => (d.clone(), con.directors.get(d).cloned()),
            };
            tokio::spawn(async move {
                let read = async {
                    let local = read_peer(&left_name, left_target, &ssh, &ipvs, &sessions);
                    let peer = read_peer(&name, target, &ssh, &ipvs, &sessions);
                    let (local, peer) = tokio::join!(local, peer);
                    Ok(crate::app::pair::PairRead { local: local?, peer: peer? })
                };
                let _ = tx.send(Msg::Pair(left, name.clone(), Box::new(read.await)));
            });
        }
        Effect::ApplyPeer(edit) => {
            let (tx, ssh, sessions, audit) = (tx.clone(), con.ssh.clone(), con.sessions.clone(), audit.clone());
            let target = con.directors.get(&edit.name).cloned();
            tokio::spawn(async move {
                let changes = edit
                    .steps
                    .iter()
                    .map(|(svc, before, after)| Change::EditDest {
                        svc: *svc,
                        before: before.clone(),
                        after: after.clone(),
                    })
                    .collect();
                let change = Change::Batch { label: format!("weights on {}", edit.name), changes };
                let result = apply_remote(&edit.name, &change, target, &ssh, &sessions, &audit).await;
                let n = edit.steps.len();
                let result =
                    result.map(|()| n).map_err(|(e, done)| if done > 0 { format!("after {done} set: {e}") } else { e });
                let _ = tx.send(Msg::PeerApplied(edit.name.clone(), result));
            });
        }
        Effect::ApplyRemote { id, director, change } => {
            let (tx, ssh, sessions, audit) = (tx.clone(), con.ssh.clone(), con.sessions.clone(), audit.clone());
            let target = con.directors.get(&director).cloned();
            tokio::spawn(async move {
                let (result, applied_steps) =
                    match apply_remote(&director, &change, target, &ssh, &sessions, &audit).await {
                        Ok(()) => (Ok(()), 0),
                        Err((e, done)) => (Err(e), done),
                    };
                let _ = tx.send(Msg::Done { id, result, applied_steps, log_incomplete: None, meanwhile: None });
            });
        }
        Effect::ReadDirector(name) => {
            let (ipvs, tx, ssh, sessions) = (ipvs.clone(), tx.clone(), con.ssh.clone(), con.sessions.clone());
            let target = con.directors.get(&name).cloned();
            tokio::spawn(async move {
                let read = read_peer(&name, target, &ssh, &ipvs, &sessions).await.map(|v| v.snapshot);
                let _ = tx.send(Msg::DirectorRead(name, Box::new(read), Instant::now()));
            });
        }
        Effect::ReadConns(filter) => {
            let tx = tx.clone();
            tokio::task::spawn_blocking(move || {
                let read = crate::sys::ipvs_proc::read_conn_summary(&filter, crate::app::conns::CAP);
                let _ = tx.send(Msg::Conns(Box::new(read.map_err(|e| e.to_string()))));
            });
        }
        Effect::Save { path, replace, rules } => {
            let tx = tx.clone();
            tokio::task::spawn_blocking(move || {
                let r = save_file(&path, replace, &rules);
                let _ = tx.send(Msg::Saved(path, r));
            });
        }
    }
    true
}

/// Write `rules` to `path`: a new file unless `replace`, and never through a
/// symlink (lvstop may run as root).
fn save_file(path: &std::path::Path, replace: bool, rules: &str) -> Result<(), String> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).mode(0o644).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    if replace {
        o.create(true).truncate(true);
    } else {
        o.create_new(true);
    }
    let mut f = o.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => "it exists: :save! FILE replaces it".to_string(),
        _ if e.raw_os_error() == Some(libc::ELOOP) => "it is a symbolic link: name the file itself".to_string(),
        _ => e.to_string(),
    })?;
    f.write_all(rules.as_bytes()).and_then(|()| f.sync_data()).map_err(|e| e.to_string())
}

/// What the worker did with a change.
struct Applied {
    /// Ok, or why not (for a batch: why its first failing step failed).
    result: Result<(), String>,
    /// The steps of a batch applied before one failed (0 for a single change).
    steps: usize,
    /// Applied, but a result line could not be logged: why.
    log_incomplete: Option<String>,
    /// The object the failed step found changed since the operator saw it, as it is now.
    meanwhile: Option<crate::model::Current>,
}

/// On the IPVS worker thread: a single change, or each step of a batch in
/// turn (each logged, applied, logged), stopping at the first failure, or
/// between two steps once `stop` is set (lvstop is quitting and could not
/// wait for the whole batch).
fn apply_steps(b: &mut crate::ipvs::Backend, audit: &AuditLog, change: &Change, stop: &AtomicBool) -> Applied {
    let steps = change.steps();
    let mut log_incomplete = None;
    for (i, step) in steps.iter().enumerate() {
        if i > 0 && stop.load(Ordering::SeqCst) {
            let result = Err(format!("stopped after step {i} of {}: lvstop was quitting", steps.len()));
            return Applied { result, steps: i, log_incomplete, meanwhile: None };
        }
        match apply_audited(b, audit, step) {
            Ok(note) => log_incomplete = log_incomplete.or(note),
            Err((e, meanwhile)) => {
                let result = if steps.len() > 1 {
                    Err(format!("step {} of {} failed: {e}", i + 1, steps.len()))
                } else {
                    Err(e)
                };
                return Applied { result, steps: i, log_incomplete, meanwhile };
            }
        }
    }
    Applied { result: Ok(()), steps: 0, log_incomplete, meanwhile: None }
}

/// On the IPVS worker thread: log, apply, log the result. Ok carries the
/// reason the result line could not be logged, if it could not: the change
/// was applied all the same. Err carries, besides why, the object as it is
/// now when it had changed since the operator saw it.
fn apply_audited(
    b: &mut crate::ipvs::Backend,
    audit: &AuditLog,
    change: &Change,
) -> Result<Option<String>, (String, Option<crate::model::Current>)> {
    let nl = b.writer(change.kind()).map_err(|e| (e.to_string(), None))?;
    audit.record(change, "sending").map_err(|e| (format!("not sent: {e}"), None))?;
    let result = nl.apply(change);
    let line = match &result {
        Ok(()) => "ok".to_string(),
        Err(e) => format!("error: {e}"),
    };
    let logged = audit.record(change, &line);
    match (result, logged) {
        (Ok(()), Ok(())) => Ok(None),
        (Ok(()), Err(e)) => Ok(Some(format!("{e}: the audit log lacks this change's result"))),
        (Err(crate::ipvs::IpvsError::ChangedMeanwhile { what, seen, now, current }), _) => {
            let e = crate::ipvs::IpvsError::ChangedMeanwhile { what, seen, now, current: current.clone() };
            Err((e.to_string(), Some(*current)))
        }
        (Err(e), _) => Err((e.to_string(), None)),
    }
}

/// Run the console until quit. The terminal is restored on return.
pub async fn run(mut c: Console) -> anyhow::Result<()> {
    let _guard = TerminalGuard::enter()?;
    let mut terminal: Terminal<CrosstermBackend<Stdout>> = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.clear()?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let mut events = EventStream::new();
    // With a refresh every second or more often, the refresh is the tick too:
    // one wake-up and one frame a second instead of two.
    let ticks_apart = c.interval > Duration::from_secs(1);
    let mut tick = tokio::time::interval(if ticks_apart { Duration::from_secs(1) } else { Duration::from_secs(3600) });
    // The first read is asked for below, before anything else is done: the
    // poll comes next an interval later.
    let mut poll = tokio::time::interval_at(tokio::time::Instant::now() + c.interval, c.interval);
    // A frame is drawn at once for a key, and for anything else a little later,
    // so that what arrives together (a refresh and the interface reading it
    // asks for) is drawn once.
    let mut due: Option<tokio::time::Instant> = None;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let stop = Arc::new(AtomicBool::new(false));
    let size = terminal.size()?;
    update(&mut c.state, Msg::Resize(size.width, size.height));
    // The table is read (on the IPVS thread) while the rest starts: the
    // services managed by keepalived or ldirectord are found, the empty
    // screen drawn. A large table's first frame comes that much sooner.
    // With --director, the switch asks for that director's table (and the
    // poll then finds a read on its way).
    let mut first = match c.director.take() {
        Some(d) => crate::app::director::switch(&mut c.state, &d),
        None => Vec::new(),
    };
    first.extend(update(&mut c.state, Msg::Poll(Instant::now())));
    for e in first {
        run_effect(e, &c, &tx, &stop);
    }
    update(&mut c.state, Msg::Managed(crate::sys::managed::detect()));
    terminal.draw(|f| ui::render(&c.state, &c.theme, f))?;
    loop {
        let mut msgs = Vec::new();
        let mut effects = Vec::new();
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) => msgs.push(Msg::Key(k)),
                Some(Ok(Event::Resize(w, h))) => msgs.push(Msg::Resize(w, h)),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(anyhow::anyhow!("terminal input failed: {e}")),
                None => msgs.push(Msg::Quit),
            },
            Some(m) = rx.recv() => msgs.push(m),
            _ = tick.tick(), if ticks_apart => msgs.push(Msg::Tick(Instant::now())),
            _ = poll.tick() => {
                if !ticks_apart {
                    msgs.push(Msg::Tick(Instant::now()));
                }
                msgs.push(Msg::Poll(Instant::now()));
            }
            () = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                due = None;
                terminal.draw(|f| ui::render(&c.state, &c.theme, f))?;
                continue;
            }
            _ = sigterm.recv() => msgs.push(Msg::Quit),
            _ = sighup.recv() => msgs.push(Msg::Quit),
            _ = sigint.recv() => msgs.push(Msg::Quit),
        }
        while let Ok(m) = rx.try_recv() {
            msgs.push(m);
        }
        let had_data = c.state.table.snapshot().is_some();
        let now_please = msgs.iter().any(|m| matches!(m, Msg::Key(_) | Msg::Resize(..)));
        // A poll alone only asks for a refresh: nothing on screen changes until it comes back.
        let later = msgs.iter().any(|m| !matches!(m, Msg::Poll(_)));
        let sys_came = msgs.iter().any(|m| matches!(m, Msg::Sys(..)));
        let tick_alone = msgs.iter().all(|m| matches!(m, Msg::Tick(_) | Msg::Poll(_)));
        for m in msgs {
            effects.extend(update(&mut c.state, m));
        }
        let frame = next_frame(&effects, later, sys_came, tick_alone);
        let mut quit = c.state.quit;
        for e in effects {
            quit |= !run_effect(e, &c, &tx, &stop);
        }
        if quit {
            return finish_in_flight(&mut c, &mut terminal, &mut rx, &stop).await;
        }
        let now = tokio::time::Instant::now();
        // The first table read is drawn at once, without waiting for the interfaces.
        let first_data = !had_data && c.state.table.snapshot().is_some();
        if now_please || first_data {
            due = None;
            terminal.draw(|f| ui::render(&c.state, &c.theme, f))?;
        } else {
            match frame {
                Frame::Soon if due.is_none() => due = Some(now + FRAME_DELAY),
                Frame::None | Frame::Soon => {}
                // The interfaces' reading follows a refresh: the two are drawn together.
                Frame::AfterSample => due = Some(due.map_or(now + SAMPLE_WAIT, |d| d.min(now + SAMPLE_WAIT))),
                Frame::SampleCame => due = Some(due.map_or(now + FRAME_DELAY, |d| d.min(now + FRAME_DELAY))),
            }
        }
    }
}

/// How long a frame waits for what arrives with the message that asked for it.
const FRAME_DELAY: Duration = Duration::from_millis(50);

/// How long the frame of a refresh waits for the interfaces' reading it asked
/// for (drawn as soon as that comes).
const SAMPLE_WAIT: Duration = Duration::from_millis(300);

/// When the messages just handled want a frame (keys and resizes draw at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// Nothing on screen changed, or what did comes with an answer on its way.
    None,
    /// In [`FRAME_DELAY`], with whatever else arrives meanwhile.
    Soon,
    /// A refresh came and asked for the interfaces' reading: wait for it (at
    /// most [`SAMPLE_WAIT`]), so that one frame a second shows both.
    AfterSample,
    /// The interfaces' reading came: draw soon.
    SampleCame,
}

/// One frame a refresh, not one for the tick, one for the table and one for
/// the interfaces' reading that follows it: the console's main thread spent
/// most of its time drawing (lab VM, 1000 services).
fn next_frame(effects: &[Effect], later: bool, sys_came: bool, tick_alone: bool) -> Frame {
    if sys_came {
        Frame::SampleCame
    } else if effects.iter().any(|e| matches!(e, Effect::SampleSys { .. })) {
        Frame::AfterSample
    } else if tick_alone && effects.iter().any(|e| matches!(e, Effect::Refresh(_))) {
        // The refresh's answer brings a frame (the age shown is its own).
        Frame::None
    } else if later {
        Frame::Soon
    } else {
        Frame::None
    }
}

/// How long quitting waits for changes in flight.
const QUIT_WAIT: Duration = Duration::from_secs(10);

/// How long quitting then waits for a batch to stop after its current step
/// (a step is bounded by the netlink timeout).
const STOP_WAIT: Duration = Duration::from_secs(12);

/// Before the console ends: wait (at most [`QUIT_WAIT`], saying so) for the
/// changes already sent, so that none is cut off between its two audit lines;
/// a batch still running then is stopped after its current step.
async fn finish_in_flight(
    c: &mut Console,
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    rx: &mut mpsc::UnboundedReceiver<Msg>,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let mut deadline = tokio::time::Instant::now() + QUIT_WAIT;
    let mut stopping = false;
    while !c.state.edits.pending.is_empty() {
        let n = c.state.edits.pending.len();
        let text = if stopping {
            format!("quitting: stopping {n} batch(es) after the current step")
        } else {
            format!("quitting: waiting up to {} s for {n} change(s) in flight", QUIT_WAIT.as_secs())
        };
        c.state.last_action = Some((text, crate::app::Outcome::Pending));
        terminal.draw(|f| ui::render(&c.state, &c.theme, f))?;
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(m @ Msg::Done { .. })) => {
                update(&mut c.state, m);
            }
            Ok(Some(_)) => {}
            Err(_) if !stopping => {
                stop.store(true, Ordering::SeqCst);
                stopping = true;
                deadline = tokio::time::Instant::now() + STOP_WAIT;
            }
            Ok(None) | Err(_) => break,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{next_frame, Effect, Frame};
    use crate::model::Want;

    #[test]
    fn one_frame_a_refresh() {
        let refresh = [Effect::Refresh(Want::All)];
        let sample = [Effect::SampleSys { roles_for: None }];
        // The tick that asks for a refresh draws nothing: the answer will.
        assert_eq!(next_frame(&refresh, true, false, true), Frame::None);
        // A tick whose refresh is not asked for (one on its way, or the interval stretched) shows the age.
        assert_eq!(next_frame(&[], true, false, true), Frame::Soon);
        // The answer waits for the interfaces' reading it asks for; that draws.
        assert_eq!(next_frame(&sample, true, false, false), Frame::AfterSample);
        assert_eq!(next_frame(&[], true, true, false), Frame::SampleCame);
        // Anything else draws soon; a poll alone never does.
        assert_eq!(next_frame(&[], true, false, false), Frame::Soon);
        assert_eq!(next_frame(&refresh, false, false, true), Frame::None);
    }

    #[test]
    fn save_writes_a_new_file_and_never_through_a_symlink() {
        let dir = std::env::temp_dir().join(format!("lvstop-save-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let rules = dir.join("rules");
        assert_eq!(super::save_file(&rules, false, "-A -t 198.51.100.100:80 -s rr\n"), Ok(()));
        let e = super::save_file(&rules, false, "x").expect_err("exists");
        assert!(e.contains(":save!"), "{e}");
        assert_eq!(super::save_file(&rules, true, "y\n"), Ok(()));
        assert_eq!(std::fs::read_to_string(&rules).expect("read"), "y\n");
        let target = dir.join("passwd");
        let link = dir.join("link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        for replace in [false, true] {
            assert!(super::save_file(&link, replace, "z").is_err(), "followed a symlink (replace {replace})");
        }
        assert!(!target.exists());
        let _ = std::fs::remove_dir_all(dir);
    }
}
