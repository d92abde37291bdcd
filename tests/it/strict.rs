//! Stricter than the C helper, where the refusal depends on what is on disk
//! or in the kernel: each is one `[pinns:e]` line, a non-zero exit, and
//! leaves files, mounts and host sysctls exactly as found. Refusals decided
//! by the command line alone are in the table of `bad_input.rs`.

use crate::common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const WATCHED: [&str; 3] = [
    "vm.swappiness",
    "net.ipv4.ip_forward",
    "kernel.shm_rmid_forced",
];

/// Runs a call that must be refused and checks nothing changed.
fn refused(t: &TestDir, args: &[&str], needle: &str) {
    let before = t.snapshot(&WATCHED);
    let (status, _, stderr) = run(args);
    assert_one_line_error(status, &stderr, needle);
    assert_eq!(
        t.snapshot(&WATCHED),
        before,
        "pinns {args:?} changed something"
    );
}

#[test]
fn a_second_pin_of_the_same_name_is_refused_not_stacked() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    let (status, _, stderr) = run(&["-d", &d, "-f", "twice", "--net", "--ipc"]);
    assert_eq!(status, 0, "{stderr}");
    let first = ns_inode(t.pin_path("net", "twice"));
    refused(&t, &["-d", &d, "-f", "twice", "--net"], "already pinned");
    // Even when another requested type is new, nothing is added.
    refused(
        &t,
        &["-d", &d, "-f", "twice", "--uts", "--ipc"],
        "already pinned",
    );
    assert_eq!(ns_inode(t.pin_path("net", "twice")), first);
    assert_eq!(t.nsfs_mounts().len(), 2);
}

#[test]
fn occupied_targets_are_refused() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    let netns = t.pins().join("netns");
    std::fs::create_dir_all(&netns).unwrap();
    std::fs::write(netns.join("full"), "data").unwrap();
    refused(&t, &["-d", &d, "-f", "full", "--net"], "not empty");
    std::fs::create_dir(netns.join("adir")).unwrap();
    refused(&t, &["-d", &d, "-f", "adir", "--net"], "not a regular file");
    std::os::unix::fs::symlink("/etc/hostname", netns.join("link")).unwrap();
    refused(&t, &["-d", &d, "-f", "link", "--net"], "not a regular file");
}

#[test]
fn symlinked_type_dir_and_file_dir_are_refused() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    let elsewhere = t.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::create_dir_all(t.pins()).unwrap();
    std::os::unix::fs::symlink(&elsewhere, t.pins().join("netns")).unwrap();
    refused(&t, &["-d", &d, "-f", "p", "--net"], "not a directory");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);

    let file = t.path().join("afile");
    std::fs::write(&file, "").unwrap();
    refused(
        &t,
        &["-d", path_str(&file), "-f", "p", "--net"],
        "not a directory",
    );
}

#[test]
fn kernel_rejection_after_unshare_rolls_everything_back() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    // Valid syntax, refused by the kernel at write time: after the
    // directories were made and the namespaces created.
    refused(
        &t,
        &[
            "-d",
            &d,
            "-f",
            "p",
            "--net",
            "--ipc",
            "-s",
            "kernel.shm_rmid_forced=1",
            "-s",
            "net.ipv4.ip_forward=banana",
        ],
        "write sysctl",
    );
    assert!(
        !t.pins().exists(),
        "the directory this call created was left behind"
    );
    // The same in the helper process that creates a user namespace.
    refused(
        &t,
        &[
            "-d",
            &d,
            "-f",
            "p",
            "--user",
            "--uid-mapping=0-100000-65536",
            "--gid-mapping=0-100000-65536",
            "--net",
            "-s",
            "net.ipv4.ip_forward=banana",
        ],
        "write sysctl",
    );
    assert!(!t.pins().exists());
}

/// A copy of pinns in a directory nobody can reach, made privileged by
/// `privilege`, run as nobody: it must refuse with `needle` and pin nothing.
fn refused_when_privileged(privilege: impl FnOnce(&Path), needle: &str) {
    let t = TestDir::new();
    let exe = t.path().join("pinns-privileged");
    copy_executable(Path::new(BIN), &exe);
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    privilege(&exe);
    let d = path_str(&t.pins()).to_string();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&exe)
        .args(["-d", &d, "-f", "p", "--net"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("nosuid") || out.status.code() == Some(127) {
        panic!("cannot exercise a privileged exec here: {stderr}");
    }
    assert_one_line_error(out.status.code().unwrap_or(-1), &stderr, needle);
    assert!(!t.pins().exists());
}

#[test]
fn setuid_invocation_is_refused() {
    refused_when_privileged(
        |exe| {
            std::os::unix::fs::chown(exe, Some(0), Some(0)).unwrap();
            std::fs::set_permissions(exe, std::fs::Permissions::from_mode(0o4755)).unwrap();
        },
        "setuid",
    );
}

/// File capabilities raise privilege like setuid does (the kernel sets
/// AT_SECURE for both): a copy given CAP_SYS_ADMIN and run by nobody must
/// refuse too, where comparing uid with euid would not notice.
#[test]
fn file_capability_invocation_is_refused() {
    refused_when_privileged(
        |exe| {
            let setcap = std::process::Command::new("setcap")
                .arg("cap_sys_admin+ep")
                .arg(exe)
                .output()
                .expect("setcap (libcap2-bin) runs");
            assert!(setcap.status.success(), "{setcap:?}");
        },
        "file capabilities",
    );
}
