//! What each CLI command does and prints, one file per object. Text output
//! follows the iproute2 tool of the same object; `-j` prints JSON.

pub mod args;
pub mod ctrl;
pub mod dev;
pub mod fault;
pub mod fw;
pub mod hw;
pub mod monitor;

use crate::cli::{Cli, Object};
use crate::error::Result;

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

/// Runs one parsed command line.
pub fn run(cli: &Cli) -> Result<()> {
    let output = Output { json: cli.json, pretty: cli.pretty };
    let target = cli.target();
    match &cli.object {
        Object::Ctrl { command } => ctrl::run(target, command, output),
        Object::Dev { command } => dev::run(target, command, output),
        Object::Port { command } => hw::port(target, command, output),
        Object::Reg { command } => hw::reg(target, command, output),
        Object::Sensor { command } => hw::sensor(target, command, output),
        Object::Stats { command } => hw::stats(target, command, output),
        Object::Fw { command } => fw::run(target, command, output),
        Object::Fault { command } => fault::run(target, command, output),
        Object::Monitor { groups } => monitor::run(target, groups, output),
    }
}
