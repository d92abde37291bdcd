//! A private CRI-O for end-to-end tests: its own root, runroot, socket,
//! namespaces_dir and logs in one temp directory, loopback-only CNI, cgroupfs
//! under a unique cgroup parent, runc, and `pinns_path` = the helper under
//! test. Images are made locally (an OCI layout built by hand, copied into
//! CRI-O's vfs store by skopeo); nothing is pulled. Dropping a [`Crio`] (also
//! when the test panics) removes every pod, stops CRI-O, kills what it left
//! running, detaches every mount below its root and removes its cgroups, CNI
//! results and files.

mod image;
pub mod pod;

pub use pod::{Ctr, Pod};

use crate::common::mounts_under;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The crio and crictl binaries to drive.
#[derive(Clone, Debug)]
pub struct Tools {
    pub crio: PathBuf,
    pub crictl: PathBuf,
}

/// `PINNS_TEST_CRIO_DIR` (a directory holding `crio` and `crictl`), else both
/// on `PATH`.
pub fn tools() -> Option<Tools> {
    if let Some(dir) = std::env::var_os("PINNS_TEST_CRIO_DIR") {
        let dir = PathBuf::from(dir);
        let tools = Tools {
            crio: dir.join("crio"),
            crictl: dir.join("crictl"),
        };
        return (tools.crio.is_file() && tools.crictl.is_file()).then_some(tools);
    }
    Some(Tools {
        crio: on_path("crio")?,
        crictl: on_path("crictl")?,
    })
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The tools, or `None` after one line saying the case is skipped; with
/// `PINNS_REQUIRE_CRIO=1` (CI) a missing CRI-O is a failure instead.
pub fn tools_or_skip() -> Option<Tools> {
    let found = tools();
    if found.is_none() {
        if std::env::var("PINNS_REQUIRE_CRIO").as_deref() == Ok("1") {
            panic!("crio not found (PINNS_REQUIRE_CRIO=1; set PINNS_TEST_CRIO_DIR)");
        }
        // Straight to stderr, past the test harness' capture, so the skip
        // is seen in a plain `cargo test`.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "crio not found (set PINNS_TEST_CRIO_DIR): skipping"
        );
    }
    found
}

/// The pinning helper CRI-O runs: this crate's binary, or
/// `PINNS_TEST_PINNS_PATH` (to check the harness itself against another
/// helper, such as CRI-O's own C pinns).
pub fn pinns_under_test() -> PathBuf {
    std::env::var_os("PINNS_TEST_PINNS_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_pinns")))
}

#[derive(Clone, Debug)]
pub struct Options {
    /// CRI-O's `drop_infra_ctr`: true (the default) pins namespaces with
    /// pinns and runs no pause container.
    pub drop_infra_ctr: bool,
    /// CRI-O's `default_sysctls` (`key=value`), added to every pod.
    pub default_sysctls: Vec<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            drop_infra_ctr: true,
            default_sysctls: Vec::new(),
        }
    }
}

/// A running private CRI-O.
pub struct Crio {
    root: PathBuf,
    tools: Tools,
    /// Unique per instance: cgroup parent `/NAME`, CNI network `NAME`.
    name: String,
    child: Option<Child>,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

impl Crio {
    /// Starts a private CRI-O running `pinns` as its pinns_path, or returns
    /// `None` (after one line) when no CRI-O is installed.
    pub fn start(pinns: impl AsRef<Path>, options: Options) -> Option<Crio> {
        let tools = tools_or_skip()?;
        Some(Crio::start_with(tools, pinns.as_ref(), &options))
    }

