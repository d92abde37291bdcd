//! Namespace limits: with user namespaces disabled by
//! `user.max_user_namespaces = 0`, a user-namespace pod fails with a clear
//! error and leaves nothing. The limit is lowered inside a throwaway user
//! namespace of the test's own (the sysctl is per user namespace), so the
//! host's setting is never touched.

use crate::common;

use common::*;

#[test]
fn exhausted_user_namespace_limit_is_a_clear_error() {
    let t = TestDir::new();
    let script = format!(
        "echo 0 > /proc/sys/user/max_user_namespaces && exec {BIN} -d {} -f pod --user \
         --uid-mapping=0-0-1 --gid-mapping=0-0-1 --net",
        path_str(&t.pins())
    );
    let out = std::process::Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
        ])
        .output()
        .expect("run unshare (util-linux)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_one_line_error(out.status.code().unwrap_or(-1), &stderr, "max_*_namespaces");
    assert!(stderr.contains("unshare(user)"), "{stderr}");
    assert!(!t.pins().exists(), "left {:?}", t.files());
    assert!(t.mounts().is_empty());
    // And the host's own limit is as it was: non-zero.
    assert_ne!(host_sysctl("user.max_user_namespaces"), "0");
}
