//! Overlays. Only the top one takes keys; each handles its own keys (from the
//! keymap) and answers what happens next: it stays, it closes, or it asks the
//! console for something ([`Intent`]) and stays or closes.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::cmdline::{self, CmdLine};
use super::form::{Form, FormEvent};
use super::state::DestId;
use crate::config::{Action, Context, Keymap};
use crate::model::Change;
use crate::model::ServiceKey;

/// What a text prompt is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// `/` filter (applied as typed).
    Filter,
    /// `:` command line.
    Command,
    /// `w` exact weight of this realserver of this service (chosen when the
    /// prompt opened: a refresh meanwhile cannot move it to another).
    Weight(ServiceKey, DestId),
    /// `/` in the connections view: clients in this address or network.
    ConnClient,
}

/// An overlay that takes the keys while it is on top.
#[derive(Debug, Clone, PartialEq)]
pub enum Layer {
    /// The help screen.
    Help,
    /// The check findings.
    Checks,
    /// The connections view (see [`super::conns`]).
    Conns,
    /// The pair view (see [`super::pair`]).
    Pair,
    /// A change waiting for yes or no.
    Confirm {
        /// The change.
        change: Change,
        /// A warning to show (e.g. managed by keepalived).
        warning: Option<String>,
        /// Whether this is an undo (its inverse is not pushed).
        is_undo: bool,
        /// The same weights for the pair view's other director, when it has
        /// these realservers: offered as one more key (apply on both).
        peer: Option<super::pair::PeerEdit>,
    },
    /// An add/edit form.
    Form(Form),
    /// A one-line prompt.
    Prompt {
        /// What for.
        kind: PromptKind,
        /// Typed text.
        text: String,
        /// Validation error of the text, shown inline.
        error: Option<String>,
    },
}

/// Where to scroll the checks view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scroll {
    /// By this many lines (negative: up).
    By(i32),
    /// To the first line.
    Top,
    /// To the last page.
    Bottom,
}

/// What an overlay asks of the console.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// Send a confirmed change.
    Send {
        /// The change.
        change: Change,
        /// Whether it undoes an earlier change.
        is_undo: bool,
    },
    /// Send a confirmed change here, and its weights to the other director.
    SendBoth {
        /// The change here.
        change: Change,
        /// Whether it undoes an earlier change.
        is_undo: bool,
        /// The other director's weights.
        peer: super::pair::PeerEdit,
    },
    /// The operator declined a change.
    Cancelled { change: Change, is_undo: bool },
    /// A form produced a change (confirmed first if it needs it).
    Submit(Change),
    /// Filter the tables by this text.
    Filter(String),
    /// Set a realserver's weight.
    Weight {
        /// Its service.
        svc: ServiceKey,
        /// The realserver.
        dest: DestId,
        /// The new weight.
        weight: u32,
    },
    /// Run a command line.
    CmdLine(CmdLine),
    /// Run the checks again.
    RunChecks,
    /// Scroll the checks view.
    Scroll(Scroll),
    /// Scroll the help.
    HelpScroll(Scroll),
    /// Scroll the connections view.
    ConnsScroll(Scroll),
    /// Read the connections again now.
    ReadConns,
    /// Open the connections view's client filter prompt.
    ConnsPrompt,
    /// Filter the connections view by this client address or network.
    ConnsClient(String),
    /// Read both directors of the pair view again now.
    ReadPair,
    /// Scroll the pair view.
    PairScroll(Scroll),
}

/// An overlay's answer to a key.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// Whether the overlay closes.
    pub close: bool,
    /// What it asks of the console.
    pub intent: Option<Intent>,
}

impl Reply {
    /// Stay open, ask nothing.
    pub fn stay() -> Self {
        Reply { close: false, intent: None }
    }

    /// Close, ask nothing.
    pub fn close() -> Self {
        Reply { close: true, intent: None }
    }

    /// Close and ask.
    pub fn emit(intent: Intent) -> Self {
        Reply { close: true, intent: Some(intent) }
    }

    /// Stay open and ask.
    pub fn emit_and_stay(intent: Intent) -> Self {
        Reply { close: false, intent: Some(intent) }
    }
}

/// The longest prompt text kept.
const PROMPT_MAX: usize = 200;

/// An exact weight as typed in the `w` prompt.
pub fn weight_of(text: &str) -> Result<u32, String> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|w| *w <= crate::model::WEIGHT_MAX)
        .ok_or_else(|| format!("invalid weight '{}': use 0 to {}", text.trim(), crate::model::WEIGHT_MAX))
}

/// How a text-entry key edits a line: typed, deleted, cleared, or not an edit.
pub(super) enum Edit {
    /// The text changed.
    Changed,
    /// The key is not an edit of the text.
    Other(Option<Action>),
}

