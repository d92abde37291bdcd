//! Pure decisions of `list` and `cleanup`: the state of a pin from the facts
//! gathered about it, and the pod or container IDs carried by a cgroup name.
//! No I/O here, so every rule is unit- and property-tested without root.

use crate::ns::NsKind;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

/// What `list` shows and what `cleanup --orphans` acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinState {
    /// At least one process lives in one of the pod's own namespaces.
    InUse,
    /// Nobody lives in it, but it is young, kept, or of unknown age.
    Idle,
    /// Old, unused and not kept: `cleanup --orphans` removes it.
    Orphan,
    /// A pin path holds something we did not put there (a non-empty file, a
    /// foreign mount, a symlink, a directory): reported, never removed.
    Broken,
    /// Not a pin CRI-O made (see [`not_crio_pin`]): another tool's, such as
    /// `ip netns add NAME` in the shared `DIR/netns`. Reported, never swept.
    Foreign,
}

impl fmt::Display for PinState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PinState::InUse => "in use",
            PinState::Idle => "idle",
            PinState::Orphan => "orphan",
            PinState::Broken => "broken",
            PinState::Foreign => "foreign",
        })
    }
}

/// Everything the state of one pin name depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PinFacts {
    /// Pin paths holding something that is not ours.
    pub broken: usize,
    /// Pinned namespaces that are not the host's (PID 1's).
    pub own_namespaces: usize,
    /// Pinned namespaces that are the host's (`--net=host` and the like).
    pub host_namespaces: usize,
    /// Empty plain files a crashed pin left behind.
    pub leftovers: usize,
    /// Processes living in the pod's own namespaces.
    pub processes: usize,
    /// Age of the youngest pin path; `None` when it could not be read.
    pub age: Option<Duration>,
    /// Named by `--keep` or `--keep-file`.
    pub kept: bool,
    /// What the container runtime said about the pin's name.
    pub runtime: RuntimeSays,
    /// Why the pin is not one CRI-O made; `None` when it looks like one.
    pub foreign: Option<&'static str>,
}

/// The runtime's answer about one pin name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuntimeSays {
    /// A sandbox the runtime knows uses it (or carries its name as ID/UID).
    Known,
    /// The runtime was asked and knows no such pod, or the node has no
    /// runtime (`--no-runtime`).
    Unknown,
    /// The runtime could not be asked: nothing may be judged an orphan.
    #[default]
    NotAsked,
}

/// Why a pin is not one CRI-O made, or `None` if it looks like one. The rule:
/// - its name is a bare canonical lowercase UUID, 8-4-4-4-12 hex digits
///   (CRI-O names a pod's pins with a fresh UUID; `ip netns` names,
///   OpenStack's `qrouter-<uuid>`, containerd's `cni-<uuid>`, an uppercase
///   UUID are not that);
/// - every type pinned under it is one CRI-O pins (net, ipc, uts, user);
/// - it has an entry outside `DIR/netns`: `DIR/netns` is `/run/netns` under
///   the default `namespaces_dir`, shared with `ip netns add`, so a name
///   found there alone could be anyone's.
pub fn not_crio_pin(name: &str, kinds: &[NsKind]) -> Option<&'static str> {
    if !is_lowercase_uuid(name) {
        return Some("name is not a lowercase UUID as CRI-O gives its pins");
    }
    if kinds.iter().any(|k| !k.crio_pins()) {
        return Some(never_pinned_by_crio());
    }
    if kinds.iter().all(|k| *k == NsKind::Net) {
        return Some("only in DIR/netns, which ip netns shares: could be another tool's");
    }
    None
}

/// "pins a type CRI-O never pins (cgroup or mnt)", the types from the table.
fn never_pinned_by_crio() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let never: Vec<&str> = NsKind::pinnable()
            .filter(|k| !k.crio_pins())
            .map(NsKind::proc_name)
            .collect();
        format!("pins a type CRI-O never pins ({})", never.join(" or "))
    })
}

/// Exactly 36 characters: lowercase hex groups of 8, 4, 4, 4 and 12 digits
/// joined by `-`.
pub fn is_lowercase_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        })
}

