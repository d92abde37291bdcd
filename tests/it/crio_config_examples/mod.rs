//! The `crio.conf.d` drop-ins in `crio-config-examples/` are copied by
//! operators as they are, so each must be valid TOML whose every table and
//! key is one CRI-O documents in crio.conf(5): a typo would otherwise be
//! ignored or rejected by CRI-O on a node, far from here. Shared here: the
//! example files and their parsing.

mod contents;
mod documented;
mod keys;

use std::path::{Path, PathBuf};

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crio-config-examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read crio-config-examples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "expected the four drop-ins, found {files:?}"
    );
    files
}

fn parse(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).expect("read example");
    text.parse::<toml::Table>()
        .unwrap_or_else(|e| panic!("{} is not valid TOML: {e}", path.display()))
}
