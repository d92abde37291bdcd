//! Lines pinns writes to stderr: `[pinns:e] ...` for the one error of a
//! failed command, `[pinns:i] ...` for what `enter --verbose` tells.
//!
//! Each is one printable line (see `crate::escape::one_line`). When stderr is
//! the systemd journal, the line starts with its syslog priority (`<3>` for an
//! error, `<6>` for information), which journald takes as the entry's
//! priority, so `journalctl -p err` finds pinns' errors. systemd says so by
//! setting `JOURNAL_STREAM=<dev>:<inode>` to the identity of the stream it
//! connected to stderr; an environment variable alone proves nothing, since
//! children inherit it: CRI-O, itself a unit logging to the journal, runs the
//! pin form with stderr on a pipe it reads, and that pipe is not the stream
//! `JOURNAL_STREAM` names, so CRI-O keeps seeing the plain `[pinns:e]` line.
//! The human reports of `list` and `cleanup` on stdout get the same
//! treatment when stdout is the journal: warnings `<4>`, failed items `<3>`.

use std::ffi::OsStr;
use std::io::Write;
use std::os::fd::AsFd;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Info,
}

impl Level {
    fn tag(self) -> &'static str {
        match self {
            Level::Error => "[pinns:e]",
            Level::Info => "[pinns:i]",
        }
    }

    /// syslog(3) priority: LOG_ERR, LOG_INFO.
    fn priority(self) -> u8 {
        match self {
            Level::Error => 3,
            Level::Info => 6,
        }
    }
}

/// Whether `JOURNAL_STREAM` (`<dev>:<inode>`, decimal) names the stream
/// whose identity is `stderr`.
pub fn is_journal(journal_stream: Option<&OsStr>, stderr: Option<(u64, u64)>) -> bool {
    let (Some(value), Some(stderr)) = (journal_stream.and_then(OsStr::to_str), stderr) else {
        return false;
    };
    let Some((dev, ino)) = value.split_once(':') else {
        return false;
    };
    matches!((dev.parse(), ino.parse()), (Ok(d), Ok(i)) if (d, i) == stderr)
}

/// The line for `message` at `level`, without its newline.
pub fn format_line(level: Level, message: &str, journal: bool) -> String {
    let line = format!("{} {}", level.tag(), crate::escape::one_line(message));
    if journal {
        format!("<{}>{line}", level.priority())
    } else {
        line
    }
}

fn is_journal_fd(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    use crate::sys::files::{fd_path, stat_fd};
    let id = stat_fd(fd, &fd_path(fd))
        .ok()
        .map(|st| (st.st_dev, st.st_ino));
    is_journal(std::env::var_os("JOURNAL_STREAM").as_deref(), id)
}

fn stderr_is_journal() -> bool {
    is_journal_fd(std::io::stderr().as_fd())
}

/// Whether stdout is the journal (a unit with `StandardOutput=journal`).
pub fn stdout_is_journal() -> bool {
    is_journal_fd(std::io::stdout().as_fd())
}

/// The human report of `list` or `cleanup` as journal lines: a warning gets
/// `<4>`, a failed item `<3>`, so `journalctl -p warning` finds both; other
/// lines keep the unit's default priority.
pub fn journal_priorities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if line.starts_with("warning: ") {
            out.push_str("<4>");
        } else if line.starts_with("failed ") {
            out.push_str("<3>");
        }
        out.push_str(line);
    }
    out
}

/// Writes one line to stderr, in one write (lines of concurrent pinns
/// processes on one pipe do not interleave).
pub fn line(level: Level, message: &str) {
    let mut text = format_line(level, message, stderr_is_journal());
    text.push('\n');
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

pub fn error(message: &str) {
    line(Level::Error, message)
}

pub fn info(message: &str) {
    line(Level::Info, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_only_when_the_stream_is_stderr() {
        let v = |s: &str| Some(OsStr::new(s).to_owned());
        assert!(is_journal(v("25:1234").as_deref(), Some((25, 1234))));
        assert!(!is_journal(v("25:1234").as_deref(), Some((25, 1235))));
        assert!(!is_journal(v("25:1234").as_deref(), None));
        assert!(!is_journal(None, Some((25, 1234))));
        for bad in ["", "25", "25:", ":1234", "x:1", "25:1234:1", " 25:1234"] {
            assert!(!is_journal(v(bad).as_deref(), Some((25, 1234))), "{bad:?}");
        }
    }

    #[test]
    fn report_lines_get_priorities() {
        let text = "warning: x is a symlink\nremoved pin a (net): orphan\nfailed pin b (net): EBUSY\ncleanup: found 2\n";
        assert_eq!(
            journal_priorities(text),
            "<4>warning: x is a symlink\nremoved pin a (net): orphan\n<3>failed pin b (net): EBUSY\ncleanup: found 2\n"
        );
    }

    #[test]
    fn lines_are_tagged_and_single() {
        assert_eq!(
            format_line(Level::Error, "open x: EPERM", false),
            "[pinns:e] open x: EPERM"
        );
        assert_eq!(
            format_line(Level::Error, "a\nb", true),
            "<3>[pinns:e] a\\nb"
        );
        assert_eq!(
            format_line(Level::Info, "cpus 0", true),
            "<6>[pinns:i] cpus 0"
        );
    }
}
