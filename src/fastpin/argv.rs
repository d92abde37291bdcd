//! The command lines the fast path takes: CRI-O's usual pod, `-d DIR -f
//! NAME [-s KEY=VALUE]... --ipc --net --uts` (any of the three, each a new
//! namespace), spelled as `cli::crio_form` reads it. Everything else, and
//! anything in doubt, is `None`: the whole program runs as usual and has the
//! final word, the error messages included.
//!
//! So what is taken here is a subset of what the full path takes, with the
//! same meaning; `tests::the_fast_plan_is_the_full_plan` holds the two to
//! it. Stricter on purpose: DIR must be absolute, a pin name and a key
//! printable ASCII, a value printable ASCII with inner blanks only, no key
//! twice, no `/` form or CRI-O 1.20's quoted list, no user namespace.

use crate::bytes::{self, text};
use crate::ns::NsKind;
use crate::sys::bytes::CStrings;
use crate::sysctl::scope::{self, Scope};

/// The namespaces the fast path creates, in creation order (`NsKind`'s).
pub const KINDS: [NsKind; 3] = [NsKind::Ipc, NsKind::Uts, NsKind::Net];
/// Places in [`KINDS`] of the kinds that hold sysctls written through
/// `/proc/sys`.
pub const IPC: usize = 0;
pub const NET: usize = 2;

/// Longest DIR taken (it is opened as given).
const DIR_MAX: usize = 1024;
/// Longest key taken (`/proc/sys/` and the key fit a 256-byte path).
const KEY_MAX: usize = 200;
/// The full path's limit on a value (`sysctl`'s VALUE_MAX).
const VALUE_MAX: usize = 4095;
/// More keys than this go to the full path (repeats are found pairwise).
const SYSCTLS_MAX: usize = 32;

/// The command line, as the kernel laid it out: argv[0] first.
pub type Args<'a> = CStrings<'a>;

fn options(args: Args<'_>) -> Options<'_> {
    Options { args, next: 1 }
}

/// One recognised option; values keep their NUL.
enum Opt<'a> {
    Dir(&'a [u8]),
    Name(&'a [u8]),
    Sysctl(&'a [u8]),
    New(usize),
    /// Not in the fast path's subset.
    Other,
}

struct Options<'a> {
    args: Args<'a>,
    next: usize,
}

impl<'a> Iterator for Options<'a> {
    type Item = Opt<'a>;

    // Inlined, so that each option goes straight to its arm: a call would
    // return the enum and `parse`'s match on it become a jump table, an
    // indirect jump `check-fast-path.py` cannot follow.
    #[inline(always)]
    fn next(&mut self) -> Option<Opt<'a>> {
        let arg = self.args.get(self.next)?;
        self.next += 1;
        let (flag, attached) = match bytes::split_once(arg, b'=') {
            Some((flag, value)) => (flag, Some(value)),
            None => (text(arg), None),
        };
        let is = |short: &[u8], long: &[u8]| bytes::eq(flag, short) || bytes::eq(flag, long);
        let takes_value = is(b"-d", b"--dir") || is(b"-f", b"--filename") || is(b"-s", b"--sysctl");
        if !takes_value {
            let kind = (0..KINDS.len()).find(|&k| is(short_flag(k), long_flag(k)));
            return Some(match (kind, attached) {
                (Some(k), None) => Opt::New(k),
                _ => Opt::Other,
            });
        }
        let value = match attached {
            Some(value) => value,
            None => {
                let Some(value) = self.args.get(self.next) else {
                    return Some(Opt::Other);
                };
                self.next += 1;
                value
            }
        };
        // As `crio_form`: `-d -f` is two options, an empty value none.
        if text(value).is_empty() || bytes::starts_with(value, b"-") {
            return Some(Opt::Other);
        }
        Some(if is(b"-d", b"--dir") {
            Opt::Dir(value)
        } else if is(b"-f", b"--filename") {
            Opt::Name(value)
        } else {
            Opt::Sysctl(value)
        })
    }
}

/// `-i`, `-u`, `-n`: one rodata string, no table of pointers.
fn short_flag(k: usize) -> &'static [u8] {
    b"-i-u-n".get(2 * k..2 * k + 2).unwrap_or(b"")
}

fn long_flag(k: usize) -> &'static [u8] {
    b"--ipc--uts--net".get(5 * k..5 * k + 5).unwrap_or(b"")
}

/// `ipcns`, `utsns`, `netns`, NUL-terminated.
pub fn dir_name(k: usize) -> &'static [u8] {
    b"ipcns\0utsns\0netns\0"
        .get(6 * k..6 * k + 6)
        .unwrap_or(b"\0")
}

/// `/proc/thread-self/ns/ipc` and the others, NUL-terminated.
pub fn ns_source(k: usize) -> &'static [u8] {
    const PATHS: &[u8] =
        b"/proc/thread-self/ns/ipc\0/proc/thread-self/ns/uts\0/proc/thread-self/ns/net\0";
    PATHS.get(25 * k..25 * k + 25).unwrap_or(b"\0")
}

pub fn clone_flag(k: usize) -> usize {
    match k {
        0 => 0x0800_0000,
        1 => 0x0400_0000,
        _ => 0x4000_0000,
    }
}

