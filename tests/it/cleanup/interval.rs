//! Periodic sweeping (`--interval`): rounds until SIGTERM, and rounds that
//! go on when the runtime cannot be reached.

use super::{is_nsfs_mount, uuid};
use crate::common;
use common::{path_str, TestDir};
use std::process::Command;

#[test]
#[serial_test::serial]
fn interval_sweeps_until_terminated() {
    let t = TestDir::new();
    let dir = t.pins();
    let (first, second) = (uuid(0xf1, 1), uuid(0xf1, 2));
    t.pin(&first, &["--net", "--ipc"]);
    let mut child = Command::new(common::BIN)
        .args([
            "cleanup",
            "-d",
            path_str(&dir),
            "--orphans",
            "--older-than",
            "0s",
            "--interval",
            "200ms",
            "--no-runtime",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let gone = |name: &str| {
        (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            !t.pin_path("net", name).exists()
        })
    };
    assert!(gone(&first), "first sweep did not remove the orphan");
    t.pin(&second, &["--net", "--ipc"]);
    assert!(gone(&second), "a later sweep did not remove the new orphan");
    let status = common::terminate(&mut child);
    assert_eq!(status.code(), Some(0), "exit after SIGTERM: {status:?}");
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
    let summaries = out
        .lines()
        .filter(|l| l.starts_with("cleanup: found"))
        .count();
    assert!(summaries >= 2, "{out}");
    assert!(
        out.ends_with("failed 0\n"),
        "the last sweep was not finished: {out}"
    );
}

/// A periodic sweep outlives a runtime it cannot reach (CRI-O restarting):
/// each round says why in one line and removes nothing; it does not exit
/// (a DaemonSet would crash-loop), and SIGTERM still ends it with 0.
#[test]
#[serial_test::serial]
fn interval_sweeps_without_a_runtime_remove_nothing_and_go_on() {
    let t = TestDir::new();
    let dir = t.pins();
    let orphan = uuid(0xf2, 1);
    t.old_pin(&orphan, &["net", "ipc"]);
    let mut child = Command::new(common::BIN)
        .args([
            "cleanup",
            "-d",
            path_str(&dir),
            "--orphans",
            "--older-than",
            "0s",
        ])
        .args(["--interval", "100ms", "--crictl", "/nonexistent/crictl"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert!(child.try_wait().unwrap().is_none(), "the sweep loop exited");
    let status = common::terminate(&mut child);
    assert_eq!(status.code(), Some(0), "{status:?}");
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines.len() >= 2, "one line per round: {err}");
    assert!(
        lines.iter().all(
            |l| l.starts_with("[pinns:e] cannot ask the container runtime")
                && l.contains("nothing was removed")
        ),
        "{err}"
    );
    assert!(is_nsfs_mount(&t, "net", &orphan) && is_nsfs_mount(&t, "ipc", &orphan));
}
