//! Real containers for tests: an OCI bundle with a busybox root filesystem,
//! run detached by runc with a private state directory, killed and deleted
//! by a guard on drop (even when the test panics).

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BUSYBOX: &str = "/bin/busybox";

/// Copies the static busybox into `rootfs/bin` with a link for each of its
/// applets (`rootfs/bin` must exist).
pub fn install_busybox(rootfs: &Path) {
    super::copy_executable(Path::new(BUSYBOX), &rootfs.join("bin/busybox"));
    let list = Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .expect("busybox --list");
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            let _ = symlink("busybox", rootfs.join("bin").join(applet));
        }
    }
}

/// A bundle to build: root filesystem, process arguments, hostname and the
/// namespaces to join by path (`network`, `ipc`, `uts`, ... as OCI names them).
pub struct Bundle {
    dir: PathBuf,
    args: Vec<String>,
    hostname: Option<String>,
    join: Vec<(String, PathBuf)>,
    files: Vec<(PathBuf, String)>,
    host_usr: bool,
}

impl Bundle {
    /// A bundle in `dir` (created; give a path inside a `TestDir`), running
    /// `sleep 600` by default.
    pub fn new(dir: impl Into<PathBuf>) -> Bundle {
        Bundle {
            dir: dir.into(),
            args: vec!["/bin/sleep".into(), "600".into()],
            hostname: None,
            join: Vec::new(),
            files: Vec::new(),
            host_usr: false,
        }
    }

    pub fn args(mut self, args: &[&str]) -> Bundle {
        self.args = args.iter().map(|a| a.to_string()).collect();
        self
    }

    /// The spec's hostname; with a joined UTS namespace runc sets it in the
    /// pod's namespace, as a CRI runtime does for a pod.
    pub fn hostname(mut self, name: &str) -> Bundle {
        self.hostname = Some(name.into());
        self
    }

    /// Joins an existing namespace instead of creating one.
    pub fn join_namespace(mut self, oci_type: &str, path: impl Into<PathBuf>) -> Bundle {
        self.join.push((oci_type.into(), path.into()));
        self
    }

    /// A file in the root filesystem (`path` relative to it).
    pub fn file(mut self, path: &str, contents: &str) -> Bundle {
        self.files
            .push((path.trim_start_matches('/').into(), contents.into()));
        self
    }

    /// Binds the host's /usr read-only, for tools busybox lacks (ipcmk).
    pub fn host_usr(mut self) -> Bundle {
        self.host_usr = true;
        self
    }

    /// Joins the pod pinned under `name` in `dir`: its net, ipc and uts pins.
    pub fn join_pod(self, dir: &Path, name: &str) -> Bundle {
        self.join_namespace("network", dir.join("netns").join(name))
            .join_namespace("ipc", dir.join("ipcns").join(name))
            .join_namespace("uts", dir.join("utsns").join(name))
    }

