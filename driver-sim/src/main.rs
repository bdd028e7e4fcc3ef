//! `driver-sim`: parse the command line, run the simulator, report errors.

use clap::Parser;

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = driver_sim::cli::Cli::parse();
    match driver_sim::run(cli) {
        Ok(status) => std::process::exit(status),
        Err(e) => {
            eprintln!("driver-sim: {e:#}");
            std::process::exit(1);
        }
    }
}
