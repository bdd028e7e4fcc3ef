//! Where each message of a datagram the program sends to the kernel goes:
//! to the simulator (the id of a family it serves to the program; the
//! controller asked about one), to the kernel (everything else), or to the
//! kernel with simdev's entry added (a controller family dump).

use crate::config::Config;
use simdev_protocol::ctrl::{self, GENL_ID_CTRL};
use simdev_protocol::wire::{align4, split_messages, Message};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    Kernel,
    Simulator,
    /// A controller family dump: the kernel answers it, and simdev's
    /// entry joins it before its `NLMSG_DONE`.
    KernelWithSimdev,
}

/// Where one message goes.
pub fn destination(message: &Message, config: &Config) -> Destination {
    if config.serves(message.header.ty) {
        return Destination::Simulator;
    }
    if message.header.ty != GENL_ID_CTRL {
        return Destination::Kernel;
    }
    let Some(genl) = message.genl_header() else { return Destination::Kernel };
    match genl.cmd {
        ctrl::cmd::GETFAMILY if message.header.is_dump() => Destination::KernelWithSimdev,
        ctrl::cmd::GETFAMILY | ctrl::cmd::GETPOLICY if names_served(message, config) => Destination::Simulator,
        _ => Destination::Kernel,
    }
}

/// A controller request that names a served family, by id or by name
/// (the kernel looks at the id first).
fn names_served(message: &Message, config: &Config) -> bool {
    let attrs = message.genl_attrs(0);
    if let Some(id) = attrs.get(ctrl::attr::FAMILY_ID) {
        return id.u16().is_some_and(|id| config.serves(id));
    }
    attrs.get(ctrl::attr::FAMILY_NAME).and_then(|name| name.string()).is_some_and(|name| config.by_name(name).is_some())
}

/// A datagram split by destination.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Messages for the kernel, in order (and any bytes after the last
    /// whole message, which the kernel ignores as it would have).
    pub kernel: Vec<u8>,
    /// Messages for the simulator, in order.
    pub simulator: Vec<u8>,
    /// Sequence numbers of controller dumps that must list simdev.
    pub dumps_with_simdev: Vec<u32>,
}

/// Where a whole datagram goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Routing {
    /// All to the kernel as it is.
    Kernel,
    /// All to the simulator as it is.
    Simulator,
    Split(Plan),
}

/// Routes `datagram`: whole when every message goes one way (no copy
/// needed; one pass over the headers), split otherwise.
pub fn route(datagram: &[u8], config: &Config) -> Routing {
    let (mut to_kernel, mut to_simulator, mut parsed) = (false, false, 0);
    for message in split_messages(datagram) {
        parsed += align4(message.bytes.len());
        match destination(&message, config) {
            Destination::Kernel => to_kernel = true,
            Destination::Simulator => to_simulator = true,
            Destination::KernelWithSimdev => return Routing::Split(split(datagram, config)),
        }
    }
    match (to_kernel, to_simulator) {
        (_, false) => Routing::Kernel,
        // Bytes after the last whole message stay with the kernel.
        (false, true) if parsed >= datagram.len() => Routing::Simulator,
        _ => Routing::Split(split(datagram, config)),
    }
}

