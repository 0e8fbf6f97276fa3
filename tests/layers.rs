//! The backend/UI boundary holds: the engine never imports the terminal
//! crates, and the UI never does I/O (no netlink, no processes, no files).

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).expect("read src").flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push((p.display().to_string(), std::fs::read_to_string(&p).expect("read")));
        }
    }
}

fn check(dirs: &[&str], banned: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for d in dirs {
        sources(&root.join(d), &mut files);
    }
    assert!(!files.is_empty(), "no sources under {dirs:?}");
    for (path, text) in files {
        for b in banned {
            assert!(!text.contains(b), "{path} uses {b}");
        }
    }
}

#[test]
fn the_engine_never_touches_the_terminal() {
    check(&["model", "ipvs", "sys", "remote", "checks", "report"], &["ratatui", "crossterm"]);
}

#[test]
fn the_ui_does_no_io() {
    check(&["ui"], &["neli", "tokio::process", "std::fs", "std::process", "std::net::TcpStream"]);
}
