//! The ARP rules of a realserver, as `arptables -L -n` and `nft list ruleset
//! arp` list them: which addresses the host never answers ARP requests for
//! (input) and keeps out of the ARP it sends (output). The listings come from
//! a hostile host, and a rule taken for suppression when it is not would hide
//! the ARP problem: a rule counts only when every word of it is understood
//! and none narrows it (to one interface, one sender, replies only, a rate…).
//! Anything else counts for nothing, which at worst reports a problem the
//! host does not have.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// IPv4 addresses as firewall rules name them: single addresses, prefixes
/// (`198.51.100.96/28`, or arptables' `/255.255.255.240`) and ranges
/// (`198.51.100.1-198.51.100.9`). The parser adds them as read, then sorts and
/// merges them once ([`Ipv4Ranges::merge`]), so that a lookup is a binary
/// search however many a hostile host lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Ranges {
    /// Inclusive ranges.
    pub(super) ranges: Vec<(u32, u32)>,
    /// Sorted, and none overlaps or touches the next.
    pub(super) merged: bool,
}

impl Default for Ipv4Ranges {
    fn default() -> Self {
        Ipv4Ranges { ranges: Vec::new(), merged: true }
    }
}

impl Ipv4Ranges {
    /// Whether `a` is one of the addresses.
    pub fn contains(&self, a: &Ipv4Addr) -> bool {
        let a = u32::from(*a);
        if !self.merged {
            return self.ranges.iter().any(|&(lo, hi)| lo <= a && a <= hi);
        }
        let at = self.ranges.partition_point(|&(lo, _)| lo <= a);
        at > 0 && self.ranges[at - 1].1 >= a
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Add ranges as read.
    pub(super) fn extend(&mut self, ranges: impl IntoIterator<Item = (u32, u32)>) {
        let before = self.ranges.len();
        self.ranges.extend(ranges);
        self.merged &= self.ranges.len() == before;
    }

    /// Take `points` out of the ranges (merged first).
    pub(super) fn remove_points(&mut self, mut points: Vec<u32>) {
        self.merge();
        if points.is_empty() {
            return;
        }
        points.sort_unstable();
        points.dedup();
        let mut out = Vec::with_capacity(self.ranges.len() + points.len());
        let mut p = points.partition_point(|&x| x < self.ranges.first().map_or(0, |r| r.0));
        for &(lo, hi) in &self.ranges {
            while p < points.len() && points[p] < lo {
                p += 1;
            }
            let mut start = Some(lo);
            while let (Some(from), Some(&x)) = (start, points.get(p)) {
                if x > hi {
                    break;
                }
                if x > from {
                    out.push((from, x - 1));
                }
                // x < hi: x + 1 is no overflow.
                start = (x < hi).then(|| x + 1);
                p += 1;
            }
            if let Some(from) = start {
                out.push((from, hi));
            }
        }
        self.ranges = out;
    }

    /// Sort and merge the ranges.
    pub(super) fn merge(&mut self) {
        if self.merged {
            return;
        }
        self.ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(self.ranges.len());
        for (lo, hi) in self.ranges.drain(..) {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        (self.ranges, self.merged) = (merged, true);
    }
}

impl<const N: usize> From<[Ipv4Addr; N]> for Ipv4Ranges {
    fn from(addrs: [Ipv4Addr; N]) -> Self {
        let mut r = Ipv4Ranges::default();
        r.extend(addrs.map(|a| (u32::from(a), u32::from(a))));
        r.merge();
        r
    }
}

/// One address, prefix or range as a firewall listing writes it (see
/// [`Ipv4Ranges`]); None for anything else, a mask with holes included.
fn ipv4_range(t: &str) -> Option<(u32, u32)> {
    if let Some((lo, hi)) = t.split_once('-') {
        let (lo, hi) = (u32::from(lo.parse::<Ipv4Addr>().ok()?), u32::from(hi.parse::<Ipv4Addr>().ok()?));
        return (lo <= hi).then_some((lo, hi));
    }
    let Some((net, len)) = t.split_once('/') else {
        let a = u32::from(t.parse::<Ipv4Addr>().ok()?);
        return Some((a, a));
    };
    let net = u32::from(net.parse::<Ipv4Addr>().ok()?);
    let mask = match len.parse::<u8>() {
        Ok(n @ 0..=32) => super::parse::prefix_mask(n),
        Ok(_) => return None,
        Err(_) => u32::from(len.parse::<Ipv4Addr>().ok()?),
    };
    // A dotted mask must be ones then zeros.
    if mask.leading_ones() + mask.trailing_zeros() != 32 {
        return None;
    }
    Some((net & mask, net | !mask))
}

/// Which ARP filter chain a rule line is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ArpChain {
    In,
    Out,
    #[default]
    Other,
}

/// The longest set name read (nft allows 255 bytes); a longer one is not
/// taken for a set, so its rules suppress nothing.
const NFT_NAME_MAX: usize = 255;

/// The ARP rules read so far from both listings, and what is needed to
/// finish reading them ([`ArpRules::finish`]).
#[derive(Debug, Default)]
pub(super) struct ArpRules {
    /// The arptables chain a line is in.
    arptables_chain: ArpChain,
    /// A rule of that chain lets some packets leave it (ACCEPT, a user
    /// chain, a mangle, which accepts what it rewrites): the rules after it
    /// may never see them.
    arptables_passed: bool,
    /// arptables is arptables-nft (`arptables -V` says `nf_tables`): its
    /// rules are nftables' `table arp filter`, which nft lists too.
    arptables_nft: bool,
    /// What arptables' rules suppress: input drops, output drops, output mangles.
    arptables: [Vec<(u32, u32)>; 3],
    /// What nftables' rules suppress, and every address a rule rewrites senders to.
    nft: Suppressed,
    nft_state: NftState,
}

/// What rules suppress: input, output, and the addresses output rules
/// rewrite senders to (which are then sent, whatever other rules say).
#[derive(Debug, Default)]
struct Suppressed {
    input: Ipv4Ranges,
    output: Ipv4Ranges,
    targets: Vec<u32>,
}

impl Suppressed {
    /// The input side (`true`) or the output side.
    fn side(&mut self, input: bool) -> &mut Ipv4Ranges {
        if input {
            &mut self.input
        } else {
            &mut self.output
        }
    }
}

impl ArpRules {
    /// A new section of the script's output begins.
    pub(super) fn section(&mut self) {
        self.arptables_chain = ArpChain::Other;
    }

