//! Every pinns argv captured from real CRI-O pins and tears down.

use super::WATCHED;
use crate::common;
use common::*;
use std::path::{Path, PathBuf};

/// `shared/fixtures` beside the repository (as CI lays it out), or where
/// PINNS_SHARED_DIR says.
fn fixtures_dir() -> Option<PathBuf> {
    let shared = std::env::var_os("PINNS_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let dir = shared.join("fixtures");
    dir.is_dir().then_some(dir)
}

/// Every pinns argv captured from real CRI-O 1.26.4 and 1.36.3 pins (with
/// `-d` moved to a temp dir) and tears down as CRI-O does.
#[test]
fn every_captured_crio_argv_pins_and_tears_down() {
    let Some(fixtures) = fixtures_dir() else {
        println!("skipped: no shared/fixtures beside the repository (set PINNS_SHARED_DIR)");
        return;
    };
    let mut calls = 0;
    for version in ["crio-1.26", "crio-1.36"] {
        let path = fixtures.join(version).join("pinns-argv.jsonl");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let record: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            let argv: Vec<String> = record["argv"]
                .as_array()
                .expect("argv array")
                .iter()
                .map(|a| a.as_str().expect("string").to_string())
                .collect();
            pin_and_tear_down(version, &argv[1..]);
            calls += 1;
        }
    }
    assert!(calls >= 10, "only {calls} captured calls");
}

fn pin_and_tear_down(version: &str, args: &[String]) {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    let mut args: Vec<String> = args.to_vec();
    let at = args.iter().position(|a| a == "-d").expect("-d") + 1;
    args[at] = d;
    let name = args[args.iter().position(|a| a == "-f").expect("-f") + 1].clone();
    let before = t.snapshot(&WATCHED);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (status, _, stderr) = run(&refs);
    assert_eq!(status, 0, "{version} argv {args:?}: {stderr}");
    let pins = t.nsfs_mounts();
    let kinds = args
        .iter()
        .filter(|a| a.starts_with("--") && !a.contains("mapping"))
        .count();
    assert_eq!(pins.len(), kinds, "{version} argv {args:?}: pins {pins:?}");
    for pin in &pins {
        assert!(pin.ends_with(&name), "{pin:?}");
        // CRI-O's teardown: lazy unmount, then remove the file.
        nix::mount::umount2(pin, nix::mount::MntFlags::MNT_DETACH).expect("unmount pin");
        std::fs::remove_file(pin).expect("remove pin");
    }
    assert!(t.mounts().is_empty(), "{:?}", t.mounts());
    assert_eq!(t.snapshot(&WATCHED).sysctls, before.sysctls);
}
