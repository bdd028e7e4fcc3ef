//! What each CLI command does and prints, one file per object. Text output
//! follows the iproute2 tool of the same object; `-j` prints JSON.

pub mod args;
pub mod batch;
pub mod ctrl;
pub mod decode;
pub mod dev;
pub mod devlink;
pub mod ethtool;
pub mod exec;
pub mod fault;
pub mod fw;
pub mod hw;
pub mod monitor;
pub mod plan;
pub mod render;
pub mod ynl;

use crate::cli::Cli;
use crate::simdev::SimdevClient;
use simdev_netlink::error::Result;

/// How results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
    pub pretty: bool,
}

impl Output {
    pub fn print_json(&self, value: &impl serde::Serialize) {
        let text = if self.pretty { serde_json::to_string_pretty(value) } else { serde_json::to_string(value) };
        println!("{}", text.expect("serializable"));
    }

    /// JSON of `value` with `-j`, otherwise the text `print` writes.
    pub fn show(&self, value: &impl serde::Serialize, print: impl FnOnce()) {
        if self.json {
            self.print_json(value);
        } else {
            print();
        }
    }
}

/// A client of the kernel, for commands about a kernel-only family.
fn kernel_client(target: simdev_netlink::client::Target, family: &str) -> Result<simdev_netlink::client::Client> {
    if target != simdev_netlink::client::Target::Kernel {
        return Err(simdev_netlink::error::Error::Usage(format!("{family} is a kernel family: use --kernel")));
    }
    simdev_netlink::client::Client::kernel()
}

/// Runs one parsed command line.
pub fn run(cli: &Cli) -> Result<()> {
    let output = Output { json: cli.json, pretty: cli.pretty };
    let target = cli.target();
    if cli.ynl.used() {
        if cli.object.is_some() {
            return Err(simdev_netlink::error::Error::Usage(
                "give either OBJECT COMMAND or the YNL grammar (--family/--spec ...), not both".into(),
            ));
        }
        if cli.batch.is_some() {
            return Err(simdev_netlink::error::Error::Usage(
                "-b takes its commands, YNL grammar too, from the file".into(),
            ));
        }
        return ynl::run(target, &cli.ynl, output);
    }
    if cli.object.is_some() && cli.batch.is_some() {
        return Err(simdev_netlink::error::Error::Usage("give either a command or -b FILE, not both".into()));
    }
    let Some(object) = &cli.object else {
        let Some(file) = &cli.batch else {
            return Err(simdev_netlink::error::Error::Usage("give a command (OBJECT COMMAND) or -b FILE".into()));
        };
        let options = batch::Options { force: cli.force, window: cli.window, output };
        return batch::run_file(target, file, options);
    };
    run_object(target, object, output)
}

/// Runs one command.
pub fn run_object(target: simdev_netlink::client::Target, object: &crate::cli::Object, output: Output) -> Result<()> {
    match plan::plan(object)? {
        plan::Action::Call(call) => {
            let mut sim = SimdevClient::connect(target)?;
            let replies = sim.call(&call)?;
            render::render(&call, &replies, output)
        }
        plan::Action::Ctrl(command) => ctrl::run(target, command, output),
        plan::Action::Devlink(command) => devlink::run(target, command, output),
        plan::Action::Ethtool(command) => ethtool::run(target, command, output),
        plan::Action::FwFlash(dev, image) => fw::flash(&mut SimdevClient::connect(target)?, &dev, &image, output),
        plan::Action::Monitor(groups, timestamp) => monitor::run(target, groups, timestamp, output),
        plan::Action::Ynl(args, family) => ynl::run_with(target, args, &family, output),
        plan::Action::Decode(files, specs) => decode::run(files, specs, output),
        plan::Action::Exec { shadow, pcap, command } => exec::run(target, shadow, pcap, command),
    }
}
