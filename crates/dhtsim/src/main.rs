//! `dhtsim` binary: parse arguments, run the command, choose the exit status (SPEC §3).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let cli = dhtsim::cli::Cli::parse();
    match dhtsim::app::execute(cli.command, &argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
    }
}
