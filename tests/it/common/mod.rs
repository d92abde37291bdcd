//! The one test environment of every integration test: a unique pin
//! directory that is swept on drop (even when the test panics) and pins
//! pods into itself, the real binary, snapshots of what a call may touch,
//! waiting and JSON look-ups; real containers (`runc`), processes alive only
//! through a thread (`threads`) and a private CRI-O (`crio`).

pub mod crio;
mod process;
pub mod runc;
pub mod threads;

use assert_cmd::Command;
use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub use process::*;

pub const BIN: &str = env!("CARGO_BIN_EXE_pinns");

/// A fresh directory; every mount below it is detached and the tree removed
/// on drop.
pub struct TestDir {
    tmp: Option<tempfile::TempDir>,
}

impl TestDir {
    pub fn new() -> TestDir {
        let tmp = tempfile::Builder::new()
            .prefix("pinns-test-")
            .tempdir()
            .expect("create temp dir");
        TestDir { tmp: Some(tmp) }
    }

    pub fn path(&self) -> &Path {
        self.tmp.as_ref().expect("live").path()
    }

    /// The pin directory used by most tests (not created yet).
    pub fn pins(&self) -> PathBuf {
        self.path().join("pins")
    }

    pub fn pin_path(&self, kind: &str, name: &str) -> PathBuf {
        self.pins().join(format!("{kind}ns")).join(name)
    }

    /// Pins `name` under [`TestDir::pins`] with the pin flags given
    /// (`--net`, `-s KEY=VALUE`, ...); the pin must succeed.
    pub fn pin(&self, name: &str, flags: &[&str]) {
        pin_in(&self.pins(), name, flags);
    }

    /// Pins a pod's usual three, `--net --ipc --uts`, as `name`.
    pub fn pin_pod(&self, name: &str) {
        self.pin(name, &POD);
    }

    /// Pins `name` onto empty files dated two hours back (as CRI-O
    /// pre-creates them): the pin is "old" by the age of the file under its
    /// mount.
    pub fn old_pin(&self, name: &str, kinds: &[&str]) {
        for k in kinds {
            std::fs::create_dir_all(self.pins().join(format!("{k}ns"))).unwrap();
            let f = self.pin_path(k, name);
            std::fs::write(&f, "").unwrap();
            age(&f, "2 hours ago");
        }
        let flags: Vec<String> = kinds.iter().map(|k| format!("--{k}")).collect();
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        self.pin(name, &flags);
    }

    /// The sysctl `key` (`net.ipv4.ip_forward`) as the `kind` namespace
    /// pinned under `name` sees it.
    pub fn sysctl_in(&self, name: &str, kind: &str, key: &str) -> String {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        in_pins(self, name, &[kind], &format!("cat {path}"))
    }

    /// Mount points at or below this directory, deepest last.
    pub fn mounts(&self) -> Vec<(PathBuf, String)> {
        mounts_under(self.path())
    }

    pub fn nsfs_mounts(&self) -> Vec<PathBuf> {
        self.mounts()
            .into_iter()
            .filter(|(_, t)| t == "nsfs")
            .map(|(p, _)| p)
            .collect()
    }

    /// Every path below the directory (files and directories).
    pub fn files(&self) -> BTreeSet<PathBuf> {
        let mut out = BTreeSet::new();
        walk(self.path(), &mut out);
        out
    }

    /// Every path below the directory that is not a directory.
    pub fn plain_files(&self) -> Vec<PathBuf> {
        self.files().into_iter().filter(|p| !p.is_dir()).collect()
    }

    /// What a refused or failed call must leave exactly as it found it.
    pub fn snapshot(&self, sysctls: &[&str]) -> Snapshot {
        Snapshot {
            files: self.files(),
            mounts: self.mounts(),
            sysctls: sysctls
                .iter()
                .map(|k| (k.to_string(), host_sysctl(k)))
                .collect(),
        }
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        // A mount can hide another below it; a few passes reach them all.
        for _ in 0..4 {
            for (path, _) in self.mounts().into_iter().rev() {
                let _ = nix::mount::umount2(&path, nix::mount::MntFlags::MNT_DETACH);
            }
        }
        if let Some(tmp) = self.tmp.take() {
            let _ = tmp.close();
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub files: BTreeSet<PathBuf>,
    pub mounts: Vec<(PathBuf, String)>,
    pub sysctls: Vec<(String, String)>,
}

fn walk(dir: &Path, out: &mut BTreeSet<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        out.insert(path.clone());
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            walk(&path, out);
        }
    }
}

