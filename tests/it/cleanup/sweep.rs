//! The orphan sweep (`--all`): which pins go and which stay (a runc
//! container in one pod, kept, young, leftovers, a thread-only pod, the
//! empty pin files of a failed userns pod), and pins made during a sweep.

use super::{is_nsfs_mount, outcome, report, uuid};
use crate::common;
use common::runc::Bundle;
use common::{age, path_str, run, sweep_all, TestDir};
use std::path::Path;

// CRI-O-shaped pin names (lowercase UUIDs): only those can be orphans.
const ORPHAN1: &str = "c0000000-0000-4000-8000-000000000001";
const ORPHAN2: &str = "c0000000-0000-4000-8000-000000000002";
const KEPT_ARG: &str = "c0000000-0000-4000-8000-000000000003";
const KEPT_FILE: &str = "c0000000-0000-4000-8000-000000000004";
const BUSY: &str = "c0000000-0000-4000-8000-000000000005";
const YOUNG: &str = "c0000000-0000-4000-8000-000000000006";
const LEFTOVER_OLD: &str = "c0000000-0000-4000-8000-000000000007";
const LEFTOVER_YOUNG: &str = "c0000000-0000-4000-8000-000000000008";
const JUNK: &str = "c0000000-0000-4000-8000-000000000009";

