//! Pod sysctls: parsing `KEY=VALUE` (and the one-argument form of CRI-O
//! 1.20-1.23), deciding which namespace a key lives in (the table in
//! [`scope`]), and fitting values to a new user namespace.
//!
//! Only keys that are namespaced by the kernel are accepted, and only when
//! the namespace they live in is created by this very call: anything else
//! would change the host. Everything here is pure; the writes are in
//! [`crate::sysctl_write`].

pub(crate) mod scope;

use crate::idmap::IdMap;
use crate::ns::NsKind;
use scope::Scope;
use std::fmt;
use std::path::PathBuf;

/// Longest value: the kernel reads at most a page minus one byte of a write
/// to a sysctl file and silently drops the rest; 4 KiB is the smallest page.
const VALUE_MAX: usize = 4095;
/// `__NEW_UTS_LEN`: the kernel's limit for hostname and domainname.
const UTS_MAX: usize = 64;
/// `net.ipv4.ping_group_range`'s "every group", as OpenShift's
/// `default_sysctls` give it (the kernel's largest gid there is 2^31-1).
const PING_ALL_GROUPS: [u32; 2] = [0, 2_147_483_647];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SysctlError {
    #[error("sysctl {0:?} must be KEY=VALUE")]
    NoEquals(String),
    #[error("sysctl {0:?} has an empty key")]
    EmptyKey(String),
    #[error("sysctl {0} has an empty value")]
    EmptyValue(String),
    #[error("sysctl key {0:?} is malformed: {1}")]
    BadKey(String, &'static str),
    #[error("sysctl {0} value contains {1}, which no sysctl value can hold")]
    BadValue(String, &'static str),
    #[error("sysctl {0} value is {1} bytes long; the limit is {2}")]
    ValueTooLong(String, usize, usize),
    #[error("sysctl {0} is not namespaced: setting it would change the host")]
    NotNamespaced(String),
    #[error("sysctl {0} is read-only")]
    ReadOnly(String),
    #[error("sysctl {key} belongs to network interface {interface:?}, which a new network namespace does not have (only lo)")]
    NoSuchInterface { key: String, interface: String },
    #[error("sysctl {0} does not exist in a network namespace owned by a new user namespace (the kernel shows it only to the host's user namespace)")]
    HiddenFromUserNamespace(String),
    #[error("sysctl {key} lives in the {ns} namespace, which this call does not create (add --{ns}, without =host)")]
    NamespaceNotCreated { key: String, ns: NsKind },
    #[error("sysctl {0} is given twice with different values")]
    Conflict(String),
    /// Found only when written: the lookup happens inside the new namespace
    /// (a key of the initial namespace only is as absent there as a typo).
    #[error("sysctl {key} does not exist in a new {ns} namespace on this kernel")]
    Unknown { key: String, ns: NsKind },
    #[error(
        "sysctl argument {0:?} starts with a quote but is not CRI-O's 'KEY=VALUE'+'KEY=VALUE' form"
    )]
    BadQuotedList(String),
    #[error("sysctl net.ipv4.ping_group_range={range:?}: {why} in the pod's user namespace (gid mapping {map})")]
    PingGroupRange {
        range: String,
        why: &'static str,
        map: String,
    },
}

/// Where a value goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `sethostname(2)`: the kernel lets a process with CAP_SYS_ADMIN over
    /// the UTS namespace call it, but only the host's root may write the
    /// proc file, which a process inside a user namespace is not.
    Hostname,
    /// `setdomainname(2)`, for the same reason.
    Domainname,
    /// A file below `/proc/sys`, as a relative path.
    File(PathBuf),
}

/// A parsed, namespace-checked `KEY=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysctl {
    components: Vec<String>,
    value: String,
    ns: NsKind,
    /// Registered only in network namespaces of the initial user namespace.
    initial_user_only: bool,
}

