//! `hindsight` with no subcommand (or with a `hindsight://` link) opens the window; with one,
//! it runs that CLI command.
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // The desktop starts `hindsight hindsight://conversation/ID#MESSAGE` for a link.
    let (link, args) = hindsight::app::link::split_args(std::env::args_os());
    let mut cli = hindsight::cli::Cli::parse_from(args);
    match cli.command.take() {
        None => match hindsight::app::run(
            cli.data_dir.as_deref(),
            cli.models_dir.as_deref(),
            &cli.model_mirrors,
            link.as_deref(),
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
