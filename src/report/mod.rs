//! Text, JSON and `ipvsadm -S` renderings of a snapshot, for `lvstop dump` and
//! `lvstop save`. Pure functions of the snapshot.

mod save;
mod table;

pub use save::{dest_args, save_rules, service_args};
pub use table::dump_text;

use serde::Serialize;

use crate::model::Snapshot;

/// Version of the `lvstop dump --json` document shape (see README, "JSON output").
pub const JSON_SCHEMA: u32 = 1;

#[derive(Serialize)]
struct JsonDoc<'a> {
    schema: u32,
    ipvs_version: Option<String>,
    #[serde(flatten)]
    snapshot: &'a Snapshot,
}

/// The `lvstop dump --json` document.
pub fn dump_json(snap: &Snapshot) -> String {
    serde_json::to_string_pretty(&JsonDoc {
        schema: JSON_SCHEMA,
        ipvs_version: snap.info.map(|i| i.version()),
        snapshot: snap,
    })
    .unwrap_or_else(|e| format!("{{\"error\": \"cannot encode snapshot: {e}\"}}"))
}
