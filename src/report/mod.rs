//! Text, JSON and `ipvsadm -S` renderings of a snapshot, for `lvstop dump` and
//! `lvstop save` (pure functions of the snapshot), and of connection entries
//! for `lvstop conns` (written as they are read).

mod conns;
mod save;
mod table;

/// For `src/checks`, which names it here; the ipvsadm arguments live in [`crate::model::ipvsadm`].
pub use conns::{ConnTally, ConnWriter};
pub use save::{save_rules, SaveRules};
pub use table::{director_text, dump_text, TextDump};

use crate::model::Snapshot;
use crate::sys::load::DirectorLoad;

/// Version of the `lvstop dump --json` document shape (see README, "JSON output").
/// 2: `director` is null unless `--load` asked for it (it was always measured in 1).
pub const JSON_SCHEMA: u32 = 2;

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
    w: impl std::io::Write,
    snap: &Snapshot,
    director: Option<&DirectorLoad>,
) -> std::io::Result<()> {
    let mut doc = JsonWriter::start(w, snap)?;
    for s in &snap.services {
        doc.service(s)?;
    }
    doc.finish(snap.totals.as_ref(), director).map(drop)
}

/// The `lvstop dump --json` document written as the table is read: its head
/// (`schema`, `ipvs_version`, then the snapshot's fields), each service, then
/// `totals` and `director`. A document whose read failed is never finished:
/// what was written does not parse, and is not taken for a table.
pub struct JsonWriter<W: std::io::Write> {
    w: W,
    first: bool,
}

impl<W: std::io::Write> JsonWriter<W> {
    /// Write the head of the document: `head`'s fields up to `services` (its
    /// own services and totals are not written).
    pub fn start(mut w: W, head: &Snapshot) -> std::io::Result<Self> {
        write!(w, "{{\"schema\":{JSON_SCHEMA},\"ipvs_version\":")?;
        serde_json::to_writer(&mut w, &head.info.map(|i| i.version()))?;
        for (key, value) in [
            ("source", &head.source as &dyn erased::Json),
            ("info", &head.info),
            ("timeouts", &head.timeouts),
            ("daemons", &head.daemons),
        ] {
            write!(w, ",\"{key}\":")?;
            value.write(&mut w)?;
        }
        w.write_all(b",\"services\":[")?;
        Ok(JsonWriter { w, first: true })
    }

    /// The next service.
    pub fn service(&mut self, s: &crate::model::Service) -> std::io::Result<()> {
        if !std::mem::take(&mut self.first) {
            self.w.write_all(b",")?;
        }
        serde_json::to_writer(&mut self.w, s).map_err(std::io::Error::from)
    }

    /// The end of the document, with a final newline; the writer back.
    pub fn finish(
        mut self,
        totals: Option<&(crate::model::Counters, crate::model::Rates)>,
        director: Option<&DirectorLoad>,
    ) -> std::io::Result<W> {
        self.w.write_all(b"],\"totals\":")?;
        serde_json::to_writer(&mut self.w, &totals)?;
        self.w.write_all(b",\"director\":")?;
        serde_json::to_writer(&mut self.w, &director)?;
        self.w.write_all(b"}\n")?;
        Ok(self.w)
    }
}

/// One JSON value among others of different types, for [`JsonWriter::start`]'s list.
mod erased {
    pub trait Json {
        fn write(&self, w: &mut dyn std::io::Write) -> std::io::Result<()>;
    }

    impl<T: serde::Serialize> Json for T {
        fn write(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
            serde_json::to_writer(w, self).map_err(std::io::Error::from)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;

    /// The document as serde lays out one struct: the head, every field of
    /// the snapshot's own JSON form, then `director`.
    struct Whole<'a>(&'a Snapshot);

    impl Serialize for Whole<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeStruct;
            let mut st = s.serialize_struct("Doc", Snapshot::FIELDS + 3)?;
            st.serialize_field("schema", &JSON_SCHEMA)?;
            st.serialize_field("ipvs_version", &self.0.info.map(|i| i.version()))?;
            self.0.serialize_fields(&mut st)?;
            st.serialize_field("director", &None::<DirectorLoad>)?;
            st.end()
        }
    }

    #[test]
    fn the_streamed_document_is_the_snapshot_s_own_json_form_with_its_head() {
        use crate::model::{Counters, DestSpec, Destination, ForwardMethod, Rates, Service, ServiceKey, ServiceSpec};
        let service = |port: u16| Service {
            spec: ServiceSpec::new(ServiceKey::tcp("203.0.113.1".parse().expect("address"), port), "wlc"),
            stats: Counters { conns: 7, ..Default::default() },
            rates: Rates::default(),
            destinations: (11..11 + port)
                .map(|h| Destination {
                    spec: DestSpec::new(
                        format!("198.51.100.{h}").parse().expect("address"),
                        port,
                        ForwardMethod::Route,
                    ),
                    active_conns: 3,
                    inact_conns: 1,
                    persist_conns: 0,
                    stats: Counters::default(),
                    rates: Rates::default(),
                })
                .collect(),
        };
        let mut snap = Snapshot {
            source: crate::model::Source::Procfs { reason: "no \"netlink\"".into() },
            totals: Some(Default::default()),
            ..Snapshot::empty()
        };
        for services in [0, 1, 3] {
            snap.services = (1..=services).map(service).collect();
            let streamed = dump_json(&snap, None);
            let whole = serde_json::to_string(&Whole(&snap)).expect("json") + "\n";
            assert_eq!(streamed, whole, "{services} services");
            assert!(serde_json::from_str::<serde_json::Value>(&streamed).is_ok());
        }
    }
}
