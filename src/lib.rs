//! lvstop: a live terminal console for Linux Virtual Server (IPVS) load balancers.
//!
//! The engine (`model`, `ipvs`, `sys`) never touches the terminal; `report`
//! renders snapshots for the headless commands; `lab` boots a real IPVS kernel
//! under qemu for tests and demos; `cmd` holds one module per command.
// A closed or broken stdout/stderr must not panic lvstop: `say!` or a handled write.
#![deny(clippy::print_stderr, clippy::print_stdout)]

pub mod app;
pub mod audit;
pub mod checks;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod ipvs;
pub mod lab;
pub mod model;
pub mod netlink;
pub mod remote;
pub mod report;
pub mod sys;
pub mod text;
pub mod tui;
pub mod ui;

use cli::{Cli, Cmd};

/// Run the command line (as [`Cli::checked`] leaves it); the returned code is
/// the process exit status.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        None => cmd::console::run(cli.config.path.as_deref(), &cli.console),
        Some(Cmd::Dump(args)) => cmd::dump::run(&args),
        Some(Cmd::Save(args)) => cmd::save::run(&args),
        Some(Cmd::Conns(args)) => cmd::conns::run(&args),
        Some(Cmd::Check(args)) => cmd::check::run(args),
        Some(Cmd::Diff(args)) => cmd::diff::run(&args),
        Some(Cmd::Agent) => cmd::agent::run(),
        Some(Cmd::Man) => cmd::print_bytes(&cli::man_page()),
        Some(Cmd::Completions { shell }) => cmd::print_bytes(&cli::completions(shell)),
        Some(Cmd::Lab(args)) => cmd::lab::run(args),
        Some(Cmd::LabGuest { what }) => cmd::lab::guest(what),
    }
}