/// Mounts at or below `root` in this process's mount table, in table order.
pub fn mounts_under(root: &Path) -> Vec<(PathBuf, String)> {
    // Bytes: a mount point elsewhere need not be UTF-8.
    let bytes = std::fs::read("/proc/self/mountinfo").expect("read mountinfo");
    let text = String::from_utf8_lossy(&bytes);
    text.lines()
        .filter_map(|line| {
            let (head, tail) = line.split_once(" - ")?;
            let point = PathBuf::from(head.split(' ').nth(4)?.replace("\\040", " "));
            let fstype = tail.split(' ').next()?.to_string();
            point.starts_with(root).then_some((point, fstype))
        })
        .collect()
}

/// The host's value of a sysctl, read from /proc/sys.
pub fn host_sysctl(key: &str) -> String {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {path}: {e}"))
        .trim()
        .to_string()
}

/// Inode of a namespace file (a pin or /proc/<pid>/ns/<type>).
pub fn ns_inode(path: impl AsRef<Path>) -> u64 {
    let path = path.as_ref();
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .ino()
}

/// A cgroup a sweep finds leaked: an empty leaf dated two hours back, below
/// a test root of its own in the cgroup2 hierarchy; both are removed on drop
/// (whatever the sweep left).
pub struct OldCgroup {
    pub root: PathBuf,
    pub leaf: PathBuf,
}

impl OldCgroup {
    /// `/sys/fs/cgroup/unified/pinns-test-TAG-PID/LEAF`.
    pub fn new(tag: &str, leaf: &[u8]) -> OldCgroup {
        use std::os::unix::ffi::OsStrExt;
        let root = Path::new("/sys/fs/cgroup/unified")
            .join(format!("pinns-test-{tag}-{}", std::process::id()));
        std::fs::create_dir(&root).unwrap_or_else(|e| panic!("mkdir {}: {e}", root.display()));
        let leaf = root.join(std::ffi::OsStr::from_bytes(leaf));
        let made = OldCgroup {
            root,
            leaf: leaf.clone(),
        };
        std::fs::create_dir(&leaf).unwrap_or_else(|e| panic!("mkdir {leaf:?}: {e}"));
        age(&leaf, "2 hours ago");
        made
    }
}

impl Drop for OldCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.leaf);
        let _ = std::fs::remove_dir(&self.root);
    }
}

/// The namespaces of a pod as CRI-O pins them by default.
pub const POD: [&str; 3] = ["--net", "--ipc", "--uts"];

/// Pins `name` under `dir` with `flags`; the pin must succeed silently.
pub fn pin_in(dir: &Path, name: &str, flags: &[&str]) {
    let mut args = vec!["-d", path_str(dir), "-f", name];
    args.extend_from_slice(flags);
    pin_ok(&args);
}

/// Runs a whole pin command line, which must succeed silently (CRI-O logs
/// whatever the helper prints).
pub fn pin_ok(args: &[&str]) {
    let (status, _, stderr) = run(args);
    assert_eq!(status, 0, "pinns {args:?} failed: {stderr}");
    assert!(stderr.is_empty(), "unexpected output: {stderr}");
}

/// The sweep that removes every idle pin CRI-O could have made under `dir`
/// at once, asking no runtime, with a JSON report.
pub fn sweep_all(dir: &str) -> [&str; 8] {
    [
        "cleanup",
        "-d",
        dir,
        "--orphans",
        "--older-than",
        "0s",
        "--json",
        "--no-runtime",
    ]
}

/// Sets a file's mtime back, as if it had been created `ago` earlier
/// (`touch -d`, not following a symlink).
pub fn age(path: &Path, ago: &str) {
    let ok = std::process::Command::new("touch")
        .args(["-h", "-d", ago])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "touch -d {ago} {}", path.display());
}

pub fn pinns() -> Command {
    Command::new(BIN)
}

/// Runs pinns, which must succeed, and parses what it printed as JSON.
pub fn pinns_json<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S]) -> serde_json::Value {
    let out = pinns().args(args).output().expect("run pinns");
    assert!(
        out.status.success(),
        "pinns {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("pinns {args:?} printed no JSON: {e}"))
}

/// Arguments as `OsStr`s, to chain with paths that are not UTF-8.
pub fn os<'a>(args: &[&'a str]) -> Vec<&'a std::ffi::OsStr> {
    args.iter().map(|a| std::ffi::OsStr::new(*a)).collect()
}

