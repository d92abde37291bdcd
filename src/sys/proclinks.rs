//! Per-task facts under `/proc`, read through one descriptor of `/proc`.
//!
//! Finding who lives in a namespace means looking at every task on the
//! node, so this is the one loop whose cost grows with the node: each call
//! here is one syscall with a short relative path. `readlink` of a
//! namespace link answers with the namespace's inode as text
//! ("net:[4026531840]"); `stat` would also make the kernel open a path to
//! the namespace to stat it, about twice the time per task.

use super::files::open_dir_at;
use crate::error::{Error, Result};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::Mode;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

pub struct ProcDir(OwnedFd);

impl ProcDir {
    pub fn open() -> Result<ProcDir> {
        let proc = Path::new("/proc");
        open_dir_at(None, proc, proc).map(ProcDir)
    }

    /// The link text of task `tid`'s namespace link `name`, read into
    /// `buf` (a namespace link is "<type>:[<inode>]", well under 64 bytes).
    /// `/proc/<tid>` names the task itself even where `tid` is not a
    /// process (it is not listed, but found), and its namespace links are
    /// the task's own: the same links as `/proc/<pid>/task/<tid>/ns/<name>`,
    /// two path components shorter. Fails (ENOENT) once the task is gone or
    /// where its links may not be read.
    pub fn ns_link<'b>(&self, tid: i32, name: &str, buf: &'b mut [u8; 64]) -> Result<&'b [u8]> {
        match self.readlink(format_args!("{tid}/ns/{name}"), buf) {
            Ok(n) => Ok(&buf[..n]),
            Err(e) => Err(Error::path("readlink", format!("/proc/{tid}/ns/{name}"), e)),
        }
    }

    /// `readlinkat` of `path` under `/proc` into `buf`, truncating: this
    /// runs for every task on the node, so the path is built on the stack
    /// and nothing is allocated.
    fn readlink(&self, path: std::fmt::Arguments<'_>, buf: &mut [u8]) -> nix::Result<usize> {
        let mut text = [0u8; 64];
        // The last byte stays 0: the path's terminating NUL.
        let mut cursor = &mut text[..63];
        cursor.write_fmt(path).map_err(|_| Errno::ENAMETOOLONG)?;
        // SAFETY: `text` is NUL-terminated and `buf` writable for its whole
        // length; both outlive the call.
        let n = unsafe {
            libc::readlinkat(
                self.0.as_raw_fd(),
                text.as_ptr().cast(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        Errno::result(n).map(|n| n as usize)
    }

    /// How many tasks (threads) process `pid` has: `/proc/<pid>/task` has
    /// 2 + that many links, so one `stat` answers without listing it.
    pub fn task_count(&self, pid: i32) -> Result<u64> {
        let task = format!("{pid}/task");
        nix::sys::stat::fstatat(
            Some(self.0.as_raw_fd()),
            &*task,
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map(|st| st.st_nlink.saturating_sub(2))
        .map_err(|e| Error::path("stat", Path::new("/proc").join(&task), e))
    }

    /// The `children` file of process `pid`'s leader: its children's PIDs.
    pub fn children(&self, pid: i32) -> Result<Vec<u8>> {
        let path = format!("{pid}/task/{pid}/children");
        let fd = super::files::openat_owned(
            Some(self.0.as_fd()),
            Path::new(&path),
            OFlag::O_RDONLY,
            Mode::empty(),
        )
        .map_err(|e| Error::path("open", Path::new("/proc").join(&path), e))?;
        // Read in large parts: the file has no size to ask for, and
        // read_to_end would start small.
        let mut file = std::fs::File::from(fd);
        let (mut text, mut part) = (Vec::new(), vec![0u8; 16 * 1024]);
        loop {
            match file.read(&mut part) {
                Ok(0) => break,
                Ok(n) => text.extend_from_slice(&part[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
                    return Err(Error::path("read", Path::new("/proc").join(&path), errno));
                }
            }
        }
        Ok(text)
    }

    /// Our own process id as this `/proc` numbers it (its `self` link):
    /// the same as `getpid` only where `/proc` is of our PID namespace.
    pub fn own_pid(&self) -> Result<i32> {
        let mut buf = [0u8; 16];
        let n = self
            .readlink(format_args!("self"), &mut buf)
            .map_err(|e| Error::path("readlink", "/proc/self", e))?;
        std::str::from_utf8(&buf[..n])
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| Error::path("readlink", "/proc/self", Errno::EINVAL))
    }

    /// Whether process `pid` has a program: `/proc/<pid>/exe` reads ENOENT
    /// for a kernel thread and for a thread-group leader that has exited.
    /// Only success counts, so a few bytes of the program's path do.
    pub fn has_exe(&self, pid: i32) -> Result<bool> {
        match self.readlink(format_args!("{pid}/exe"), &mut [0u8; 8]) {
            Ok(_) => Ok(true),
            Err(Errno::ENOENT) => Ok(false),
            Err(e) => Err(Error::path("readlink", format!("/proc/{pid}/exe"), e)),
        }
    }
}

/// The entries of directory `path` whose names are decimal numbers (the
/// processes of `/proc`, the tasks of `/proc/<pid>/task`), read with
/// `getdents64` into a buffer on the stack: `std::fs::read_dir` allocated
/// a 32 KiB buffer and a name per entry (65k of `enter`'s 517k instructions).
/// Empty if the directory cannot be read (a process gone).
pub fn numbered_entries(path: &str) -> Vec<i32> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY;
    let Ok(dir) = super::files::openat_owned(None, Path::new(path), flags, Mode::empty()) else {
        return Vec::new();
    };
    let mut buf = std::mem::MaybeUninit::<[u64; 1024]>::uninit();
    let mut found = Vec::new();
    loop {
        // SAFETY: the kernel writes at most the given length into `buf`.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                dir.as_raw_fd(),
                buf.as_mut_ptr(),
                std::mem::size_of_val(&buf),
            )
        };
        let len = match Errno::result(rc) {
            Ok(0) | Err(_) => return found,
            Ok(n) => n as usize,
        };
        // SAFETY: the kernel filled the first `len` bytes (at most the
        // buffer's size) with records.
        let records = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), len) };
        found.extend(dirent_names(records).filter_map(decimal));
    }
}

