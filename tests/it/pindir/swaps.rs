//! Paths swapped under pinns: `<type>ns` directories and `DIR/mntns` turned
//! into symlinks mid-pin, and the propagation of a shared or slave
//! `DIR/mntns` given back after a failed `-m` pin.

use super::{sh, spawn_traced, wait_for, ERRNO};
use crate::common;
use common::*;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The optional (propagation) fields of the topmost mount at `path`.
fn propagation_of(path: &Path) -> Vec<String> {
    let table = std::fs::read("/proc/self/mountinfo").unwrap();
    let mut found = None;
    for line in table.split(|b| *b == b'\n') {
        let fields: Vec<&[u8]> = line.split(|b| *b == b' ').collect();
        let Some(dash) = fields.iter().position(|f| *f == b"-") else {
            continue;
        };
        if fields[4] == path.as_os_str().as_bytes() {
            found = Some(
                fields[6..dash]
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect(),
            );
        }
    }
    found.unwrap_or_else(|| panic!("{} is not a mount point", path.display()))
}

fn outside_ns_mount(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, "").unwrap();
    sh(&format!(
        "mount --bind /proc/self/ns/ipc {}",
        path.display()
    ));
}

/// Replaces `DIR/<kind>ns` by a symlink to `to`, keeping the real one
/// (which pinns holds open) inside DIR as `<kind>ns.moved`.
fn swap_for_symlink(t: &TestDir, kind: &str, to: &Path) {
    let real = t.pins().join(format!("{kind}ns"));
    std::fs::rename(&real, t.pins().join(format!("{kind}ns.moved"))).unwrap();
    std::os::unix::fs::symlink(to, &real).unwrap();
}

/// The undo acts on the directories pinns opened, not on what their paths
/// lead to afterwards: with `DIR/ipcns` and `DIR/utsns` swapped for
/// symlinks to a directory holding someone else's namespace mount and a
/// non-empty file of the same name, the failure of the last mount unmounts
/// and removes only our own pins (in the moved directories).
#[test]
fn undo_after_a_symlink_swap_touches_nothing_outside_dir() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    let outside = t.path().join("outside");
    let foreign_ns = outside.join("ipc/pod");
    outside_ns_mount(&foreign_ns);
    let foreign_file = outside.join("uts/pod");
    std::fs::create_dir_all(foreign_file.parent().unwrap()).unwrap();
    std::fs::write(&foreign_file, "not ours").unwrap();
    let foreign_ino = ns_inode(&foreign_ns);

    // The third mount (net) waits 1.5 s, then fails.
    let child = spawn_traced(
        &[
            "--trace=mount".into(),
            format!("--inject=mount:error={ERRNO}:delay_enter=1500000:when=3"),
        ],
        &["-d", &d, "-f", "pod", "--ipc", "--uts", "--net"],
    );
    wait_for("ipc and uts pinned", || {
        let m = t.nsfs_mounts();
        m.contains(&t.pin_path("ipc", "pod")) && m.contains(&t.pin_path("uts", "pod"))
    });
    swap_for_symlink(&t, "ipc", &outside.join("ipc"));
    swap_for_symlink(&t, "uts", &outside.join("uts"));
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_one_line_error(out.status.code().unwrap_or(-1), &stderr, ERRNO);

    assert_eq!(
        t.nsfs_mounts(),
        vec![foreign_ns.clone()],
        "our pins undone, the foreign mount kept"
    );
    assert_eq!(ns_inode(&foreign_ns), foreign_ino);
    assert_eq!(std::fs::read_to_string(&foreign_file).unwrap(), "not ours");
    for moved in ["ipcns.moved", "utsns.moved", "netns"] {
        let ours = t.pins().join(moved).join("pod");
        assert!(!ours.exists(), "{} left behind", ours.display());
    }
}

