//! The simulator's answers, made into what the kernel would have put on
//! the program's socket. The simulator answers every client as the kernel
//! answers a socket with `NETLINK_EXT_ACK` and `NETLINK_CAP_ACK` on, to its
//! `NETLINK_USERSOCK` port; the program has its own options and its own
//! port. So, per message: `nlmsg_pid` becomes the program's port; extended
//! ACK TLVs go when the program did not ask for them; an error echoes the
//! whole request when the program did not cap them; the simulator's
//! controller dump joins the program's (the entries of the families it
//! serves to the program, without its `NLMSG_DONE`); the library's own
//! traffic, and the simulator's `NLMSG_NOOP` for a request handled without
//! an answer (`socket-set`'s `sync-send`), are dropped.

use simdev_protocol::ctrl::{self, GENL_ID_CTRL};
use simdev_protocol::wire::{
    align4, read_i32, split_messages, NlHeader, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLMSG_NOOP, NLMSG_OVERRUN,
    NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_MULTI,
};
use std::collections::VecDeque;

/// Requests recently sent to the simulator, kept so that an error can echo
/// the whole request (what the kernel does without `NETLINK_CAP_ACK`).
#[derive(Debug, Default)]
pub struct Requests {
    recent: VecDeque<Vec<u8>>,
}

impl Requests {
    /// How many are kept: a program with more requests in flight than this
    /// gets the oldest ones' errors capped (and flagged so).
    const KEPT: usize = 64;

    pub fn remember(&mut self, message: &[u8]) {
        // Once full, the oldest one's buffer is reused: no allocation per request.
        let mut kept =
            if self.recent.len() == Self::KEPT { self.recent.pop_front().unwrap_or_default() } else { Vec::new() };
        kept.clear();
        kept.extend_from_slice(message);
        self.recent.push_back(kept);
    }

    /// The latest request with this header.
    fn find(&self, header: &NlHeader) -> Option<&[u8]> {
        self.recent.iter().rev().find(|m| NlHeader::parse(m).as_ref() == Some(header)).map(Vec::as_slice)
    }
}

/// What the program's socket looks like, and what the library is waiting for.
pub struct Context<'a> {
    /// The companion socket's port: the simulator's answers name it.
    pub companion_port: u32,
    /// The program's own port, which the kernel's answers name.
    pub program_port: u32,
    pub ext_ack: bool,
    pub cap_ack: bool,
    pub requests: &'a Requests,
    /// Whether a controller dump with this sequence number waits for the
    /// simulator's entries.
    pub dumps_with_simdev: &'a dyn Fn(u32) -> bool,
    /// Whether a sequence number is one of the library's own requests'
    /// (their answers are dropped).
    pub own: &'a dyn Fn(u32) -> bool,
    pub config: &'a crate::config::Config,
}

/// One datagram from the simulator, as the program receives it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Nothing when everything in it was the library's own business.
    pub datagram: Option<Vec<u8>>,
    /// `nl_groups` of the sender's address: the group of a notification.
    pub groups: u32,
    /// Controller dumps whose simulator entries this datagram ended (or
    /// that the simulator refused): they may end now.
    pub dumps_answered: Vec<u32>,
    /// The simulator lost answers for this socket here (its
    /// `NLMSG_OVERRUN` marker): the program's receive reports `ENOBUFS`,
    /// as the kernel reports a socket that overflowed.
    pub overrun: bool,
}

pub fn reframe(datagram: &[u8], context: &Context) -> Delivery {
    let mut delivery = Delivery::default();
    let mut out = Vec::with_capacity(datagram.len());
    for message in split_messages(datagram) {
        let header = message.header;
        if (context.own)(header.seq) || header.ty == NLMSG_NOOP {
            continue;
        }
        if header.ty == NLMSG_OVERRUN {
            delivery.overrun = true;
            continue;
        }
        let start = out.len();
        out.extend_from_slice(message.bytes);
        let mut header = header;
        if (context.dumps_with_simdev)(header.seq) {
            match header.ty {
                // An entry of a family served to the program (not the
                // simulator's controller, not one the kernel's stands for).
                GENL_ID_CTRL => {
                    let is_entry = message.genl_header().is_some_and(|g| g.cmd == ctrl::cmd::NEWFAMILY);
                    let id = message.genl_attrs(0).get(ctrl::attr::FAMILY_ID).and_then(|a| a.u16());
                    if !is_entry || id == Some(GENL_ID_CTRL) || !id.is_some_and(|id| context.config.serves(id)) {
                        out.truncate(start);
                        continue;
                    }
                    header.flags |= NLM_F_MULTI;
                }
                // The simulator's list ended, or it refused to list: the
                // program's list may end.
                NLMSG_DONE | NLMSG_ERROR => {
                    delivery.dumps_answered.push(header.seq);
                    out.truncate(start);
                    continue;
                }
                _ => {}
            }
        }
        if header.port == context.companion_port {
            header.port = context.program_port;
        }
        match header.ty {
            NLMSG_ERROR => {
                let error = reframe_error(message.bytes, &mut header, context);
                out.truncate(start);
                out.extend_from_slice(&error);
            }
            NLMSG_DONE if !context.ext_ack => {
                out.truncate(start + NLMSG_HDRLEN + 4);
                header.flags &= !NLM_F_ACK_TLVS;
            }
            ty if context.config.serves(ty) && header.seq == 0 => {
                let group = message.genl_header().and_then(|g| context.config.group_of_notification(ty, g.cmd));
                if let Some(group) = group.filter(|g| (1..=32).contains(g)) {
                    delivery.groups |= 1 << (group - 1);
                }
            }
            _ => {}
        }
        header.len = (out.len() - start) as u32;
        let head = &mut out[start..start + NLMSG_HDRLEN];
        head[0..4].copy_from_slice(&header.len.to_ne_bytes());
        head[6..8].copy_from_slice(&header.flags.to_ne_bytes());
        head[12..16].copy_from_slice(&header.port.to_ne_bytes());
        out.resize(align4(out.len()), 0);
    }
    if !out.is_empty() {
        delivery.datagram = Some(out);
    }
    delivery
}

