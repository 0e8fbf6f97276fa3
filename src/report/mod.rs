//! Text, JSON and `ipvsadm -S` renderings of a snapshot, for `lvstop dump` and
//! `lvstop save` (pure functions of the snapshot), and of connection entries
//! for `lvstop conns` (written as they are read).

mod conns;
mod save;
mod table;

/// For `src/checks`, which names it here; the ipvsadm arguments live in [`crate::model::ipvsadm`].
pub use conns::{ConnTally, ConnWriter};
pub use save::save_rules;
pub use table::{director_text, dump_text};

use serde::Serialize;

use crate::model::Snapshot;
use crate::sys::load::DirectorLoad;

/// Version of the `lvstop dump --json` document shape (see README, "JSON output").
/// 2: `director` is null unless `--load` asked for it (it was always measured in 1).
pub const JSON_SCHEMA: u32 = 2;

struct JsonDoc<'a> {
    schema: u32,
    ipvs_version: Option<String>,
    /// At the top level of the document.
    snapshot: &'a Snapshot,
    director: Option<&'a DirectorLoad>,
}

impl Serialize for JsonDoc<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("JsonDoc", Snapshot::FIELDS + 3)?;
        st.serialize_field("schema", &self.schema)?;
        st.serialize_field("ipvs_version", &self.ipvs_version)?;
        self.snapshot.serialize_fields(&mut st)?;
        st.serialize_field("director", &self.director)?;
        st.end()
    }
}

/// The `lvstop dump --json` document, on one line (a table of 50 000
/// realservers is some 20 MB of JSON; `jq .` lays it out).
pub fn dump_json(snap: &Snapshot, director: Option<&DirectorLoad>) -> String {
    let mut out = Vec::new();
    match write_dump_json(&mut out, snap, director) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(e) => format!("{{\"error\": \"cannot encode snapshot: {e}\"}}"),
    }
}

/// [`dump_json`] written to `w` as it is encoded, with a final newline.
pub fn write_dump_json(
    mut w: impl std::io::Write,
    snap: &Snapshot,
    director: Option<&DirectorLoad>,
) -> std::io::Result<()> {
    let doc = JsonDoc { schema: JSON_SCHEMA, ipvs_version: snap.info.map(|i| i.version()), snapshot: snap, director };
    serde_json::to_writer(&mut w, &doc)?;
    w.write_all(b"\n")
}