/// A sysctl of the plan: the key as given (dotted), its value, the kind
/// (index into [`KINDS`]) of the namespace it lives in.
pub struct Sysctl<'a> {
    pub key: &'a [u8],
    pub value: &'a [u8],
    pub kind: usize,
}

/// What the fast path does: every field checked.
pub struct Plan<'a> {
    /// NUL included, as for the kernel.
    pub dir: &'a [u8],
    pub name: &'a [u8],
    /// Bit `k` set: a new namespace of `KINDS[k]`.
    pub kinds: u8,
    args: Args<'a>,
    /// The kind of each sysctl's namespace, in command-line order: the
    /// table is read once per key.
    sysctl_kinds: [u8; SYSCTLS_MAX],
}

impl<'a> Plan<'a> {
    pub fn creates(&self, k: usize) -> bool {
        self.kinds & (1 << k) != 0
    }

    /// The sysctls in command-line order (each checked by `parse`).
    pub fn sysctls(&self) -> impl Iterator<Item = Sysctl<'a>> + '_ {
        sysctl_specs(self.args)
            .filter_map(|spec| bytes::split_once(text(spec), b'='))
            .zip(self.sysctl_kinds)
            .map(|((key, value), kind)| Sysctl {
                key,
                value,
                kind: usize::from(kind),
            })
    }

    /// Whether a key lives in a namespace of kind `k`.
    pub fn writes_into(&self, k: usize) -> bool {
        self.sysctls().any(|s| s.kind == k)
    }
}

/// The plan, if the command line is in the fast path's subset.
pub fn parse(args: Args<'_>) -> Option<Plan<'_>> {
    let (mut dir, mut name, mut kinds, mut sysctls) = (None, None, 0u8, 0usize);
    for opt in options(args) {
        match opt {
            Opt::Dir(v) if dir.is_none() => dir = Some(v),
            Opt::Name(v) if name.is_none() => name = Some(v),
            Opt::New(k) if kinds & (1 << k) == 0 => kinds |= 1 << k,
            Opt::Sysctl(_) => sysctls += 1,
            _ => return None,
        }
    }
    // Repeats are found pairwise: a long list is the full path's.
    if sysctls > SYSCTLS_MAX {
        return None;
    }
    let mut plan = Plan {
        dir: dir.filter(|d| is_dir(text(d)))?,
        name: name.filter(|n| is_name(text(n)))?,
        kinds: (kinds != 0).then_some(kinds)?,
        args,
        sysctl_kinds: [0; SYSCTLS_MAX],
    };
    for (i, spec) in sysctl_specs(args).enumerate() {
        let s = sysctl(spec)?;
        let repeated = plan.sysctls().take(i).any(|t| bytes::eq(t.key, s.key));
        if !plan.creates(s.kind) || repeated {
            return None;
        }
        *plan.sysctl_kinds.get_mut(i)? = s.kind as u8;
    }
    Some(plan)
}

fn sysctl_specs(args: Args<'_>) -> impl Iterator<Item = &[u8]> {
    options(args).filter_map(|opt| match opt {
        Opt::Sysctl(spec) => Some(spec),
        _ => None,
    })
}

/// Absolute, printable ASCII (spaces too), at most `DIR_MAX` bytes.
fn is_dir(dir: &[u8]) -> bool {
    let printable = dir.iter().all(|b| (0x20..=0x7e).contains(b));
    printable && bytes::starts_with(dir, b"/") && dir.len() <= DIR_MAX
}

/// A pin name the full path takes as it is: printable ASCII, no `/`, not
/// `.` or `..`, at most NAME_MAX bytes.
fn is_name(name: &[u8]) -> bool {
    let printable = name
        .iter()
        .all(|&b| (0x21..=0x7e).contains(&b) && b != b'/');
    printable
        && !name.is_empty()
        && name.len() <= 255
        && !bytes::eq(name, b".")
        && !bytes::eq(name, b"..")
}

/// `KEY=VALUE` with a dotted key of a new ipc or net namespace.
fn sysctl(spec: &[u8]) -> Option<Sysctl<'_>> {
    let (key, value) = bytes::split_once(text(spec), b'=')?;
    let key_chars = key
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    let components_ok = bytes::parts(key, b'.').all(|c| !c.is_empty());
    if !key_chars || !components_ok || key.len() > KEY_MAX || !is_value(value) {
        return None;
    }
    let kind = match scope::scope_of_parts(bytes::parts(key, b'.'))? {
        Scope::Ns(NsKind::Ipc) => IPC,
        Scope::Ns(NsKind::Net) | Scope::NetInitialUser => NET,
        _ => return None,
    };
    // One component is no key (and matches no row anyway).
    (bytes::parts(key, b'.').count() >= 2).then_some(Sysctl { key, value, kind })
}

/// Printable ASCII, blanks (space, tab) only inside: nothing the full path
/// would trim or refuse.
fn is_value(value: &[u8]) -> bool {
    let visible = |b: &u8| (0x21..=0x7e).contains(b);
    let inner_ok = value
        .iter()
        .all(|&b| (0x20..=0x7e).contains(&b) || b == b'\t');
    inner_ok
        && value.first().is_some_and(visible)
        && value.last().is_some_and(visible)
        && value.len() <= VALUE_MAX
}

#[cfg(test)]
#[path = "argv_tests.rs"]
mod tests;
