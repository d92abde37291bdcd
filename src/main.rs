use std::process::ExitCode;

fn main() -> ExitCode {
    match pinns::run(std::env::args_os()) {
        Ok(code) => code,
        Err(err) => {
            // CRI-O logs our combined output: one line, tagged, says it all.
            if !matches!(err, pinns::error::Error::AlreadyReported) {
                eprintln!("[pinns:e] {err}");
            }
            ExitCode::from(err.exit_code())
        }
    }
}
