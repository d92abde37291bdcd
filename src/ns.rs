//! The one table of namespace kinds: clone flag, `/proc/<pid>/ns` name, pin
//! directory, option letter, OCI name, which CRI-O pins and which are the
//! pod's own, and the order in which they are created and joined. Adding a
//! kind is one row.

use nix::sched::CloneFlags;
use std::fmt;

/// A kind of Linux namespace that pinns knows how to pin or join.
///
/// The declaration order is the order of creation and of joining: the user
/// namespace comes first because every namespace created after it is owned by
/// it, and joining it first gives us the capabilities needed to join the
/// others. The mount namespace comes last among the pinnable kinds so that the
/// `/proc` paths used for the others are still the caller's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NsKind {
    User,
    Cgroup,
    Ipc,
    Uts,
    Net,
    Pid,
    Mnt,
}

struct Row {
    kind: NsKind,
    proc_name: &'static str,
    /// The OCI runtime spec's name (`linux.namespaces[].type`), which
    /// `crictl inspectp` shows.
    oci_name: &'static str,
    flag: CloneFlags,
    /// The one-letter option naming the kind (CRI-O's pinns and nsenter use
    /// the same letters).
    short: char,
    pinnable: bool,
    /// CRI-O pins it for a pod (net, ipc and uts always, user for a
    /// user-namespaced pod).
    crio_pins: bool,
    /// Its members are the pod's tasks. User and cgroup namespaces are often
    /// shared far beyond one pod.
    pod_own: bool,
}

#[rustfmt::skip]
const TABLE: [Row; 7] = [
    //  kind            proc      oci        flag                         short pin    crio   pod_own
    row(NsKind::User,   "user",   "user",    CloneFlags::CLONE_NEWUSER,   'U',  true,  true,  false),
    row(NsKind::Cgroup, "cgroup", "cgroup",  CloneFlags::CLONE_NEWCGROUP, 'c',  true,  false, false),
    row(NsKind::Ipc,    "ipc",    "ipc",     CloneFlags::CLONE_NEWIPC,    'i',  true,  true,  true),
    row(NsKind::Uts,    "uts",    "uts",     CloneFlags::CLONE_NEWUTS,    'u',  true,  true,  true),
    row(NsKind::Net,    "net",    "network", CloneFlags::CLONE_NEWNET,    'n',  true,  true,  true),
    // A shared PID namespace needs a live PID 1 to reap orphans, so it is
    // never pinned; it is only joined by `enter`.
    row(NsKind::Pid,    "pid",    "pid",     CloneFlags::CLONE_NEWPID,    'p',  false, false, true),
    row(NsKind::Mnt,    "mnt",    "mount",   CloneFlags::CLONE_NEWNS,     'm',  true,  false, true),
];

#[allow(clippy::too_many_arguments)]
const fn row(
    kind: NsKind,
    proc_name: &'static str,
    oci_name: &'static str,
    flag: CloneFlags,
    short: char,
    pinnable: bool,
    crio_pins: bool,
    pod_own: bool,
) -> Row {
    Row {
        kind,
        proc_name,
        oci_name,
        flag,
        short,
        pinnable,
        crio_pins,
        pod_own,
    }
}

impl NsKind {
    /// Every kind, in creation/join order.
    pub const ALL: [NsKind; 7] = [
        NsKind::User,
        NsKind::Cgroup,
        NsKind::Ipc,
        NsKind::Uts,
        NsKind::Net,
        NsKind::Pid,
        NsKind::Mnt,
    ];

    fn row(self) -> &'static Row {
        let row = &TABLE[self as usize];
        debug_assert_eq!(row.kind, self);
        row
    }

    /// Kinds that can be pinned, in creation order.
    pub fn pinnable() -> impl Iterator<Item = NsKind> {
        Self::ALL.into_iter().filter(|k| k.row().pinnable)
    }

    /// Name under `/proc/<pid>/ns/`.
    pub fn proc_name(self) -> &'static str {
        self.row().proc_name
    }

    /// Directory under the pin directory: `netns`, `ipcns`, ...
    pub fn dir_name(self) -> String {
        format!("{}ns", self.proc_name())
    }

    pub fn clone_flag(self) -> CloneFlags {
        self.row().flag
    }

    /// The one-letter command-line option (`-n` for net); the long one is
    /// the `/proc` name (`--net`).
    pub fn short_flag(self) -> char {
        self.row().short
    }

    /// Whether CRI-O pins this kind for a pod.
    pub fn crio_pins(self) -> bool {
        self.row().crio_pins
    }

    /// Whether the tasks in a namespace of this kind are the pod's own.
    pub fn pod_own(self) -> bool {
        self.row().pod_own
    }

    pub fn from_proc_name(name: &str) -> Option<NsKind> {
        TABLE.iter().find(|r| r.proc_name == name).map(|r| r.kind)
    }

    /// Parses the OCI runtime spec's name (`network`, `mount`, ...).
    pub fn from_oci_name(name: &str) -> Option<NsKind> {
        TABLE.iter().find(|r| r.oci_name == name).map(|r| r.kind)
    }

    /// Parses `netns`, `ipcns`, ... back into a kind.
    pub fn from_dir_name(name: &str) -> Option<NsKind> {
        let kind = Self::from_proc_name(name.strip_suffix("ns")?)?;
        kind.row().pinnable.then_some(kind)
    }
}

impl fmt::Display for NsKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.proc_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_declaration_order() {
        for (i, kind) in NsKind::ALL.iter().enumerate() {
            assert_eq!(TABLE[i].kind, *kind);
        }
    }

    #[test]
    fn user_is_created_first_and_mnt_last() {
        let order: Vec<_> = NsKind::pinnable().collect();
        assert_eq!(order.first(), Some(&NsKind::User));
        assert_eq!(order.last(), Some(&NsKind::Mnt));
        assert!(!order.contains(&NsKind::Pid));
    }

    #[test]
    fn short_flags_are_distinct() {
        let mut shorts: Vec<char> = TABLE.iter().map(|r| r.short).collect();
        shorts.sort_unstable();
        shorts.dedup();
        assert_eq!(shorts.len(), TABLE.len());
    }

    #[test]
    fn oci_names_are_the_runtime_specs() {
        assert_eq!(NsKind::from_oci_name("network"), Some(NsKind::Net));
        assert_eq!(NsKind::from_oci_name("mount"), Some(NsKind::Mnt));
        assert_eq!(NsKind::from_oci_name("net"), None);
        assert_eq!(NsKind::from_oci_name("time"), None);
        for kind in NsKind::ALL {
            assert_eq!(NsKind::from_oci_name(kind.row().oci_name), Some(kind));
        }
    }

    #[test]
    fn dir_names_round_trip() {
        for kind in NsKind::pinnable() {
            assert_eq!(NsKind::from_dir_name(&kind.dir_name()), Some(kind));
        }
        assert_eq!(NsKind::from_dir_name("pidns"), None);
        assert_eq!(NsKind::from_dir_name("net"), None);
        assert_eq!(NsKind::from_dir_name("bogusns"), None);
    }
}
