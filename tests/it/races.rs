//! Concurrency: calls racing for the same pin name, and many pods pinned at
//! once, must never stack, steal or lose a pin.

use crate::common;

use common::*;
use std::process::{Command, Stdio};

fn spawn_pin(dir: &str, name: &str) -> std::process::Child {
    Command::new(BIN)
        .args(["-d", dir, "-f", name, "--net", "--ipc", "--uts"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pinns")
}

#[test]
fn two_calls_racing_for_one_name_leave_exactly_one_pin() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    for round in 0..40 {
        let name = format!("race-{round}");
        if round % 2 == 1 {
            // CRI-O pre-creates the targets of user-namespace pods: the race
            // is then between two calls that both find an empty file.
            for kind in ["net", "ipc", "uts"] {
                let p = t.pin_path(kind, &name);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, "").unwrap();
            }
        }
        let racers = [spawn_pin(&d, &name), spawn_pin(&d, &name)];
        let outcomes: Vec<_> = racers
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let winners = outcomes.iter().filter(|o| o.status.success()).count();
        assert_eq!(winners, 1, "round {round}: {winners} winners");
        let loser = outcomes.iter().find(|o| !o.status.success()).unwrap();
        let stderr = String::from_utf8_lossy(&loser.stderr);
        assert_one_line_error(loser.status.code().unwrap_or(-1), &stderr, "already pinned");
        for kind in ["net", "ipc", "uts"] {
            let path = t.pin_path(kind, &name);
            let stacked = t.mounts().iter().filter(|(p, _)| *p == path).count();
            assert_eq!(
                stacked, 1,
                "round {round}: {kind} pin mounted {stacked} times"
            );
        }
    }
    // The winners' pins are all distinct namespaces.
    let mut inodes: Vec<u64> = t.nsfs_mounts().iter().map(ns_inode).collect();
    let total = inodes.len();
    inodes.sort();
    inodes.dedup();
    assert_eq!(inodes.len(), total);
    assert_eq!(total, 40 * 3);
}