impl Sysctl {
    /// Parses `KEY=VALUE`. Keys use `.` or `/` as separator; when a key
    /// contains `/`, dots are part of a component (`net/ipv4/conf/eth0.100/forwarding`).
    /// Blanks around key and value are dropped (as sysctl(8) does); blanks
    /// inside the value are kept exactly (`20000<TAB>40000`).
    pub fn parse(spec: &str) -> Result<Sysctl, SysctlError> {
        let (key, value) = spec
            .split_once('=')
            .ok_or_else(|| SysctlError::NoEquals(spec.to_string()))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(SysctlError::EmptyKey(spec.to_string()));
        }
        let components = split_key(key)?;
        let display = join_display(&components);
        let scope = scope::scope_of(&components);
        let ns = match scope {
            Some(Scope::Ns(ns)) => ns,
            Some(Scope::NetInitialUser) => NsKind::Net,
            Some(Scope::ReadOnly) => return Err(SysctlError::ReadOnly(display)),
            Some(Scope::Interface) => {
                return Err(SysctlError::NoSuchInterface {
                    interface: components[3].clone(),
                    key: display,
                })
            }
            Some(Scope::Host) | None => return Err(SysctlError::NotNamespaced(display)),
        };
        let value = check_value(&display, value)?;
        let limit = if ns == NsKind::Uts {
            UTS_MAX
        } else {
            VALUE_MAX
        };
        if value.len() > limit {
            return Err(SysctlError::ValueTooLong(display, value.len(), limit));
        }
        Ok(Sysctl {
            components,
            value: value.to_string(),
            ns,
            initial_user_only: scope == Some(Scope::NetInitialUser),
        })
    }

    /// The namespace the key lives in.
    pub fn namespace(&self) -> NsKind {
        self.ns
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    /// The key as the user would write it (dots, or slashes when a
    /// component holds a dot).
    pub fn key(&self) -> String {
        join_display(&self.components)
    }

    /// Where the value is written.
    pub fn target(&self) -> Target {
        match (self.ns, self.components[1].as_str()) {
            (NsKind::Uts, "hostname") => Target::Hostname,
            (NsKind::Uts, _) => Target::Domainname,
            _ => Target::File(self.components.iter().collect()),
        }
    }

    fn is(&self, key: [&str; 3]) -> bool {
        self.components.iter().map(String::as_str).eq(key)
    }
}

impl fmt::Display for Sysctl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key(), self.value)
    }
}

/// Blanks the kernel's number parser skips between and around values
/// (`isspace` but the newline, which ends a string value).
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\x0b' | '\x0c')
}

fn check_value<'a>(key: &str, value: &'a str) -> Result<&'a str, SysctlError> {
    let value = value.trim_matches(is_blank);
    if value.is_empty() {
        return Err(SysctlError::EmptyValue(key.to_string()));
    }
    let bad = |what| Err(SysctlError::BadValue(key.to_string(), what));
    if value.contains('\0') {
        return bad("a NUL byte");
    }
    if value.contains('\n') {
        return bad("a newline");
    }
    if value.chars().any(|c| c.is_control() && !is_blank(c)) {
        return bad("a control character");
    }
    Ok(value)
}

fn split_key(key: &str) -> Result<Vec<String>, SysctlError> {
    let sep = if key.contains('/') { '/' } else { '.' };
    let components: Vec<String> = key.split(sep).map(str::to_string).collect();
    for c in &components {
        let reason = if c.is_empty() {
            Some("empty component")
        } else if c == "." || c == ".." {
            Some("'.' or '..' component")
        } else if c.chars().any(|ch| ch.is_control() || ch.is_whitespace()) {
            Some("control character or space")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(SysctlError::BadKey(key.to_string(), reason));
        }
    }
    if components.len() < 2 {
        return Err(SysctlError::BadKey(
            key.to_string(),
            "a key has at least two components",
        ));
    }
    Ok(components)
}

fn join_display(components: &[String]) -> String {
    let sep = if components.iter().any(|c| c.contains('.')) {
        "/"
    } else {
        "."
    };
    components.join(sep)
}

