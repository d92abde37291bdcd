//! Real containers for tests: a runc bundle whose rootfs is static busybox
//! and whose namespaces are joined by path (the pins), as CRI-O hands them
//! to the runtime. The guard kills and deletes the container, even when the
//! test panics.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A bundle directory: `config.json` and `rootfs/bin/busybox`.
pub struct Bundle {
    dir: tempfile::TempDir,
}

impl Bundle {
    /// `namespaces`: OCI namespace type (`network`, `ipc`, `uts`, ...) and
    /// the path to join; other types in runc's default spec stay new.
    /// `hostname`: set inside the UTS namespace by runc, or left as it is.
    pub fn new(namespaces: &[(&str, &Path)], hostname: Option<&str>, args: &[&str]) -> Bundle {
        let dir = tempfile::Builder::new()
            .prefix("pinns-runc-")
            .tempdir()
            .expect("bundle dir");
        let bin = dir.path().join("rootfs/bin");
        std::fs::create_dir_all(&bin).expect("create rootfs");
        std::fs::copy("/bin/busybox", bin.join("busybox")).expect("copy busybox (busybox-static)");
        let spec = Command::new("runc")
            .arg("spec")
            .current_dir(dir.path())
            .status()
            .expect("run runc spec");
        assert!(spec.success(), "runc spec failed");

        let path = dir.path().join("config.json");
        let mut config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read config.json"))
                .expect("parse config.json");
        config["process"]["terminal"] = false.into();
        config["process"]["args"] = args.iter().map(|a| serde_json::Value::from(*a)).collect();
        match hostname {
            Some(h) => config["hostname"] = h.into(),
            None => {
                config.as_object_mut().expect("object").remove("hostname");
            }
        }
        let list = config["linux"]["namespaces"]
            .as_array_mut()
            .expect("namespaces");
        for (kind, ns_path) in namespaces {
            let entry = serde_json::json!({"type": kind, "path": ns_path});
            match list.iter_mut().find(|n| n["type"] == *kind) {
                Some(n) => *n = entry,
                None => list.push(entry),
            }
        }
        std::fs::write(
            &path,
            serde_json::to_vec_pretty(&config).expect("serialise"),
        )
        .expect("write config.json");
        Bundle { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Starts the container detached (`runc run -d`) under its own runc state
    /// root, so nothing is shared with other tests or engineers.
    pub fn run(self, id: &str) -> Container {
        let root = self.dir.path().join("runc-state");
        let pid_file = self.dir.path().join("pid");
        let log = self.dir.path().join("runc.log");
        let out = Command::new("runc")
            .arg("--root")
            .arg(&root)
            .args(["run", "-d", "--pid-file"])
            .arg(&pid_file)
            .arg("--bundle")
            .arg(self.dir.path())
            .arg(id)
            // The detached container keeps runc's stdio: a pipe would never
            // reach end-of-file, so both go to a file.
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&log).expect("create runc log"))
            .stderr(std::fs::File::create(&log).expect("create runc log"))
            .status()
            .expect("run runc");
        let mut container = Container {
            id: id.to_string(),
            root,
            bundle: self,
            pid: 0,
        };
        let output = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(out.success(), "runc run {id}: {output}");
        container.pid = std::fs::read_to_string(&pid_file)
            .expect("read pid file")
            .trim()
            .parse()
            .expect("pid");
        container
    }
}

/// A running container; killed and deleted on drop.
pub struct Container {
    pub id: String,
    root: PathBuf,
    bundle: Bundle,
    /// The container's init process, as the host sees it.
    pub pid: i32,
}

impl Container {
    fn runc(&self, args: &[&str]) -> std::process::Output {
        Command::new("runc")
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .output()
            .expect("run runc")
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.runc(&["kill", &self.id, "KILL"]);
        let _ = self.runc(&["delete", "-f", &self.id]);
    }
}
