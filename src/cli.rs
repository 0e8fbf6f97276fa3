//! Command-line interface: the console's options without a command, and one
//! set of options per command, so that each `--help` lists only what applies.

use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};

/// A live console for Linux Virtual Server (IPVS) load balancers.
#[derive(Debug, Parser)]
#[command(name = "lvstop", version, about)]
pub struct Cli {
    /// What to do; without a command lvstop opens the console.
    #[command(subcommand)]
    pub command: Option<Cmd>,
    /// The console's options.
    #[command(flatten)]
    pub console: ConsoleArgs,
    /// The configuration file; before `dump` or `check` it is theirs (`lvstop --config FILE check`).
    #[command(flatten)]
    pub config: ConfigArg,
}

/// Options of the console (`lvstop` without a command).
#[derive(Debug, Clone, Default, Args)]
pub struct ConsoleArgs {
    /// Seconds between refreshes (0.1-60; default from the config file, else 1).
    #[arg(long, value_parser = parse_interval)]
    pub interval: Option<f64>,
    /// Never change anything: write actions are not even bound.
    #[arg(long)]
    pub read_only: bool,
    /// Colour theme: default, light, high-contrast or a file in ~/.config/lvstop/themes/.
    #[arg(long)]
    pub theme: Option<String>,
    /// Show another director of [directors] (read through lvstop there over ssh).
    #[arg(long, value_name = "NAME")]
    pub director: Option<String>,
}

// The configuration file, for the console, `dump` and `check` (a plain comment,
// as for `DumpArgs`: flattened into a deferred command, a doc comment would
// become its description).
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArg {
    /// Configuration file (default: $LVSTOP_CONFIG, ~/.config/lvstop/lvstop.toml, /etc/lvstop/lvstop.toml).
    #[arg(long = "config", value_name = "FILE")]
    pub path: Option<PathBuf>,
}

fn parse_interval(s: &str) -> Result<f64, String> {
    use crate::config::Interval;
    s.parse::<f64>()
        .ok()
        .and_then(|v| Interval::new(v).ok())
        .map(|i| i.0)
        .ok_or_else(|| format!("'{s}' is not an interval: use {} to {} seconds", Interval::LO, Interval::HI))
}

/// Subcommands. Each one's options are defined only when it is the one run
/// (clap's `defer`): defining every command's options made a fifth of what a
/// short process such as `lvstop dump` costs to start under emulation.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Cmd {
    /// Print every virtual service and realserver with exact counters and rates.
    Dump(DumpArgs),
    /// Print the rules in `ipvsadm -S -n` form, for `ipvsadm -R`.
    Save(SaveArgs),
    /// Run the LVS-DR checks once; exit 1 if any finding is an error (for cron and monitoring).
    Check(CheckArgs),
    /// Print the connection entries (clients, realservers, states, persistence templates), filtered.
    Conns(ConnsArgs),
    /// Compare two directors' tables (local, a name from [directors], or a file
    /// from `lvstop dump --json`): print the ipvsadm commands that make B like
    /// A; exit 1 when they differ, 0 when they are the same.
    Diff(DiffArgs),
    /// What another lvstop runs on this director over ssh to read it.
    #[command(hide = true)]
    Agent,
    /// Print the manual page (roff), e.g. `lvstop man > lvstop.1; man -l lvstop.1`.
    Man,
    /// Print the shell completion script for SHELL (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Boot a disposable LVS-DR lab (a real IPVS kernel under qemu) with live
    /// traffic, and open the console in it (q quits and shuts the VM down).
    Lab(LabArgs),
    /// Inside the lab VM: the realservers' server, the clients, the services.
    #[command(hide = true)]
    LabGuest {
        /// What to run.
        #[command(subcommand)]
        what: LabGuest,
    },
}

