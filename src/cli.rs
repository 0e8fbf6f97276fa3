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
        /// Listen this many seconds in all for ARP frames that carry a VIP as
        /// their sender (D-ARP-ANNOUNCE catches realservers that announce the VIP).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=600))]
        listen: u32,
    },
    /// Boot a disposable LVS-DR lab (a real IPVS kernel under qemu) with live
    /// traffic, and open the console in it (q quits and shuts the VM down).
    Lab {
        /// Run this shell command inside the lab as root instead of the console
        /// (lvstop is `$LVSTOP_BIN`); the exit status is the command's.
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
        /// Number of IPv4 TCP services (1-20): port 80, then 8001, 8002…
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=20))]
        services: u8,
        /// Leave IPv6 out.
        #[arg(long)]
        no_ipv6: bool,
        /// Mean client requests per second (0.1-500; the rate varies ±50% over two minutes).
        #[arg(long, default_value_t = 20.0, value_parser = parse_rate)]
        rate: f64,
        /// An incident to practise (repeatable, or comma-separated).
        #[arg(long = "scenario", value_enum, value_delimiter = ',')]
        scenarios: Vec<crate::lab::scenario::Scenario>,
    },
    /// Inside the lab VM: the realservers' server, the clients, the services.
    #[command(hide = true)]
    LabGuest {
        /// What to run.
        #[command(subcommand)]
        what: LabGuest,
    },
}

/// The lab's parts that run inside the VM.
#[derive(Debug, Subcommand)]
pub enum LabGuest {
    /// Serve HTTP on these ports (a realserver).
    Serve {
        /// TCP ports, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        ports: Vec<u16>,
        /// UDP ports to receive on, comma-separated.
        #[arg(long, value_delimiter = ',')]
        udp_ports: Vec<u16>,
    },
    /// Send the plan's client traffic.
    Client {
        /// The lab plan (JSON).
        #[arg(long)]
        plan: std::path::PathBuf,
        /// Which client: `wan` (IPv4 beyond the router) or `v6` (the on-link IPv6 client).
        #[arg(long)]
        from: String,
    },
    /// Create the plan's IPVS services.
    Services {
        /// The lab plan (JSON).
        #[arg(long)]
        plan: std::path::PathBuf,
    },
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.1..=500.0).contains(&r) => Ok(r),
        _ => Err(format!("'{s}' is not a rate: give requests per second from 0.1 to 500, e.g. --rate 20")),
    }
}

fn parse_rs(s: &str) -> Result<std::net::SocketAddr, String> {
    s.parse().map_err(|_| format!("'{s}' is not a realserver: use RIP:PORT, e.g. 198.51.100.11:80"))
}
