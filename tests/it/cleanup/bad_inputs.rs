//! Bad `pinns cleanup` inputs: one line of error, nothing changed.

use super::{is_nsfs_mount, uuid};
use crate::common;
use common::{assert_one_line_error, path_str, run, TestDir};

#[test]
#[serial_test::serial]
fn bad_inputs_fail_in_one_line_and_change_nothing() {
    let t = TestDir::new();
    let dir = t.pins();
    let d = path_str(&dir);
    let old = uuid(0x01d, 0);
    t.old_pin(&old, &["net", "ipc"]);
    let no_crictl = t.path().join("empty-path");
    std::fs::create_dir(&no_crictl).unwrap();
    let before = t.snapshot(&[]);
    let tmp = path_str(t.path());
    // Refused by the command line parser: clap's whole message.
    for (args, needle) in [
        (vec!["cleanup"], "required"),
        (vec!["cleanup", "-d", d], "required"),
        (
            vec![
                "cleanup",
                "-d",
                d,
                "--orphans",
                "--no-runtime",
                "--runtime-endpoint",
                "unix:///x",
            ],
            "cannot be used with",
        ),
        (
            vec![
                "cleanup",
                "-d",
                d,
                "--orphans",
                "--older-than",
                "10 parsecs",
            ],
            "duration",
        ),
        (
            vec!["cleanup", "-d", d, "--orphans", "--older-than", "5x"],
            "unit",
        ),
        (
            vec!["cleanup", "-d", d, "--orphans", "--interval", "x"],
            "duration",
        ),
        (
            vec!["cleanup", "-d", d, "-f", "old", "--interval", "1m"],
            "--interval",
        ),
    ] {
        let (code, _, err) = run(&args);
        common::assert_usage_error(code, &err, needle);
    }
    for (args, needle) in [
        (vec!["cleanup", "-d", d, "-f", "../old"], "pin name"),
        (
            vec![
                "cleanup",
                "-d",
                d,
                "--orphans",
                "--keep-file",
                "/nonexistent/keep",
            ],
            "keep file",
        ),
        (
            vec!["cleanup", "--cgroups", tmp, "--older-than", "0s"],
            "not on a cgroup filesystem",
        ),
        (
            vec![
                "cleanup",
                "-d",
                d,
                "--orphans",
                "--older-than",
                "0s",
                "--cgroups",
                tmp,
            ],
            "not on a cgroup filesystem",
        ),
        (
            vec![
                "cleanup",
                "-d",
                path_str(&t.path().join("nowhere")),
                "--orphans",
            ],
            "nowhere",
        ),
    ] {
        let (code, _, err) = run(&args);
        assert_one_line_error(code, &err, needle);
    }
    // Without crictl the runtime cannot be asked: a clear error naming why,
    // and the orphan stays (the old --keep-from-crictl spelling alike).
    for extra in [&[][..], &["--keep-from-crictl"]] {
        let out = common::pinns()
            .env("PATH", &no_crictl)
            .env_remove("CONTAINER_RUNTIME_ENDPOINT")
            .args(["cleanup", "-d", d, "--orphans", "--older-than", "0s"])
            .args(extra)
            .output()
            .unwrap();
        assert_one_line_error(
            out.status.code().unwrap(),
            &String::from_utf8_lossy(&out.stderr),
            "crictl is not installed (not found); nothing was removed",
        );
    }
    assert_eq!(t.snapshot(&[]), before);
    assert!(is_nsfs_mount(&t, "net", &old));
}