// Options of `lvstop dump` (a plain comment: a doc comment would become the
// command's description, set after the variant's own since the options are deferred).
#[derive(Debug, Clone, Default, Args)]
pub struct DumpArgs {
    /// Print JSON (a stable, documented shape) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also measure the director's interfaces (packets per second against each
    /// NIC's limit, CPU, drops) over one second; without it dump returns as
    /// soon as the table is read.
    #[arg(long)]
    pub load: bool,
    /// Another director's table, read through lvstop there over ssh (a name
    /// from [directors]); --load measures this host only.
    #[arg(long, value_name = "NAME", conflicts_with = "load")]
    pub director: Option<String>,
    /// The configuration file (its [nic] settings, and [directors]).
    #[command(flatten)]
    pub config: ConfigArg,
}

// Options of `lvstop save` (a plain comment, as for `DumpArgs`).
#[derive(Debug, Clone, Default, Args)]
pub struct SaveArgs {
    /// Another director's rules, read through lvstop there over ssh (a name from [directors]).
    #[arg(long, value_name = "NAME")]
    pub director: Option<String>,
    /// The configuration file (its [directors] and [ssh] settings).
    #[command(flatten)]
    pub config: ConfigArg,
}

// Options of `lvstop check` (a plain comment, as for `DumpArgs`).
#[derive(Debug, Clone, Default, Args)]
pub struct CheckArgs {
    /// Print what a rule means on LVS-DR, why it breaks traffic and how to fix
    /// it (e.g. --explain D-ARP-FOREIGN), and run nothing.
    #[arg(long, value_name = "RULE")]
    pub explain: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 also when something went unchecked: a realserver that could not
    /// be read or answered nonsense, or a check that could not run (so that
    /// cron never takes "nothing checked" for "all clear").
    #[arg(long)]
    pub strict: bool,
    /// Also probe this VIP for the ARP problem (repeatable); with --vip the
    /// checks run even where IPVS is not loaded yet.
    #[arg(long = "vip")]
    pub vips: Vec<std::net::IpAddr>,
    /// Also read this DR realserver of the first --vip over ssh (repeatable; RIP:PORT).
    #[arg(long = "realserver", value_parser = parse_rs, requires = "vips")]
    pub realservers: Vec<std::net::SocketAddr>,
    /// Also read this LVS-TUN realserver of the first --vip over ssh (repeatable; RIP:PORT).
    #[arg(long = "tunnel-realserver", value_parser = parse_rs, requires = "vips")]
    pub tunnel_realservers: Vec<std::net::SocketAddr>,
    /// Skip the realserver checks over ssh.
    #[arg(long)]
    pub no_ssh: bool,
    /// Check a pair of directors instead of this one (twice: local, a name
    /// from [directors], or a dump file): their tables, VIPs and connection sync.
    #[arg(long = "director", value_name = "NAME", conflicts_with_all = ["vips", "listen"])]
    pub directors: Vec<String>,
    /// Listen this many seconds in all for ARP frames that carry a VIP as
    /// their sender (D-ARP-ANNOUNCE catches realservers that announce the VIP).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=600))]
    pub listen: u32,
    /// The configuration file (its [ssh] and [nic] settings).
    #[command(flatten)]
    pub config: ConfigArg,
}

// Options of `lvstop diff` (a plain comment, as for `DumpArgs`).
#[derive(Debug, Clone, Default, Args)]
pub struct DiffArgs {
    /// The director whose table is the reference: local, a name from [directors], or a dump file.
    #[arg(value_name = "A")]
    pub a: String,
    /// The director compared with it.
    #[arg(value_name = "B")]
    pub b: String,
    /// Print JSON: {"a", "b", "same", "differences": [{"service", "realserver", "what", "fields", "command"}]}.
    #[arg(long)]
    pub json: bool,
    /// The configuration file (its [directors] and [ssh] settings).
    #[command(flatten)]
    pub config: ConfigArg,
}