    /// One line of `arptables -V; arptables -L -n`: the version, chain
    /// headers, and rules such as `-j DROP -d 198.51.100.100` or `-j mangle
    /// -s VIP --mangle-ip-s RIP`. A rule counts only with no option but those
    /// and `--opcode 1` (requests; `--opcode 2` is replies only, `-i eth1`
    /// one interface…), and only before any rule of its chain that lets
    /// packets leave it.
    pub(super) fn arptables_line(&mut self, line: &str) {
        if line.starts_with("arptables v") {
            self.arptables_nft |= line.contains("nf_tables");
            return;
        }
        if let Some(name) = line.strip_prefix("Chain ") {
            // Built-in chains have a policy; a user chain named IN is only reached by a jump.
            let builtin = name.contains("(policy ");
            self.arptables_chain = match name.split_whitespace().next() {
                Some("INPUT" | "IN") if builtin => ArpChain::In,
                Some("OUTPUT" | "OUT") if builtin => ArpChain::Out,
                _ => ArpChain::Other,
            };
            self.arptables_passed = false;
            return;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        let (mut target, mut d, mut s, mut mangle_ip, mut understood) = (None, None, None, None, true);
        for pair in w.chunks(2) {
            match *pair {
                ["-j", value] => target = Some(value),
                ["-d", value] => d = ipv4_range(value),
                ["-s", value] => s = ipv4_range(value),
                ["--mangle-ip-s", value] => mangle_ip = value.parse::<Ipv4Addr>().ok(),
                ["--mangle-mac-s", _] | ["--opcode", "1" | "Request"] => {}
                _ => understood = false,
            }
        }
        if let Some(to) = mangle_ip {
            self.nft.targets.push(u32::from(to));
        }
        let passed = self.arptables_passed;
        self.arptables_passed |= target.is_some_and(|t| t != "DROP");
        if passed || !understood {
            return;
        }
        let [dropped, out_dropped, mangled] = &mut self.arptables;
        match (self.arptables_chain, target) {
            (ArpChain::In, Some("DROP")) if s.is_none() => dropped.extend(d),
            (ArpChain::Out, Some("DROP")) if d.is_none() => out_dropped.extend(s),
            (ArpChain::Out, Some("mangle")) if d.is_none() && mangle_ip.is_some() => mangled.extend(s),
            _ => {}
        }
    }

    /// One line of `nft list ruleset arp` (see [`NftState::line`]).
    pub(super) fn nft_line(&mut self, line: &str) {
        self.nft_state.line(&mut self.nft, line);
    }

    /// What the rules suppress: (input, output), merged; an address some
    /// rule rewrites senders to is never hidden.
    ///
    /// arptables-nft keeps its rules in nftables' `table arp filter`. When nft
    /// listed that table, its listing is the one read: arptables-nft lists
    /// the rules of a dormant table all the same, and prints rules without the
    /// matches it cannot show (a set, a MAC). Only its mangles are taken from
    /// arptables (nft shows them as `xt target mangle`, without the address
    /// they rewrite to), each where nft lists it with the same sender match
    /// and nothing else.
    pub(super) fn finish(self) -> (Ipv4Ranges, Ipv4Ranges) {
        let ArpRules { arptables_nft, arptables: [dropped, out_dropped, mangled], mut nft, nft_state, .. } = self;
        nft_state.resolve(&mut nft);
        if arptables_nft && nft_state.tables.contains("filter") {
            nft.output.extend(mangled.into_iter().filter(|r| nft_state.xt_mangled.contains(r)));
        } else {
            nft.input.extend(dropped);
            nft.output.extend(out_dropped.into_iter().chain(mangled));
        }
        let Suppressed { mut input, mut output, targets } = nft;
        input.merge();
        output.remove_points(targets);
        (input, output)
    }
}

/// What `nft list ruleset arp` has said so far: the table (numbered in the
/// order listed, and whether dormant) and chain a line is in, whether a rule
/// of that chain may already have let a packet through, the set block it is
/// in with the addresses read so far (and whether in its elements), each
/// named set's addresses, and the rules that match a named set, resolved once
/// the whole listing is read ([`NftState::resolve`]). Work stays linear in
/// the listing: a set is stored once when its block ends, each (chain, set)
/// is resolved once however many rules name it.
#[derive(Debug, Default)]
struct NftState {
    table: u32,
    table_name: String,
    /// The table is dormant (`flags dormant`): its chains see no packets.
    dormant: bool,
    /// The names of the tables listed (`arp filter` is arptables-nft's).
    tables: BTreeSet<String>,
    /// The sender matches of the rules of `table arp filter` that only
    /// match the sender and `xt target mangle` (arptables-nft's mangles).
    xt_mangled: BTreeSet<(u32, u32)>,
    chain: ArpChain,
    /// A rule of this chain accepts, returns, jumps or goes to another chain
    /// for some packets: the rules after it may never see them.
    passed: bool,
    set: Option<(String, Vec<(u32, u32)>)>,
    in_elements: bool,
    sets: BTreeMap<(u32, String), Vec<(u32, u32)>>,
    refs: BTreeSet<(u32, String, bool)>,
}

impl NftState {
    /// The addresses of the named sets the rules match, as those rules' own
    /// (`true`: an input rule's, else an output rule's).
    fn resolve(&self, out: &mut Suppressed) {
        for (table, name, input) in &self.refs {
            out.side(*input).extend(self.sets.get(&(*table, name.clone())).into_iter().flatten().copied());
        }
    }