/// The `openat` number (as strace counts them in the first process) of
/// the first call whose arguments contain `needle`, in a run of `args`.
fn nth_openat(args: &[String], needle: &str) -> usize {
    let trace = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new("strace")
        .args(["-f", "-qq", "--trace=openat", "-o"])
        .arg(trace.path())
        .arg(BIN)
        .args(args)
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "baseline: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(trace.path()).unwrap();
    let first_pid = text.split_whitespace().next().unwrap().to_string();
    text.lines()
        .filter(|l| l.split_whitespace().next() == Some(&first_pid))
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("no openat of {needle} in:\n{text}"))
}

/// A directory made a shared mount of its own.
fn shared_mount(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let d = dir.display();
    sh(&format!("mount --bind {d} {d} && mount --make-shared {d}"));
}

/// `DIR/mntns` swapped for a symlink to a shared mount elsewhere, just
/// after pinns opened it: the mount elsewhere keeps its propagation, and
/// the pin lands in the directory pinns opened.
#[test]
fn mntns_swapped_for_a_symlink_changes_nothing_outside_dir() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    std::fs::create_dir_all(t.pins().join("mntns")).unwrap();
    let outside = t.path().join("outside");
    shared_mount(&outside);
    let before = propagation_of(&outside);

    let scratch = TestDir::new();
    std::fs::create_dir_all(scratch.pins().join("mntns")).unwrap();
    let base_args = ["-d", path_str(&scratch.pins()), "-f", "mnt", "-m"].map(String::from);
    let nth = nth_openat(&base_args, "\"mntns\"");

    let child = spawn_traced(
        &[
            "--trace=openat".into(),
            format!("--inject=openat:delay_exit=1000000:when={nth}"),
        ],
        &["-d", &d, "-f", "mnt", "-m"],
    );
    std::thread::sleep(Duration::from_millis(300));
    swap_for_symlink(&t, "mnt", &outside);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        propagation_of(&outside),
        before,
        "the outside mount changed"
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        t.mounts()
            .iter()
            .all(|(p, _)| !p.starts_with(&outside) || *p == outside),
        "something was mounted outside DIR: {:?}",
        t.mounts()
    );
    let pinned = t.pins().join("mntns.moved/mnt");
    assert!(t.nsfs_mounts().contains(&pinned), "{:?}", t.mounts());
    assert_eq!(
        propagation_of(&t.pins().join("mntns.moved")),
        ["unbindable"]
    );
}

/// A failed `-m` pin gives an existing `DIR/mntns` mount back its
/// propagation: the same peer group for a shared one, the same master for
/// a slave.
#[test]
fn failed_mnt_pin_restores_the_propagation_of_dir_mntns() {
    for slave in [false, true] {
        let t = TestDir::new();
        let mntns = t.pins().join("mntns");
        if slave {
            let master = t.path().join("master");
            shared_mount(&master);
            std::fs::create_dir_all(&mntns).unwrap();
            sh(&format!(
                "mount --bind {} {m} && mount --make-slave {m}",
                master.display(),
                m = mntns.display()
            ));
        } else {
            shared_mount(&mntns);
            let peer = t.path().join("peer");
            std::fs::create_dir_all(&peer).unwrap();
            sh(&format!(
                "mount --bind {} {}",
                mntns.display(),
                peer.display()
            ));
        }
        let before = propagation_of(&mntns);
        assert!(
            before
                .iter()
                .any(|p| p.starts_with(if slave { "master:" } else { "shared:" })),
            "{before:?}"
        );
        // The sysctl is refused at write time, after DIR/mntns was prepared.
        let (status, _, stderr) = run(&[
            "-d",
            path_str(&t.pins()),
            "-f",
            "mnt",
            "-m",
            "--net",
            "-s",
            "net.ipv4.ip_forward=banana",
        ]);
        assert_one_line_error(status, &stderr, "write sysctl");
        assert_eq!(propagation_of(&mntns), before, "slave: {slave}");
        assert!(t.nsfs_mounts().is_empty());
    }
}
