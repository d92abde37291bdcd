//! The pin directory: its layout (`DIR/<type>ns/NAME`, one `<type>ns` per
//! row of the [`NsKind`] table) and every operation on it. `pin`, `cleanup`,
//! `list`, `inspect` and `enter` all go through here, so there is one
//! judgement of what is at a pin path ([`Content`]) and one set of words for
//! it.
//!
//! # Descriptors, never paths
//! DIR itself may be reached through symlinks (`/var/run` is one); below
//! it, nothing is. Each `<type>ns` directory is opened relative to DIR's
//! descriptor with `O_NOFOLLOW|O_DIRECTORY`, and each pin relative to its
//! type directory's descriptor with `O_NOFOLLOW`. Mounts and unmounts act on
//! those descriptors (`/proc/self/fd/N`), unlinks are `unlinkat` on the type
//! directory's descriptor after an `fstatat` of the same name, and the undo
//! journal ([`undo::Journal`]) keeps descriptors, not paths. A directory
//! swapped for a symlink after we opened it changes nothing: we keep acting
//! on the directory we opened, wherever it was moved, and only on the
//! inodes we made or checked.
//!
//! # Shared by concurrent pins
//! DIR and the `<type>ns` directories are created on demand and never
//! removed, not by an undo nor by `cleanup`: another pin may hold them open.

pub mod inventory;
pub mod mntns;
pub mod undo;

use crate::error::{Error, PathContext, Result};
use crate::name::PinName;
use crate::ns::NsKind;
use crate::sys::{self, fdmount, DirLock};
use nix::errno::Errno;
use nix::sys::stat::{FileStat, SFlag};
use std::cell::OnceCell;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Where the pin of `kind` named `name` lives under `dir`.
pub fn pin_path(dir: &Path, kind: NsKind, name: &PinName) -> PathBuf {
    dir.join(kind.dir_name()).join(name.as_str())
}

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
fn classify_plain(st: &FileStat, dir_dev: u64) -> Content {
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

/// DIR, opened.
#[derive(Debug)]
pub struct PinDir {
    pub path: PathBuf,
    fd: OwnedFd,
}

fn not_a_directory(path: &Path, e: Errno) -> Error {
    match e {
        Errno::ELOOP | Errno::ENOTDIR => Error::Refused(format!(
            "{} is not a directory (a symlink or a file); refusing to use it",
            path.display()
        )),
        e => Error::path("open directory", path, e),
    }
}

impl PinDir {
    /// Opens DIR; `Ok(None)` if it does not exist.
    pub fn open(path: &Path) -> Result<Option<PinDir>> {
        let path = std::path::absolute(path).at("resolve", path)?;
        match sys::open_dir_at(None, &path.join(".")) {
            Ok(fd) => Ok(Some(PinDir { path, fd })),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(not_a_directory(&path, e)),
        }
    }

    /// Opens DIR, creating it and its missing parents first. Never undone.
    pub fn create(path: &Path) -> Result<PinDir> {
        let path = std::path::absolute(path).at("resolve", path)?;
        std::fs::create_dir_all(&path).at("create directory", &path)?;
        Self::open(&path)?.ok_or_else(|| Error::path("open directory", &path, Errno::ENOENT))
    }

    /// Opens `DIR/<type>ns` without following a symlink; `Ok(None)` if absent.
    pub fn open_type(&self, kind: NsKind) -> Result<Option<TypeDir>> {
        let path = self.path.join(kind.dir_name());
        match sys::open_dir_at(Some(self.fd.as_fd()), Path::new(&kind.dir_name())) {
            Ok(fd) => Ok(Some(TypeDir::new(kind, path, fd))),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(not_a_directory(&path, e)),
        }
    }

    /// Opens `DIR/<type>ns`, creating it if needed. Never undone.
    pub fn create_type(&self, kind: NsKind) -> Result<TypeDir> {
        let path = self.path.join(kind.dir_name());
        match sys::mkdir_at(Some(self.fd.as_fd()), Path::new(&kind.dir_name())) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(Error::path("create directory", path, e)),
        }
        self.open_type(kind)?
            .ok_or_else(|| Error::path("open directory", path, Errno::ENOENT))
    }

    /// The `flock` that serialises pins and removals in DIR. Consumes the
    /// descriptor: closing it is what releases the lock.
    pub fn lock(self) -> Result<DirLock> {
        sys::lock_dir(self.fd, &self.path)
    }

    /// The same lock, on a duplicate of DIR's descriptor, for a caller that
    /// goes on using DIR.
    pub fn lock_again(&self) -> Result<DirLock> {
        let fd = self
            .fd
            .try_clone()
            .at("duplicate descriptor of", &self.path)?;
        sys::lock_dir(fd, &self.path)
    }
}

/// One `DIR/<type>ns`, opened.
#[derive(Debug)]
pub struct TypeDir {
    pub kind: NsKind,
    pub path: PathBuf,
    fd: OwnedFd,
    dev: OnceCell<u64>,
}

