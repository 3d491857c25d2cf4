//! `hindsight` with no subcommand opens the window; with one, it runs that CLI command.
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let mut cli = hindsight::cli::Cli::parse();
    match cli.command.take() {
        None => match hindsight::app::run(
            cli.data_dir.as_deref(),
            cli.models_dir.as_deref(),
            &cli.model_mirrors,
        ) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("hindsight: error: {e}");
                ExitCode::FAILURE
            }
        },
        Some(command) => hindsight::cli::run(&cli, command),
    }
}
