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
    /// Boot a disposable LVS-DR lab (a real IPVS kernel under qemu) and run a command in it.
    Lab {
        /// Shell command to run inside the lab as root (lvstop is `$LVSTOP_BIN`).
        #[arg(long)]
        run: Option<String>,
        /// Only fetch and cache the lab kernel, then exit.
        #[arg(long, conflicts_with = "run")]
        fetch: bool,
        /// Number of realservers (1-50).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=50))]
        realservers: u8,
        /// Leave IPv6 out.
        #[arg(long)]
        no_ipv6: bool,
    },
}