    /// Runs in the foreground to completion and returns what it printed;
    /// the container is deleted afterwards.
    pub fn run_to_end(self, id_prefix: &str) -> std::process::Output {
        self.build_rootfs();
        self.write_config();
        let id = format!("{id_prefix}-{}-{}", std::process::id(), unique());
        let state = self.dir.join("runc-state");
        let out = Command::new("runc")
            .arg("--root")
            .arg(&state)
            .args(["run", "--bundle"])
            .arg(&self.dir)
            .arg(&id)
            .stdin(Stdio::null())
            .output()
            .expect("run runc");
        let _ = Command::new("runc")
            .arg("--root")
            .arg(&state)
            .args(["delete", "--force", &id])
            .output();
        out
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// Builds the bundle and starts it detached; returns once runc has
    /// written the container's pid.
    pub fn run(self, id_prefix: &str) -> Container {
        self.build_rootfs();
        self.write_config();
        let id = format!("{id_prefix}-{}-{}", std::process::id(), unique());
        let state = self.dir.join("runc-state");
        let pid_file = self.dir.join("pid");
        let log = self.dir.join("runc.out");
        let out = std::fs::File::create(&log).expect("create runc log");
        // The container's stdio is this file too: a pipe would keep the
        // caller's output() waiting for as long as the container runs.
        let status = Command::new("runc")
            .arg("--root")
            .arg(&state)
            .args(["run", "--detach", "--pid-file"])
            .arg(&pid_file)
            .arg("--bundle")
            .arg(&self.dir)
            .arg(&id)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup log"))
            .stderr(out)
            .status()
            .expect("run runc");
        // The guard exists before anything can fail, so a half-started
        // container is deleted too.
        let mut container = Container {
            id,
            state,
            pid: 0,
            log,
        };
        assert!(status.success(), "runc run failed: {}", container.output());
        container.pid = wait_for_pid(&pid_file);
        wait_for_exec(container.pid);
        container
    }

    fn build_rootfs(&self) {
        let rootfs = self.rootfs();
        for d in ["bin", "proc", "sys", "dev", "tmp", "etc", "usr"] {
            std::fs::create_dir_all(rootfs.join(d)).expect("create rootfs dir");
        }
        if self.host_usr {
            for lib in ["lib", "lib64"] {
                let _ = symlink(format!("usr/{lib}"), rootfs.join(lib));
            }
        }
        install_busybox(&rootfs);
        for (path, contents) in &self.files {
            let full = rootfs.join(path);
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent).expect("create dir in rootfs");
            }
            std::fs::write(full, contents).expect("write file in rootfs");
        }
    }

    fn write_config(&self) {
        let status = Command::new("runc")
            .args(["spec", "--bundle"])
            .arg(&self.dir)
            .status()
            .expect("runc spec");
        assert!(status.success(), "runc spec failed");
        let path = self.dir.join("config.json");
        let mut spec: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read config.json"))
                .expect("parse config.json");
        spec["process"]["terminal"] = false.into();
        spec["process"]["args"] = self.args.clone().into();
        spec["root"]["path"] = "rootfs".into();
        spec["root"]["readonly"] = false.into();
        match &self.hostname {
            // With a joined UTS namespace runc sets it in that (the pod's) namespace.
            Some(name) => spec["hostname"] = name.clone().into(),
            None => {
                spec.as_object_mut()
                    .expect("spec object")
                    .remove("hostname");
            }
        }
        let namespaces = spec["linux"]["namespaces"]
            .as_array_mut()
            .expect("namespaces");
        for (oci_type, ns_path) in &self.join {
            namespaces.retain(|n| n["type"] != oci_type.as_str());
            namespaces.push(serde_json::json!({"type": oci_type, "path": ns_path}));
        }
        if self.host_usr {
            spec["mounts"].as_array_mut().expect("mounts").push(serde_json::json!(
                {"destination": "/usr", "type": "bind", "source": "/usr", "options": ["rbind", "ro"]}
            ));
        }
        std::fs::write(&path, serde_json::to_vec_pretty(&spec).expect("serialize"))
            .expect("write config.json");
    }
}

/// A running container; killed and deleted on drop.
pub struct Container {
    pub id: String,
    state: PathBuf,
    /// Host pid of the container's init process.
    pub pid: i32,
    log: PathBuf,
}

impl Container {
    /// What runc and the container printed.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Runs a command inside the running container.
    pub fn exec(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["exec", self.id.as_str()];
        all.extend_from_slice(args);
        self.runc(&all)
    }

    fn runc(&self, args: &[&str]) -> std::process::Output {
        Command::new("runc")
            .arg("--root")
            .arg(&self.state)
            .args(args)
            .output()
            .expect("run runc")
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.runc(&["kill", &self.id, "KILL"]);
        let _ = self.runc(&["delete", "--force", &self.id]);
    }
}

fn wait_for_pid(path: &Path) -> i32 {
    let pid = || {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
    };
    super::wait_until(&format!("runc's pid file {}", path.display()), 20, || {
        pid().is_some()
    });
    pid().expect("pid file")
}

/// `runc run --detach` returns once the container is started, which can be
/// before its `runc init` has exec'd the command: tests that read the
/// container's argv wait for the exec.
fn wait_for_exec(pid: i32) {
    super::wait_until(
        &format!("container process {pid} to leave runc init"),
        20,
        || {
            !std::fs::read(format!("/proc/{pid}/cmdline"))
                .unwrap_or_default()
                .starts_with(b"runc")
        },
    );
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
