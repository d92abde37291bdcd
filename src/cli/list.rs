//! `pinns list` and `pinns inspect`: their arguments.

use super::orphans::OrphanArgs;
use super::DEFAULT_DIR;
use clap::Args;
use std::path::PathBuf;

/// List the pins under DIR: one row per pin name.
///
/// Columns: NAME, STATE (in use: a task of a process lives in one of the pod's own
/// namespaces; idle; orphan: what `cleanup --orphans` would remove with the same options;
/// broken: a pin path holds a non-empty file, a foreign mount, a symlink or a directory;
/// foreign: not a pin CRI-O made, never swept), AGE (since it was pinned), PROCS (processes
/// with a task in the pod's own namespaces; host namespaces pinned with =host are marked
/// "(host)" and not counted), NAMESPACES (type:inode). One scan of /proc serves every pin.
/// The runtime is asked as `cleanup` asks it; if it cannot be, a warning says so and no pin
/// is an orphan. No colour.
#[derive(Debug, Args, Clone)]
pub struct ListArgs {
    /// Directory the pins are under (CRI-O's namespaces_dir)
    #[arg(short = 'd', long = "dir", value_name = "DIR", default_value = DEFAULT_DIR)]
    pub dir: PathBuf,

    #[command(flatten)]
    pub orphan: OrphanArgs,

    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,

    /// Also write the pins by state to PATH as a node_exporter textfile
    /// (replaced atomically; end the name in .prom)
    #[arg(long = "metrics-file", value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
}

/// Show everything about one pod's pins.
///
/// Per type: the namespace inode and the inode of the user namespace owning it; the uid/gid
/// maps of a pinned user namespace; the hostname and domainname of the UTS namespace; the
/// interfaces, addresses and byte counters of the network namespace; and every process living
/// in the pod's own namespaces with its command, allowed CPUs, scheduling policy and its
/// real-time threads. What only shows from inside a namespace is read by a short-lived child
/// that joins it; pinns itself joins nothing.
#[derive(Debug, Args, Clone)]
pub struct InspectArgs {
    /// Directory the pins are under (CRI-O's namespaces_dir)
    #[arg(short = 'd', long = "dir", value_name = "DIR", default_value = DEFAULT_DIR)]
    pub dir: PathBuf,

    /// Pin name (the NAME of DIR/<type>ns/NAME)
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Print JSON
    #[arg(long)]
    pub json: bool,
}
