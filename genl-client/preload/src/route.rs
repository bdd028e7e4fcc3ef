//! Where each message of a datagram the program sends to the kernel goes:
//! to the simulator (simdev's family id; the controller asked about
//! simdev), to the kernel (everything else), or to the kernel with
//! simdev's entry added (a controller family dump).

use simdev_protocol::ctrl::{self, GENL_ID_CTRL};
use simdev_protocol::simdev::FAMILY_NAME;
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
pub fn destination(message: &Message, family_id: u16) -> Destination {
    if message.header.ty == family_id {
        return Destination::Simulator;
    }
    if message.header.ty != GENL_ID_CTRL {
        return Destination::Kernel;
    }
    let Some(genl) = message.genl_header() else { return Destination::Kernel };
    match genl.cmd {
        ctrl::cmd::GETFAMILY if message.header.is_dump() => Destination::KernelWithSimdev,
        ctrl::cmd::GETFAMILY | ctrl::cmd::GETPOLICY if names_simdev(message, family_id) => Destination::Simulator,
        _ => Destination::Kernel,
    }
}

/// A controller request that names simdev, by id or by name (the kernel
/// looks at the id first).
fn names_simdev(message: &Message, family_id: u16) -> bool {
    let attrs = message.genl_attrs(0);
    if let Some(id) = attrs.get(ctrl::attr::FAMILY_ID) {
        return id.u16() == Some(family_id);
    }
    attrs.get(ctrl::attr::FAMILY_NAME).and_then(|name| name.string()) == Some(FAMILY_NAME)
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
pub fn route(datagram: &[u8], family_id: u16) -> Routing {
    let (mut to_kernel, mut to_simulator, mut parsed) = (false, false, 0);
    for message in split_messages(datagram) {
        parsed += align4(message.bytes.len());
        match destination(&message, family_id) {
            Destination::Kernel => to_kernel = true,
            Destination::Simulator => to_simulator = true,
            Destination::KernelWithSimdev => return Routing::Split(split(datagram, family_id)),
        }
    }
    match (to_kernel, to_simulator) {
        (_, false) => Routing::Kernel,
        // Bytes after the last whole message stay with the kernel.
        (false, true) if parsed >= datagram.len() => Routing::Simulator,
        _ => Routing::Split(split(datagram, family_id)),
    }
}

/// Splits `datagram` by destination.
fn split(datagram: &[u8], family_id: u16) -> Plan {
    let mut plan = Plan::default();
    let mut parsed = 0;
    for message in split_messages(datagram) {
        let padded = &datagram[parsed..(parsed + align4(message.bytes.len())).min(datagram.len())];
        parsed += padded.len();
        let out = match destination(&message, family_id) {
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
    const NETDEV: u16 = 0x14;

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
        destination(&split_messages(bytes).next().unwrap(), SIMDEV)
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
        assert_eq!(route(&datagram, SIMDEV), Routing::Kernel);
    }

    #[test]
    fn a_mixed_datagram_is_split_in_order() {
        let a = getfamily(NLM_F_ACK, 1, Some(Err("netdev")));
        let b = MessageBuilder::genl(SIMDEV, NLM_F_REQUEST | NLM_F_ACK, 2, 0, cmd::DEV_GET, 1).finish();
        let c = getfamily(NLM_F_DUMP, 3, None);
        let d = getfamily(NLM_F_ACK, 4, Some(Err("simdev")));
        let datagram = [a.clone(), b.clone(), c.clone(), d.clone()].concat();
        let Routing::Split(plan) = route(&datagram, SIMDEV) else { panic!("split") };
        assert_eq!(plan.kernel, [a, c].concat());
        assert_eq!(plan.simulator, [b, d].concat());
        assert_eq!(plan.dumps_with_simdev, [3]);
    }

    #[test]
    fn a_datagram_all_for_one_side_goes_whole() {
        let b = MessageBuilder::genl(SIMDEV, NLM_F_REQUEST, 2, 0, cmd::DEV_GET, 1).finish();
        let d = getfamily(NLM_F_ACK, 4, Some(Err("simdev")));
        assert_eq!(route(&[b.clone(), d.clone()].concat(), SIMDEV), Routing::Simulator);
        assert_eq!(route(&getfamily(NLM_F_ACK, 4, Some(Err("netdev"))), SIMDEV), Routing::Kernel);
        let mixed = [b.clone(), getfamily(0, 5, Some(Err("netdev")))].concat();
        assert!(matches!(route(&mixed, SIMDEV), Routing::Split(_)));
        assert!(matches!(route(&[b, vec![1, 2, 3]].concat(), SIMDEV), Routing::Split(_)), "trailing bytes");
    }

    #[test]
    fn trailing_bytes_stay_with_the_kernel() {
        let b = MessageBuilder::genl(SIMDEV, NLM_F_REQUEST, 2, 0, cmd::DEV_GET, 1).finish();
        let datagram = [b.clone(), vec![1, 2, 3]].concat();
        let Routing::Split(plan) = route(&datagram, SIMDEV) else { panic!("split") };
        assert_eq!(plan.simulator, b);
        assert_eq!(plan.kernel, [1, 2, 3]);
    }
}
