//! `pinns cleanup`: its arguments.

use super::orphans::OrphanArgs;
use super::values::parse_duration;
use super::DEFAULT_DIR;
use clap::Args;
use std::path::PathBuf;

/// Remove a pod's pins, sweep orphaned pins and empty leaked cgroups.
///
/// `-f NAME` tears down one pod: every DIR/<type>ns/NAME that holds a namespace is unmounted
/// (MNT_DETACH) and its file removed; a second call finds nothing and succeeds.
///
/// `--orphans` removes the pins no pod uses: pins CRI-O made (a lowercase UUID name, only net,
/// ipc, uts and user pins, not in DIR/netns alone), at least --older-than old (the age of the
/// file under the mount, i.e. when it was pinned), with no task (thread) in any of the pod's
/// own namespaces, not in the keep set and not used by any sandbox the runtime knows. Empty
/// files left by a crashed pin count as orphans too. Anything else under DIR is `foreign`
/// (another tool's, e.g. `ip netns add` in /run/netns): reported, never removed.
///
/// The runtime is asked with `crictl pods`, `crictl inspectp` and `crictl ps` (--crictl,
/// --runtime-endpoint) after DIR is read and before anything is removed; if it cannot be
/// asked, the sweep fails and removes nothing, unless --no-runtime says the node runs none.
///
/// `--cgroups ROOT` removes empty cgroups below ROOT whose name carries a pod UID or a 64-hex
/// container ID neither kept nor known to the runtime: leaf first, only without processes or
/// children, at least --older-than old (directory mtime), never ROOT itself. ROOT is a cgroup
/// hierarchy (v1 or v2) or a directory holding them (/sys/fs/cgroup on v1 and hybrid nodes,
/// whose hierarchies are each swept); a hierarchy that cannot be read fails alone.
///
/// Only nsfs mounts are unmounted and only empty plain files removed; a non-empty file, a
/// foreign mount, a symlink or a directory at a pin path is reported and left alone. Each pin
/// is re-checked and removed under the lock `pin` takes on DIR, so a pod pinned during a sweep
/// is never removed. Ends with a summary line; exits 1 if any item failed.
#[derive(Debug, Args, Clone)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["filename", "orphans", "cgroups"])))]
pub struct CleanupArgs {
    /// Directory the pins are under (DIR/<type>ns/NAME; CRI-O's namespaces_dir)
    #[arg(short = 'd', long = "dir", value_name = "DIR", default_value = DEFAULT_DIR)]
    pub dir: PathBuf,

    /// Remove every pin of this name, whether or not processes still use it
    #[arg(
        short = 'f',
        long = "filename",
        value_name = "NAME",
        conflicts_with = "interval"
    )]
    pub filename: Option<String>,

    /// Remove orphaned pins under DIR
    #[arg(long)]
    pub orphans: bool,

    /// Remove empty leaked pod/container cgroups below ROOT (repeatable)
    #[arg(long = "cgroups", value_name = "ROOT")]
    pub cgroups: Vec<PathBuf>,

    #[command(flatten)]
    pub orphan: OrphanArgs,

    /// Report what would be removed; remove nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Print the report as one JSON object per sweep
    #[arg(long)]
    pub json: bool,

    /// Sweep again every DURATION until SIGINT or SIGTERM (then exit 0 after the current sweep)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub interval: Option<std::time::Duration>,

    /// After each sweep, write its figures to PATH as a node_exporter textfile
    /// (replaced atomically; end the name in .prom)
    #[arg(long = "metrics-file", value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
}
