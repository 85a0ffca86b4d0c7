//! The `keel` binary: parses the command line and runs the chosen command.

mod audit_cmd;
mod audit_key;
mod cli;
mod config;
mod db_cmd;
mod gc_cmd;
mod logging;
mod secrets;
mod server_cmd;
mod stores;
mod users_cmd;

use clap::Parser;

/// mimalloc serves the many small, short-lived allocations of request handling (JSON values,
/// keys, rows) faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
