//! The console's state and its pure update function (TEA with effects): keys
//! and worker messages go in, effects for the workers come out. No I/O, no
//! clock (time arrives in messages), no terminal.
//!
//! - [`state`]: the state, grouped by concern; [`table`]: the visible rows, derived once.
//! - [`update`]: messages → effects; [`actions`]: the main view's keys.
//! - [`layer`]: overlays, each answering its own keys; [`form`], [`cmdline`]: what they edit.

pub mod actions;
pub mod cmdline;
pub mod conns;
pub mod director;
pub mod form;
pub mod layer;
pub mod pair;
pub mod state;
pub mod table;
pub mod update;

pub use layer::{Intent, Layer, PromptKind, Reply};
pub use state::{AppState, Focus, Outcome};
pub use table::SortCol;
pub use update::{update, Effect, Msg};
