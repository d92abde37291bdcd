//! pinns: pins Linux namespaces for pods that run without an infra container.
//!
//! Layout: `cli` parses, `pin` (and one module per subcommand) decides,
//! `sys` performs syscalls; `name`, `sysctl`, `idmap` are pure parsers.

pub mod cli;
pub mod cpuset;
pub mod crictl;
pub mod enter;
pub mod error;
pub mod idmap;
pub mod name;
pub mod ns;
pub mod pin;
pub mod placement;
pub mod procs;
pub mod rollback;
pub mod sys;
pub mod sysctl;

use clap::Parser;
use cli::{Cli, Command};
use error::{Error, Result};
use std::ffi::OsString;
use std::process::ExitCode;

/// Parses the command line and runs it. Errors are returned to `main`, the
/// one place that prints them.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> Result<ExitCode> {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            let _ = e.print();
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(Error::Usage(cli::one_line(&e))),
    };
    match cli.command {
        None => pin_command(&cli.pin),
        Some(Command::Pin(args)) => pin_command(&args),
        Some(Command::Enter(args)) => enter::enter(&args),
    }
}

fn pin_command(args: &cli::PinArgs) -> Result<ExitCode> {
    let plan = pin::PinPlan::new(&args.request())?;
    pin::pin(&plan)?;
    Ok(ExitCode::SUCCESS)
}
