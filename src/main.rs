//! `dhtsim` binary: parse arguments, run the command, choose the exit status (SPEC §3).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Every argument is text (a path, a number, KEY=VALUE): name one that is not.
    if let Some(i) = raw.iter().position(|a| a.to_str().is_none()) {
        let option = raw[..i].last().and_then(|p| p.to_str()).filter(|p| p.starts_with('-'));
        let shown = raw[i].to_string_lossy();
        let what = option.map_or(format!("argument {i}"), |o| format!("{o} {shown}"));
        eprintln!("error: {what}: not UTF-8 text");
        return ExitCode::from(2);
    }
    let argv: Vec<String> = raw.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let cli = dhtsim::cli::Cli::parse_from(&argv);
    match dhtsim::app::execute(cli.command, &argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
    }
}