/// Apply a text-entry key to `text` (at most `max` bytes): the keymap's input
/// actions first, then printable characters are typed. `locked` text never changes.
pub(super) fn edit_text(text: &mut String, k: &KeyEvent, keys: &Keymap, max: usize, locked: bool) -> Edit {
    match keys.action_of(Context::Input, k) {
        Some(Action::DeleteChar) => {
            if !locked {
                text.pop();
            }
            Edit::Changed
        }
        Some(Action::ClearField) => {
            if !locked {
                text.clear();
            }
            Edit::Changed
        }
        Some(a) => Edit::Other(Some(a)),
        None => match k.code {
            KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
                if !locked && text.len() + c.len_utf8() <= max {
                    text.push(c);
                }
                Edit::Changed
            }
            _ => Edit::Other(None),
        },
    }
}

/// How a scrolling view (help, checks, connections) moves for `a`, if it is a movement.
fn scroll_of(a: Action) -> Option<Scroll> {
    Some(match a {
        Action::Up => Scroll::By(-1),
        Action::Down => Scroll::By(1),
        Action::PageUp => Scroll::By(-10),
        Action::PageDown => Scroll::By(10),
        Action::Top => Scroll::Top,
        Action::Bottom => Scroll::Bottom,
        _ => return None,
    })
}

impl Layer {
    /// Handle a key on top of the stack.
    pub fn on_key(&mut self, k: &KeyEvent, keys: &Keymap) -> Reply {
        match self {
            Layer::Help => keys
                .action_of(Context::Main, k)
                .and_then(scroll_of)
                .map_or_else(Reply::close, |s| Reply::emit_and_stay(Intent::HelpScroll(s))),
            Layer::Checks => match keys.action_of(Context::Main, k) {
                Some(Action::Checks) => Reply::emit_and_stay(Intent::RunChecks),
                a => a.and_then(scroll_of).map_or_else(Reply::close, |s| Reply::emit_and_stay(Intent::Scroll(s))),
            },
            Layer::Conns => match keys.action_of(Context::Main, k) {
                Some(Action::Connections | Action::Refresh) => Reply::emit_and_stay(Intent::ReadConns),
                Some(Action::Filter) => Reply::emit_and_stay(Intent::ConnsPrompt),
                a => a.and_then(scroll_of).map_or_else(Reply::close, |s| Reply::emit_and_stay(Intent::ConnsScroll(s))),
            },
            Layer::Pair => match keys.action_of(Context::Main, k) {
                Some(Action::Pair | Action::Refresh) => Reply::emit_and_stay(Intent::ReadPair),
                a => a.and_then(scroll_of).map_or_else(Reply::close, |s| Reply::emit_and_stay(Intent::PairScroll(s))),
            },
            Layer::Confirm { change, is_undo, peer, .. } => match keys.action_of(Context::Confirm, k) {
                Some(Action::ConfirmYes) => Reply::emit(Intent::Send { change: change.clone(), is_undo: *is_undo }),
                Some(Action::ConfirmBoth) => match peer {
                    Some(p) => {
                        Reply::emit(Intent::SendBoth { change: change.clone(), is_undo: *is_undo, peer: p.clone() })
                    }
                    None => Reply::stay(),
                },
                Some(Action::ConfirmNo) => Reply::emit(Intent::Cancelled { change: change.clone(), is_undo: *is_undo }),
                _ => Reply::stay(),
            },
            Layer::Form(form) => match form.handle_key(k, keys) {
                FormEvent::Stay => Reply::stay(),
                FormEvent::Cancel => Reply::close(),
                FormEvent::Submit(change) => Reply::emit(Intent::Submit(change)),
            },
            Layer::Prompt { kind, text, error } => {
                let kind = *kind;
                match edit_text(text, k, keys, PROMPT_MAX, false) {
                    Edit::Changed => {
                        *error = match kind {
                            PromptKind::Weight(..) => weight_of(text).err(),
                            PromptKind::ConnClient if !text.trim().is_empty() => {
                                crate::model::Prefix::parse(text.trim()).err()
                            }
                            PromptKind::Filter | PromptKind::Command | PromptKind::ConnClient => None,
                        };
                        match kind {
                            PromptKind::Filter => Reply::emit_and_stay(Intent::Filter(text.clone())),
                            PromptKind::Weight(..) | PromptKind::Command | PromptKind::ConnClient => Reply::stay(),
                        }
                    }
                    Edit::Other(Some(Action::InputCancel)) => match kind {
                        PromptKind::Filter => Reply::emit(Intent::Filter(String::new())),
                        PromptKind::Weight(..) | PromptKind::Command | PromptKind::ConnClient => Reply::close(),
                    },
                    Edit::Other(Some(Action::Submit)) => {
                        let done = match kind {
                            PromptKind::Filter => Ok(Intent::Filter(text.clone())),
                            PromptKind::Weight(svc, dest) => {
                                weight_of(text).map(|weight| Intent::Weight { svc, dest, weight })
                            }
                            PromptKind::Command => cmdline::parse(text).map(Intent::CmdLine),
                            PromptKind::ConnClient => match text.trim() {
                                "" => Ok(Intent::ConnsClient(String::new())),
                                t => crate::model::Prefix::parse(t).map(|_| Intent::ConnsClient(t.to_string())),
                            },
                        };
                        match done {
                            Ok(intent) => Reply::emit(intent),
                            Err(e) => {
                                *error = Some(e);
                                Reply::stay()
                            }
                        }
                    }
                    Edit::Other(_) => Reply::stay(),
                }
            }
        }
    }
}
