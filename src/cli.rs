//! Command-line interface.

use clap::{Parser, Subcommand};

/// A live console for Linux Virtual Server (IPVS) load balancers.
#[derive(Debug, Parser)]
#[command(name = "lvstop", version, about)]
pub struct Cli {
    /// What to do; without a command lvstop opens the console.
    #[command(subcommand)]
    pub command: Option<Cmd>,
    /// Seconds between refreshes (0.1-60; default from the config file, else 1).
    #[arg(long, global = true, value_parser = parse_interval)]
    pub interval: Option<f64>,
    /// Never change anything: write actions are not even bound.
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Colour theme: default, light, high-contrast or a file in ~/.config/lvstop/themes/.
    #[arg(long, global = true)]
    pub theme: Option<String>,
    /// Configuration file (default: $LVSTOP_CONFIG, ~/.config/lvstop/lvstop.toml, /etc/lvstop/lvstop.toml).
    #[arg(long, global = true)]
    pub config: Option<std::path::PathBuf>,
}

fn parse_interval(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| (0.1..=60.0).contains(v))
        .ok_or_else(|| format!("'{s}' is not an interval: use 0.1 to 60 seconds"))
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
    /// Run the LVS-DR checks once; exit 1 if any finding is an error (for cron and monitoring).
    Check {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Also probe this VIP for the ARP problem (repeatable); with --vip the
        /// checks run even where IPVS is not loaded yet.
        #[arg(long = "vip")]
        vips: Vec<std::net::IpAddr>,
        /// Also read this DR realserver of the first --vip over ssh (repeatable; RIP:PORT).
        #[arg(long = "realserver", value_parser = parse_rs)]
        realservers: Vec<std::net::SocketAddr>,
        /// Also read this LVS-TUN realserver of the first --vip over ssh (repeatable; RIP:PORT).
        #[arg(long = "tunnel-realserver", value_parser = parse_rs)]
        tunnel_realservers: Vec<std::net::SocketAddr>,
        /// Skip the realserver checks over ssh.
        #[arg(long)]
        no_ssh: bool,
    },
    /// Boot a disposable LVS-DR lab (a real IPVS kernel under qemu) and run a command in it.
    Lab {
        /// Shell command to run inside the lab as root (lvstop is `$LVSTOP_BIN`).
        #[arg(long)]
        run: Option<String>,
        /// Copy the files the command writes to `$LVSTOP_OUT` into this directory.
        #[arg(long, requires = "run")]
        out: Option<std::path::PathBuf>,
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

fn parse_rs(s: &str) -> Result<std::net::SocketAddr, String> {
    s.parse().map_err(|_| format!("'{s}' is not a realserver: use RIP:PORT, e.g. 198.51.100.11:80"))
}
