//! The console's state and its pure update function (TEA with commands): keys
//! and worker messages go in, commands for the workers come out. No I/O, no
//! clock (time arrives in messages), no terminal.

pub mod cmdline;
pub mod form;
pub mod state;
pub mod update;

pub use state::{AppState, Focus, Layer, Outcome, PromptKind, SortCol};
pub use update::{update, Command, Msg};
