//! Command-line interface.

use clap::{Parser, Subcommand};

/// A live console for Linux Virtual Server (IPVS) load balancers.
#[derive(Debug, Parser)]
#[command(name = "lvstop", version, about)]
pub struct Cli {
    /// What to do (default: `dump`).
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Print every virtual service and realserver with exact counters and rates.
    Dump {
        /// Print JSON (a stable, documented shape) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print the rules in `ipvsadm -S -n` form, for `ipvsadm -R`.
    Save,
}
