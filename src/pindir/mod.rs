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

mod ages;
mod content;
pub mod inventory;
pub mod mntns;
pub mod undo;

use content::classify_plain;
pub use content::{Content, Problem};

use crate::error::{Error, PathContext, Result};
use crate::name::PinName;
use crate::ns::NsKind;
use crate::sys::files::{self, DirLock};
use crate::sys::{fdmount, namespace};
use nix::errno::Errno;
use nix::sys::stat::FileStat;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Where the pin of `kind` named `name` lives under `dir`.
pub fn pin_path(dir: &Path, kind: NsKind, name: &PinName) -> PathBuf {
    dir.join(kind.dir_name()).join(name.as_str())
}

/// DIR, opened.
#[derive(Debug)]
pub struct PinDir {
    pub path: PathBuf,
    fd: OwnedFd,
}

fn not_a_directory(path: &Path, e: Error) -> Error {
    match e.errno() {
        Some(Errno::ELOOP | Errno::ENOTDIR) => Error::Refused(format!(
            "{} is not a directory (a symlink or a file); refusing to use it",
            path.display()
        )),
        _ => e,
    }
}

fn is_absent(e: &Error) -> bool {
    e.errno() == Some(Errno::ENOENT)
}

impl PinDir {
    /// Opens DIR; `Ok(None)` if it does not exist.
    pub fn open(path: &Path) -> Result<Option<PinDir>> {
        let path = std::path::absolute(path).at("resolve", path)?;
        match files::open_dir_at(None, &path.join("."), &path) {
            Ok(fd) => Ok(Some(PinDir { path, fd })),
            Err(e) if is_absent(&e) => Ok(None),
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
        match files::open_dir_at(Some(self.fd.as_fd()), Path::new(&kind.dir_name()), &path) {
            Ok(fd) => Ok(Some(TypeDir::new(kind, path, fd))),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(not_a_directory(&path, e)),
        }
    }

    /// Opens `DIR/<type>ns`, creating it if needed. Never undone.
    pub fn create_type(&self, kind: NsKind) -> Result<TypeDir> {
        let path = self.path.join(kind.dir_name());
        files::mkdir_at(Some(self.fd.as_fd()), Path::new(&kind.dir_name()), &path)?;
        self.open_type(kind)?
            .ok_or_else(|| Error::path("open directory", path, Errno::ENOENT))
    }

    /// The `flock` that serialises pins and removals in DIR. Consumes the
    /// descriptor: closing it is what releases the lock.
    pub fn lock(self) -> Result<DirLock> {
        files::lock_dir(self.fd, &self.path)
    }

    /// The same lock, on a duplicate of DIR's descriptor, for a caller that
    /// goes on using DIR.
    pub fn lock_again(&self) -> Result<DirLock> {
        let fd = self
            .fd
            .try_clone()
            .at("duplicate descriptor of", &self.path)?;
        files::lock_dir(fd, &self.path)
    }
}

/// One `DIR/<type>ns`, opened.
#[derive(Debug)]
pub struct TypeDir {
    pub kind: NsKind,
    pub path: PathBuf,
    fd: OwnedFd,
    /// Shared by the threads of a scan.
    dev: OnceLock<u64>,
}

impl TypeDir {
    fn new(kind: NsKind, path: PathBuf, fd: OwnedFd) -> TypeDir {
        TypeDir {
            kind,
            path,
            fd,
            dev: OnceLock::new(),
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
        let dev = files::stat_fd(self.fd(), &self.path)?.st_dev;
        Ok(*self.dev.get_or_init(|| dev))
    }

    /// What is at `name`, with an `O_PATH` descriptor of it (the topmost
    /// mount, if any); `None` if nothing is there.
    pub fn examine(&self, name: &PinName) -> Result<Option<(Content, OwnedFd)>> {
        let Some(fd) = files::open_path_at(self.fd(), &self.path, Path::new(name.as_str()))? else {
            return Ok(None);
        };
        let st = files::stat_fd(fd.as_fd(), &self.pin_path(name))?;
        Ok(Some((self.judge(&st)?, fd)))
    }

    /// What is at `name`, from one `fstatat` on this directory's descriptor
    /// that follows no symlink and, like [`TypeDir::examine`]'s open, lands
    /// on the topmost mount; `None` if nothing is there. For a look that
    /// acts on nothing (`list` pays it for every pin path: one call where
    /// open + fstat + close took three); whoever unmounts or unlinks uses
    /// `examine`, whose descriptor holds what was judged.
    pub fn look(&self, name: &PinName) -> Result<Option<Content>> {
        match files::stat_at_nofollow(self.fd(), &self.path, Path::new(name.as_str())) {
            Ok(st) => Ok(Some(self.judge(&st)?)),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The one judgement of a pin path's status. The device says nsfs (the
    /// kernel has one instance): no `fstatfs` per path.
    fn judge(&self, st: &FileStat) -> Result<Content> {
        Ok(if st.st_dev == namespace::nsfs_dev()? {
            Content::Namespace {
                inode: st.st_ino,
                host: false,
            }
        } else {
            classify_plain(st, self.dev()?)
        })
    }

    /// Opens the namespace pinned at `name` for `setns(2)` or `ioctl(2)`,
    /// without following a symlink; `None` if nothing or something other
    /// than a namespace (or than namespace `inode`, when given) is there.
    pub fn open_namespace(
        &self,
        name: &PinName,
        inode: Option<u64>,
    ) -> Result<Option<(u64, OwnedFd)>> {
        let fd = match files::open_ns_at(self.fd(), &self.path, Path::new(name.as_str())) {
            Ok(fd) => fd,
            Err(e) if matches!(e.errno(), Some(Errno::ENOENT | Errno::ELOOP)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let path = self.pin_path(name);
        if !namespace::is_nsfs(fd.as_fd(), &path)? {
            return Ok(None);
        }
        let found = files::stat_fd(fd.as_fd(), &path)?.st_ino;
        Ok(inode
            .map_or(true, |want| want == found)
            .then_some((found, fd)))
    }

    /// Creates `name` as a new empty file (`O_CREAT|O_EXCL`); `EEXIST` if
    /// anything is there.
    pub fn create_file(&self, name: &PinName) -> Result<OwnedFd> {
        files::create_new_file_at(self.fd(), &self.path, Path::new(name.as_str()))
    }

    /// Bind-mounts the namespace file `source` onto the opened pin file.
    pub fn mount_namespace(
        &self,
        source: &Path,
        file: BorrowedFd<'_>,
        name: &PinName,
    ) -> Result<()> {
        fdmount::bind_onto_fd(source, file, &self.pin_path(name))
    }

    /// Detaches the namespace mount at `name` if it is one, and, when
    /// `inode` is given, that namespace. Returns whether it detached one.
    pub fn detach(&self, name: &PinName, inode: Option<u64>) -> Result<bool> {
        match self.examine(name)? {
            Some((Content::Namespace { inode: found, .. }, fd))
                if inode.map_or(true, |want| want == found) =>
            {
                fdmount::detach_fd(fd.as_fd(), &self.pin_path(name))?;
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
        let st = match files::stat_at_nofollow(self.fd(), &self.path, file) {
            Ok(st) => st,
            Err(e) if is_absent(&e) => return Ok(false),
            Err(e) => return Err(e),
        };
        match classify_plain(&st, self.dev()?) {
            Content::Leftover { inode: found } if inode.map_or(true, |want| want == found) => {
                files::unlink_at(self.fd(), &self.path, file)?;
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
                Some((Content::Namespace { .. }, fd)) => {
                    fdmount::detach_fd(fd.as_fd(), &self.pin_path(name))?
                }
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

    /// Against the real kernel (tests run as root): a namespace mounted
    /// through the pin's descriptor is judged, detached only when it is the
    /// namespace asked for, and the file beneath removed only when it is
    /// the file asked for.
    #[test]
    fn mount_examine_detach_remove_through_descriptors() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = PinDir::create(&tmp.path().join("pins")).unwrap();
        let td = dir.create_type(NsKind::Net).unwrap();
        let name = PinName::parse("p").unwrap();
        let file = td.create_file(&name).unwrap();
        assert_eq!(
            td.create_file(&name).unwrap_err().errno(),
            Some(Errno::EEXIST)
        );
        let file_ino = files::stat_fd(file.as_fd(), Path::new("p")).unwrap().st_ino;
        let source = Path::new("/proc/self/ns/net");
        let ns_ino = nix::sys::stat::stat(source).unwrap().st_ino;
        td.mount_namespace(source, file.as_fd(), &name).unwrap();

        let (content, _) = td.examine(&name).unwrap().unwrap();
        assert_eq!(td.look(&name).unwrap(), Some(content), "one judgement");
        assert_eq!(
            content,
            Content::Namespace {
                inode: ns_ino,
                host: false
            }
        );
        let (ino, _) = td.open_namespace(&name, Some(ns_ino)).unwrap().unwrap();
        assert_eq!(ino, ns_ino);
        assert!(td
            .open_namespace(&name, Some(ns_ino + 1))
            .unwrap()
            .is_none());
        assert!(
            !td.remove_leftover(&name, None).unwrap(),
            "a mount is no leftover"
        );
        assert!(
            !td.detach(&name, Some(ns_ino + 1)).unwrap(),
            "another namespace"
        );
        assert!(td.detach(&name, Some(ns_ino)).unwrap());
        assert_eq!(
            td.examine(&name).unwrap().unwrap().0,
            Content::Leftover { inode: file_ino }
        );
        assert!(
            !td.remove_leftover(&name, Some(file_ino + 1)).unwrap(),
            "another file"
        );
        assert_eq!(
            td.look(&name).unwrap(),
            Some(Content::Leftover { inode: file_ino })
        );
        assert!(td.remove_leftover(&name, Some(file_ino)).unwrap());
        assert!(td.examine(&name).unwrap().is_none());
        assert!(td.look(&name).unwrap().is_none());
    }

    #[test]
    fn a_symlinked_type_dir_is_refused_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = PinDir::create(&tmp.path().join("pins")).unwrap();
        std::os::unix::fs::symlink(tmp.path(), dir.path.join("netns")).unwrap();
        let err = dir.open_type(NsKind::Net).unwrap_err().to_string();
        assert!(err.contains("is not a directory"), "{err}");
        assert!(dir.open_type(NsKind::Ipc).unwrap().is_none());
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
