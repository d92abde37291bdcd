//! The one judgement of what is at a pin path, and its words.

use nix::sys::stat::{FileStat, SFlag};

/// What one pin path holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// A namespace bind mount (an nsfs inode). `host`: the node's own
    /// namespace (PID 1's or ours), as a `--net=host` pin holds.
    Namespace { inode: u64, host: bool },
    /// An empty regular file on the directory's own filesystem, not mounted
    /// over: what CRI-O pre-creates for a user-namespace pod, or what a pin
    /// that died between creating and mounting leaves. Ours to mount on, and
    /// ours to remove.
    Leftover { inode: u64 },
    /// Something we never put there. Reported, never touched.
    Broken(Problem),
}

/// Why a pin path is [`Content::Broken`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Symlink,
    OtherMount,
    Directory,
    NotRegular,
    NotEmpty,
}

impl Problem {
    pub fn words(self) -> &'static str {
        match self {
            Problem::Symlink => "a symlink",
            Problem::OtherMount => "a foreign mount (not a namespace)",
            Problem::Directory => "a directory",
            Problem::NotRegular => "not a regular file",
            Problem::NotEmpty => "a non-empty plain file",
        }
    }
}

impl Content {
    /// The word every command prints for this content.
    pub fn word(&self) -> &'static str {
        match self {
            Content::Namespace { .. } => "namespace",
            Content::Leftover { .. } => "leftover",
            Content::Broken(_) => "broken",
        }
    }

    pub fn problem(&self) -> Option<Problem> {
        match self {
            Content::Broken(p) => Some(*p),
            _ => None,
        }
    }
}

/// Judges a path that is not an nsfs mount from its `lstat`-like status.
pub(super) fn classify_plain(st: &FileStat, dir_dev: u64) -> Content {
    let file_type = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    let problem = if file_type == SFlag::S_IFLNK {
        Problem::Symlink
    } else if st.st_dev != dir_dev {
        Problem::OtherMount
    } else if file_type == SFlag::S_IFDIR {
        Problem::Directory
    } else if file_type != SFlag::S_IFREG {
        Problem::NotRegular
    } else if st.st_size != 0 {
        Problem::NotEmpty
    } else {
        return Content::Leftover { inode: st.st_ino };
    };
    Content::Broken(problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat_of(mode: u32, size: i64, dev: u64) -> FileStat {
        // SAFETY: FileStat is a plain C struct; all-zero is a valid value.
        let mut st: FileStat = unsafe { std::mem::zeroed() };
        st.st_mode = mode;
        st.st_size = size;
        st.st_dev = dev;
        st.st_ino = 7;
        st
    }

    #[test]
    fn only_an_empty_plain_file_on_our_filesystem_is_a_leftover() {
        let reg = libc::S_IFREG | 0o444;
        let judge = |mode, size, dev| classify_plain(&stat_of(mode, size, dev), 1);
        assert_eq!(judge(reg, 0, 1), Content::Leftover { inode: 7 });
        assert_eq!(judge(reg, 3, 1), Content::Broken(Problem::NotEmpty));
        assert_eq!(judge(reg, 0, 2), Content::Broken(Problem::OtherMount));
        assert_eq!(
            judge(libc::S_IFLNK | 0o777, 0, 1),
            Content::Broken(Problem::Symlink)
        );
        assert_eq!(
            judge(libc::S_IFDIR | 0o755, 0, 1),
            Content::Broken(Problem::Directory)
        );
        assert_eq!(
            judge(libc::S_IFIFO | 0o644, 0, 1),
            Content::Broken(Problem::NotRegular)
        );
    }

    #[test]
    fn every_content_has_one_word() {
        assert_eq!(
            Content::Namespace {
                inode: 1,
                host: true
            }
            .word(),
            "namespace"
        );
        assert_eq!(Content::Leftover { inode: 1 }.word(), "leftover");
        let broken = Content::Broken(Problem::Symlink);
        assert_eq!(
            (broken.word(), broken.problem()),
            ("broken", Some(Problem::Symlink))
        );
    }
}