#[test]
#[serial_test::serial]
fn orphan_sweep_removes_exactly_the_idle_old_unkept_pins() {
    let t = TestDir::new();
    let dir = t.pins();
    let d = path_str(&dir);
    let all = ["net", "ipc", "uts"];
    for name in [ORPHAN1, ORPHAN2, KEPT_ARG, KEPT_FILE, BUSY] {
        t.old_pin(name, &all);
    }
    t.pin_pod(YOUNG);
    for k in ["net", "ipc"] {
        std::fs::write(t.pin_path(k, LEFTOVER_OLD), "").unwrap();
        age(&t.pin_path(k, LEFTOVER_OLD), "2 hours ago");
        std::fs::write(t.pin_path(k, LEFTOVER_YOUNG), "").unwrap();
    }
    std::fs::write(t.pin_path("ipc", JUNK), "not ours").unwrap();
    age(&t.pin_path("ipc", JUNK), "2 hours ago");
    let keep_file = t.path().join("keep");
    std::fs::write(&keep_file, format!("# live pods\n{KEPT_FILE}\n")).unwrap();

    let _ctr = Bundle::new(t.path().join("bundle"))
        .args(&["/bin/busybox", "sleep", "600"])
        .join_pod(&t.pins(), BUSY)
        .run("pinns-sweep");

    let sweep = |extra: &[&str]| {
        let mut args = vec![
            "cleanup",
            "-d",
            d,
            "--orphans",
            "--older-than",
            "1h",
            "--keep",
            KEPT_ARG,
            "--no-runtime",
        ];
        args.extend_from_slice(&["--keep-file", path_str(&keep_file), "--json"]);
        args.extend_from_slice(extra);
        report(&args)
    };

    // A dry run reports and changes nothing.
    let before = t.snapshot(&[]);
    let (code, r) = sweep(&["--dry-run"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(t.snapshot(&[]), before);
    for name in [ORPHAN1, ORPHAN2, LEFTOVER_OLD] {
        assert_eq!(outcome(&r, name), "would-remove", "{name}: {r}");
    }
    assert_eq!(r["summary"]["removed"], 0);
    assert_eq!(r["summary"]["would_remove"], 3);

    let (code, r) = sweep(&[]);
    assert_eq!(code, 0, "{r}");
    for name in [ORPHAN1, ORPHAN2, LEFTOVER_OLD] {
        assert_eq!(outcome(&r, name), "removed", "{name}: {r}");
    }
    for name in [KEPT_ARG, KEPT_FILE, BUSY, YOUNG, LEFTOVER_YOUNG, JUNK] {
        assert_eq!(outcome(&r, name), "kept", "{name}: {r}");
    }
    assert_eq!(
        r["summary"],
        serde_json::json!({"found": 9, "removed": 3, "would_remove": 0, "kept": 6, "failed": 0})
    );
    for k in all {
        assert!(!t.pin_path(k, ORPHAN1).exists() && !t.pin_path(k, ORPHAN2).exists());
        for name in [KEPT_ARG, KEPT_FILE, BUSY, YOUNG] {
            assert!(is_nsfs_mount(&t, k, name), "{k}ns/{name} lost");
        }
    }
    for k in ["net", "ipc"] {
        assert!(!t.pin_path(k, LEFTOVER_OLD).exists());
        assert!(t.pin_path(k, LEFTOVER_YOUNG).exists());
    }
    assert_eq!(
        std::fs::read_to_string(t.pin_path("ipc", JUNK)).unwrap(),
        "not ours"
    );

    // With no threshold and no keep set, the pin with a live process is
    // still never removed, nor the broken one.
    let (code, r) = report(&sweep_all(d));
    assert_eq!(code, 0, "{r}");
    assert_eq!(outcome(&r, BUSY), "kept");
    assert_eq!(outcome(&r, JUNK), "kept");
    assert_eq!(outcome(&r, YOUNG), "removed");
    assert!(is_nsfs_mount(&t, "net", BUSY));
}

#[test]
#[serial_test::serial]
fn pins_created_during_a_sweep_survive() {
    let t = TestDir::new();
    let dir = t.pins();
    let d = path_str(&dir).to_string();
    const N: usize = 60;
    // Old orphans to keep the sweeper busy, and old empty files that the
    // racing pins mount onto (CRI-O's pre-created files): the sweep sees
    // them as removable leftovers, then finds them pinned under the lock.
    for i in 0..N {
        t.old_pin(&uuid(0x01d, i), &["net", "ipc"]);
        for k in ["net", "ipc"] {
            let f = t.pin_path(k, &uuid(0x4e5, i));
            std::fs::write(&f, "").unwrap();
            age(&f, "2 hours ago");
        }
    }
    let pinner = {
        let d = d.clone();
        std::thread::spawn(move || {
            let mut pinned = Vec::new();
            for i in 0..N {
                for name in [uuid(0x2e3, i), uuid(0x4e5, i)] {
                    // As a runtime pre-creating the files does: new now.
                    for k in ["netns", "ipcns"] {
                        let file = Path::new(&d).join(k).join(&name);
                        if file.exists() {
                            age(&file, "now");
                        }
                    }
                    common::pin_in(Path::new(&d), &name, &["--net", "--ipc"]);
                    pinned.push(name);
                }
            }
            pinned
        })
    };
    let mut sweeps = 0;
    while !pinner.is_finished() || sweeps == 0 {
        let (code, out, err) = run(&[
            "cleanup",
            "-d",
            &d,
            "--orphans",
            "--older-than",
            "1h",
            "--no-runtime",
        ]);
        assert_eq!(code, 0, "{out}{err}");
        sweeps += 1;
    }
    let pinned = pinner.join().expect("pinner");
    for name in &pinned {
        assert!(
            is_nsfs_mount(&t, "net", name),
            "{name} was pinned during sweep and lost ({sweeps} sweeps)"
        );
    }
    for i in 0..N {
        assert!(!t.pin_path("net", &uuid(0x01d, i)).exists());
    }
}

/// Threads are processes too: an old pod whose only live task is a thread
/// (a pthread_exit'd leader with a SCHED_FIFO worker, or a thread that
/// setns'd into it while its leader stayed outside) survives the sweep; an
/// old idle pod beside them does not.
#[test]
#[serial_test::serial]
fn a_pod_alive_only_through_a_thread_survives_the_sweep() {
    let t = TestDir::new();
    let bin = common::threads::build(t.path());
    let gone = "7e0c1a2b-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
    let outside = "8e0c1a2b-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
    let idle = "9e0c1a2b-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
    let all = ["net", "ipc", "uts"];
    for name in [gone, outside, idle] {
        t.old_pin(name, &all);
    }
    let a = common::threads::exit_leader_in(&bin, &t.pins(), gone, 0);
    let _b = common::threads::setns_thread_into(&bin, &t.pins(), outside, 0);
    let (code, r) = report(&[
        "cleanup",
        "-d",
        path_str(&t.pins()),
        "--orphans",
        "--older-than",
        "0s",
        "--json",
        "--no-runtime",
    ]);
    assert_eq!(code, 0, "{r}");
    for name in [gone, outside] {
        assert_eq!(outcome(&r, name), "kept", "{name}: {r}");
        for k in all {
            assert!(is_nsfs_mount(&t, k, name), "{k}ns/{name} lost: {r}");
        }
    }
    assert_eq!(outcome(&r, idle), "removed", "{r}");
    assert!(a.leader_is_gone());
}

/// CRI-O pre-creates the four pin files of a user-namespaced pod (chowned to
/// the pod's mapped root) and leaves them, empty, when pinning fails. The
/// sweep clears them when they are old and ours by name; young ones and
/// foreign-named ones stay.
#[test]
#[serial_test::serial]
fn empty_pin_files_of_a_failed_userns_pod_are_cleared_when_old() {
    let t = TestDir::new();
    let dir = t.pins();
    let (old, young) = (uuid(0x05e, 1), uuid(0x05e, 2));
    let foreign = "userns-pod-1";
    let kinds = ["net", "ipc", "uts", "user"];
    for name in [old.as_str(), young.as_str(), foreign] {
        for k in kinds {
            std::fs::create_dir_all(dir.join(format!("{k}ns"))).unwrap();
            let f = t.pin_path(k, name);
            std::fs::write(&f, "").unwrap();
            std::os::unix::fs::chown(&f, Some(100000), Some(100000)).unwrap();
            if name != young {
                age(&f, "2 hours ago");
            }
        }
    }
    let (code, r) = report(&[
        "cleanup",
        "-d",
        path_str(&dir),
        "--orphans",
        "--older-than",
        "10m",
        "--no-runtime",
        "--json",
    ]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(outcome(&r, &old), "removed", "{r}");
    assert_eq!(outcome(&r, &young), "kept", "{r}");
    assert_eq!(outcome(&r, foreign), "kept", "{r}");
    for k in kinds {
        assert!(!t.pin_path(k, &old).exists(), "{k}ns/{old} left");
        assert!(t.pin_path(k, &young).exists());
        assert!(t.pin_path(k, foreign).exists());
    }
}