// Options of `lvstop conns` (a plain comment, as for `DumpArgs`).
#[derive(Debug, Clone, Default, Args)]
pub struct ConnsArgs {
    /// Print JSON: {"connections": [...], "read": N, "matched": N, "templates": N}.
    #[arg(long)]
    pub json: bool,
    /// Only clients in this address or network.
    #[arg(long, value_name = "ADDR[/PREFIX]", value_parser = crate::model::Prefix::parse)]
    pub client: Option<crate::model::Prefix>,
    /// Only this virtual address (and port).
    #[arg(long, value_name = "ADDR[:PORT]", value_parser = crate::model::Endpoint::parse)]
    pub vip: Option<crate::model::Endpoint>,
    /// Only this realserver (and port).
    #[arg(long, value_name = "ADDR[:PORT]", value_parser = crate::model::Endpoint::parse)]
    pub realserver: Option<crate::model::Endpoint>,
    /// Only entries in this state (ESTABLISHED, SYN_RECV, FIN_WAIT, TIME_WAIT, NONE for templates…).
    #[arg(long, value_name = "STATE", value_parser = crate::model::ConnFilter::parse_state)]
    pub state: Option<String>,
    /// Leave persistence templates out.
    #[arg(long)]
    pub no_templates: bool,
}

impl ConnsArgs {
    /// The filter these options make.
    pub fn filter(&self) -> crate::model::ConnFilter {
        crate::model::ConnFilter {
            client: self.client,
            vip: self.vip,
            realserver: self.realserver,
            state: self.state.clone(),
            no_templates: self.no_templates,
        }
    }
}

// Options of `lvstop lab` (a plain comment, as for `DumpArgs`).
#[derive(Debug, Clone, Args)]
pub struct LabArgs {
    /// Run this shell command inside the lab as root instead of the console
    /// (lvstop is `$LVSTOP_BIN`); the exit status is the command's.
    #[arg(long)]
    pub run: Option<String>,
    /// Copy the files the command writes to `$LVSTOP_OUT` into this directory.
    #[arg(long, requires = "run")]
    pub out: Option<PathBuf>,
    /// Only fetch and cache the lab kernel, then exit.
    #[arg(long, conflicts_with = "run")]
    pub fetch: bool,
    /// Number of realservers (1-50).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=50))]
    pub realservers: u8,
    /// Number of IPv4 TCP services (1-20): port 80, then 8001, 8002…
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=20))]
    pub services: u8,
    /// Leave IPv6 out.
    #[arg(long)]
    pub no_ipv6: bool,
    /// Mean client requests per second (0.1-500; the rate varies ±50% over two minutes).
    #[arg(long, default_value_t = 20.0, value_parser = parse_rate)]
    pub rate: f64,
    /// An incident to practise (repeatable, or comma-separated).
    #[arg(long = "scenario", value_enum, value_delimiter = ',')]
    pub scenarios: Vec<crate::lab::scenario::Scenario>,
}

// The lab's parts that run inside the VM (a plain comment, as for `DumpArgs`).
#[derive(Debug, Subcommand)]
#[command(defer = true)]
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
        plan: PathBuf,
        /// Which client: `wan` (IPv4 beyond the router) or `v6` (the on-link IPv6 client).
        #[arg(long)]
        from: String,
    },
    /// Create the plan's IPVS services.
    Services {
        /// The lab plan (JSON).
        #[arg(long)]
        plan: PathBuf,
    },
}

impl Cmd {
    /// The command's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Cmd::Dump(_) => "dump",
            Cmd::Save(_) => "save",
            Cmd::Check(_) => "check",
            Cmd::Conns(_) => "conns",
            Cmd::Diff(_) => "diff",
            Cmd::Agent => "agent",
            Cmd::Man => "man",
            Cmd::Completions { .. } => "completions",
            Cmd::Lab(_) => "lab",
            Cmd::LabGuest { .. } => "lab-guest",
        }
    }

    /// The command's configuration file option, if it reads the configuration.
    fn config_mut(&mut self) -> Option<&mut ConfigArg> {
        match self {
            Cmd::Dump(a) => Some(&mut a.config),
            Cmd::Check(a) => Some(&mut a.config),
            Cmd::Diff(a) => Some(&mut a.config),
            Cmd::Save(a) => Some(&mut a.config),
            Cmd::Agent | Cmd::Man | Cmd::Completions { .. } | Cmd::Conns(_) | Cmd::Lab(_) | Cmd::LabGuest { .. } => {
                None
            }
        }
    }
}