impl TypeDir {
    fn new(kind: NsKind, path: PathBuf, fd: OwnedFd) -> TypeDir {
        TypeDir {
            kind,
            path,
            fd,
            dev: OnceCell::new(),
        }
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub fn pin_path(&self, name: &PinName) -> PathBuf {
        self.path.join(name.as_str())
    }

    /// Device of the directory: a plain file elsewhere is a mount over it.
    fn dev(&self) -> Result<u64> {
        if let Some(dev) = self.dev.get() {
            return Ok(*dev);
        }
        let dev = sys::stat_fd(self.fd()).at("stat", &self.path)?.st_dev;
        Ok(*self.dev.get_or_init(|| dev))
    }

    /// What is at `name`, with an `O_PATH` descriptor of it (the topmost
    /// mount, if any); `None` if nothing is there.
    pub fn examine(&self, name: &PinName) -> Result<Option<(Content, OwnedFd)>> {
        let path = || self.pin_path(name);
        let fd = match sys::open_path_at(self.fd(), Path::new(name.as_str())) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => return Ok(None),
            Err(e) => return Err(Error::path("open", path(), e)),
        };
        let st = sys::stat_fd(fd.as_fd()).at("stat", path())?;
        let content = if sys::is_nsfs(fd.as_fd()).at("statfs", path())? {
            Content::Namespace {
                inode: st.st_ino,
                host: false,
            }
        } else {
            classify_plain(&st, self.dev()?)
        };
        Ok(Some((content, fd)))
    }

    /// Opens the namespace pinned at `name` for `setns(2)` or `ioctl(2)`,
    /// without following a symlink; `None` if nothing or something other
    /// than a namespace (or than namespace `inode`, when given) is there.
    pub fn open_namespace(
        &self,
        name: &PinName,
        inode: Option<u64>,
    ) -> Result<Option<(u64, OwnedFd)>> {
        let path = || self.pin_path(name);
        let fd = match sys::open_ns_at(self.fd(), Path::new(name.as_str())) {
            Ok(fd) => fd,
            Err(Errno::ENOENT | Errno::ELOOP) => return Ok(None),
            Err(e) => return Err(Error::path("open", path(), e)),
        };
        if !sys::is_nsfs(fd.as_fd()).at("statfs", path())? {
            return Ok(None);
        }
        let found = sys::stat_fd(fd.as_fd()).at("stat", path())?.st_ino;
        Ok(inode
            .map_or(true, |want| want == found)
            .then_some((found, fd)))
    }

    /// Creates `name` as a new empty file (`O_CREAT|O_EXCL`); `EEXIST` if
    /// anything is there.
    pub fn create_file(&self, name: &PinName) -> nix::Result<OwnedFd> {
        sys::create_new_file_at(self.fd(), Path::new(name.as_str()))
    }

    /// Bind-mounts the namespace file `source` onto the opened pin file.
    pub fn mount_namespace(
        &self,
        source: &Path,
        file: BorrowedFd<'_>,
        name: &PinName,
    ) -> Result<()> {
        fdmount::bind_onto_fd(source, file).at("bind mount the namespace onto", self.pin_path(name))
    }

    /// Detaches the namespace mount at `name` if it is one, and, when
    /// `inode` is given, that namespace. Returns whether it detached one.
    pub fn detach(&self, name: &PinName, inode: Option<u64>) -> Result<bool> {
        match self.examine(name)? {
            Some((Content::Namespace { inode: found, .. }, fd))
                if inode.map_or(true, |want| want == found) =>
            {
                fdmount::detach_fd(fd.as_fd()).at("unmount (MNT_DETACH)", self.pin_path(name))?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Unlinks `name` if it is (still) an empty regular file on this
    /// directory's filesystem and, when `inode` is given, that file. The
    /// check and the unlink both go through this directory's descriptor.
    pub fn remove_leftover(&self, name: &PinName, inode: Option<u64>) -> Result<bool> {
        let file = Path::new(name.as_str());
        let st = match sys::stat_at_nofollow(self.fd(), file) {
            Ok(st) => st,
            Err(Errno::ENOENT) => return Ok(false),
            Err(e) => return Err(Error::path("stat", self.pin_path(name), e)),
        };
        match classify_plain(&st, self.dev()?) {
            Content::Leftover { inode: found } if inode.map_or(true, |want| want == found) => {
                sys::unlink_at(self.fd(), file).at("remove", self.pin_path(name))?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

impl TypeDir {
    /// Removes what is ours at `name`: every namespace mount stacked there
    /// (each detached through the descriptor that judged it), then the empty
    /// file beneath. Returns what is left that is not ours, if anything.
    pub fn remove_pin(&self, name: &PinName) -> Result<Option<Problem>> {
        // Bounded: a path can hold a stack of mounts, not an endless one.
        for _ in 0..16 {
            match self.examine(name)? {
                Some((Content::Namespace { .. }, fd)) => fdmount::detach_fd(fd.as_fd())
                    .at("unmount (MNT_DETACH)", self.pin_path(name))?,
                Some((Content::Leftover { inode }, _)) => {
                    self.remove_leftover(name, Some(inode))?;
                    return Ok(None);
                }
                Some((Content::Broken(problem), _)) => return Ok(Some(problem)),
                None => return Ok(None),
            }
        }
        Err(Error::Refused(format!(
            "{}: more than 16 namespace mounts stacked; left the rest",
            self.pin_path(name).display()
        )))
    }
}

/// Looks a pin's type directory up among those opened.
pub fn find_type(dirs: &[TypeDir], kind: NsKind) -> Option<&TypeDir> {
    dirs.iter().find(|d| d.kind == kind)
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

    #[test]
    fn layout_is_dir_type_name() {
        let name = PinName::parse("pod").unwrap();
        assert_eq!(
            pin_path(Path::new("/run"), NsKind::Net, &name),
            PathBuf::from("/run/netns/pod")
        );
    }
}
