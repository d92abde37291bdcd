//! Real OCI containers for tests: a busybox bundle whose config.json joins
//! given namespace paths, run with runc, always deleted by a guard.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

pub struct Bundle {
    pub dir: PathBuf,
    pub id: String,
}

impl Bundle {
    /// A bundle under `parent` running `args`, joining `(type, path)`
    /// namespaces (OCI type names: network, ipc, uts, user, cgroup, mount,
    /// pid); other namespaces are new. `/usr` of the host is bound read-only so
    /// util-linux tools (ipcmk, ipcs) are at hand next to busybox.
    pub fn new(
        parent: &Path,
        args: &[&str],
        joins: &[(&str, &Path)],
        hostname: Option<&str>,
    ) -> Bundle {
        let id = format!(
            "pinns-test-{}-{}",
            std::process::id(),
            NEXT_ID.fetch_add(1, Ordering::SeqCst)
        );
        let dir = parent.join(&id);
        let rootfs = dir.join("rootfs");
        for sub in ["bin", "proc", "dev", "sys", "tmp", "usr", "etc"] {
            std::fs::create_dir_all(rootfs.join(sub)).expect("create rootfs");
        }
        std::fs::copy("/bin/busybox", rootfs.join("bin/busybox"))
            .expect("copy busybox (busybox-static)");
        std::os::unix::fs::symlink("busybox", rootfs.join("bin/sh")).expect("symlink sh");
        for lib in ["lib", "lib64"] {
            std::os::unix::fs::symlink(format!("usr/{lib}"), rootfs.join(lib))
                .expect("symlink lib");
        }
        let status = Command::new("runc")
            .args(["spec", "--bundle"])
            .arg(&dir)
            .status()
            .expect("run runc spec");
        assert!(status.success(), "runc spec failed");
        let config_path = dir.join("config.json");
        let mut config: Value =
            serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
        edit_config(&mut config, args, joins, hostname);
        std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        Bundle { dir, id }
    }

    /// Runs in the foreground and returns its output; the container is gone
    /// afterwards.
    pub fn run(&self) -> Output {
        let out = Command::new("runc")
            .args(["run", "--bundle"])
            .arg(&self.dir)
            .arg(&self.id)
            .stdin(Stdio::null())
            .output()
            .expect("run runc");
        delete(&self.id);
        out
    }

    /// Starts detached; the returned guard kills and deletes it.
    pub fn start(&self) -> Container {
        let pid_file = self.dir.join("pid");
        let status = Command::new("runc")
            .args(["run", "--detach", "--pid-file"])
            .arg(&pid_file)
            .arg("--bundle")
            .arg(&self.dir)
            .arg(&self.id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run runc");
        // The guard exists before the asserts, so a half-started container is deleted too.
        let mut container = Container {
            id: self.id.clone(),
            pid: 0,
        };
        assert!(status.success(), "runc run --detach {} failed", self.id);
        container.pid = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        container
    }
}

fn edit_config(config: &mut Value, args: &[&str], joins: &[(&str, &Path)], hostname: Option<&str>) {
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = json!(args);
    config["root"]["readonly"] = json!(false);
    let mut namespaces = vec![json!({"type": "pid"}), json!({"type": "mount"})];
    for (kind, path) in joins {
        namespaces.retain(|n| n["type"] != *kind);
        namespaces.push(json!({"type": kind, "path": path}));
    }
    config["linux"]["namespaces"] = json!(namespaces);
    match hostname {
        Some(h) => config["hostname"] = json!(h),
        None => {
            config.as_object_mut().unwrap().remove("hostname");
        }
    }
    config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/usr", "type": "bind", "source": "/usr", "options": ["rbind", "ro"]}));
}

fn delete(id: &str) {
    let _ = Command::new("runc")
        .args(["delete", "--force", id])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A running container; killed and deleted on drop.
pub struct Container {
    pub id: String,
    pub pid: i32,
}

impl Container {
    /// Runs a command inside the running container.
    pub fn exec(&self, args: &[&str]) -> Output {
        Command::new("runc")
            .args(["exec", &self.id])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run runc exec")
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        delete(&self.id);
    }
}
