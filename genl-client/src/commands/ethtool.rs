//! `ethtool rings show|set` (with `--kernel`): a netdev's ring sizes, printed
//! as `ethtool -g` prints them (`-j`: the shape of `ethtool --json -g`).

use super::args::Words;
use super::Output;
use crate::cli::{EthtoolCommand, RingsCommand};
use serde_json::json;
use simdev_netlink::client::Target;
use simdev_netlink::error::{Error, Result};
use simdev_netlink::ethtool::{Ethtool, Netdev};

pub fn run(target: Target, command: &EthtoolCommand, output: Output) -> Result<()> {
    let mut ethtool = Ethtool::new(super::kernel_client(target, "ethtool")?)?;
    let EthtoolCommand::Rings { command } = command;
    match command {
        RingsCommand::Show { ifname } => {
            let rings = ethtool.rings(&Netdev::Name(ifname.clone()))?;
            let value = json!([{
                "ifname": ifname, "rx-max": rings.rx_max, "tx-max": rings.tx_max, "rx": rings.rx, "tx": rings.tx,
            }]);
            output.show(&value, || {
                println!("Ring parameters for {ifname}:");
                println!("Pre-set maximums:\nRX:\t\t{}\nTX:\t\t{}", rings.rx_max, rings.tx_max);
                println!("Current hardware settings:\nRX:\t\t{}\nTX:\t\t{}", rings.rx, rings.tx);
            });
        }
        RingsCommand::Set { ifname, args } => {
            let (mut rx, mut tx) = (None, None);
            let mut words = Words::new(args);
            while let Some(word) = words.next_key().map_err(Error::Usage)? {
                match word {
                    "rx" => rx = Some(words.number("rx").map_err(Error::Usage)?),
                    "tx" => tx = Some(words.number("tx").map_err(Error::Usage)?),
                    other => return Err(Error::Usage(format!("unknown argument `{other}` (expected rx N, tx N)"))),
                }
            }
            ethtool.set_rings(&Netdev::Name(ifname.clone()), rx, tx)?;
        }
    }
    Ok(())
}