/// The names in a `getdents64` result. A record: d_ino (8), d_off (8),
/// d_reclen (2), d_type (1), the name, NUL-terminated and padded to 8.
fn dirent_names(records: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = records;
    std::iter::from_fn(move || {
        let reclen = usize::from(u16::from_ne_bytes([*rest.get(16)?, *rest.get(17)?]));
        let record = rest.get(..reclen).filter(|_| reclen > 19)?;
        rest = &rest[reclen..];
        let name = &record[19..];
        Some(&name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())])
    })
}

/// A name made only of ASCII digits, as a number that fits an i32.
fn decimal(name: &[u8]) -> Option<i32> {
    if name.is_empty() || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> Vec<u8> {
        let len = (19 + name.len() + 1).div_ceil(8) * 8;
        let mut r = vec![0u8; len];
        r[16..18].copy_from_slice(&(len as u16).to_ne_bytes());
        r[19..19 + name.len()].copy_from_slice(name.as_bytes());
        r
    }

    #[test]
    fn records_are_walked_and_only_numbers_kept() {
        let records: Vec<u8> = [".", "..", "1", "self", "4194304", "12a", "99999999999", "7"]
            .iter()
            .flat_map(|n| record(n))
            .collect();
        let names: Vec<&[u8]> = dirent_names(&records).collect();
        assert_eq!(names.len(), 8);
        assert_eq!(names[3], b"self");
        let numbers: Vec<i32> = names.into_iter().filter_map(decimal).collect();
        assert_eq!(numbers, [1, 4194304, 7]);
        // A truncated or zero-length record ends the walk.
        assert_eq!(dirent_names(&records[..records.len() - 3]).count(), 7);
        assert_eq!(dirent_names(&[0u8; 24]).count(), 0);
    }

    #[test]
    fn proc_lists_this_process_and_its_thread() {
        let me = std::process::id() as i32;
        assert!(numbered_entries("/proc").contains(&me));
        let tid = nix::unistd::gettid().as_raw();
        assert!(numbered_entries(&format!("/proc/{me}/task")).contains(&tid));
        assert!(numbered_entries("/proc/no-such-dir").is_empty());
    }
}