/// The element of the JSON array `doc[list]` whose `key` is `value` (a pin
/// of a listing by name, a process by pid); it must be there.
pub fn entry<'a, V>(
    doc: &'a serde_json::Value,
    list: &str,
    key: &str,
    value: V,
) -> &'a serde_json::Value
where
    serde_json::Value: PartialEq<V>,
    V: std::fmt::Debug,
{
    doc[list]
        .as_array()
        .unwrap_or_else(|| panic!("no array {list:?} in {doc}"))
        .iter()
        .find(|e| e[key] == value)
        .unwrap_or_else(|| panic!("no {list} entry with {key} {value:?} in {doc}"))
}

/// Runs pinns and returns (status, stdout, stderr), printing them on failure
/// of the caller's assertion through the returned strings.
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = pinns().args(args).output().expect("run pinns");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts a call failed cleanly: non-zero, exactly one `[pinns:e]` line
/// mentioning `needle`.
pub fn assert_one_line_error(status: i32, stderr: &str, needle: &str) {
    assert_ne!(status, 0, "expected failure, stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr:?}");
    assert!(
        lines[0].starts_with("[pinns:e] "),
        "untagged error: {stderr:?}"
    );
    assert!(
        lines[0].to_lowercase().contains(&needle.to_lowercase()),
        "error {:?} does not mention {needle:?}",
        lines[0]
    );
}

/// Asserts a command line of a subcommand was refused as clap refuses it:
/// exit 2, clap's whole message naming `needle`, ending with where to find
/// more (`--help`), untagged (only the pin form CRI-O runs gets one-line
/// errors).
pub fn assert_usage_error(status: i32, stderr: &str, needle: &str) {
    assert_eq!(status, 2, "expected a usage error, stderr: {stderr}");
    assert!(
        stderr.starts_with("error: "),
        "not clap's message: {stderr:?}"
    );
    assert!(
        stderr.to_lowercase().contains(&needle.to_lowercase()),
        "{stderr:?} does not mention {needle:?}"
    );
    assert!(
        stderr.contains("For more information, try '--help'."),
        "no pointer to --help: {stderr:?}"
    );
    assert!(!stderr.contains("[pinns:e]"), "tagged: {stderr:?}");
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 test path")
}

/// Runs a shell command in the namespaces pinned under `name`, through
/// util-linux nsenter, and returns its trimmed stdout.
pub fn in_pins(t: &TestDir, name: &str, kinds: &[&str], script: &str) -> String {
    let mut cmd = std::process::Command::new("nsenter");
    for kind in kinds {
        let flag = if *kind == "mnt" { "mount" } else { kind };
        cmd.arg(format!("--{flag}={}", t.pin_path(kind, name).display()));
    }
    stdout_ok(cmd.args(["sh", "-c", script])).trim().to_string()
}

/// Keeps a figure in README.md true: the README holds
/// `<!-- count:KEY -->N<!-- /count -->`, the test that produces the figure
/// checks it, and `PINNS_UPDATE_GENERATED=1` rewrites it.
pub fn readme_count(key: &str, value: usize) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let text = std::fs::read_to_string(&path).expect("read README.md");
    let open = format!("<!-- count:{key} -->");
    let close = "<!-- /count -->";
    let start = text
        .find(&open)
        .unwrap_or_else(|| panic!("README.md lacks {open}"))
        + open.len();
    let end = start + text[start..].find(close).expect("unclosed count marker");
    let written = &text[start..end];
    if std::env::var_os("PINNS_UPDATE_GENERATED").is_some() {
        let updated = format!("{}{value}{}", &text[..start], &text[end..]);
        std::fs::write(&path, updated).expect("write README.md");
    } else {
        assert_eq!(
            written,
            value.to_string(),
            "README.md says {written} for {key}, the test measured {value}; \
             rerun with PINNS_UPDATE_GENERATED=1"
        );
    }
}

/// 340 ranges whose uid_map text is 4095 + `extra` bytes: the kernel's
/// largest one-page write when `extra` is 0 (src/idmap.rs has its unit-test twin).
pub fn page_sized_map(extra: usize) -> String {
    (0..340u32)
        .map(|i| {
            let host = if i < 214 {
                1_000 + 10 * i
            } else {
                50_000 + 10 * i
            };
            let size = if (i as usize) < extra { 10 } else { 1 };
            format!("{}-{host}-{size}@", i * 10)
        })
        .collect()
}
