//! `pinns cleanup NAME...`: teardown of named pins, ours removed, the rest
//! reported and left as they are.

use crate::common;
use common::{path_str, run, TestDir};
use std::process::Command;

#[test]
#[serial_test::serial]
fn cleanup_by_name_removes_ours_and_reports_the_rest() {
    let t = TestDir::new();
    let dir = t.pins();
    let d = path_str(&dir);
    t.pin("pod", &["--net", "--ipc", "--uts", "--mnt"]);
    assert_eq!(t.nsfs_mounts().len(), 4);
    // Each pin is reachable at its path (the mnt pin is not hidden under
    // the self bind of mntns made by the same call).
    for k in ["net", "ipc", "uts", "mnt"] {
        let fs = nix::sys::statfs::statfs(&t.pin_path(k, "pod"))
            .unwrap()
            .filesystem_type();
        assert_eq!(
            fs.0 as i64, 0x6e73_6673,
            "{k}ns/pod is not a namespace at its path"
        );
    }

    let (code, out, err) = run(&["cleanup", "-d", d, "-f", "pod"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("removed pin pod (ipc,uts,net,mnt)"), "{out}");
    assert_eq!(
        out.lines().last(),
        Some("cleanup: found 1, removed 1, kept 0, failed 0")
    );
    assert!(t.nsfs_mounts().is_empty(), "{:?}", t.nsfs_mounts());
    for k in ["net", "ipc", "uts", "mnt"] {
        assert!(!t.pin_path(k, "pod").exists());
    }
    // Idempotent: a second call succeeds and says there was nothing.
    let (code, out, _) = run(&["cleanup", "-d", d, "-f", "pod"]);
    assert_eq!(code, 0);
    assert!(out.contains("nothing to remove for pod"), "{out}");
    assert_eq!(
        out.lines().last(),
        Some("cleanup: found 0, removed 0, kept 0, failed 0")
    );
    let (code, out, _) = run(&[
        "cleanup",
        "-d",
        path_str(&t.path().join("absent")),
        "-f",
        "pod",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("nothing to remove"), "{out}");

    // An empty file a crashed pin left is ours: removed.
    std::fs::write(t.pin_path("net", "crashed"), "").unwrap();
    let (code, _, err) = run(&["cleanup", "-d", d, "-f", "crashed"]);
    assert_eq!(code, 0, "{err}");
    assert!(!t.pin_path("net", "crashed").exists());

    // Not ours: a non-empty file, a foreign (tmpfs) mount, a symlink. Each is
    // reported, the call fails, and each is exactly as it was.
    std::fs::write(t.pin_path("net", "data"), "precious").unwrap();
    let tmpfs = t.path().join("tmpfs");
    std::fs::create_dir(&tmpfs).unwrap();
    assert!(Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs"])
        .arg(&tmpfs)
        .status()
        .unwrap()
        .success());
    std::fs::write(tmpfs.join("f"), "").unwrap();
    std::fs::write(t.pin_path("ipc", "foreign"), "").unwrap();
    assert!(Command::new("mount")
        .arg("--bind")
        .arg(tmpfs.join("f"))
        .arg(t.pin_path("ipc", "foreign"))
        .status()
        .unwrap()
        .success());
    let target = t.path().join("target");
    std::fs::write(&target, "").unwrap();
    std::os::unix::fs::symlink(&target, t.pin_path("uts", "link")).unwrap();
    let before = t.snapshot(&[]);
    for (name, what) in [
        ("data", "a non-empty plain file"),
        ("foreign", "a foreign mount"),
        ("link", "a symlink"),
    ] {
        let (code, out, _) = run(&["cleanup", "-d", d, "-f", name]);
        assert_eq!(code, 1, "{name}: {out}");
        assert!(
            out.contains(&format!("failed pin {name}")) && out.contains(what),
            "{out}"
        );
        assert!(out.lines().last().unwrap().ends_with("failed 1"), "{out}");
    }
    assert_eq!(t.snapshot(&[]), before);
    assert_eq!(
        std::fs::read_to_string(t.pin_path("net", "data")).unwrap(),
        "precious"
    );
}
