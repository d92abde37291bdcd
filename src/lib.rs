//! pinns: pins Linux namespaces for pods that run without an infra container.
//!
//! Layout: `cli` parses, `pin` (and one module per subcommand) decides,
//! `sys` performs syscalls; `name`, `sysctl`, `idmap` are pure parsers.

mod bytes;
mod caps;
mod classify;
mod cleanup;
pub mod cli;
mod cpuset;
mod crictl;
mod duration;
mod enter;
pub mod error;
mod escape;
pub mod fastpin;
mod idmap;
mod inspect;
mod keep;
mod list;
mod name;
mod ns;
pub mod output;
pub mod pin;
mod pindir;
mod placement;
pub mod procs;
pub mod sys;
mod sysctl;
mod sysctl_write;
mod task;

use clap::Parser;
use cli::{Cli, Command};
use error::{Error, Result};
use std::ffi::OsString;

/// Parses the command line and runs it. Errors are returned to `main`, the
/// one place that prints them.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> Result<u8> {
    let args: Vec<OsString> = args.into_iter().collect();
    if let Some(reported) = fastpin::failure::reported(&args) {
        return reported;
    }
    if args.len() <= 1 {
        // Nothing asked: say how to ask, as for any other usage error.
        use clap::CommandFactory;
        eprint!("{}", Cli::command().render_help());
        return Ok(2);
    }
    if let Some(pin) = cli::crio_form::recognise(&args) {
        return pin_command(&pin);
    }
    let pin_form = cli::is_pin_form(&args);
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            let _ = e.print();
            return Ok(0);
        }
        // CRI-O logs the pin form's output: one line says it all.
        Err(e) if pin_form => return Err(Error::Usage(cli::one_line(&e))),
        // People get clap's whole message: the usage, "did you mean", "use
        // `--` before the command".
        Err(e) => {
            let _ = cli::with_hints(e).print();
            return Ok(2);
        }
    };
    match cli.command {
        None => pin_command(&cli.pin),
        Some(Command::Pin(args)) => pin_command(&args),
        Some(Command::Enter(args)) => {
            let request = args.into_request()?;
            require("enter", caps::enter_needs(request.joins_mnt()))?;
            enter::enter(&request)
        }
        Some(Command::Cleanup(args)) => cleanup_command(&args),
        Some(Command::List(args)) => list_command(&args),
        Some(Command::Inspect(args)) => inspect_command(&args),
    }
}

fn keep_set(args: &cli::OrphanArgs) -> Result<keep::KeepSet> {
    keep::build(&keep::KeepSources {
        names: &args.keep,
        files: &args.keep_files,
    })
}

/// Whom a sweep asks which pods exist. Choosing the endpoint looks at the
/// environment and crictl's configuration, so it is done here, not in `cli`.
fn runtime(args: &cli::OrphanArgs) -> keep::RuntimeSource {
    if args.no_runtime {
        return keep::RuntimeSource::NoRuntime;
    }
    let endpoint = args.runtime_endpoint.clone();
    keep::RuntimeSource::Ask(crictl::Runtime::with_endpoint(
        args.crictl.clone(),
        endpoint,
    ))
}

/// Refuses up front, in one line naming what is missing, when this process
/// lacks a capability `needs` lists, rather than failing later with a bare
/// EPERM (or, worse, a sweep that cannot see a pod's processes). A setuid
/// or file-capability invocation is refused first, as always.
fn require(command: &str, needs: caps::Needs) -> Result<()> {
    sys::setid::refuse_setid()?;
    let have = sys::caps::current()?.effective;
    match needs.check(command, have) {
        Some(line) => Err(Error::Refused(line)),
        None => Ok(()),
    }
}