/// The rules deciding when a pin is an orphan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrphanRules {
    pub older_than: Duration,
}

/// Applies the rules in order: foreign, broken, in use, kept, known to the
/// runtime (or the runtime not asked), too young (or age unknown),
/// host-only, and only then orphan. Anything uncertain is idle, so a doubt
/// never removes a pin.
pub fn classify_pin(facts: &PinFacts, rules: &OrphanRules) -> PinState {
    if facts.foreign.is_some() {
        return PinState::Foreign;
    }
    if facts.broken > 0 {
        return PinState::Broken;
    }
    if facts.processes > 0 {
        return PinState::InUse;
    }
    if facts.kept || facts.runtime != RuntimeSays::Unknown {
        return PinState::Idle;
    }
    match facts.age {
        Some(age) if age >= rules.older_than => {}
        _ => return PinState::Idle,
    }
    // Every process of the node lives in the host's namespaces, so they say
    // nothing about whether a pod is alive. A pin of host namespaces only
    // cannot be judged by processes: it is left to `cleanup -f NAME`.
    if facts.own_namespaces == 0 && facts.host_namespaces > 0 {
        return PinState::Idle;
    }
    PinState::Orphan
}

/// Pod UIDs and container/sandbox IDs found in a cgroup directory name, in a
/// canonical form (lowercase; UUIDs with dashes). Recognised: UUIDs written
/// with `-` or with systemd's escaped `_` (`kubepods-burstable-pod1b2c..._..._...slice`)
/// and 64-hex IDs (`crio-<64hex>.scope`, `cri-containerd-<64hex>.scope`, `<64hex>`).
pub fn ids_in_cgroup_name(name: &str) -> BTreeSet<String> {
    let bytes = name.as_bytes();
    let mut ids = BTreeSet::new();
    let mut i = 0;
    while i < bytes.len() {
        // A UUID may follow a hex letter (`pod` ends in `d`); a 64-hex ID
        // must be a whole run of hex digits.
        let run_start = i == 0 || !bytes[i - 1].is_ascii_hexdigit();
        if let Some(uuid) = uuid_at(&bytes[i..]) {
            i += 36;
            ids.insert(uuid);
        } else if let Some(hex) = hex64_at(&bytes[i..]).filter(|_| run_start) {
            i += 64;
            ids.insert(hex);
        } else {
            i += 1;
        }
    }
    ids
}

