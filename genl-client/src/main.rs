//! `genl-client`: parse the command line, run it, report errors.

fn main() {
    // Die quietly on a closed pipe (`genl-client dev list | head`), like C tools.
    // SAFETY: setting a signal disposition before any threads exist.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = genl_client::cli::Cli::parse_args();
    cli.simulator_options().set_for_process();
    if let Err(e) = genl_client::commands::run(&cli) {
        use simdev_netlink::error::Error;
        match &e {
            // -j: one JSON object on stdout, for scripts (a batch's lines
            // already carried theirs).
            Error::BatchFailed(_) => eprintln!("genl-client: {e}"),
            _ if cli.json => println!("{}", e.to_json()),
            _ => eprintln!("genl-client: {e}"),
        }
        // Like clap's own refusals: 2 for a usage error, 1 for a failure.
        std::process::exit(if matches!(e, simdev_netlink::error::Error::Usage(_)) { 2 } else { 1 });
    }
}
