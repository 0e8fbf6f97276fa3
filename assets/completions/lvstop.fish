# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_lvstop_global_optspecs
    string join \n interval= read-only theme= director= config= h/help V/version
end

function __fish_lvstop_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_lvstop_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_lvstop_using_subcommand
    set -l cmd (__fish_lvstop_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c lvstop -n "__fish_lvstop_needs_command" -l interval -d 'Seconds between refreshes (0.1-60; default from the config file, else 1)' -r
complete -c lvstop -n "__fish_lvstop_needs_command" -l theme -d 'Colour theme: default, light, high-contrast or a file in ~/.config/lvstop/themes/' -r
complete -c lvstop -n "__fish_lvstop_needs_command" -l director -d 'Show another director of [directors] (read through lvstop there over ssh)' -r
complete -c lvstop -n "__fish_lvstop_needs_command" -l config -d 'Configuration file (default: $LVSTOP_CONFIG, ~/.config/lvstop/lvstop.toml, /etc/lvstop/lvstop.toml)' -r -F
complete -c lvstop -n "__fish_lvstop_needs_command" -l read-only -d 'Never change anything: write actions are not even bound'
complete -c lvstop -n "__fish_lvstop_needs_command" -s h -l help -d 'Print help'
complete -c lvstop -n "__fish_lvstop_needs_command" -s V -l version -d 'Print version'
complete -c lvstop -n "__fish_lvstop_needs_command" -f -a "dump" -d 'Print every virtual service and realserver with exact counters and rates'
complete -c lvstop -n "__fish_lvstop_needs_command" -f -a "save" -d 'Print the rules in `ipvsadm -S -n` form, for `ipvsadm -R`'
complete -c lvstop -n "__fish_lvstop_needs_command" -f -a "check" -d 'Run the LVS-DR checks once; exit 1 if any finding is an error (for cron and monitoring)'
complete -c lvstop -n "__fish_lvstop_needs_command" -f -a "conns" -d 'Print the connection entries (clients, realservers, states, persistence templates), filtered'
complete -c lvstop -n "__fish_lvstop_needs_command" -f -a "diff" -d 'Compare two directors\' tables (local, a name from [directors], or a file from `lvstop dump --json`): print the ipvsadm commands that make B like A; exit 1 when they differ, 0 when they are the same'
complete -c lvstop -n "__fish_lvstop_needs_command" -f -a "agent" -d 'What another lvstop runs on this director over ssh to read it'
complete -c lvstop -n "__fish_lvstop_needs_command" -f -a "man" -d 'Print the manual page (roff), e.g. `lvstop man > lvstop.1; man -l lvstop.1`'
complete -c lvstop -n "__fish_lvstop_needs_command" -f -a "completions" -d 'Print the shell completion script for SHELL (bash, zsh, fish, elvish, powershell)'
complete -c lvstop -n "__fish_lvstop_needs_command" -f -a "lab" -d 'Boot a disposable LVS-DR lab (a real IPVS kernel under qemu) with live traffic, and open the console in it (q quits and shuts the VM down)'
complete -c lvstop -n "__fish_lvstop_needs_command" -f -a "lab-guest" -d 'Inside the lab VM: the realservers\' server, the clients, the services'
complete -c lvstop -n "__fish_lvstop_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lvstop -n "__fish_lvstop_using_subcommand dump" -l director -d 'Another director\'s table, read through lvstop there over ssh (a name from [directors]); --load measures this host only' -r
complete -c lvstop -n "__fish_lvstop_using_subcommand dump" -l config -d 'Configuration file (default: $LVSTOP_CONFIG, ~/.config/lvstop/lvstop.toml, /etc/lvstop/lvstop.toml)' -r -F
complete -c lvstop -n "__fish_lvstop_using_subcommand dump" -l json -d 'Print JSON (a stable, documented shape) instead of a table'
complete -c lvstop -n "__fish_lvstop_using_subcommand dump" -l load -d 'Also measure the director\'s interfaces (packets per second against each NIC\'s limit, CPU, drops) over one second; without it dump returns as soon as the table is read'
complete -c lvstop -n "__fish_lvstop_using_subcommand dump" -s h -l help -d 'Print help'
complete -c lvstop -n "__fish_lvstop_using_subcommand save" -l director -d 'Another director\'s rules, read through lvstop there over ssh (a name from [directors])' -r
complete -c lvstop -n "__fish_lvstop_using_subcommand save" -l config -d 'Configuration file (default: $LVSTOP_CONFIG, ~/.config/lvstop/lvstop.toml, /etc/lvstop/lvstop.toml)' -r -F
complete -c lvstop -n "__fish_lvstop_using_subcommand save" -s h -l help -d 'Print help'
complete -c lvstop -n "__fish_lvstop_using_subcommand check" -l explain -d 'Print what a rule means on LVS-DR, why it breaks traffic and how to fix it (e.g. --explain D-ARP-FOREIGN), and run nothing' -r
complete -c lvstop -n "__fish_lvstop_using_subcommand check" -l vip -d 'Also probe this VIP for the ARP problem (repeatable); with --vip the checks run even where IPVS is not loaded yet' -r
complete -c lvstop -n "__fish_lvstop_using_subcommand check" -l realserver -d 'Also read this DR realserver of the first --vip over ssh (repeatable; RIP:PORT)' -r
complete -c lvstop -n "__fish_lvstop_using_subcommand check" -l tunnel-realserver -d 'Also read this LVS-TUN realserver of the first --vip over ssh (repeatable; RIP:PORT)' -r
complete -c lvstop -n "__fish_lvstop_using_subcommand check" -l director -d 'Check a pair of directors instead of this one (twice: local, a name from [directors], or a dump file): their tables, VIPs and connection sync' -r
complete -c lvstop -n "__fish_lvstop_using_subcommand check" -l listen -d 'Listen this many seconds in all for ARP frames that carry a VIP as their sender (D-ARP-ANNOUNCE catches realservers that announce the VIP)' -r
complete -c lvstop -n "__fish_lvstop_using_subcommand check" -l config -d 'Configuration file (default: $LVSTOP_CONFIG, ~/.config/lvstop/lvstop.toml, /etc/lvstop/lvstop.toml)' -r -F
complete -c lvstop -n "__fish_lvstop_using_subcommand check" -l json -d 'Print JSON'
complete -c lvstop -n "__fish_lvstop_using_subcommand check" -l strict -d 'Exit 1 also when something went unchecked: a realserver that could not be read or answered nonsense, or a check that could not run (so that cron never takes "nothing checked" for "all clear")'
complete -c lvstop -n "__fish_lvstop_using_subcommand check" -l no-ssh -d 'Skip the realserver checks over ssh'
complete -c lvstop -n "__fish_lvstop_using_subcommand check" -s h -l help -d 'Print help'
complete -c lvstop -n "__fish_lvstop_using_subcommand conns" -l client -d 'Only clients in this address or network' -r
complete -c lvstop -n "__fish_lvstop_using_subcommand conns" -l vip -d 'Only this virtual address (and port)' -r
complete -c lvstop -n "__fish_lvstop_using_subcommand conns" -l realserver -d 'Only this realserver (and port)' -r
complete -c lvstop -n "__fish_lvstop_using_subcommand conns" -l state -d 'Only entries in this state (ESTABLISHED, SYN_RECV, FIN_WAIT, TIME_WAIT, NONE for templates…)' -r
complete -c lvstop -n "__fish_lvstop_using_subcommand conns" -l json -d 'Print JSON: {"connections": [...], "read": N, "matched": N, "templates": N}'
complete -c lvstop -n "__fish_lvstop_using_subcommand conns" -l no-templates -d 'Leave persistence templates out'
complete -c lvstop -n "__fish_lvstop_using_subcommand conns" -s h -l help -d 'Print help'
complete -c lvstop -n "__fish_lvstop_using_subcommand diff" -l config -d 'Configuration file (default: $LVSTOP_CONFIG, ~/.config/lvstop/lvstop.toml, /etc/lvstop/lvstop.toml)' -r -F
complete -c lvstop -n "__fish_lvstop_using_subcommand diff" -l json -d 'Print JSON: {"a", "b", "same", "differences": [{"service", "realserver", "what", "fields", "command"}]}'
complete -c lvstop -n "__fish_lvstop_using_subcommand diff" -s h -l help -d 'Print help'
complete -c lvstop -n "__fish_lvstop_using_subcommand agent" -s h -l help -d 'Print help'
complete -c lvstop -n "__fish_lvstop_using_subcommand man" -s h -l help -d 'Print help'
complete -c lvstop -n "__fish_lvstop_using_subcommand completions" -s h -l help -d 'Print help'
complete -c lvstop -n "__fish_lvstop_using_subcommand lab" -l run -d 'Run this shell command inside the lab as root instead of the console (lvstop is `$LVSTOP_BIN`); the exit status is the command\'s' -r
complete -c lvstop -n "__fish_lvstop_using_subcommand lab" -l out -d 'Copy the files the command writes to `$LVSTOP_OUT` into this directory' -r -F
complete -c lvstop -n "__fish_lvstop_using_subcommand lab" -l realservers -d 'Number of realservers (1-50)' -r
complete -c lvstop -n "__fish_lvstop_using_subcommand lab" -l services -d 'Number of IPv4 TCP services (1-20): port 80, then 8001, 8002…' -r
complete -c lvstop -n "__fish_lvstop_using_subcommand lab" -l rate -d 'Mean client requests per second (0.1-500; the rate varies ±50% over two minutes)' -r
complete -c lvstop -n "__fish_lvstop_using_subcommand lab" -l scenario -d 'An incident to practise (repeatable, or comma-separated)' -r -f -a "arp-problem\t'One realserver answers ARP for the VIP (no arp_ignore/arp_announce)'
rp-filter\t'Strict rp_filter on a realserver whose route to the clients leaves by another interface'
overload\t'Client packets/s near the director\'s configured practical limit'
dead-realserver\t'A realserver stops answering (its VIP is gone); its connections pile up as inactive'
drain\t'Long-lived connections, to practise draining a realserver until it is safe to remove'"
complete -c lvstop -n "__fish_lvstop_using_subcommand lab" -l fetch -d 'Only fetch and cache the lab kernel, then exit'
complete -c lvstop -n "__fish_lvstop_using_subcommand lab" -l no-ipv6 -d 'Leave IPv6 out'
complete -c lvstop -n "__fish_lvstop_using_subcommand lab" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lvstop -n "__fish_lvstop_using_subcommand lab-guest; and not __fish_seen_subcommand_from serve client services help" -s h -l help -d 'Print help'
complete -c lvstop -n "__fish_lvstop_using_subcommand lab-guest; and not __fish_seen_subcommand_from serve client services help" -f -a "serve" -d 'Serve HTTP on these ports (a realserver)'
complete -c lvstop -n "__fish_lvstop_using_subcommand lab-guest; and not __fish_seen_subcommand_from serve client services help" -f -a "client" -d 'Send the plan\'s client traffic'
complete -c lvstop -n "__fish_lvstop_using_subcommand lab-guest; and not __fish_seen_subcommand_from serve client services help" -f -a "services" -d 'Create the plan\'s IPVS services'
complete -c lvstop -n "__fish_lvstop_using_subcommand lab-guest; and not __fish_seen_subcommand_from serve client services help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lvstop -n "__fish_lvstop_using_subcommand lab-guest; and __fish_seen_subcommand_from serve" -l ports -d 'TCP ports, comma-separated' -r
complete -c lvstop -n "__fish_lvstop_using_subcommand lab-guest; and __fish_seen_subcommand_from serve" -l udp-ports -d 'UDP ports to receive on, comma-separated' -r
complete -c lvstop -n "__fish_lvstop_using_subcommand lab-guest; and __fish_seen_subcommand_from serve" -s h -l help -d 'Print help'
complete -c lvstop -n "__fish_lvstop_using_subcommand lab-guest; and __fish_seen_subcommand_from client" -l plan -d 'The lab plan (JSON)' -r -F
complete -c lvstop -n "__fish_lvstop_using_subcommand lab-guest; and __fish_seen_subcommand_from client" -l from -d 'Which client: `wan` (IPv4 beyond the router) or `v6` (the on-link IPv6 client)' -r
complete -c lvstop -n "__fish_lvstop_using_subcommand lab-guest; and __fish_seen_subcommand_from client" -s h -l help -d 'Print help'
complete -c lvstop -n "__fish_lvstop_using_subcommand lab-guest; and __fish_seen_subcommand_from services" -l plan -d 'The lab plan (JSON)' -r -F
complete -c lvstop -n "__fish_lvstop_using_subcommand lab-guest; and __fish_seen_subcommand_from services" -s h -l help -d 'Print help'
complete -c lvstop -n "__fish_lvstop_using_subcommand lab-guest; and __fish_seen_subcommand_from help" -f -a "serve" -d 'Serve HTTP on these ports (a realserver)'
complete -c lvstop -n "__fish_lvstop_using_subcommand lab-guest; and __fish_seen_subcommand_from help" -f -a "client" -d 'Send the plan\'s client traffic'
complete -c lvstop -n "__fish_lvstop_using_subcommand lab-guest; and __fish_seen_subcommand_from help" -f -a "services" -d 'Create the plan\'s IPVS services'
complete -c lvstop -n "__fish_lvstop_using_subcommand lab-guest; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lvstop -n "__fish_lvstop_using_subcommand help; and not __fish_seen_subcommand_from dump save check conns diff agent man completions lab lab-guest help" -f -a "dump" -d 'Print every virtual service and realserver with exact counters and rates'
complete -c lvstop -n "__fish_lvstop_using_subcommand help; and not __fish_seen_subcommand_from dump save check conns diff agent man completions lab lab-guest help" -f -a "save" -d 'Print the rules in `ipvsadm -S -n` form, for `ipvsadm -R`'
complete -c lvstop -n "__fish_lvstop_using_subcommand help; and not __fish_seen_subcommand_from dump save check conns diff agent man completions lab lab-guest help" -f -a "check" -d 'Run the LVS-DR checks once; exit 1 if any finding is an error (for cron and monitoring)'
complete -c lvstop -n "__fish_lvstop_using_subcommand help; and not __fish_seen_subcommand_from dump save check conns diff agent man completions lab lab-guest help" -f -a "conns" -d 'Print the connection entries (clients, realservers, states, persistence templates), filtered'
complete -c lvstop -n "__fish_lvstop_using_subcommand help; and not __fish_seen_subcommand_from dump save check conns diff agent man completions lab lab-guest help" -f -a "diff" -d 'Compare two directors\' tables (local, a name from [directors], or a file from `lvstop dump --json`): print the ipvsadm commands that make B like A; exit 1 when they differ, 0 when they are the same'
complete -c lvstop -n "__fish_lvstop_using_subcommand help; and not __fish_seen_subcommand_from dump save check conns diff agent man completions lab lab-guest help" -f -a "agent" -d 'What another lvstop runs on this director over ssh to read it'
complete -c lvstop -n "__fish_lvstop_using_subcommand help; and not __fish_seen_subcommand_from dump save check conns diff agent man completions lab lab-guest help" -f -a "man" -d 'Print the manual page (roff), e.g. `lvstop man > lvstop.1; man -l lvstop.1`'
complete -c lvstop -n "__fish_lvstop_using_subcommand help; and not __fish_seen_subcommand_from dump save check conns diff agent man completions lab lab-guest help" -f -a "completions" -d 'Print the shell completion script for SHELL (bash, zsh, fish, elvish, powershell)'
complete -c lvstop -n "__fish_lvstop_using_subcommand help; and not __fish_seen_subcommand_from dump save check conns diff agent man completions lab lab-guest help" -f -a "lab" -d 'Boot a disposable LVS-DR lab (a real IPVS kernel under qemu) with live traffic, and open the console in it (q quits and shuts the VM down)'
complete -c lvstop -n "__fish_lvstop_using_subcommand help; and not __fish_seen_subcommand_from dump save check conns diff agent man completions lab lab-guest help" -f -a "lab-guest" -d 'Inside the lab VM: the realservers\' server, the clients, the services'
complete -c lvstop -n "__fish_lvstop_using_subcommand help; and not __fish_seen_subcommand_from dump save check conns diff agent man completions lab lab-guest help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
