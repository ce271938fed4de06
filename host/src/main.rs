//! The `sonde` binary.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = sonde::cli::Cli::parse();
    // The service logs state changes at info; one-shot commands stay quiet.
    let (default, json) = match &cli.command {
        sonde::cli::Command::Serve(args) => ("info", args.log_json),
        sonde::cli::Command::Agent(args) => ("info", args.log_json),
        _ => ("warn", false),
    };
    let filter = EnvFilter::try_from_env("SONDE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr);
    if json {
        // JSON escapes control characters by itself.
        logs.json().init();
    } else {
        // A newline in a source name must not start a forged log line.
        logs.fmt_fields(sonde::logging::EscapedFields).init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sonde: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(sonde::cli::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("sonde: {e}");
            ExitCode::from(2)
        }
    }
}