/// The items of CRI-O 1.20-1.23's single `-s` argument: every `KEY=VALUE`
/// in single quotes, joined by `+` (`'k1=v1'+'k2=v2'`). Those versions put
/// no quote or `+` inside an item (their helper split on `+`), so neither
/// is accepted here.
fn quoted_items(arg: &str) -> Result<Vec<&str>, SysctlError> {
    let refuse = || SysctlError::BadQuotedList(arg.to_string());
    let inner = arg
        .strip_prefix('\'')
        .and_then(|a| a.strip_suffix('\''))
        .ok_or_else(refuse)?;
    let items: Vec<&str> = inner.split("'+'").collect();
    if items
        .iter()
        .any(|i| i.is_empty() || i.contains('\'') || i.contains('+'))
    {
        return Err(refuse());
    }
    Ok(items)
}

/// Parses every `-s` argument, drops exact repeats, and refuses a key given
/// twice with different values. O(n log n): a sort brings repeats together
/// (no hashing, so no random seed to draw for the usual two or three keys).
pub fn parse_all<S: AsRef<str>>(specs: &[S]) -> Result<Vec<Sysctl>, SysctlError> {
    let mut all: Vec<Sysctl> = Vec::with_capacity(specs.len());
    for spec in specs {
        let spec = spec.as_ref();
        if spec.starts_with('\'') {
            for item in quoted_items(spec)? {
                all.push(Sysctl::parse(item)?);
            }
        } else {
            all.push(Sysctl::parse(spec)?);
        }
    }
    // A stable sort keeps repeats in command-line order: the first stays.
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&a, &b| all[a].components.cmp(&all[b].components));
    let mut repeat = vec![false; all.len()];
    for pair in order.windows(2) {
        let (first, again) = (&all[pair[0]], &all[pair[1]]);
        if first.components == again.components {
            if first.value != again.value {
                return Err(SysctlError::Conflict(again.key()));
            }
            repeat[pair[1]] = true;
        }
    }
    let mut repeat = repeat.into_iter();
    all.retain(|_| !repeat.next().unwrap_or(false));
    Ok(all)
}

/// Adjusts the sysctls of a call that creates a user namespace with this
/// gid mapping, or refuses what the kernel would refuse there.
///
/// `net.ipv4.ping_group_range` is read in the writer's user namespace and
/// both ends must be mapped gids. Its "every group" value is narrowed to
/// `0 <highest mapped gid>`, as CRI-O 1.31 and later do before calling the
/// helper; any other range must already be expressible.
pub fn fit_to_user_namespace(sysctls: &mut [Sysctl], gids: &IdMap) -> Result<(), SysctlError> {
    for s in sysctls.iter_mut() {
        if s.initial_user_only {
            return Err(SysctlError::HiddenFromUserNamespace(s.key()));
        }
        if s.is(["net", "ipv4", "ping_group_range"]) {
            s.value = fit_ping_range(&s.value, gids)?;
        }
    }
    Ok(())
}

fn fit_ping_range(value: &str, gids: &IdMap) -> Result<String, SysctlError> {
    let refuse = |why| SysctlError::PingGroupRange {
        range: value.to_string(),
        why,
        map: gids.to_string(),
    };
    let ends: Vec<u32> = value
        .split(is_blank)
        .filter(|w| !w.is_empty())
        .map(|w| w.parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| refuse("not two group ids"))?;
    let [low, high] = ends[..] else {
        return Err(refuse("not two group ids"));
    };
    let narrowed = [low, high] == PING_ALL_GROUPS;
    let [low, high] = if narrowed {
        [0, gids.highest_container_id()]
    } else {
        [low, high]
    };
    if !gids.maps_container_id(low) || !gids.maps_container_id(high) {
        return Err(refuse("an end of the range is not a mapped group"));
    }
    Ok(if narrowed {
        format!("{low} {high}")
    } else {
        value.to_string()
    })
}

#[cfg(test)]
mod tests;
