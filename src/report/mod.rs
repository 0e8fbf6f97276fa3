//! Text, JSON and `ipvsadm -S` renderings of a snapshot, for `lvstop dump` and
//! `lvstop save`. Pure functions of the snapshot.

mod save;
mod table;

/// For `src/checks`, which names it here; the ipvsadm arguments live in [`crate::model::ipvsadm`].
pub use save::save_rules;
pub use table::{director_text, dump_text};

use serde::Serialize;

use crate::model::Snapshot;
use crate::sys::load::DirectorLoad;

/// Version of the `lvstop dump --json` document shape (see README, "JSON output").
/// 2: `director` is null unless `--load` asked for it (it was always measured in 1).
pub const JSON_SCHEMA: u32 = 2;

#[derive(Serialize)]
struct JsonDoc<'a> {
    schema: u32,
    ipvs_version: Option<String>,
    #[serde(flatten)]
    snapshot: &'a Snapshot,
    director: Option<&'a DirectorLoad>,
}

/// The `lvstop dump --json` document.
pub fn dump_json(snap: &Snapshot, director: Option<&DirectorLoad>) -> String {
    serde_json::to_string_pretty(&JsonDoc {
        schema: JSON_SCHEMA,
        ipvs_version: snap.info.map(|i| i.version()),
        snapshot: snap,
        director,
    })
    .unwrap_or_else(|e| format!("{{\"error\": \"cannot encode snapshot: {e}\"}}"))
}