    /// A line inside a `set NAME { ... }` block: its elements' addresses,
    /// prefixes and ranges (a concatenation is not read), over as many lines
    /// as they take; the block's end stores the set.
    fn set_line(&mut self, t: &str) {
        let Some((_, addrs)) = self.set.as_mut() else { return };
        let body = if let Some(body) = t.strip_prefix("elements = {") {
            self.in_elements = true;
            body
        } else if self.in_elements {
            t
        } else {
            if t == "}" {
                if let Some((name, addrs)) = self.set.take() {
                    self.sets.insert((self.table, name), addrs);
                }
            }
            return;
        };
        let body = blank_quotes(body);
        let (body, closed) = body.split_once('}').map_or((body.as_str(), false), |(b, _)| (b, true));
        // Not a concatenation, nor an element that expires (added by a rule, for a while).
        let single = |a: &str| {
            let w: Vec<&str> = a.split_whitespace().collect();
            if w.contains(&".") || w.contains(&"expires") || w.contains(&"timeout") {
                return None;
            }
            ipv4_range(w.first()?)
        };
        addrs.extend(body.split(',').filter_map(single));
        if closed {
            self.in_elements = false;
        }
    }

    /// One line: a table and its flags, a named set and its elements, a
    /// chain and its hook, or a rule such as `arp daddr ip 198.51.100.100
    /// drop` or `arp daddr ip @vips drop` (input), or `arp saddr ip
    /// 198.51.100.100 arp saddr ip set 198.51.100.11` (output), read by
    /// [`NftRule::read`].
    fn line(&mut self, out: &mut Suppressed, line: &str) {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("table ") {
            // `table arp NAME {`: sets are named within their table.
            self.table = self.table.wrapping_add(1);
            self.table_name = rest.split_whitespace().nth(1).unwrap_or_default().chars().take(NFT_NAME_MAX).collect();
            if self.tables.len() < 4096 {
                self.tables.insert(self.table_name.clone());
            }
            (self.dormant, self.chain, self.passed, self.set, self.in_elements) =
                (false, ArpChain::Other, false, None, false);
            return;
        }
        if self.set.is_some() {
            self.set_line(t);
            return;
        }
        if let Some(flags) = t.strip_prefix("flags ") {
            // A table's flags (a set's are read in its block): `flags dormant`
            // turns the whole table off.
            self.dormant |= flags.split([',', ' ']).any(|f| f == "dormant");
            return;
        }
        if let Some(rest) = t.strip_prefix("set ") {
            self.set =
                rest.split_whitespace().next().filter(|n| n.len() <= NFT_NAME_MAX).map(|n| (n.to_string(), Vec::new()));
            return;
        }
        if t.starts_with("chain ") {
            (self.chain, self.passed) = (ArpChain::Other, false);
            return;
        }
        if t.starts_with("type ") {
            self.chain = if t.contains("hook input") {
                ArpChain::In
            } else if t.contains("hook output") {
                ArpChain::Out
            } else {
                ArpChain::Other
            };
            return;
        }
        if self.chain == ArpChain::Other || t.is_empty() || t == "}" {
            return;
        }
        let rule = NftRule::read(t);
        out.targets.extend(&rule.targets);
        let counts = !(self.dormant || self.passed || rule.narrowed);
        self.passed |= rule.passes;
        if !counts {
            return;
        }
        let input = self.chain == ArpChain::In;
        if rule.acts == Acts::XtMangle {
            if let (false, "filter", None, Some(Match::Addrs(a))) =
                (input, self.table_name.as_str(), &rule.daddr, &rule.saddr)
            {
                if let [one] = a.as_slice() {
                    self.xt_mangled.insert(*one);
                }
            }
            return;
        }
        if rule.passes {
            return;
        }
        // Input: requests for the addresses dropped, whoever asks. Output:
        // the addresses dropped or rewritten out of the sender field, whoever is asked.
        let (key, other, acts) = if input {
            (&rule.daddr, &rule.saddr, rule.acts == Acts::Drops)
        } else {
            (&rule.saddr, &rule.daddr, rule.acts != Acts::Nothing)
        };
        if !acts || other.is_some() {
            return;
        }
        match key {
            Some(Match::Addrs(a)) => out.side(input).extend(a.iter().copied()),
            Some(Match::Set(name)) => {
                self.refs.insert((self.table, name.clone(), input));
            }
            Some(Match::Other) | None => {}
        }
    }
}

/// What a rule matches an address field against.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Match {
    /// Addresses, prefixes and ranges.
    Addrs(Vec<(u32, u32)>),
    /// A named set of the table.
    Set(String),
    /// Anything else: a negation, a concatenation, what cannot be read.
    Other,
}

/// What a rule does to the ARP packets it matches.
#[derive(Debug, Default, PartialEq, Eq)]
enum Acts {
    /// Nothing read: they go on to the next rule.
    #[default]
    Nothing,
    /// `drop`.
    Drops,
    /// `arp saddr ip set ADDR`: the sender address rewritten.
    Rewrites,
    /// `xt target mangle`: arptables-nft's mangle, which nft cannot show.
    XtMangle,
}

/// One nftables rule of an ARP chain, read word by word.
#[derive(Debug, Default, PartialEq, Eq)]
struct NftRule {
    /// `arp daddr ip …`, `arp saddr ip …`.
    daddr: Option<Match>,
    saddr: Option<Match>,
    /// What it does to the packets it matches.
    acts: Acts,
    /// `accept`, `return`, `jump`, `goto`, `queue`, a verdict map, an xt
    /// target, or a rule not understood without a `drop`: some packets may
    /// leave the chain here (read in every rule, understood or not).
    passes: bool,
    /// The addresses `arp saddr ip set` rewrites senders to.
    targets: Vec<u32>,
    /// A word not understood, or one that leaves some requests alone (a
    /// match on an interface, a rate, replies only, a second address match…).
    narrowed: bool,
}

impl NftRule {
    /// Read a rule line. Quoted strings (comments, log prefixes) are words
    /// of their own that mean nothing.
    fn read(line: &str) -> NftRule {
        let line = blank_quotes(line);
        let words: Vec<&str> = line.split_whitespace().collect();
        // Verdicts in a map (`vmap { 198.51.100.1 : accept, … }`) carry its punctuation.
        let verdict = |w: &str| w.trim_matches([',', '{', '}', ':', ';']).to_string();
        let passes = words
            .iter()
            .any(|w| matches!(verdict(w).as_str(), "accept" | "return" | "jump" | "goto" | "queue" | "vmap" | "xt"));
        let targets = words
            .windows(5)
            .filter(|w| w[..4] == ["arp", "saddr", "ip", "set"])
            .filter_map(|w| w[4].parse::<Ipv4Addr>().ok().map(u32::from))
            .collect();
        let mut r = NftRule { passes, targets, ..NftRule::default() };
        let mut log = false;
        let mut i = 0;
        while i < words.len() && !r.narrowed {
            let w = &words[i..];
            i += match w {
                ["arp", field @ ("daddr" | "saddr"), "ip", "set", value, ..] => {
                    if *field == "saddr" && value.parse::<Ipv4Addr>().is_ok() {
                        r.acts = if r.acts == Acts::Drops { Acts::Drops } else { Acts::Rewrites };
                    } else {
                        r.narrowed = true;
                    }
                    5
                }
                ["arp", field @ ("daddr" | "saddr"), "ip", rest @ ..] => {
                    let (m, used) = read_match(rest);
                    let slot = if *field == "daddr" { &mut r.daddr } else { &mut r.saddr };
                    // Two matches on one field narrow each other (`ip 198.51.100.0/24 ip != .100`).
                    r.narrowed |= slot.is_some();
                    *slot = Some(m);
                    3 + used
                }
                ["arp", "operation", rest @ ..] => {
                    let (requests, used) = read_operation(rest);
                    r.narrowed |= !requests;
                    2 + used
                }
                ["arp", "htype", "1" | "ether", ..]
                | ["arp", "ptype", "ip" | "0x0800" | "0x800", ..]
                | ["arp", "hlen", "6", ..]
                | ["arp", "plen", "4", ..] => 3,
                ["xt", "target", "mangle", ..] => {
                    r.acts = Acts::XtMangle;
                    3
                }
                ["counter", "packets", _, "bytes", _, ..] => 5,
                ["counter", ..] => 1,
                ["comment", "\"\"", ..] => 2,
                ["log", ..] => {
                    log = true;
                    1
                }
                ["prefix" | "level" | "flags" | "group" | "snaplen" | "queue-threshold", _, ..] if log => 2,
                ["drop", ..] => {
                    r.acts = Acts::Drops;
                    1
                }
                _ => {
                    r.narrowed = true;
                    1
                }
            };
        }
        // A rule not understood may end in any verdict but a plain drop.
        r.passes |= r.narrowed && !words.contains(&"drop");
        r
    }
}

/// `line` with each quoted string (a comment, a log prefix) made `""`.
fn blank_quotes(line: &str) -> String {
    line.split('"').enumerate().map(|(i, part)| if i % 2 == 1 { "" } else { part }).collect::<Vec<_>>().join("\"")
}

/// The value an address field is matched against, and how many words it
/// took: an address, prefix or range, a `{ … }` set of them, or `@name`.
fn read_match(w: &[&str]) -> (Match, usize) {
    match w.first() {
        Some(first) if first.starts_with('{') => {
            let Some(end) = w.iter().position(|x| x.ends_with('}')) else { return (Match::Other, w.len()) };
            let body = w[..=end].join(" ");
            let body = body.trim_start_matches('{').trim_end_matches('}');
            let addrs: Option<Vec<(u32, u32)>> = body.split(',').map(|a| ipv4_range(a.trim())).collect();
            let used = end + 1;
            // A concatenation (`{ a . b }`) or anything unread is no address.
            (addrs.filter(|a| !a.is_empty()).map_or(Match::Other, Match::Addrs), used)
        }
        Some(name) if name.starts_with('@') => {
            let name = &name[1..];
            let m = if name.is_empty() || name.len() > NFT_NAME_MAX { Match::Other } else { Match::Set(name.into()) };
            (m, 1)
        }
        Some(value) => (ipv4_range(value).map_or(Match::Other, |r| Match::Addrs(vec![r])), 1),
        // A negation (`!=`) or the first field of a concatenation (`.`) is
        // read as a value that is no address; the words after it are then
        // not understood, or a second match.
        None => (Match::Other, 0),
    }
}

/// Whether an `arp operation` match lets requests through to the rest of the
/// rule (`request`, `1`, a list with them, `!= reply`), and how many words it
/// took.
fn read_operation(w: &[&str]) -> (bool, usize) {
    let (negated, at) = if w.first() == Some(&"!=") { (true, 1) } else { (false, 0) };
    let rest = &w[at.min(w.len())..];
    let (ops, used): (Vec<&str>, usize) = match rest.first() {
        Some(first) if first.starts_with('{') => match rest.iter().position(|x| x.ends_with('}')) {
            Some(end) => {
                let ops =
                    rest[..=end].iter().flat_map(|x| x.split([',', '{', '}'])).filter(|x| !x.is_empty()).collect();
                (ops, end + 1)
            }
            None => return (false, w.len()),
        },
        Some(op) => (vec![*op], 1),
        None => return (false, w.len()),
    };
    // Only names and numbers are read: a range (`1-2`) or a set reference is not.
    let known = ops.iter().all(|op| matches!(*op, "request" | "reply" | "1" | "2") || op.parse::<u16>().is_ok());
    let requests = ops.iter().any(|op| matches!(*op, "request" | "1"));
    (known && requests != negated, at + used)
}