fn cleanup_command(args: &cli::CleanupArgs) -> Result<u8> {
    let pins = args.filename.is_some() || args.orphans;
    require("cleanup", caps::cleanup_needs(pins, args.orphans))?;
    let plan = cleanup::Plan {
        // DIR (by default CRI-O's) is swept only for what names pins.
        dir: (args.filename.is_some() || args.orphans).then(|| args.dir.clone()),
        name: args
            .filename
            .as_deref()
            .map(name::PinName::parse)
            .transpose()?,
        orphans: args.orphans,
        cgroup_roots: args.cgroups.clone(),
        rules: classify::OrphanRules {
            older_than: args.orphan.older_than,
        },
        keep: keep::KeepSet::default(),
        runtime: runtime(&args.orphan),
        dry_run: args.dry_run,
    };
    cleanup::preflight(&plan)?;
    let stop = match args.interval {
        Some(_) => Some(sys::signals::StopSignals::block()?),
        None => None,
    };
    loop {
        // The keep set is read afresh for each sweep: pods come and go.
        let plan = cleanup::Plan {
            keep: keep_set(&args.orphan)?,
            ..plan.clone()
        };
        let started = (std::time::SystemTime::now(), std::time::Instant::now());
        let swept = cleanup::sweep(&plan);
        let timing = cleanup::json::Timing {
            started: started.0,
            duration: started.1.elapsed(),
        };
        // A sweep that failed as a whole is worth a file too: it says so.
        // Its own error, if any, is the one reported.
        let written = write_sweep_metrics(args, swept.as_ref().ok(), timing);
        let report = match (swept, args.interval) {
            (Ok(report), _) => report,
            (Err(e), None) => return Err(e),
            // A periodic sweep outlives a runtime restart: this round
            // removed nothing, the next one asks again.
            (Err(e), Some(interval)) => {
                output::log::error(&e.to_string());
                match &stop {
                    Some(stop) if !stop.wait(interval)? => continue,
                    _ => return Ok(0),
                }
            }
        };
        written?;
        if args.json {
            let doc = cleanup::json::cleanup_doc(&report, timing);
            println!("{}", output::json::to_string(&doc, false));
        } else {
            print!("{}", for_stdout(report.text()));
        }
        let (Some(interval), Some(stop)) = (args.interval, &stop) else {
            return Ok(if report.any_failed() { 1 } else { 0 });
        };
        // Sleeps in the kernel until the next sweep is due or a stop arrives
        // (one sent during the sweep is pending and ends the wait at once).
        if stop.wait(interval)? {
            return Ok(0);
        }
    }
}

fn write_sweep_metrics(
    args: &cli::CleanupArgs,
    report: Option<&cleanup::Report>,
    timing: cleanup::json::Timing,
) -> Result<()> {
    let Some(path) = &args.metrics_file else {
        return Ok(());
    };
    let text = cleanup::metrics::sweep_text(&cleanup::metrics::Sweep {
        report,
        all_pins: args.orphans,
        started: timing.started,
        duration: timing.duration,
        previous_success: output::metrics::read_previous_success(path),
    });
    output::metrics::write_atomic(path, &text)
}

fn list_command(args: &cli::ListArgs) -> Result<u8> {
    require("list", caps::list_needs())?;
    let rules = classify::OrphanRules {
        older_than: args.orphan.older_than,
    };
    let listing = list::list(
        &args.dir,
        &rules,
        &keep_set(&args.orphan)?,
        &runtime(&args.orphan),
    )?;
    if let Some(path) = &args.metrics_file {
        let text = list::metrics::list_text(&listing, std::time::SystemTime::now());
        output::metrics::write_atomic(path, &text)?;
    }
    if args.json {
        output::json::print(&list::json::list_doc(&listing), true)?;
    } else {
        let mut text = listing.text();
        for w in &listing.warnings {
            text.push_str(&format!("warning: {}\n", escape::one_line(w)));
        }
        print!("{}", for_stdout(text));
    }
    Ok(0)
}

/// A human report, with syslog priorities when stdout is the journal.
fn for_stdout(text: String) -> String {
    if output::log::stdout_is_journal() {
        output::log::journal_priorities(&text)
    } else {
        text
    }
}

fn inspect_command(args: &cli::InspectArgs) -> Result<u8> {
    let name = name::PinName::parse(&args.name)?;
    require("inspect", caps::inspect_needs())?;
    let found = inspect::inspect(&args.dir, &name)?;
    if args.json {
        output::json::print(&inspect::json::inspect_doc(&found), true)?;
    } else {
        print!("{}", found.text());
    }
    Ok(0)
}

fn pin_command(args: &cli::PinArgs) -> Result<u8> {
    let request = args.request();
    let plan = pin::PinPlan::new(&request)?;
    let new_userns = request
        .namespaces
        .contains(&(ns::NsKind::User, pin::Source::New));
    let net_sysctls = request.sysctls.iter().any(|s| s.starts_with("net."));
    require("pin", caps::pin_needs(new_userns, net_sysctls))?;
    pin::pin(&plan)?;
    Ok(0)
}
