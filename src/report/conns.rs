//! `lvstop conns`: connection entries as a table or JSON, written one entry
//! at a time (a director may hold millions; the output is never held whole).

use std::io::Write;

use crate::model::ConnEntry;

/// How many entries were read and how many of them were written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnTally {
    /// Entries read from the kernel's table.
    pub read: u64,
    /// Entries that passed the filter (written).
    pub matched: u64,
    /// Of those, persistence templates.
    pub templates: u64,
}

/// A writer of connection entries: the table's header or the JSON document's
/// opening first, each entry as it comes, the tally at the end.
pub struct ConnWriter<W: Write> {
    out: W,
    json: bool,
    tally: ConnTally,
}

/// Width of an address column: `255.255.255.255:65535` and a space.
const ADDR_W: usize = 22;

impl<W: Write> ConnWriter<W> {
    /// Start the table (`json` false) or the document.
    pub fn start(mut out: W, json: bool) -> std::io::Result<Self> {
        if json {
            out.write_all(b"{\"connections\":[")?;
        } else {
            writeln!(
                out,
                "{:<4} {:>7} {:<11} {:<ADDR_W$} {:<ADDR_W$} {:<ADDR_W$}",
                "Pro", "Expires", "State", "Client", "Virtual", "Realserver"
            )?;
        }
        Ok(ConnWriter { out, json, tally: ConnTally::default() })
    }

    /// Write one entry that passed the filter.
    pub fn entry(&mut self, e: &ConnEntry) -> std::io::Result<()> {
        if self.json {
            if self.tally.matched > 0 {
                self.out.write_all(b",")?;
            }
            serde_json::to_writer(&mut self.out, e)?;
        } else {
            let virt = match e.fwmark {
                Some(mark) => format!("fwmark {mark}"),
                None => e.virtual_addr.to_string(),
            };
            write!(
                self.out,
                "{:<4} {:>7} {:<11} {:<ADDR_W$} {:<ADDR_W$} {:<ADDR_W$}",
                e.protocol,
                crate::model::fmt_mmss(e.expires_secs),
                e.state,
                e.client.to_string(),
                virt,
                e.realserver.to_string()
            )?;
            if e.template {
                self.out.write_all(b" template")?;
            }
            if let (Some(name), Some(data)) = (&e.pe_name, &e.pe_data) {
                write!(self.out, " {name} {data}")?;
            }
            self.out.write_all(b"\n")?;
        }
        self.tally.matched += 1;
        self.tally.templates += u64::from(e.template);
        Ok(())
    }

    /// End with the tally (`read`: every entry read, matched or not).
    pub fn finish(mut self, read: u64) -> std::io::Result<ConnTally> {
        self.tally.read = read;
        let t = self.tally;
        if self.json {
            writeln!(self.out, "],\"read\":{},\"matched\":{},\"templates\":{}}}", t.read, t.matched, t.templates)?;
        } else {
            writeln!(
                self.out,
                "{} of {} entries ({} {})",
                t.matched,
                t.read,
                t.templates,
                if t.templates == 1 { "persistence template" } else { "persistence templates" }
            )?;
        }
        self.out.flush()?;
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(line: &str) -> ConnEntry {
        crate::sys::ipvs_proc::parse_conn_line(line).expect("parses").expect("an entry")
    }

    #[test]
    fn table_and_json_of_entries_and_templates() {
        let entries = [
            entry("TCP CB007105 D431 C6336464 0050 C633640B 0050 ESTABLISHED     899"),
            entry("TCP CB007105 0000 C6336464 0050 C633640B 0050 NONE            357"),
            entry("IP  CB007105 0000 00000005 0000 C633640C 0000 NONE            120"),
            entry(
                "TCP 2001:0db8:0000:0000:0000:0000:0000:0050 C350 2001:0db8:0000:0000:0000:0000:0000:0100 0050 \
                 2001:0db8:0000:0000:0000:0000:0000:0011 0050 SYN_RECV         59",
            ),
        ];
        let mut text = Vec::new();
        let mut w = ConnWriter::start(&mut text, false).expect("start");
        for e in &entries {
            w.entry(e).expect("entry");
        }
        assert_eq!(w.finish(9).expect("finish"), ConnTally { read: 9, matched: 4, templates: 2 });
        let text = String::from_utf8(text).expect("utf8");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("Pro  Expires State"), "{text}");
        assert!(lines[1].starts_with("TCP    14:59 ESTABLISHED 203.0.113.5:54321"), "{text}");
        assert!(lines[2].contains(" 5:57 NONE ") && lines[2].ends_with("198.51.100.11:80       template"), "{text}");
        assert!(lines[3].contains("fwmark 5") && lines[3].ends_with("template"), "{text}");
        assert!(lines[4].contains("[2001:db8::50]:50000") && lines[4].contains("[2001:db8::11]:80"), "{text}");
        assert_eq!(lines[5], "4 of 9 entries (2 persistence templates)");

        let mut json = Vec::new();
        let mut w = ConnWriter::start(&mut json, true).expect("start");
        for e in &entries {
            w.entry(e).expect("entry");
        }
        w.finish(9).expect("finish");
        let v: serde_json::Value = serde_json::from_slice(&json).expect("valid JSON");
        let c = &v["connections"];
        assert_eq!(c.as_array().map(Vec::len), Some(4));
        assert_eq!(c[0]["client"], "203.0.113.5:54321");
        assert_eq!(c[0]["virtual"], "198.51.100.100:80");
        assert_eq!(c[0]["realserver"], "198.51.100.11:80");
        assert_eq!(c[0]["state"], "ESTABLISHED");
        assert_eq!(c[0]["expires_secs"], 899);
        assert_eq!(c[0]["template"], false);
        assert_eq!(c[0]["protocol"], "TCP");
        assert_eq!(c[1]["template"], true);
        assert_eq!(c[2]["fwmark"], 5);
        assert_eq!(c[2]["virtual"], "0.0.0.5:0");
        assert_eq!(c[3]["client"], "[2001:db8::50]:50000");
        assert_eq!((v["read"].as_u64(), v["matched"].as_u64()), (Some(9), Some(4)));
    }
}
