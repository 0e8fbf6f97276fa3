//! `lvstop` without a command: the live console.

use std::io::IsTerminal as _;
use std::path::Path;

use crate::cli::ConsoleArgs;
use crate::{app, audit, config, ipvs, sys, tui, ui};

/// Open the console: configuration and theme first (a bad file stops here,
/// before the terminal is touched), then the IPVS worker, then the loop.
pub fn run(config: Option<&Path>, args: &ConsoleArgs) -> anyhow::Result<i32> {
    let ConsoleArgs { interval, read_only, theme, director } = args;
    let mut cfg = config::load(config)?;
    if let Some(d) = director.as_deref().filter(|d| *d != "local" && !cfg.directors.contains_key(*d)) {
        let known: Vec<&str> = cfg.directors.keys().map(String::as_str).collect();
        anyhow::bail!(
            "'{}' is not a director: use local{}",
            crate::text::sanitize(d),
            if known.is_empty() {
                " (name the others in [directors] of the configuration)".to_string()
            } else {
                format!(", {}", known.join(", "))
            }
        );
    }
    if let Some(i) = interval {
        cfg.interval = std::time::Duration::from_secs_f64(*i);
    }
    let theme_name = theme.as_deref().unwrap_or(&cfg.theme).to_string();
    let theme = if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        ui::Theme::no_color()
    } else {
        ui::Theme::load(&theme_name, config::read_user_theme).map_err(anyhow::Error::msg)?
    };
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        anyhow::bail!(
            "the console needs a terminal on standard input and output: for a script or a pipe use `lvstop dump` (or `lvstop dump --json`)"
        );
    }
    // Before any thread starts: the threads inherit what is kept.
    sys::privilege::keep_only(sys::privilege::Needs::IpvsAndProbe).map_err(anyhow::Error::msg)?;
    let (ipvs, reason) = ipvs::IpvsHandle::spawn(*read_only)?;
    let host = sysinfo::System::host_name().unwrap_or_else(|| "localhost".into());
    let writable = reason.map_or(Ok(()), Err);
    let state = app::AppState::new(&cfg, writable, host, std::time::Instant::now());
    let audit = audit::AuditLog::new(audit::default_path(), audit::operator());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let sys = sys::nic::Sampler::new();
    rt.block_on(tui::run(tui::Console {
        state,
        theme,
        ipvs,
        audit,
        interval: cfg.interval,
        ssh: cfg.ssh.clone(),
        sys,
        directors: cfg.directors.clone(),
        sessions: tui::Sessions::default(),
        director: director.clone(),
    }))?;
    Ok(0)
}