    pub fn start_with(tools: Tools, pinns: &Path, options: &Options) -> Crio {
        let name = format!(
            "pinns-e2e-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        // Short: conmon's attach socket path (DIR/ID/attach, a 64-character
        // ID) must fit a unix socket address.
        let root = tempfile::Builder::new()
            .prefix("pce-")
            .tempdir()
            .expect("create CRI-O root")
            .keep();
        let mut crio = Crio {
            root,
            tools,
            name,
            child: None,
        };
        crio.write_config(pinns, options);
        image::install_all(&crio.root, &crio.storage_env());
        crio.spawn();
        crio
    }

    /// The unique name: cgroup parent `/NAME`, CNI network `NAME`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// CRI-O's own process ID.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// CRI-O's namespaces_dir: pins land in `DIR/{ipc,net,uts,user}ns/UUID`.
    pub fn ns_dir(&self) -> PathBuf {
        self.root.join("ns")
    }

    /// The cgroup parent every pod of this instance gets (`/NAME`).
    pub fn cgroup_parent(&self) -> String {
        format!("/{}", self.name)
    }

    pub fn socket(&self) -> PathBuf {
        self.root.join("crio.sock")
    }

    pub fn tools(&self) -> &Tools {
        &self.tools
    }

    /// The environment under which a program finds this instance's crictl on
    /// `PATH` and talks to this CRI-O: what `pinns enter --pod` and
    /// `cleanup --keep-from-crictl` need.
    pub fn crictl_env(&self) -> Vec<(String, String)> {
        let dir = self
            .tools
            .crictl
            .parent()
            .expect("crictl dir")
            .to_path_buf();
        let mut path = vec![dir];
        if let Some(old) = std::env::var_os("PATH") {
            path.extend(std::env::split_paths(&old));
        }
        vec![
            (
                "PATH".into(),
                std::env::join_paths(path)
                    .expect("join PATH")
                    .to_string_lossy()
                    .into_owned(),
            ),
            (
                "CONTAINER_RUNTIME_ENDPOINT".into(),
                format!("unix://{}", self.socket().display()),
            ),
            (
                "CRI_CONFIG_FILE".into(),
                self.root.join("crictl.yaml").display().to_string(),
            ),
        ]
    }

    /// Runs crictl against this instance.
    pub fn crictl(&self, args: &[&str]) -> Output {
        Command::new(&self.tools.crictl)
            .arg("--runtime-endpoint")
            .arg(format!("unix://{}", self.socket().display()))
            .args(args)
            .env("CRI_CONFIG_FILE", self.root.join("crictl.yaml"))
            .stdin(Stdio::null())
            .output()
            .expect("run crictl")
    }

    /// Runs crictl, which must succeed; its stdout, trimmed.
    pub fn crictl_ok(&self, args: &[&str]) -> String {
        let out = self.crictl(args);
        if !out.status.success() {
            panic!(
                "crictl {} failed ({}): {}\n--- crio log (tail) ---\n{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim(),
                self.log_tail(40)
            );
        }
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Writes a CRI config as JSON into the root; its path.
    pub fn write_json(&self, file: &str, value: &serde_json::Value) -> PathBuf {
        let path = self.root.join("cfg").join(file);
        std::fs::create_dir_all(path.parent().unwrap()).expect("mkdir cfg");
        std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).expect("write cfg");
        path
    }

    /// `crictl runp` of the pod (under this instance's cgroup parent); the
    /// sandbox ID.
    pub fn runp(&self, pod: &Pod) -> String {
        let path = self.pod_file(pod);
        self.crictl_ok(&["runp", path.to_str().unwrap()])
    }

    /// `crictl runp` that may fail: its whole output.
    pub fn try_runp(&self, pod: &Pod) -> Output {
        let path = self.pod_file(pod);
        self.crictl(&["runp", path.to_str().unwrap()])
    }

    fn pod_file(&self, pod: &Pod) -> PathBuf {
        self.write_json(
            &format!("pod-{}.json", pod.name),
            &pod.json(&self.cgroup_parent()),
        )
    }

    /// `crictl create` + `crictl start` of a container in the pod, as kubelet
    /// does; the container ID.
    pub fn start_ctr(&self, pod_id: &str, pod: &Pod, ctr: &Ctr) -> String {
        let pod_path = self.pod_file(pod);
        let ctr_path = self.write_json(&format!("ctr-{}.json", ctr.name), &ctr.json(pod));
        let id = self.crictl_ok(&[
            "create",
            "--no-pull",
            pod_id,
            ctr_path.to_str().unwrap(),
            pod_path.to_str().unwrap(),
        ]);
        self.crictl_ok(&["start", &id]);
        id
    }

    /// `crictl exec` in a running container; its stdout, trimmed.
    pub fn exec(&self, ctr_id: &str, cmd: &[&str]) -> String {
        let mut args = vec!["exec", ctr_id];
        args.extend_from_slice(cmd);
        self.crictl_ok(&args)
    }

    /// `crictl stopp` + `crictl rmp`.
    pub fn remove_pod(&self, pod_id: &str) {
        self.crictl_ok(&["stopp", pod_id]);
        self.crictl_ok(&["rmp", pod_id]);
    }

    /// `crictl inspectp -o json`.
    pub fn inspectp(&self, pod_id: &str) -> serde_json::Value {
        serde_json::from_str(&self.crictl_ok(&["inspectp", "-o", "json", pod_id]))
            .expect("inspectp JSON")
    }

    /// The path CRI-O gave the OCI runtime for a namespace of the pod
    /// (`network`, `ipc`, `uts`, `user`), from `inspectp`'s runtime spec.
    pub fn pod_ns_path(&self, pod_id: &str, oci_type: &str) -> Option<PathBuf> {
        let json = self.inspectp(pod_id);
        json.pointer("/info/runtimeSpec/linux/namespaces")?
            .as_array()?
            .iter()
            .find(|ns| ns["type"] == oci_type)?
            .get("path")?
            .as_str()
            .map(PathBuf::from)
    }

    /// Sandbox IDs CRI-O knows (`crictl pods -q`).
    pub fn pod_ids(&self) -> Vec<String> {
        self.crictl_ok(&["pods", "-q"])
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Every path below namespaces_dir that is not a directory, and every
    /// mount at or below it.
    pub fn ns_dir_contents(&self) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let mut files = Vec::new();
        walk_files(&self.ns_dir(), &mut files);
        let mounts = mounts_under(&self.ns_dir())
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        (files, mounts)
    }

    /// CRI-O's own log (debug level: every pinns call and failure).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("crio.log")).unwrap_or_default()
    }

