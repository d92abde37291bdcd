//! `pinns inspect`'s human text.

use super::{Inspection, ProcessInfo};
use crate::escape;
use crate::list::align;

impl Inspection {
    pub fn text(&self) -> String {
        let mut out = format!(
            "pin {} under {}\n\nnamespaces:\n",
            escape::escape_str(&self.name),
            escape::path(&self.dir)
        );
        let mut table = vec![[
            "  TYPE".to_string(),
            "INODE".into(),
            "OWNER USERNS".into(),
            "PATH".into(),
        ]];
        for ns in &self.namespaces {
            let inode = match (ns.inode, ns.host, ns.problem) {
                (Some(i), true, _) => format!("{i} (host)"),
                (Some(i), false, _) => i.to_string(),
                (None, _, Some(p)) => format!("broken: {p}"),
                (None, _, None) => ns.content.to_string(),
            };
            let owner = ns.owner_userns.map_or("-".into(), |o| o.to_string());
            table.push([
                format!("  {}", ns.kind),
                inode,
                owner,
                escape::path(&ns.path),
            ]);
        }
        out.push_str(&align(&table));
        if let Some(maps) = &self.user_maps {
            out.push_str(&format!(
                "\nuser maps (inside outside count):\n{}{}",
                indent("uid ", &maps.uid_map),
                indent("gid ", &maps.gid_map)
            ));
        }
        if let Some(uts) = &self.uts {
            out.push_str(&format!(
                "\nuts: hostname \"{}\", domainname \"{}\"\n",
                uts.hostname, uts.domainname
            ));
        }
        if let Some(ifaces) = &self.interfaces {
            out.push_str("\ninterfaces:\n");
            for i in ifaces {
                let state = if i.up { "up" } else { "down" };
                out.push_str(&format!(
                    "  {} {state} rx {} tx {} {}\n",
                    i.name,
                    i.rx_bytes,
                    i.tx_bytes,
                    i.addresses.join(" ")
                ));
            }
        }
        out.push_str(&self.processes_text());
        for w in &self.warnings {
            out.push_str(&format!("warning: {}\n", escape::one_line(w)));
        }
        out
    }

    fn processes_text(&self) -> String {
        if self.processes.is_empty() {
            return "\nprocesses: none\n".into();
        }
        let mut table = vec![[
            "  PID".to_string(),
            "CPUS".into(),
            "POLICY".into(),
            "NAMESPACES".into(),
            "COMMAND".into(),
        ]];
        for p in &self.processes {
            table.push([
                format!("  {}", p.pid),
                p.cpus_allowed.clone(),
                p.policy.clone(),
                p.namespaces
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
                command_text(p),
            ]);
            for t in &p.realtime_threads {
                table.push([
                    format!("    tid {}", t.tid),
                    t.cpus_allowed.clone(),
                    format!("{} {}", t.policy, t.priority),
                    String::new(),
                    t.comm.to_string(),
                ]);
            }
        }
        let caps: String = self
            .processes
            .iter()
            .map(|p| {
                let names = match &p.capabilities {
                    Some(c) if c.is_empty() => "none".to_string(),
                    Some(c) => c.join(","),
                    None => "unknown".to_string(),
                };
                format!("  {}  {names}\n", p.pid)
            })
            .collect();
        format!(
            "\nprocesses:\n{}\neffective capabilities:\n{caps}",
            align(&table)
        )
    }
}

/// The arguments, each escaped, joined by spaces; a process without any (a
/// zombie) shows its thread name in brackets, as `ps` does.
fn command_text(p: &ProcessInfo) -> String {
    if p.argv.is_empty() {
        return format!("[{}]", p.comm);
    }
    let args: Vec<String> = p.argv.iter().map(ToString::to_string).collect();
    args.join(" ")
}

fn indent(prefix: &str, map: &str) -> String {
    map.lines()
        .map(|l| {
            format!(
                "  {prefix}{}\n",
                l.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })
        .collect()
}