/// A UUID (8-4-4-4-12 hex digits, `-` or `_` between groups) starting at the
/// beginning of `s` and not followed by another hex digit.
fn uuid_at(s: &[u8]) -> Option<String> {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    if s.len() < 36 || s.get(36).is_some_and(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut out = String::with_capacity(36);
    let mut pos = 0;
    for (g, len) in GROUPS.iter().enumerate() {
        if g > 0 {
            if !matches!(s[pos], b'-' | b'_') {
                return None;
            }
            out.push('-');
            pos += 1;
        }
        let group = &s[pos..pos + len];
        if !group.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        out.extend(group.iter().map(|b| b.to_ascii_lowercase() as char));
        pos += len;
    }
    Some(out)
}

/// Exactly 64 hex digits starting at the beginning of `s`.
fn hex64_at(s: &[u8]) -> Option<String> {
    let run = s.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    (run == 64).then(|| String::from_utf8_lossy(&s[..64]).to_ascii_lowercase())
}

/// Canonical form of a keep-set entry, so `--keep` matches what
/// [`ids_in_cgroup_name`] finds: lowercase, `_` in a UUID turned into `-`.
pub fn canonical_id(id: &str) -> String {
    match uuid_at(id.as_bytes()) {
        Some(uuid) if id.len() == 36 => uuid,
        _ => id.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIN: Duration = Duration::from_secs(60);

    fn rules() -> OrphanRules {
        OrphanRules { older_than: MIN }
    }

    fn idle_old() -> PinFacts {
        PinFacts {
            own_namespaces: 3,
            age: Some(MIN * 2),
            runtime: RuntimeSays::Unknown,
            ..PinFacts::default()
        }
    }

    #[test]
    fn old_idle_unkept_pin_is_an_orphan() {
        assert_eq!(classify_pin(&idle_old(), &rules()), PinState::Orphan);
        // Exactly at the threshold counts as old (--older-than 0s sweeps all).
        let at = PinFacts {
            age: Some(MIN),
            ..idle_old()
        };
        assert_eq!(classify_pin(&at, &rules()), PinState::Orphan);
    }

    #[test]
    fn each_rule_protects() {
        let r = rules();
        let f = |change: fn(&mut PinFacts)| {
            let mut facts = idle_old();
            change(&mut facts);
            classify_pin(&facts, &r)
        };
        assert_eq!(f(|f| f.processes = 1), PinState::InUse);
        assert_eq!(f(|f| f.kept = true), PinState::Idle);
        assert_eq!(f(|f| f.runtime = RuntimeSays::Known), PinState::Idle);
        assert_eq!(f(|f| f.runtime = RuntimeSays::NotAsked), PinState::Idle);
        assert_eq!(f(|f| f.foreign = Some("x")), PinState::Foreign);
        assert_eq!(
            f(|f| {
                f.foreign = Some("x");
                f.broken = 1;
                f.processes = 2
            }),
            PinState::Foreign
        );
        assert_eq!(f(|f| f.age = Some(Duration::from_secs(59))), PinState::Idle);
        assert_eq!(f(|f| f.age = None), PinState::Idle);
        assert_eq!(f(|f| f.broken = 1), PinState::Broken);
        assert_eq!(
            f(|f| {
                f.processes = 4;
                f.broken = 1
            }),
            PinState::Broken
        );
        assert_eq!(
            f(|f| {
                f.own_namespaces = 0;
                f.host_namespaces = 1
            }),
            PinState::Idle
        );
    }

    #[test]
    fn leftover_files_alone_are_orphans_when_old() {
        let facts = PinFacts {
            leftovers: 2,
            age: Some(MIN),
            runtime: RuntimeSays::Unknown,
            ..PinFacts::default()
        };
        assert_eq!(classify_pin(&facts, &rules()), PinState::Orphan);
        let young = PinFacts {
            age: Some(Duration::ZERO),
            ..facts
        };
        assert_eq!(classify_pin(&young, &rules()), PinState::Idle);
    }

    #[test]
    fn crio_pins_by_name_and_types() {
        use NsKind::*;
        let uuid = "47989609-ad0a-4377-93b6-6619d5c81755";
        assert_eq!(not_crio_pin(uuid, &[Net, Ipc, Uts]), None);
        assert_eq!(not_crio_pin(uuid, &[User, Ipc, Uts, Net]), None);
        let never = Some("pins a type CRI-O never pins (cgroup or mnt)");
        assert_eq!(not_crio_pin(uuid, &[Net, Mnt]), never);
        // What CRI-O leaves when a teardown or a pin stopped half way.
        assert_eq!(not_crio_pin(uuid, &[Ipc]), None);
        assert_eq!(not_crio_pin(uuid, &[User]), None);
        for kinds in [&[Net][..], &[Net, Cgroup], &[Mnt, Ipc]] {
            assert!(not_crio_pin(uuid, kinds).is_some(), "{kinds:?}");
        }
        for name in [
            "47989609-AD0A-4377-93B6-6619D5C81755",
            "qrouter-47989609-ad0a-4377-93b6-6619d5c81755",
            "cni-47989609-ad0a-4377-93b6-6619d5c81755",
            "47989609ad0a437793b66619d5c81755",
            "47989609_ad0a_4377_93b6_6619d5c81755",
            "47989609-ad0a-4377-93b6-6619d5c817550",
            "47989609-ad0a-4377-93b6-6619d5c8175g",
            "vrf-blue",
            "mnt",
        ] {
            assert!(not_crio_pin(name, &[Net, Ipc, Uts]).is_some(), "{name}");
        }
    }

    const HEX64: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const UUID: &str = "8c3f2b1e-4d5a-4f6b-9c7d-0e1f2a3b4c5d";

    fn ids(name: &str) -> Vec<String> {
        ids_in_cgroup_name(name).into_iter().collect()
    }

    #[test]
    fn finds_kubernetes_and_runtime_ids() {
        assert_eq!(ids(&format!("pod{UUID}")), vec![UUID]);
        assert_eq!(
            ids("kubepods-burstable-pod8c3f2b1e_4d5a_4f6b_9c7d_0E1F2A3B4C5D.slice"),
            vec![UUID]
        );
        assert_eq!(ids(&format!("crio-{HEX64}.scope")), vec![HEX64]);
        assert_eq!(ids(&format!("crio-conmon-{HEX64}.scope")), vec![HEX64]);
        assert_eq!(ids(&HEX64.to_uppercase()), vec![HEX64]);
        assert_eq!(ids(&format!("x{HEX64}")), vec![HEX64]);
        assert_eq!(ids(&format!("{UUID}-{HEX64}")), vec![HEX64, UUID]);
    }

    #[test]
    fn ignores_names_without_an_id() {
        for name in [
            "kubepods",
            "kubepods-burstable.slice",
            "system.slice",
            "user-1000.slice",
            "init.scope",
            &HEX64[..63],
            &format!("{HEX64}0"),
            &format!("a{HEX64}"),
            &UUID[..35],
            &format!("{UUID}0"),
            "8c3f2b1e-4d5a-4f6b-9c7d_0e1f2a3b4c5", // short last group
        ] {
            assert!(ids(name).is_empty(), "{name:?} gave {:?}", ids(name));
        }
    }

    #[test]
    fn canonical_ids_match_cgroup_names() {
        assert_eq!(canonical_id(&UUID.to_uppercase()), UUID);
        assert_eq!(canonical_id(&UUID.replace('-', "_")), UUID);
        assert_eq!(canonical_id(&HEX64.to_uppercase()), HEX64);
        assert_eq!(canonical_id("some-pin-name"), "some-pin-name");
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = ids_in_cgroup_name(&s);
            let _ = canonical_id(&s);
        }

        #[test]
        fn only_canonical_lowercase_uuids_are_crio_names(s in "[0-9a-fA-F_-]{30,40}") {
            let canonical = s.len() == 36
                && s.split('-').map(str::len).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
                && !s.chars().any(|c| c.is_ascii_uppercase() || c == '_');
            prop_assert_eq!(is_lowercase_uuid(&s), canonical);
        }

        #[test]
        fn an_embedded_uuid_is_found(
            prefix in "[g-z.-]{0,12}",
            suffix in "[g-z.-]{0,12}",
            u in proptest::array::uniform16(any::<u8>()),
            sep in prop_oneof![Just('-'), Just('_')],
        ) {
            let hex: String = u.iter().map(|b| format!("{b:02x}")).collect();
            let uuid = format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]);
            let name = format!("{prefix}{}{suffix}", uuid.replace('-', &sep.to_string()));
            prop_assert!(ids_in_cgroup_name(&name).contains(&uuid));
        }

        #[test]
        fn state_never_orphans_a_used_or_kept_pin(
            broken in 0usize..2, own in 0usize..4, host in 0usize..3, left in 0usize..3,
            procs in 0usize..3, age in proptest::option::of(0u64..200), kept: bool, limit in 0u64..200,
            runtime in prop_oneof![Just(RuntimeSays::Known), Just(RuntimeSays::Unknown), Just(RuntimeSays::NotAsked)],
            foreign: bool,
        ) {
            let facts = PinFacts {
                broken, own_namespaces: own, host_namespaces: host, leftovers: left,
                processes: procs, age: age.map(Duration::from_secs), kept, runtime,
                foreign: foreign.then_some("not ours"),
            };
            let state = classify_pin(&facts, &OrphanRules { older_than: Duration::from_secs(limit) });
            prop_assert_eq!(state == PinState::Foreign, foreign);
            if state == PinState::Orphan {
                prop_assert!(broken == 0 && procs == 0 && !kept && !foreign);
                prop_assert_eq!(runtime, RuntimeSays::Unknown);
                prop_assert!(age.is_some_and(|a| a >= limit));
                prop_assert!(own > 0 || host == 0);
            }
        }
    }
}
