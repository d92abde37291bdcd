//! A sweep whose unmount or unlink fails on one pin goes on with the others.

use super::ERRNO;
use crate::common;
use common::*;
use std::process::Command;

/// A sweep whose unmount or unlink fails on one pin goes on with the others,
/// reports the failure in its exit status and summary, and leaves that pin
/// either intact or removable by the next sweep; nothing is half-destroyed
/// beyond what a second sweep finishes.
#[test]
fn a_failing_item_does_not_stop_the_sweep() {
    const PODS: usize = 3;
    for syscall in ["umount2", "unlinkat"] {
        // Each pod has two pins: one unmount and one unlink each.
        for nth in 1..=PODS * 2 {
            let t = TestDir::new();
            let d = path_str(&t.pins()).to_string();
            for i in 0..PODS {
                // A CRI-O-shaped name: only those are swept.
                t.pin(
                    &format!("{i:08x}-0000-4000-8000-000000000000"),
                    &["--net", "--ipc"],
                );
            }
            let what = format!("cleanup / {syscall} #{nth}");
            let out = Command::new("strace")
                .args(["-f", "-qq", "-o", "/dev/null"])
                .arg(format!("--trace={syscall}"))
                .arg(format!("--inject={syscall}:error={ERRNO}:when={nth}"))
                .arg(BIN)
                .args(sweep_all(&d))
                .env_remove("LD_LIBRARY_PATH")
                .output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                Some(1),
                "{what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(report["summary"]["failed"], 1, "{what}: {report}");
            assert_eq!(
                report["summary"]["removed"],
                PODS - 1,
                "{what}: the sweep stopped early: {report}"
            );
            // The next sweep finishes the job.
            let (status, _, stderr) = run(&[
                "cleanup",
                "-d",
                &d,
                "--orphans",
                "--older-than",
                "0s",
                "--no-runtime",
            ]);
            assert_eq!(status, 0, "{what}: second sweep: {stderr}");
            assert!(t.nsfs_mounts().is_empty(), "{what}: {:?}", t.nsfs_mounts());
            assert!(t.plain_files().is_empty(), "{what}: {:?}", t.plain_files());
        }
    }
}
