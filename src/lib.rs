//! pinns: pins Linux namespaces for pods that run without an infra container.
//!
//! Layout: `cli` parses, `pin` (and one module per subcommand) decides,
//! `sys` performs syscalls; `name`, `sysctl`, `idmap` are pure parsers.

pub mod classify;
pub mod cleanup;
pub mod cli;
pub mod cpuset;
pub mod crictl;
pub mod duration;
pub mod enter;
pub mod error;
pub mod escape;
pub mod idmap;
pub mod inspect;
pub mod keep;
pub mod list;
pub mod name;
pub mod ns;
pub mod output;
pub mod pin;
pub mod pindir;
pub mod placement;
pub mod procs;
pub mod sys;
pub mod sysctl;
pub mod sysctl_write;

use clap::Parser;
use cli::{Cli, Command};
use error::{Error, Result};
use std::ffi::OsString;

/// Parses the command line and runs it. Errors are returned to `main`, the
/// one place that prints them.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> Result<u8> {
    let args: Vec<OsString> = args.into_iter().collect();
    if let Some(pin) = cli::crio_form::recognise(&args) {
        return pin_command(&pin);
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            let _ = e.print();
            return Ok(0);
        }
        Err(e) => return Err(Error::Usage(cli::one_line(&e))),
    };
    match cli.command {
        None => pin_command(&cli.pin),
        Some(Command::Pin(args)) => pin_command(&args),
        Some(Command::Enter(args)) => enter::enter(&args),
        Some(Command::Cleanup(args)) => cleanup_command(&args),
        Some(Command::List(args)) => list_command(&args),
        Some(Command::Inspect(args)) => inspect_command(&args),
    }
}

fn keep_set(args: &cli::OrphanArgs) -> Result<keep::KeepSet> {
    keep::build(&keep::KeepSources {
        names: &args.keep,
        files: &args.keep_files,
        from_crictl: args.keep_from_crictl,
    })
}

fn cleanup_command(args: &cli::CleanupArgs) -> Result<u8> {
    let plan = cleanup::Plan {
        dir: args.dir.clone(),
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
        dry_run: args.dry_run,
    };
    cleanup::preflight(&plan)?;
    let stop = match args.interval {
        Some(_) => Some(sys::stop_on_signals()?),
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
        let timing = output::json::Timing {
            started: started.0,
            duration: started.1.elapsed(),
        };
        // A sweep that failed as a whole is worth a file too: it says so.
        // Its own error, if any, is the one reported.
        let written = write_sweep_metrics(args, swept.as_ref().ok(), timing);
        let report = swept?;
        written?;
        if args.json {
            let doc = output::json::cleanup_doc(&report, timing);
            println!("{}", output::json::to_string(&doc, false));
        } else {
            print!("{}", for_stdout(report.text()));
        }
        let (Some(interval), Some(stop)) = (args.interval, stop) else {
            return Ok(if report.any_failed() { 1 } else { 0 });
        };
        if sleep_unless_stopped(interval, stop) {
            return Ok(0);
        }
    }
}

fn write_sweep_metrics(
    args: &cli::CleanupArgs,
    report: Option<&cleanup::Report>,
    timing: output::json::Timing,
) -> Result<()> {
    let Some(path) = &args.metrics_file else {
        return Ok(());
    };
    let text = output::metrics::sweep_text(&output::metrics::Sweep {
        report,
        all_pins: args.orphans,
        started: timing.started,
        duration: timing.duration,
        previous_success: output::metrics::read_previous_success(path),
    });
    output::metrics::write_atomic(path, &text)
}

/// Sleeps for `interval`; returns true as soon as a stop was requested.
fn sleep_unless_stopped(
    interval: std::time::Duration,
    stop: &std::sync::atomic::AtomicBool,
) -> bool {
    use std::sync::atomic::Ordering;
    let deadline = std::time::Instant::now() + interval;
    while !stop.load(Ordering::SeqCst) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        std::thread::sleep(left.min(std::time::Duration::from_millis(100)));
    }
    true
}

fn list_command(args: &cli::ListArgs) -> Result<u8> {
    let rules = classify::OrphanRules {
        older_than: args.orphan.older_than,
    };
    let listing = list::list(&args.dir, &rules, &keep_set(&args.orphan)?)?;
    if let Some(path) = &args.metrics_file {
        let text = output::metrics::list_text(&listing, std::time::SystemTime::now());
        output::metrics::write_atomic(path, &text)?;
    }
    if args.json {
        let doc = output::json::list_doc(&listing);
        println!("{}", output::json::to_string(&doc, true));
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
    let found = inspect::inspect(&args.dir, &name)?;
    if args.json {
        println!(
            "{}",
            output::json::to_string(&output::json::inspect_doc(&found), true)
        );
    } else {
        print!("{}", found.text());
    }
    Ok(0)
}

fn pin_command(args: &cli::PinArgs) -> Result<u8> {
    let plan = pin::PinPlan::new(&args.request())?;
    pin::pin(&plan)?;
    Ok(0)
}
