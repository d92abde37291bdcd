//! A private CRI-O for end-to-end tests: its own root, runroot, socket,
//! namespaces_dir and logs in one temp directory, loopback-only CNI, cgroupfs
//! under a unique cgroup parent, runc, and `pinns_path` = the helper under
//! test. Images are made locally (an OCI layout built by hand, copied into
//! CRI-O's vfs store by skopeo); nothing is pulled. Dropping a [`Crio`] (also
//! when the test panics) removes every pod, stops CRI-O, kills what it left
//! running, detaches every mount below its root and removes its cgroups, CNI
//! results and files. The harness's parts: `config` writes the instance's files, `process`
//! starts and stops it and removes what it leaves, `crictl` talks to it,
//! `image` makes its images, `pod` describes pods and containers.

mod config;
mod crictl;
mod image;
pub mod pod;
mod process;

pub use pod::{Ctr, Pod};
pub use process::{cgroup_dirs, our_pids};

use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicU32, Ordering};

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
}

impl Drop for Crio {
    fn drop(&mut self) {
        self.teardown();
    }
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
