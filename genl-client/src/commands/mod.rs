//! What each CLI command does and prints, one file per object. Text output
//! follows the iproute2 tool of the same object; `-j` prints JSON.

pub mod ctrl;
pub mod dev;

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
}

/// Runs one parsed command line.
pub fn run(cli: &Cli) -> Result<()> {
    let output = Output { json: cli.json, pretty: cli.pretty };
    match &cli.object {
        Object::Ctrl { command } => ctrl::run(cli.target(), command, output),
        Object::Dev { command } => dev::run(cli.target(), command, output),
    }
}
