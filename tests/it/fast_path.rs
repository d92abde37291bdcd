//! The fast pin path (src/fastpin/): CRI-O's usual pod is pinned before
//! the C library starts, with the full path's result and the full path's
//! words when a step fails. `PINNS_FAST_PATH=0` (debug builds) runs the
//! full path for comparison.

use crate::common;
use common::*;
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Output};

const USUAL: &[&str] = &[
    "--ipc",
    "--net",
    "--uts",
    "-s",
    "net.ipv4.ip_forward=1",
    "-s",
    "kernel.shm_rmid_forced=1",
    "-s",
    "net.ipv4.ip_local_port_range=20000\t40000",
];

const KEYS: [(&str, &str); 3] = [
    ("net", "net.ipv4.ip_forward"),
    ("ipc", "kernel.shm_rmid_forced"),
    ("net", "net.ipv4.ip_local_port_range"),
];

/// pinns under strace (`trace` syscalls, `inject` if given), pinning `pod`
/// with `args` in the pin directory, made first if missing (a missing one
/// is the full path's to create); the full path when `full`.
fn traced(t: &TestDir, args: &[&str], full: bool, trace: &str, inject: Option<&str>) -> Output {
    std::fs::create_dir_all(t.pins()).unwrap();
    let log = t.path().join("strace.log");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o"])
        .arg(&log)
        .arg(format!("--trace={trace}"));
    if let Some(inject) = inject {
        cmd.arg(format!("--inject={inject}"));
    }
    cmd.arg(env!("CARGO_BIN_EXE_pinns"))
        .args(["-d", path_str(&t.pins()), "-f", "pod"])
        .args(args);
    // The harness's library path makes the dynamic loader allocate.
    cmd.env_remove("LD_LIBRARY_PATH");
    if full {
        cmd.env("PINNS_FAST_PATH", "0");
    }
    let mut out = cmd.output().expect("run strace");
    out.stdout = std::fs::read(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    out
}

/// The trace (in stdout) of a pin that must succeed.
fn trace_of(t: &TestDir, args: &[&str], full: bool) -> String {
    let out = traced(t, args, full, "brk,getrandom,unshare", None);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_usual_pod_is_pinned_before_the_c_library_allocates() {
    let fast = trace_of(&TestDir::new(), USUAL, false);
    assert!(fast.contains("unshare("), "{fast}");
    // The program's first allocation grows the heap: brk(0x...).
    assert!(!fast.contains("brk(0x"), "the C library ran: {fast}");
    // The same check sees the C library wherever it runs.
    let full = trace_of(&TestDir::new(), USUAL, true);
    assert!(full.contains("brk(0x"), "{full}");
    let host = trace_of(&TestDir::new(), &["--ipc", "--net=host"], false);
    assert!(
        host.contains("brk(0x"),
        "--net=host is the full path's: {host}"
    );
}

/// What a pin left: each path below the pin directory with its type,
/// mode and owner, and which paths are namespace mounts.
fn layout(t: &TestDir) -> Vec<String> {
    let mounts = t.nsfs_mounts();
    t.files()
        .iter()
        .map(|p| {
            let m = std::fs::symlink_metadata(p).unwrap();
            let rel = p.strip_prefix(t.path()).unwrap().display().to_string();
            let mounted = if mounts.contains(p) { " nsfs" } else { "" };
            format!("{rel} {:o} {}:{}{mounted}", m.mode(), m.uid(), m.gid())
        })
        .collect()
}

#[test]
fn both_paths_pin_alike() {
    for args in [
        USUAL,
        &["--net"][..],
        &["--uts", "--ipc", "-s", "kernel.msgmax=16384"],
    ] {
        let (fast, full) = (TestDir::new(), TestDir::new());
        trace_of(&fast, args, false);
        trace_of(&full, args, true);
        assert_eq!(layout(&fast), layout(&full), "{args:?}");
        if args == USUAL {
            for (kind, key) in KEYS {
                let value = fast.sysctl_in("pod", kind, key);
                assert_eq!(value, full.sysctl_in("pod", kind, key), "{key}");
                assert_ne!(
                    value,
                    host_sysctl(key).trim(),
                    "{key} was not set in the pod"
                );
            }
        }
        // And beneath the mounts: the files the pins were made on.
        for t in [&fast, &full] {
            for pin in t.nsfs_mounts() {
                nix::mount::umount2(&pin, nix::mount::MntFlags::MNT_DETACH).unwrap();
            }
        }
        assert_eq!(layout(&fast), layout(&full), "{args:?}, unmounted");
    }
}

/// One `[pinns:e]` line, with the test directory's path taken out.
fn error_line(t: &TestDir, out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr.replace(path_str(t.path()), "T")
}

#[test]
fn a_failed_step_is_reported_in_the_full_path_s_words() {
    // The first O_CREAT open, counted after the dynamic loader's own.
    let opens =
        String::from_utf8_lossy(&traced(&TestDir::new(), USUAL, false, "openat", None).stdout)
            .lines()
            .position(|l| l.contains("O_CREAT"))
            .expect("an O_CREAT open")
            + 1;
    let create = format!("openat:error=EMFILE:when={opens}");
    let points = [
        "unshare:error=ENOSPC",
        &create,
        "mkdirat:error=EDQUOT:when=2",
        "write:error=EINVAL:when=2",
        "flock:error=ENOLCK",
        "mount:error=ENOMEM:when=3",
    ];
    for inject in points {
        let (fast, full) = (TestDir::new(), TestDir::new());
        let calls = "unshare,openat,mkdirat,write,flock,mount";
        let f = traced(&fast, USUAL, false, calls, Some(inject));
        let g = traced(&full, USUAL, true, calls, Some(inject));
        assert!(!f.status.success() && !g.status.success(), "{inject}");
        assert_eq!(f.status.code(), g.status.code(), "{inject}");
        assert!(
            fast.nsfs_mounts().is_empty(),
            "{inject}: {:?}",
            fast.nsfs_mounts()
        );
        assert!(
            fast.plain_files().is_empty(),
            "{inject}: {:?}",
            fast.plain_files()
        );
        let (fast_line, full_line) = (error_line(&fast, &f), error_line(&full, &g));
        let errno = inject.split(['=', ':']).nth(2).unwrap();
        assert!(fast_line.contains(errno), "{inject}: {fast_line}");
        // The two paths make the same calls in the same order, so the nth
        // call is the same step in both.
        assert_eq!(fast_line, full_line, "{inject}");
    }
}

#[test]
fn what_is_already_there_is_judged_by_the_full_path() {
    // CRI-O pre-creates an empty file for some pods: pinned onto, as before.
    let t = TestDir::new();
    std::fs::create_dir_all(t.pins().join("netns")).unwrap();
    std::fs::write(t.pin_path("net", "pod"), "").unwrap();
    assert!(trace_of(&t, &["--net"], false).contains("brk(0x"));
    assert_eq!(t.nsfs_mounts(), vec![t.pin_path("net", "pod")]);
    // A pin in place is refused in the full path's words.
    let out = traced(&t, &["--net"], false, "brk", None);
    assert_one_line_error(
        out.status.code().unwrap_or(-1),
        &String::from_utf8_lossy(&out.stderr),
        "already pinned here",
    );
    // A missing DIR is created by the full path.
    let fresh = TestDir::new();
    let out = pinns()
        .args(["-d", path_str(&fresh.pins()), "-f", "pod", "--net"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(fresh.nsfs_mounts(), vec![fresh.pin_path("net", "pod")]);
}
