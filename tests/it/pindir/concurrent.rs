//! Pins racing each other and the sweep: a failing pin beside a good one,
//! a sweep that saw part of a pin, pins made while sweeps loop.

use super::{spawn_traced, wait_for, ERRNO};
use crate::common;
use common::*;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// A failing pin never breaks a concurrent good one in a fresh DIR: its
/// undo removes its own pin files only, never DIR or the `<type>ns`
/// directories the good pin has opened.
#[test]
fn a_failing_pin_does_not_break_a_concurrent_good_one() {
    let t = TestDir::new();
    for round in 0..40 {
        let dir = t.path().join(format!("round-{round}"));
        let d = path_str(&dir).to_string();
        // The failing pin creates DIR and its directories, pins ipc, then
        // waits 300 ms in its uts mount (holding DIR's lock) and fails.
        let failing = spawn_traced(
            &[
                "--trace=mount".into(),
                format!("--inject=mount:error={ERRNO}:delay_enter=300000:when=2"),
            ],
            &["-d", &d, "-f", "bad", "--ipc", "--uts", "--net"],
        );
        let bad_ipc = dir.join("ipcns/bad");
        wait_for("the failing pin's ipc pin", || {
            t.nsfs_mounts().contains(&bad_ipc)
        });
        // The good pin finds the directories and opens them, then waits
        // for the lock.
        let good = Command::new(BIN)
            .args(["-d", &d, "-f", "good", "--ipc", "--uts", "--net"])
            .output()
            .unwrap();
        let failed = failing.wait_with_output().unwrap();
        assert!(!failed.status.success(), "round {round}: injection missed");
        assert!(
            good.status.success(),
            "round {round}: the good pin failed: {}",
            String::from_utf8_lossy(&good.stderr)
        );
        for kind in ["ipc", "uts", "net"] {
            let ns = dir.join(format!("{kind}ns"));
            assert!(
                t.nsfs_mounts().contains(&ns.join("good")),
                "round {round}: {kind}"
            );
            assert!(!ns.join("bad").exists(), "round {round}: bad {kind} left");
        }
    }
}

/// A sweep that lists `DIR/ipcns` before a pod is pinned and the other
/// type directories after (made deterministic with a delay after its first
/// directory listing) sees only part of that pod: it must leave the whole
/// pin alone, not remove the part it saw.
#[test]
fn a_sweep_that_saw_part_of_a_pin_removes_none_of_it() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    let (status, _, stderr) = run(&["-d", &d, "-f", &uuid(0), "--ipc", "--uts", "--net"]);
    assert_eq!(status, 0, "{stderr}");
    let out = t.path().join("sweep.json");
    // getdents64 #2 ends the listing of DIR/ipcns, the first type directory.
    let sweep = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "strace -f -qq -o /dev/null --trace=getdents64 \
             --inject=getdents64:delay_exit=1500000:when=2 \
             {BIN} cleanup -d {d} --orphans --older-than 0s --no-runtime --json > {}",
            out.display()
        ))
        .env_remove("LD_LIBRARY_PATH")
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let young = uuid(1);
    let (status, _, stderr) = run(&["-d", &d, "-f", &young, "--ipc", "--uts", "--net"]);
    assert_eq!(status, 0, "{stderr}");
    let status = sweep.wait_with_output().unwrap().status;
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert!(status.success(), "{report}");
    let mounted = t.nsfs_mounts();
    let left: Vec<&str> = ["ipc", "uts", "net"]
        .into_iter()
        .filter(|k| mounted.contains(&t.pin_path(k, &young)))
        .collect();
    assert_eq!(left, ["ipc", "uts", "net"], "{report}");
    for item in report["items"].as_array().unwrap() {
        if item["name"] == young.as_str() {
            assert_ne!(item["outcome"], "removed", "{report}");
        } else {
            assert_eq!(item["outcome"], "removed", "the old pin: {report}");
        }
    }
}

fn uuid(i: usize) -> String {
    format!("{i:08x}-0000-4000-8000-{i:012x}")
}

/// Pins made at full speed while orphan sweeps run in a loop: at the end,
/// every pin is whole (all its types) or absent, and every pin a sweep
/// reported removed is entirely gone.
#[test]
fn pins_made_during_sweeps_are_whole_or_absent() {
    const PINS: usize = 200;
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sweeper = {
        let (d, stop) = (d.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut removed = Vec::new();
            let mut sweeps = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let out = Command::new(BIN).args(sweep_all(&d)).output().unwrap();
                sweeps += 1;
                let Ok(report) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
                    continue; // DIR not created yet
                };
                for item in report["items"].as_array().unwrap() {
                    if item["outcome"] == "removed" {
                        removed.push(item["name"].as_str().unwrap().to_string());
                    }
                }
            }
            (removed, sweeps)
        })
    };
    // Three pinners at once, each at full speed, so that sweeps meet pins
    // in every stage of being made.
    const PINNERS: usize = 3;
    let start = Instant::now();
    let pinners: Vec<_> = (0..PINNERS)
        .map(|first| {
            let d = d.clone();
            std::thread::spawn(move || {
                let mut made = Vec::new();
                for i in (first..PINS).step_by(PINNERS) {
                    if start.elapsed() > Duration::from_secs(30) {
                        break;
                    }
                    let name = uuid(i);
                    let (status, _, stderr) =
                        run(&["-d", &d, "-f", &name, "--ipc", "--uts", "--net"]);
                    assert_eq!(status, 0, "{name}: {stderr}");
                    made.push(i);
                }
                made
            })
        })
        .collect();
    let made: Vec<usize> = pinners
        .into_iter()
        .flat_map(|p| p.join().unwrap())
        .collect();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (removed, sweeps) = sweeper.join().unwrap();
    eprintln!(
        "{} pins, {sweeps} sweeps, {} removed",
        made.len(),
        removed.len()
    );
    assert!(
        sweeps > 1 && !removed.is_empty(),
        "the sweeps never raced the pins"
    );

    let mounted = t.nsfs_mounts();
    let present = |kind: &str, name: &str| -> bool {
        let path: PathBuf = t.pin_path(kind, name);
        assert!(
            mounted.contains(&path) || std::fs::symlink_metadata(&path).is_err(),
            "{} is a file without its namespace",
            path.display()
        );
        mounted.contains(&path)
    };
    for i in made {
        let name = uuid(i);
        let kinds: Vec<bool> = ["ipc", "uts", "net"]
            .iter()
            .map(|k| present(k, &name))
            .collect();
        assert!(
            kinds.iter().all(|p| *p) || kinds.iter().all(|p| !*p),
            "{name} is partial: ipc/uts/net present = {kinds:?}"
        );
        if removed.contains(&name) {
            assert!(!kinds[0], "{name} reported removed but is still there");
        }
    }
}
