//! The one table of namespace kinds: clone flag, `/proc/<pid>/ns` name, pin
//! directory and the order in which they are created and joined.

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
    flag: CloneFlags,
    /// The one-letter option naming the kind (CRI-O's pinns and nsenter use
    /// the same letters).
    short: char,
    pinnable: bool,
}

const TABLE: [Row; 7] = [
    row(NsKind::User, "user", CloneFlags::CLONE_NEWUSER, 'U', true),
    row(
        NsKind::Cgroup,
        "cgroup",
        CloneFlags::CLONE_NEWCGROUP,
        'c',
        true,
    ),
    row(NsKind::Ipc, "ipc", CloneFlags::CLONE_NEWIPC, 'i', true),
    row(NsKind::Uts, "uts", CloneFlags::CLONE_NEWUTS, 'u', true),
    row(NsKind::Net, "net", CloneFlags::CLONE_NEWNET, 'n', true),
    // A shared PID namespace needs a live PID 1 to reap orphans, so it is
    // never pinned; it is only joined by `enter`.
    row(NsKind::Pid, "pid", CloneFlags::CLONE_NEWPID, 'p', false),
    row(NsKind::Mnt, "mnt", CloneFlags::CLONE_NEWNS, 'm', true),
];

const fn row(
    kind: NsKind,
    proc_name: &'static str,
    flag: CloneFlags,
    short: char,
    pinnable: bool,
) -> Row {
    Row {
        kind,
        proc_name,
        flag,
        short,
        pinnable,
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

    pub fn from_proc_name(name: &str) -> Option<NsKind> {
        TABLE.iter().find(|r| r.proc_name == name).map(|r| r.kind)
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
    fn dir_names_round_trip() {
        for kind in NsKind::pinnable() {
            assert_eq!(NsKind::from_dir_name(&kind.dir_name()), Some(kind));
        }
        assert_eq!(NsKind::from_dir_name("pidns"), None);
        assert_eq!(NsKind::from_dir_name("net"), None);
        assert_eq!(NsKind::from_dir_name("bogusns"), None);
    }
}