    /// CRI-O's log lines about pinns (each call's argv, each failure).
    pub fn pinns_calls(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains("Calling pinns") || l.contains("Pinns ["))
            .map(str::to_string)
            .collect()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Stops CRI-O (SIGTERM, as systemd does) and starts it again on the
    /// same config and state; running pods are left alone by both.
    pub fn restart(&mut self) {
        self.stop_crio();
        self.spawn();
    }

    /// Copies image `src` (`oci-archive:FILE`, `oci:DIR:NAME`) into this
    /// instance's store as `image`.
    pub fn copy_image(&self, src: &str, image: &str) {
        image::copy_into_store(&self.root, &self.storage_env(), src, image);
    }

    /// For crio and skopeo: private storage and registries configuration,
    /// and a private TMPDIR (containers/image stages blobs in /var/tmp).
    fn storage_env(&self) -> Vec<(&'static str, PathBuf)> {
        vec![
            ("TMPDIR", self.root.join("tmp")),
            ("CONTAINERS_STORAGE_CONF", self.root.join("storage.conf")),
            (
                "CONTAINERS_REGISTRIES_CONF",
                self.root.join("registries.conf"),
            ),
        ]
    }

    fn write_config(&self, pinns: &Path, options: &Options) {
        let r = self.root.display().to_string();
        for dir in [
            "storage", "runroot", "pod-logs", "ns", "run", "lib", "hooks", "keys", "cdi",
            "policies", "auth", "cni", "runc", "nri", "conf.d", "cfg", "tmp",
        ] {
            std::fs::create_dir_all(self.root.join(dir)).expect("mkdir");
        }
        let runc = on_path("runc")
            .or_else(|| Some(PathBuf::from("/usr/sbin/runc")).filter(|p| p.is_file()))
            .expect("runc not installed (CRI-O runs pods with it)");
        let conmon = on_path("conmon")
            .or_else(|| Some(PathBuf::from("/usr/bin/conmon")).filter(|p| p.is_file()))
            .expect("conmon not installed");
        assert!(
            Path::new("/usr/lib/cni/loopback").is_file(),
            "/usr/lib/cni/loopback missing (containernetworking-plugins)"
        );
        let sysctls = options
            .default_sysctls
            .iter()
            .map(|s| toml_str(s))
            .collect::<Vec<_>>()
            .join(", ");
        let conf = format!(
            r#"[crio]
root = "{r}/storage"
runroot = "{r}/runroot"
storage_driver = "vfs"
log_dir = "{r}/pod-logs"
version_file = "{r}/run/version"
version_file_persist = "{r}/lib/version"
clean_shutdown_file = "{r}/lib/clean.shutdown"
big_files_temporary_dir = "{r}/tmp"

[crio.api]
listen = "{r}/crio.sock"
stream_address = "127.0.0.1"
stream_port = "0"

[crio.runtime]
log_level = "debug"
default_runtime = "runc"
cgroup_manager = "cgroupfs"
pinns_path = {pinns}
namespaces_dir = "{r}/ns"
drop_infra_ctr = {drop}
container_exits_dir = "{r}/run/exits"
container_attach_socket_dir = "{r}/run/attach"
hooks_dir = ["{r}/hooks"]
decryption_keys_path = "{r}/keys"
irqbalance_config_file = "{r}/irqbalance"
irqbalance_config_restore_file = "disable"
cdi_spec_dirs = ["{r}/cdi"]
minimum_mappable_uid = 100000
minimum_mappable_gid = 100000
default_sysctls = [{sysctls}]

[crio.runtime.runtimes.runc]
runtime_path = "{runc}"
runtime_type = "oci"
runtime_root = "{r}/runc"
monitor_path = "{conmon}"
monitor_cgroup = "pod"
allowed_annotations = ["io.kubernetes.cri-o.userns-mode"]

[crio.runtime.runtimes.crun]
runtime_path = "{r}/no-crun"

[crio.image]
pause_image = "localhost/pause:latest"
pause_command = "{pause}"
signature_policy = "{r}/policy.json"
signature_policy_dir = "{r}/policies"
namespaced_auth_dir = "{r}/auth"

[crio.network]
network_dir = "{r}/cni"
plugin_dirs = ["/usr/lib/cni"]

[crio.nri]
enable_nri = false
nri_listen = "{r}/nri/nri.sock"
nri_plugin_dir = "{r}/nri"
nri_plugin_config_dir = "{r}/nri"

[crio.metrics]
enable_metrics = false
"#,
            pinns = toml_str(&pinns.display().to_string()),
            drop = options.drop_infra_ctr,
            runc = runc.display(),
            conmon = conmon.display(),
            pause = image::PAUSE_COMMAND,
        );
        write(&self.root.join("crio.conf"), &conf);
        write(
            &self.root.join("storage.conf"),
            &format!(
                "[storage]\ndriver = \"vfs\"\ngraphroot = \"{r}/storage\"\nrunroot = \"{r}/runroot\"\n"
            ),
        );
        write(
            &self.root.join("registries.conf"),
            "unqualified-search-registries = []\n",
        );
        write(
            &self.root.join("policy.json"),
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        );
        write(
            &self.root.join("cni/10-loopback.conflist"),
            &format!(
                r#"{{"cniVersion":"0.4.0","name":"{}","plugins":[{{"type":"loopback"}}]}}"#,
                self.name
            ),
        );
        write(
            &self.root.join("crictl.yaml"),
            &format!(
                "runtime-endpoint: unix://{r}/crio.sock\nimage-endpoint: unix://{r}/crio.sock\ntimeout: 60\n"
            ),
        );
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.join("crio.log"))
            .expect("open crio log");
        let _ = std::fs::remove_file(self.socket());
        let mut cmd = Command::new(&self.tools.crio);
        cmd.arg("--config")
            .arg(self.root.join("crio.conf"))
            .arg("--config-dir")
            .arg(self.root.join("conf.d"))
            .envs(self.storage_env())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log);
        let child = cmd.spawn().expect("start crio");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().expect("wait crio") {
                panic!(
                    "crio exited at start-up ({status})\n--- crio log (tail) ---\n{}",
                    self.log_tail(30)
                );
            }
            if self.socket().exists() && self.crictl(&["version"]).status.success() {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "crio not ready after 60 s\n--- crio log (tail) ---\n{}",
                    self.log_tail(30)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop_crio(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything Drop undoes, in order: pods, CRI-O, stray processes,
    /// cgroups, mounts, CNI results, files.
    fn teardown(&mut self) {
        if self.child.is_some() {
            let _ = self.crictl(&["rmp", "-fa"]);
        }
        self.stop_crio();
        kill_ours(&self.root, &self.name);
        remove_cgroups(&self.name);
        for _ in 0..4 {
            for (path, _) in mounts_under(&self.root).into_iter().rev() {
                let _ = nix::mount::umount2(&path, nix::mount::MntFlags::MNT_DETACH);
            }
        }
        remove_cni_results(&self.name);
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

impl Drop for Crio {
    fn drop(&mut self) {
        self.teardown();
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    serde_json::to_string(s).expect("string")
}

fn walk_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            walk_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Mount points of the cgroup hierarchies (v1 controllers and the v2
/// `unified` one) mounted at their root.
pub fn cgroup_mounts() -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo");
    text.lines()
        .filter_map(|line| {
            let (head, tail) = line.split_once(" - ")?;
            let fields: Vec<&str> = head.split(' ').collect();
            let fstype = tail.split(' ').next()?;
            (matches!(fstype, "cgroup" | "cgroup2") && fields.get(3) == Some(&"/"))
                .then(|| PathBuf::from(fields[4]))
        })
        .collect()
}

/// The directories of cgroup parent `/name` that exist, in every hierarchy.
pub fn cgroup_dirs(name: &str) -> Vec<PathBuf> {
    cgroup_mounts()
        .into_iter()
        .map(|m| m.join(name))
        .filter(|d| d.is_dir())
        .collect()
}

/// Processes this instance left: those in its cgroup parent (containers,
/// conmon) and those naming its root on their command line (conmon, runc).
pub fn our_pids(root: &Path, name: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for dir in cgroup_dirs(name) {
        let mut files = Vec::new();
        walk_files(&dir, &mut files);
        for f in files.iter().filter(|f| f.ends_with("cgroup.procs")) {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
    }
    let needle = root.as_os_str().as_encoded_bytes();
    let me = std::process::id() as i32;
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<i32>().ok())
            else {
                continue;
            };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if pid != me && cmdline.windows(needle.len()).any(|w| w == needle) {
                pids.push(pid);
            }
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

fn kill_ours(root: &Path, name: &str) {
    for _ in 0..50 {
        let pids = our_pids(root, name);
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn remove_cgroups(name: &str) {
    for dir in cgroup_dirs(name) {
        let mut dirs = Vec::new();
        walk_dirs(&dir, &mut dirs);
        dirs.push(dir);
        // Deepest first: a cgroup with children cannot be removed.
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in dirs {
            let _ = std::fs::remove_dir(&d);
        }
    }
}

fn walk_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            out.push(entry.path());
            walk_dirs(&entry.path(), out);
        }
    }
}

/// The CNI library caches results in /var/lib/cni/results
/// (`NETWORK-CONTAINERID-IFNAME`); a killed CRI-O leaves them. Only files of
/// this instance's unique network are touched.
fn remove_cni_results(network: &str) {
    let prefix = format!("{network}-");
    if let Ok(entries) = std::fs::read_dir("/var/lib/cni/results") {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Inode of the user namespace that owns the namespace at `path` (a pin or
/// /proc/PID/ns/X), by ioctl(NS_GET_USERNS).
pub fn owning_userns_inode(path: &Path) -> u64 {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::fs::MetadataExt;
    const NS_GET_USERNS: libc::c_ulong = 0xb701; // _IO(0xb7, 0x1)
    let ns = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    // SAFETY: an ioctl without argument on a file we hold open; the result
    // is a new descriptor we take ownership of.
    let fd = unsafe { libc::ioctl(ns.as_raw_fd(), NS_GET_USERNS as _) };
    assert!(
        fd >= 0,
        "NS_GET_USERNS on {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
    // SAFETY: fd is a fresh descriptor owned by nobody else.
    let owner = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    owner.metadata().expect("fstat user ns").ino()
}

/// The inode in a `readlink /proc/self/ns/X` answer (`net:[4026531840]`).
pub fn ns_link_inode(link: &str) -> u64 {
    link.trim()
        .rsplit_once('[')
        .and_then(|(_, n)| n.strip_suffix(']'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a namespace link: {link:?}"))
}