impl Cli {
    /// Parse the process's arguments; bad ones end the process with clap's
    /// usage error (status 2), like a parse error.
    pub fn parse_checked() -> Self {
        Self::parse().checked().unwrap_or_else(|e| e.exit())
    }

    /// Refuse the console's options with a command, and `--config` before a
    /// command that reads no configuration; a `--config` before `dump` or
    /// `check` becomes the command's own.
    pub fn checked(mut self) -> Result<Self, clap::Error> {
        let Some(cmd) = self.command.as_mut() else { return Ok(self) };
        let name = cmd.name();
        let c = &self.console;
        for (given, opt) in [
            (c.interval.is_some(), "--interval SECONDS"),
            (c.read_only, "--read-only"),
            (c.theme.is_some(), "--theme NAME"),
            (c.director.is_some(), "--director NAME"),
        ] {
            if given {
                let flag = opt.split(' ').next().unwrap_or(opt);
                return Err(usage_error(format!(
                    "{flag} is a console option: leave it out of `lvstop {name}`, or open the console with `lvstop {opt}`"
                )));
            }
        }
        if let Some(path) = self.config.path.take() {
            match cmd.config_mut() {
                Some(own) if own.path.is_none() => own.path = Some(path),
                Some(_) => return Err(usage_error("--config is given twice: give it once".into())),
                None => {
                    return Err(usage_error(format!("`lvstop {name}` reads no configuration file: leave out --config")))
                }
            }
        }
        Ok(self)
    }
}

/// The manual page, generated from the command-line definition (every
/// command's options included).
pub fn man_page() -> Vec<u8> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = clap_mangen::Man::new(cmd.clone()).render(&mut out);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("lvstop-{}", sub.get_name());
        let _ = clap_mangen::Man::new(sub.clone().display_name(name.clone()).bin_name(name)).render(&mut out);
    }
    out
}

/// The completion script for `shell`, generated from the command-line definition.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "lvstop", &mut out);
    out
}

fn usage_error(msg: String) -> clap::Error {
    Cli::command().error(ErrorKind::ArgumentConflict, msg)
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

#[cfg(test)]
mod tests {
    /// The manual page and completion scripts kept in `assets/` (packaged as
    /// they are) are what the command-line definition generates.
    #[test]
    fn the_kept_manual_page_and_completions_are_the_generated_ones() {
        use clap_complete::Shell;
        let kept: [(&str, &str, Vec<u8>); 4] = [
            ("assets/lvstop.1", include_str!("../assets/lvstop.1"), super::man_page()),
            (
                "assets/completions/lvstop.bash",
                include_str!("../assets/completions/lvstop.bash"),
                super::completions(Shell::Bash),
            ),
            (
                "assets/completions/_lvstop",
                include_str!("../assets/completions/_lvstop"),
                super::completions(Shell::Zsh),
            ),
            (
                "assets/completions/lvstop.fish",
                include_str!("../assets/completions/lvstop.fish"),
                super::completions(Shell::Fish),
            ),
        ];
        for (path, text, generated) in kept {
            assert!(
                text.as_bytes() == generated.as_slice(),
                "{path} is not what lvstop generates: regenerate it with `cargo run -- man > assets/lvstop.1` \
                 and `cargo run -- completions bash|zsh|fish > assets/completions/lvstop.bash|_lvstop|lvstop.fish`"
            );
        }
        // Every visible command and its own options are in both.
        let man = String::from_utf8(super::man_page()).expect("utf-8");
        let bash = String::from_utf8(super::completions(Shell::Bash)).expect("utf-8");
        for word in ["diff", "conns", "check", "completions", "\\-\\-director", "\\-\\-no\\-templates"] {
            assert!(man.contains(word), "the manual lacks {word}");
        }
        for word in ["diff", "--director", "--no-templates", "--explain"] {
            assert!(bash.contains(word), "the bash completion lacks {word}");
        }
        assert!(
            !man.contains("lvstop\\-lab\\-guest") && !man.contains("lvstop\\-agent"),
            "a hidden command is in the manual"
        );
    }
}