/// Splits `datagram` by destination.
fn split(datagram: &[u8], config: &Config) -> Plan {
    let mut plan = Plan::default();
    let mut parsed = 0;
    for message in split_messages(datagram) {
        let padded = &datagram[parsed..(parsed + align4(message.bytes.len())).min(datagram.len())];
        parsed += padded.len();
        let out = match destination(&message, config) {
            Destination::Simulator => &mut plan.simulator,
            Destination::Kernel => &mut plan.kernel,
            Destination::KernelWithSimdev => {
                plan.dumps_with_simdev.push(message.header.seq);
                &mut plan.kernel
            }
        };
        out.extend_from_slice(padded);
        out.resize(align4(out.len()), 0);
    }
    plan.kernel.extend_from_slice(&datagram[parsed..]);
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use simdev_protocol::simdev::cmd;
    use simdev_protocol::wire::{MessageBuilder, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};

    const SIMDEV: u16 = 0x20;
    const DPLL: u16 = 0x21;
    const NETDEV: u16 = 0x14;

    fn config() -> Config {
        Config::parse(Some("99"), Some("simdev:32:11,12,13 dpll:33:14")).unwrap().unwrap()
    }

    fn getfamily(flags: u16, seq: u32, by: Option<Result<u16, &str>>) -> Vec<u8> {
        let mut m = MessageBuilder::genl(GENL_ID_CTRL, NLM_F_REQUEST | flags, seq, 0, ctrl::cmd::GETFAMILY, 1);
        match by {
            Some(Ok(id)) => m.put_u16(ctrl::attr::FAMILY_ID, id),
            Some(Err(name)) => m.put_str(ctrl::attr::FAMILY_NAME, name),
            None => &mut m,
        };
        m.finish()
    }

    fn one(bytes: &[u8]) -> Destination {
        destination(&split_messages(bytes).next().unwrap(), &config())
    }

    #[test]
    fn simdev_and_questions_about_it_go_to_the_simulator() {
        assert_eq!(
            one(&MessageBuilder::genl(SIMDEV, NLM_F_REQUEST, 1, 0, cmd::DEV_GET, 1).finish()),
            Destination::Simulator
        );
        assert_eq!(one(&getfamily(0, 1, Some(Err("simdev")))), Destination::Simulator);
        assert_eq!(one(&getfamily(0, 1, Some(Ok(SIMDEV)))), Destination::Simulator);
        assert_eq!(one(&getfamily(0, 1, Some(Err("netdev")))), Destination::Kernel);
        assert_eq!(one(&getfamily(0, 1, Some(Err("dpll")))), Destination::Simulator, "a served family");
        assert_eq!(one(&getfamily(0, 1, Some(Ok(DPLL)))), Destination::Simulator);
        assert_eq!(one(&MessageBuilder::genl(DPLL, NLM_F_REQUEST, 1, 0, 2, 1).finish()), Destination::Simulator);
        assert_eq!(one(&getfamily(0, 1, Some(Ok(NETDEV)))), Destination::Kernel);
        assert_eq!(one(&getfamily(0, 1, None)), Destination::Kernel, "the kernel says EINVAL");
        assert_eq!(one(&getfamily(NLM_F_DUMP, 1, None)), Destination::KernelWithSimdev);
        let policy = MessageBuilder::genl(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_DUMP, 1, 0, ctrl::cmd::GETPOLICY, 1)
            .put_str(ctrl::attr::FAMILY_NAME, "simdev")
            .clone()
            .finish();
        assert_eq!(one(&policy), Destination::Simulator);
        assert_eq!(one(&MessageBuilder::genl(NETDEV, NLM_F_REQUEST, 1, 0, 1, 1).finish()), Destination::Kernel);
    }

    #[test]
    fn a_kernel_only_datagram_is_sent_as_it_is() {
        let mut datagram = getfamily(NLM_F_ACK, 1, Some(Err("netdev")));
        datagram.extend(getfamily(NLM_F_ACK, 2, Some(Ok(NETDEV))));
        assert_eq!(route(&datagram, &config()), Routing::Kernel);
    }

    #[test]
    fn a_mixed_datagram_is_split_in_order() {
        let a = getfamily(NLM_F_ACK, 1, Some(Err("netdev")));
        let b = MessageBuilder::genl(SIMDEV, NLM_F_REQUEST | NLM_F_ACK, 2, 0, cmd::DEV_GET, 1).finish();
        let c = getfamily(NLM_F_DUMP, 3, None);
        let d = getfamily(NLM_F_ACK, 4, Some(Err("simdev")));
        let datagram = [a.clone(), b.clone(), c.clone(), d.clone()].concat();
        let Routing::Split(plan) = route(&datagram, &config()) else { panic!("split") };
        assert_eq!(plan.kernel, [a, c].concat());
        assert_eq!(plan.simulator, [b, d].concat());
        assert_eq!(plan.dumps_with_simdev, [3]);
    }

    #[test]
    fn a_datagram_all_for_one_side_goes_whole() {
        let b = MessageBuilder::genl(SIMDEV, NLM_F_REQUEST, 2, 0, cmd::DEV_GET, 1).finish();
        let d = getfamily(NLM_F_ACK, 4, Some(Err("simdev")));
        assert_eq!(route(&[b.clone(), d.clone()].concat(), &config()), Routing::Simulator);
        assert_eq!(route(&getfamily(NLM_F_ACK, 4, Some(Err("netdev"))), &config()), Routing::Kernel);
        let mixed = [b.clone(), getfamily(0, 5, Some(Err("netdev")))].concat();
        assert!(matches!(route(&mixed, &config()), Routing::Split(_)));
        assert!(matches!(route(&[b, vec![1, 2, 3]].concat(), &config()), Routing::Split(_)), "trailing bytes");
    }

    #[test]
    fn trailing_bytes_stay_with_the_kernel() {
        let b = MessageBuilder::genl(SIMDEV, NLM_F_REQUEST, 2, 0, cmd::DEV_GET, 1).finish();
        let datagram = [b.clone(), vec![1, 2, 3]].concat();
        let Routing::Split(plan) = route(&datagram, &config()) else { panic!("split") };
        assert_eq!(plan.simulator, b);
        assert_eq!(plan.kernel, [1, 2, 3]);
    }
}
