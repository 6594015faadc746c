//! `partners`: add, list, show and update the partners in a deployment's table.

mod cli;
mod commands;
mod render;
mod sumsub;
mod webhooks;

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    admin::exit_with(commands::run(cli).await)
}