/// An `NLMSG_ERROR` (ACK or error) as the program's options make it.
fn reframe_error(bytes: &[u8], header: &mut NlHeader, context: &Context) -> Vec<u8> {
    let echoed_at = NLMSG_HDRLEN + 4;
    let (Some(status), Some(request)) =
        (bytes.get(NLMSG_HDRLEN..echoed_at).map(read_i32), bytes.get(echoed_at..).and_then(NlHeader::parse))
    else {
        return bytes.to_vec(); // not an error the simulator makes; as it is
    };
    let echoed_len = if header.flags & NLM_F_CAPPED != 0 { NLMSG_HDRLEN } else { request.len as usize };
    let tlvs_at = (echoed_at + align4(echoed_len)).min(bytes.len());
    let mut out = bytes[..echoed_at].to_vec();
    let whole_request = (status != 0 && !context.cap_ack && header.flags & NLM_F_CAPPED != 0)
        .then(|| context.requests.find(&request))
        .flatten();
    match whole_request {
        Some(whole) => {
            out.extend_from_slice(whole);
            header.flags &= !NLM_F_CAPPED;
        }
        None => out.extend_from_slice(&bytes[echoed_at..tlvs_at]),
    }
    out.resize(align4(out.len()), 0);
    if context.ext_ack {
        out.extend_from_slice(&bytes[tlvs_at..]);
    } else {
        header.flags &= !NLM_F_ACK_TLVS;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use simdev_protocol::extack::{build_done, build_error, ExtAck};
    use simdev_protocol::simdev::{self, cmd};
    use simdev_protocol::wire::{MessageBuilder, NLM_F_ACK, NLM_F_REQUEST};

    const COMPANION: u32 = 777;
    const PROGRAM: u32 = 4321;

    fn config() -> Config {
        Config::parse(Some("99"), Some("simdev:32:11,12,13 dpll:33:14")).unwrap().unwrap()
    }

    fn request(seq: u32) -> Vec<u8> {
        MessageBuilder::genl(0x20, NLM_F_REQUEST | NLM_F_ACK, seq, 0, cmd::DEV_GET, 1).put_u32(1, 7).clone().finish()
    }

    fn error(request: &[u8], errno: i32, message: Option<&str>) -> Vec<u8> {
        let ext = ExtAck { message: message.map(String::from), ..ExtAck::default() };
        build_error(&NlHeader::parse(request).unwrap(), COMPANION, errno, &ext)
    }

    fn with<R>(ext_ack: bool, cap_ack: bool, requests: &Requests, f: impl FnOnce(&Context) -> R) -> R {
        let config = config();
        let context = Context {
            companion_port: COMPANION,
            program_port: PROGRAM,
            ext_ack,
            cap_ack,
            requests,
            dumps_with_simdev: &|seq| seq == 9,
            own: &|seq| seq == 0x5151,
            config: &config,
        };
        f(&context)
    }

    fn only(delivery: Delivery) -> (NlHeader, Vec<u8>) {
        let datagram = delivery.datagram.expect("a datagram");
        let message = split_messages(&datagram).next().unwrap();
        assert_eq!(align4(message.bytes.len()), datagram.len(), "one message");
        (message.header, message.bytes.to_vec())
    }

    #[test]
    fn answers_name_the_programs_port() {
        let requests = Requests::default();
        let ack = error(&request(5), 0, None);
        let (header, bytes) = only(with(true, true, &requests, |c| reframe(&ack, c)));
        assert_eq!(header.port, PROGRAM);
        assert_eq!(bytes[NLMSG_HDRLEN..], ack[NLMSG_HDRLEN..], "the rest as the simulator sent it");
    }

    #[test]
    fn tlvs_only_for_those_who_asked() {
        let requests = Requests::default();
        let failed = error(&request(5), -22, Some("bad"));
        let (header, bytes) = only(with(false, true, &requests, |c| reframe(&failed, c)));
        assert_eq!(header.flags, NLM_F_CAPPED, "no ACK_TLVS");
        assert_eq!(bytes.len(), NLMSG_HDRLEN + 4 + NLMSG_HDRLEN);
        let (header, bytes) = only(with(true, true, &requests, |c| reframe(&failed, c)));
        assert_eq!(header.flags, NLM_F_CAPPED | NLM_F_ACK_TLVS);
        assert_eq!(bytes.len(), failed.len());
        let done = build_done(
            &NlHeader::parse(&request(5)).unwrap(),
            COMPANION,
            -5,
            &ExtAck { message: Some("x".into()), ..ExtAck::default() },
        );
        let (header, bytes) = only(with(false, true, &requests, |c| reframe(&done, c)));
        assert_eq!((header.flags, bytes.len()), (NLM_F_MULTI, NLMSG_HDRLEN + 4));
    }

    #[test]
    fn uncapped_errors_echo_the_whole_request() {
        let mut requests = Requests::default();
        let sent = request(5);
        requests.remember(&sent);
        let failed = error(&sent, -22, Some("bad"));
        let (header, bytes) = only(with(true, false, &requests, |c| reframe(&failed, c)));
        assert_eq!(header.flags, NLM_F_ACK_TLVS, "not capped");
        assert_eq!(&bytes[NLMSG_HDRLEN + 4..NLMSG_HDRLEN + 4 + sent.len()], &sent[..]);
        let tlvs = &failed[NLMSG_HDRLEN + 4 + NLMSG_HDRLEN..];
        assert_eq!(&bytes[NLMSG_HDRLEN + 4 + sent.len()..], tlvs, "TLVs after the request");
        // An ACK stays capped, as the kernel's always is.
        let ack = error(&sent, 0, None);
        assert_eq!(only(with(true, false, &requests, |c| reframe(&ack, c))).0.flags, NLM_F_CAPPED);
        // A request no longer kept: capped, and flagged so.
        let unknown = error(&request(6), -22, None);
        assert_eq!(only(with(true, false, &requests, |c| reframe(&unknown, c))).0.flags, NLM_F_CAPPED);
    }

    #[test]
    fn served_entries_join_the_controller_dump_and_own_answers_vanish() {
        let requests = Requests::default();
        let entry = |name: &str, id: u16| {
            let mut entry = MessageBuilder::genl(GENL_ID_CTRL, NLM_F_MULTI, 9, COMPANION, ctrl::cmd::NEWFAMILY, 2);
            entry.put_str(ctrl::attr::FAMILY_NAME, name).put_u16(ctrl::attr::FAMILY_ID, id);
            entry.finish()
        };
        let done =
            build_done(&NlHeader::parse(&entry("nlctrl", GENL_ID_CTRL)).unwrap(), COMPANION, 0, &ExtAck::default());
        let (simdev, dpll) = (entry("simdev", 32), entry("dpll", 33));
        let listed = [entry("nlctrl", GENL_ID_CTRL), simdev.clone(), entry("netdev", 34), dpll.clone()].concat();
        let delivery = with(true, true, &requests, |c| reframe(&listed, c));
        assert_eq!(delivery.dumps_answered, Vec::<u32>::new(), "the list goes on");
        let datagram = delivery.datagram.unwrap();
        let names: Vec<u16> = split_messages(&datagram)
            .map(|m| m.genl_attrs(0).get(ctrl::attr::FAMILY_ID).and_then(|a| a.u16()).unwrap())
            .collect();
        assert_eq!(names, [32, 33], "not the controller, not a family the program does not reach there");
        let header = split_messages(&datagram).next().unwrap().header;
        assert_eq!((header.flags, header.port, header.seq), (NLM_F_MULTI, PROGRAM, 9));
        let delivery = with(true, true, &requests, |c| reframe(&done, c));
        assert_eq!((delivery.datagram, delivery.dumps_answered), (None, vec![9]), "its end is the program's list's");
        let refused = error(&MessageBuilder::genl(GENL_ID_CTRL, 1, 9, 0, 3, 2).finish(), -2, None);
        let delivery = with(true, true, &requests, |c| reframe(&refused, c));
        assert_eq!((delivery.datagram, delivery.dumps_answered), (None, vec![9]));
        let own = error(&request(0x5151), -1, None);
        assert_eq!(with(true, true, &requests, |c| reframe(&own, c)), Delivery::default());
    }

    #[test]
    fn notifications_come_from_their_group() {
        let requests = Requests::default();
        let ntf = MessageBuilder::genl(0x20, 0, 0, 0, cmd::FW_FLASH_STATUS_NTF, simdev::FAMILY_VERSION).finish();
        let delivery = with(true, true, &requests, |c| reframe(&ntf, c));
        assert_eq!(delivery.groups, 1 << (13 - 1));
        assert_eq!(delivery.datagram.unwrap(), ntf, "unchanged");
    }
}
