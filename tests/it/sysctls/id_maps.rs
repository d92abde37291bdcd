//! The largest id map the kernel takes, and an oversized one that creates
//! nothing.

use super::WATCHED;
use crate::common;
use common::*;
use std::process::Command;

#[test]
fn the_largest_id_map_is_taken_by_the_kernel() {
    let t = TestDir::new();
    let map = page_sized_map(0);
    t.pin(
        "big",
        &[
            "--user",
            &format!("--uid-mapping={map}"),
            &format!("--gid-mapping={map}"),
            "--net",
        ],
    );
    for file in ["uid_map", "gid_map"] {
        let text = in_pins(&t, "big", &["user"], &format!("cat /proc/self/{file}"));
        assert_eq!(text.lines().count(), 340, "{file}: {text}");
    }
}

#[test]
fn an_oversized_id_map_creates_nothing() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    let map = page_sized_map(1);
    let uid = format!("--uid-mapping={map}");
    let log = tempfile::NamedTempFile::new().unwrap();
    let before = t.snapshot(&WATCHED);
    let out = Command::new("strace")
        .args(["-f", "-qq", "-o"])
        .arg(log.path())
        .args(["-e", "trace=unshare,clone,clone3,fork,vfork,mkdir,openat"])
        .arg(BIN)
        .args([
            "-d",
            &d,
            "-f",
            "p",
            "--user",
            &uid,
            "--gid-mapping=0-1-1",
            "--net",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_one_line_error(out.status.code().unwrap_or(-1), &stderr, "at most 4095");
    let trace = std::fs::read_to_string(log.path()).unwrap();
    for call in ["unshare(", "clone(", "clone3(", "fork(", "mkdir("] {
        assert!(!trace.contains(call), "{call} before refusing: {trace}");
    }
    assert!(!trace.contains("uid_map"), "{trace}");
    assert_eq!(t.snapshot(&WATCHED), before);
    assert!(!t.pins().exists());
}
