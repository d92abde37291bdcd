//! Images without a registry: an OCI image layout written by hand (one
//! uncompressed layer per image, every blob named by its sha256), copied by
//! skopeo into the instance's vfs store before CRI-O starts.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The pause image's command. Empty: CRI-O then runs the image's own `Cmd`,
/// `catatonit -P`, which reaps children and exits on SIGTERM as PID 1.
pub const PAUSE_COMMAND: &str = "";

const CATATONIT: &str = "/usr/bin/catatonit";

/// Builds both images in `root/images` and copies them into the store that
/// `env` (CONTAINERS_STORAGE_CONF, ...) names.
pub fn install_all(root: &Path, env: &[(&'static str, PathBuf)]) {
    let layout = root.join("images/layout");
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("mkdir layout");
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("write oci-layout");
    let busybox = busybox_rootfs(&root.join("images/busybox"));
    let pause = pause_rootfs(&root.join("images/pause"));
    let manifests = [
        manifest(&blobs, &busybox, "busybox", &["/bin/sh"]),
        manifest(&blobs, &pause, "pause", &["/catatonit", "-P"]),
    ];
    let index = serde_json::json!({"schemaVersion": 2, "manifests": manifests});
    std::fs::write(layout.join("index.json"), index.to_string()).expect("write index");
    for name in ["busybox", "pause"] {
        let src = format!("oci:{}:{name}", layout.display());
        copy_into_store(root, env, &src, &format!("localhost/{name}:latest"));
    }
}

fn busybox_rootfs(dir: &Path) -> PathBuf {
    skeleton(dir);
    crate::common::runc::install_busybox(dir);
    dir.to_path_buf()
}

fn pause_rootfs(dir: &Path) -> PathBuf {
    skeleton(dir);
    crate::common::copy_executable(Path::new(CATATONIT), &dir.join("catatonit"));
    dir.to_path_buf()
}

fn skeleton(dir: &Path) {
    for sub in ["bin", "etc", "proc", "sys", "dev", "tmp", "root"] {
        std::fs::create_dir_all(dir.join(sub)).expect("mkdir rootfs");
    }
    std::fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n",
    )
    .expect("write passwd");
    std::fs::write(dir.join("etc/group"), "root:x:0:\nnobody:x:65534:\n").expect("write group");
}

/// Packs `rootfs` as one layer, writes config and manifest blobs; the
/// index entry naming the manifest `name`.
fn manifest(blobs: &Path, rootfs: &Path, name: &str, cmd: &[&str]) -> serde_json::Value {
    let tar = blobs.join(format!("{name}.tar"));
    let status = Command::new("tar")
        .args([
            "--sort=name",
            "--numeric-owner",
            "--owner=0",
            "--group=0",
            "--mtime=@0",
            "-cf",
        ])
        .arg(&tar)
        .arg("-C")
        .arg(rootfs)
        .arg(".")
        .status()
        .expect("run tar");
    assert!(status.success(), "tar of {} failed", rootfs.display());
    let layer = store_blob(blobs, &tar);
    let config = serde_json::json!({
        "architecture": oci_arch(),
        "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": cmd, "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [layer.0]},
    });
    let config = blob_of(blobs, config.to_string().as_bytes());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config.0, "size": config.1},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer.0, "size": layer.1}],
    });
    let manifest = blob_of(blobs, manifest.to_string().as_bytes());
    serde_json::json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": manifest.0,
        "size": manifest.1,
        "annotations": {"org.opencontainers.image.ref.name": name},
    })
}

/// Renames a file in `blobs` to its digest; (`sha256:HEX`, size).
fn store_blob(blobs: &Path, file: &Path) -> (String, u64) {
    let out = Command::new("sha256sum")
        .arg(file)
        .output()
        .expect("run sha256sum");
    let text = String::from_utf8_lossy(&out.stdout);
    let hex = text.split_whitespace().next().expect("sha256sum output");
    let size = std::fs::metadata(file).expect("stat blob").len();
    std::fs::rename(file, blobs.join(hex)).expect("rename blob");
    (format!("sha256:{hex}"), size)
}

fn blob_of(blobs: &Path, bytes: &[u8]) -> (String, u64) {
    let tmp = blobs.join("incoming");
    std::fs::write(&tmp, bytes).expect("write blob");
    store_blob(blobs, &tmp)
}

fn oci_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// `skopeo copy` of image `src` (an `oci:` layout or `oci-archive:` name)
/// into the instance's containers-storage as `image`. skopeo also records
/// blobs in a host-wide cache under /var/lib/containers/cache and stages
/// layers in /var/tmp, with no flag against either, so it runs in a private
/// mount namespace with a tmpfs over each.
pub fn copy_into_store(root: &Path, env: &[(&'static str, PathBuf)], src: &str, image: &str) {
    let r = root.display();
    let dest = format!("containers-storage:[vfs@{r}/storage+{r}/runroot]{image}");
    let script = r#"mount -t tmpfs pinns-e2e /var/lib && mount -t tmpfs pinns-e2e /var/tmp && exec skopeo --policy "$1" copy --quiet "$2" "$3""#;
    let out = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(root.join("policy.json"))
        .arg(src)
        .arg(&dest)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run skopeo (under unshare)");
    assert!(
        out.status.success(),
        "skopeo copy {src} {dest} failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
}
