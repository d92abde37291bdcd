//! Bad `pinns enter` inputs: one line of error, nothing changed.

use crate::common;
use common::{assert_one_line_error, path_str, TestDir, BIN};
use std::process::Command;

#[test]
fn bad_inputs_are_one_line_errors_that_change_nothing() {
    let t = TestDir::new();
    t.pin("bad", &["-n", "-i"]);
    let sysfs = t.path().join("sysfs-cpu");
    std::fs::create_dir(&sysfs).unwrap();
    std::fs::write(sysfs.join("isolated"), "0\n").unwrap();
    let pins = t.pins();
    let before = t.snapshot(&["kernel.hostname"]);
    let cases: &[(&[&str], &str)] = &[
        (&["bad", "--cpus", "1-0"], "runs backwards"),
        (&["bad", "--cpus", "x"], "not a CPU number"),
        (&["bad", "--avoid-cpus", "0,,1"], "not a CPU number"),
        (&["bad", "--cpus", "8000"], "not in pinns' allowed CPUs"),
        (&["bad", "--cpus", "0"], "--cpus 0 refused: CPU 0: isolated"),
        (&["no-such-pod"], "no namespace is pinned as"),
        (&["bad", "--uts"], "no uts namespace at"),
        (&["bad", "--pidns"], "never pinned"),
        (&["../bad"], "single path component"),
        (&["--pid", "2147483647"], "no process with pid 2147483647"),
    ];
    for (args, needle) in cases {
        let out = Command::new(BIN)
            .args(["enter", "-d", path_str(&pins)])
            .args(*args)
            .args(["--", "true"])
            .env("PINNS_SYSFS_CPU_DIR", &sysfs)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_one_line_error(out.status.code().unwrap_or(-1), &err, needle);
        assert_eq!(
            t.snapshot(&["kernel.hostname"]),
            before,
            "{args:?} changed something"
        );
    }
    // Refused by the command line parser: clap's whole message.
    let usage: &[(&[&str], &str)] = &[
        (&["--pid", "0"], "--pid"),
        (&[], "required"),
        (&["bad", "--nice", "40"], "--nice"),
    ];
    for (args, needle) in usage {
        let out = Command::new(BIN)
            .args(["enter", "-d", path_str(&pins)])
            .args(*args)
            .args(["--", "true"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        common::assert_usage_error(out.status.code().unwrap_or(-1), &err, needle);
        assert_eq!(
            t.snapshot(&["kernel.hostname"]),
            before,
            "{args:?} changed something"
        );
    }
}
