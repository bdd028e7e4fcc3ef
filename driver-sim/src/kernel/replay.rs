//! `driver-sim --replay FILE`: the simulator answers as a recorded
//! conversation answered (a capture of `driver-sim --pcap` or `genl-client
//! exec --pcap`). A request that matches a recorded one — the same family
//! id, command, version, flags and attributes, byte for byte; seq and port
//! ids aside — gets the recorded answers, datagram for datagram, with its
//! own seq and port. Identical requests recorded several times get their
//! answers in recorded order, the last again once all were given.
//! Attributes named to be ignored (`--replay-ignore ATTR` or `OP.ATTR`: a
//! timestamp, a cookie the program makes anew each run) are left out of
//! the comparison, the recorded request's and the asker's alike. A
//! request of a recorded family that matches none is answered
//! `EOPNOTSUPP` with an extended ACK naming the first difference from the
//! closest recorded request (the attribute at fault, as its offset), and
//! logged: a test sees where its program left the recording. Requests of
//! families the capture does not have, and controller requests it did not
//! record, are the simulator's own to answer.
//!
//! A program finds the recorded ids by the recorded `GETFAMILY` answers;
//! the simulator must serve each recorded family at its recorded id
//! (checked at start), so that `exec` routes it.

use crate::kernel::genl::HandlerError;
use simdev_protocol::ctrl::{FamilyInfo, GENL_ID_CTRL};
use simdev_protocol::family::FamilySpec;
use simdev_protocol::pcap::{self, Direction};
use simdev_protocol::policy::errno;
use simdev_protocol::wire::{
    split_messages, Attrs, Message, NlHeader, GENL_HDRLEN, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLM_F_REQUEST,
};
use std::collections::{BTreeMap, HashMap};

/// One recorded request and what answered it.
#[derive(Debug, Clone)]
struct Exchange {
    /// The request message, as recorded.
    request: Vec<u8>,
    /// The answer's datagrams: each the messages of one recorded datagram
    /// that answered this request.
    answers: Vec<Vec<u8>>,
    /// Whether it was replayed already.
    used: bool,
}

/// A recorded conversation, ready to answer.
#[derive(Debug, Default)]
pub struct Replay {
    exchanges: Vec<Exchange>,
    /// The families the recorded controller answers name: name, id.
    families: BTreeMap<String, u16>,
    /// Attribute types left out of the comparison, by family id, command
    /// and mode (dump or not).
    ignored: HashMap<(u16, u8, bool), Vec<u16>>,
    /// The exchanges by their request's [`key`], in recorded order.
    by_key: HashMap<Vec<u8>, Vec<usize>>,
    /// The exchanges by family id and command (to name a difference).
    by_op: HashMap<(u16, Option<u8>), Vec<usize>>,
}

impl Replay {
    /// Reads a capture; an error for what is not one or holds no request.
    pub fn read(bytes: &[u8]) -> Result<Replay, String> {
        let capture = pcap::read(bytes)?;
        if let Some(why) = &capture.cut_short {
            log::warn!("the capture ends part way ({why}): replaying what is whole");
        }
        let mut replay = Replay::default();
        // Requests waiting for their last answer: seq, port, index.
        let mut open: Vec<(u32, u32, usize)> = Vec::new();
        for frame in &capture.frames {
            match frame.direction {
                Some(Direction::ToDriver) => {
                    for message in split_messages(&frame.datagram).filter(|m| m.header.flags & NLM_F_REQUEST != 0) {
                        let header = message.header;
                        open.retain(|&(seq, port, _)| (seq, port) != (header.seq, header.port));
                        open.push((header.seq, header.port, replay.exchanges.len()));
                        replay.exchanges.push(Exchange {
                            request: message.bytes.to_vec(),
                            answers: Vec::new(),
                            used: false,
                        });
                    }
                }
                Some(Direction::FromDriver) => {
                    // The messages of one datagram, by the request they answer.
                    let mut parts: Vec<(usize, Vec<u8>)> = Vec::new();
                    for message in split_messages(&frame.datagram) {
                        let header = message.header;
                        let Some(at) = open
                            .iter()
                            .rposition(|&(seq, port, _)| seq == header.seq && (port == 0 || port == header.port))
                        else {
                            continue; // a notification: not replayed
                        };
                        let index = open[at].2;
                        match parts.iter_mut().find(|(i, _)| *i == index) {
                            Some((_, bytes)) => bytes.extend_from_slice(padded(message.bytes).as_slice()),
                            None => parts.push((index, padded(message.bytes))),
                        }
                        if header.ty == NLMSG_ERROR || header.ty == NLMSG_DONE {
                            open.remove(at);
                        }
                        if header.ty == GENL_ID_CTRL {
                            replay.learn_family(&message);
                        }
                    }
                    for (index, datagram) in parts {
                        replay.exchanges[index].answers.push(datagram);
                    }
                }
                None => {}
            }
        }
        if replay.exchanges.is_empty() {
            return Err("no request in the capture: nothing to replay".into());
        }
        for (index, exchange) in replay.exchanges.iter().enumerate() {
            let header = header_of(&exchange.request);
            replay.by_op.entry((header.ty, genl_cmd(&exchange.request))).or_default().push(index);
        }
        replay.index();
        Ok(replay)
    }

    /// Leaves the attributes `names` names out of the comparison: `ATTR`
    /// in every recorded op whose request policy has it, `OP.ATTR` in that
    /// op only. `spec_of` gives a recorded family id's spec (to read
    /// names by). An error names what matches no recorded request.
    pub fn ignore(
        &mut self,
        names: &[String],
        spec_of: impl Fn(u16) -> Option<&'static FamilySpec>,
    ) -> Result<(), String> {
        let mut matched = vec![false; names.len()];
        for exchange in &self.exchanges {
            let header = header_of(&exchange.request);
            let Some(cmd) = genl_cmd(&exchange.request) else { continue };
            let Some(command) = spec_of(header.ty).and_then(|spec| spec.command(cmd)) else { continue };
            let Some(policy) = command.policy(header.is_dump()) else { continue };
            let ignored = self.ignored.entry((header.ty, cmd, header.is_dump())).or_default();
            for (name, matched) in names.iter().zip(&mut matched) {
                let (op, attr) = name.split_once('.').map_or((None, name.as_str()), |(op, attr)| (Some(op), attr));
                if op.is_some_and(|op| op != command.name) {
                    continue;
                }
                if let Some(spec) = policy.attrs.iter().find(|a| a.name == attr) {
                    *matched = true;
                    if !ignored.contains(&spec.id) {
                        ignored.push(spec.id);
                    }
                }
            }
        }
        if let Some((name, _)) = names.iter().zip(&matched).find(|(_, matched)| !**matched) {
            return Err(format!("replay_ignore: no recorded request has an attribute {name}"));
        }
        self.index();
        Ok(())
    }

    /// (Re)builds [`Replay::by_key`].
    fn index(&mut self) {
        self.by_key.clear();
        for (index, exchange) in self.exchanges.iter().enumerate() {
            let key = key(&exchange.request, self.ignored_in(&exchange.request));
            self.by_key.entry(key).or_default().push(index);
        }
    }

    /// The attribute types ignored in requests like `message`.
    fn ignored_in(&self, message: &[u8]) -> &[u16] {
        let header = header_of(message);
        let Some(cmd) = genl_cmd(message) else { return &[] };
        self.ignored.get(&(header.ty, cmd, header.is_dump())).map_or(&[], Vec::as_slice)
    }

    fn learn_family(&mut self, message: &Message<'_>) {
        // A `NEWFAMILY` answer names both; a request by name is not one.
        if let Ok(info) = FamilyInfo::decode(message.genl_attrs(0)) {
            self.families.insert(info.name, info.id);
        }
    }

    /// The families the capture names, with their recorded ids.
    pub fn families(&self) -> impl Iterator<Item = (&str, u16)> {
        self.families.iter().map(|(name, id)| (name.as_str(), *id))
    }

    /// How many requests were recorded (at least one: see [`Replay::read`]).
    pub fn requests(&self) -> usize {
        self.exchanges.len()
    }

    /// Whether requests of family `id` are the recording's to answer (the
    /// controller's only when recorded: see [`Replay::answer`]).
    fn replays(&self, id: u16) -> bool {
        id != GENL_ID_CTRL && self.by_op.keys().any(|&(ty, _)| ty == id)
    }

    /// The answer to `request` from port `port`: the recorded datagrams,
    /// seq and port made this request's; an error for a request of a
    /// recorded family that matches none; `None` for a request the
    /// recording leaves to the simulator. `spec`: the family's, to name
    /// attributes.
    pub fn answer(
        &mut self,
        request: &Message<'_>,
        port: u32,
        spec: Option<&FamilySpec>,
    ) -> Option<Result<Vec<Vec<u8>>, HandlerError>> {
        let key = key(request.bytes, self.ignored_in(request.bytes));
        let same = self.by_key.get(&key).map_or(&[][..], Vec::as_slice);
        let Some(&index) = same.iter().find(|&&i| !self.exchanges[i].used).or(same.last()) else {
            if !self.replays(request.header.ty) {
                return None;
            }
            let error = self.difference(request, spec);
            log::warn!("replay: a request left the recording: {}", error.ext.message.as_deref().unwrap_or_default());
            return Some(Err(error));
        };
        let exchange = &mut self.exchanges[index];
        exchange.used = true;
        let header = request.header;
        Some(Ok(exchange.answers.iter().map(|d| rewritten(d, header.seq, port, header.port)).collect()))
    }

    /// `EOPNOTSUPP`, naming how `request` differs from the closest
    /// recorded request of its family.
    fn difference(&self, request: &Message<'_>, spec: Option<&FamilySpec>) -> HandlerError {
        let header = request.header;
        let genl = request.genl_header();
        let cmd = genl.map(|g| g.cmd).unwrap_or(0);
        let command = spec.and_then(|s| s.command(cmd));
        let op = command.map_or(format!("command {cmd}"), |c| c.name.to_string());
        let recorded: Vec<&[u8]> = self
            .by_op
            .get(&(header.ty, genl.map(|g| g.cmd)))
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|&i| self.exchanges[i].request.as_slice())
            .collect();
        let ignored = self.ignored_in(request.bytes);
        let compared = |message| attrs_of(message).filter(|a| !ignored.contains(&a.kind())).collect::<Vec<_>>();
        let unsupported = |message: String| HandlerError::new(errno::EOPNOTSUPP, format!("replay: {message}"));
        if recorded.is_empty() {
            return unsupported(format!("no {op} request was recorded"));
        }
        let policy = command.and_then(|c| c.policy(header.is_dump()));
        let name = |kind: u16| {
            policy.and_then(|p| p.get(kind)).map_or(format!("attribute {kind}"), |a| format!("attribute {}", a.name))
        };
        let ours = compared(request.bytes);
        // The closest: the most attributes alike from the first.
        let (closest, alike) = recorded
            .iter()
            .map(|r| {
                let theirs = compared(r);
                let alike =
                    ours.iter().zip(&theirs).take_while(|(a, b)| a.kind() == b.kind() && a.payload == b.payload);
                (*r, alike.count())
            })
            .max_by_key(|(_, alike)| *alike)
            .expect("some recorded");
        let theirs = compared(closest);
        match (ours.get(alike), theirs.get(alike)) {
            (Some(a), Some(b)) if a.kind() == b.kind() => {
                let mut error = unsupported(format!("{} differs from the recorded {op} request's", name(a.kind())));
                error.ext.offset = Some(a.offset);
                error
            }
            (Some(a), _) => {
                let mut error = unsupported(format!("{} is not in the recorded {op} request", name(a.kind())));
                error.ext.offset = Some(a.offset);
                error
            }
            (None, Some(b)) => {
                let mut error = unsupported(format!("{} of the recorded {op} request is missing", name(b.kind())));
                error.ext.missing_type = Some(b.kind());
                error
            }
            (None, None) => {
                let (flags, version) = (header_of(closest).flags, closest.get(NLMSG_HDRLEN + 1).copied());
                if flags != header.flags {
                    unsupported(format!("flags {:#x} differ from the recorded {op} request's {flags:#x}", header.flags))
                } else {
                    let ours = genl.map(|g| g.version);
                    unsupported(format!("version {ours:?} differs from the recorded {op} request's {version:?}"))
                }
            }
        }
    }
}

fn header_of(message: &[u8]) -> NlHeader {
    NlHeader::parse(message).expect("recorded whole")
}

fn genl_cmd(message: &[u8]) -> Option<u8> {
    message.get(NLMSG_HDRLEN).copied()
}

/// A request's attributes, after the genetlink header; offsets from its start.
fn attrs_of(message: &[u8]) -> Attrs<'_> {
    let start = (NLMSG_HDRLEN + GENL_HDRLEN).min(message.len());
    Attrs::new(&message[start..], start)
}

/// What two requests that match have alike: type, flags, genetlink header
/// and attributes (each whole, as sent), less the `ignored` types; not
/// their seq and port.
fn key(message: &[u8], ignored: &[u16]) -> Vec<u8> {
    let header = header_of(message);
    let mut key = Vec::with_capacity(message.len());
    key.extend_from_slice(&header.ty.to_ne_bytes());
    key.extend_from_slice(&header.flags.to_ne_bytes());
    let body = (NLMSG_HDRLEN + GENL_HDRLEN).min(message.len());
    key.extend_from_slice(&message[NLMSG_HDRLEN.min(message.len())..body]);
    if ignored.is_empty() {
        key.extend_from_slice(&message[body..]);
    } else {
        for attr in attrs_of(message).filter(|a| !ignored.contains(&a.kind())) {
            key.extend_from_slice(&message[attr.offset..attr.offset + 4 + attr.payload.len()]);
        }
    }
    key
}

/// A message padded to its aligned length, as messages sit in a datagram.
fn padded(message: &[u8]) -> Vec<u8> {
    let mut bytes = message.to_vec();
    bytes.resize(message.len().next_multiple_of(4), 0);
    bytes
}

/// A recorded answer datagram made this request's: each message's seq and
/// port, and an error's echoed request header's (seq, and the port the
/// request named).
fn rewritten(datagram: &[u8], seq: u32, port: u32, request_port: u32) -> Vec<u8> {
    let mut out = datagram.to_vec();
    let mut at = 0;
    while let Some(header) = NlHeader::parse(&out[at..]) {
        let len = header.len as usize;
        if len < NLMSG_HDRLEN || at + len > out.len() {
            break;
        }
        out[at + 8..at + 12].copy_from_slice(&seq.to_ne_bytes());
        out[at + 12..at + 16].copy_from_slice(&port.to_ne_bytes());
        if header.ty == NLMSG_ERROR && len >= NLMSG_HDRLEN + 4 + NLMSG_HDRLEN {
            let echoed = at + NLMSG_HDRLEN + 4;
            out[echoed + 8..echoed + 12].copy_from_slice(&seq.to_ne_bytes());
            out[echoed + 12..echoed + 16].copy_from_slice(&request_port.to_ne_bytes());
        }
        at += len.next_multiple_of(4);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use simdev_protocol::pcap::{file_header, frame_bytes, NETLINK_GENERIC};
    use simdev_protocol::wire::MessageBuilder;
    use std::time::UNIX_EPOCH;

    const FAMILY_ID: u16 = 0x20;

    fn request(seq: u32, mtu: u32) -> Vec<u8> {
        let mut m = MessageBuilder::genl(FAMILY_ID, NLM_F_REQUEST | 4, seq, 0, 2, 1);
        m.put_str(2, "sim0").put_u32(5, mtu);
        m.finish()
    }

    fn reply(seq: u32, port: u32, value: u32) -> Vec<u8> {
        let mut m = MessageBuilder::genl(FAMILY_ID, 0, seq, port, 2, 1);
        m.put_u32(5, value);
        m.finish()
    }

    fn ack(port: u32, request: &[u8]) -> Vec<u8> {
        let header = NlHeader::parse(request).unwrap();
        simdev_protocol::extack::build_error(&header, port, 0, &Default::default())
    }

    fn capture(frames: &[(Direction, Vec<u8>)]) -> Vec<u8> {
        let mut file = file_header();
        for (direction, datagram) in frames {
            file.extend(frame_bytes(UNIX_EPOCH, *direction, NETLINK_GENERIC, datagram));
        }
        file
    }

    #[test]
    fn a_recorded_request_gets_its_answers_with_the_new_seq_and_port() {
        let first = request(7, 1400);
        let file = capture(&[
            (Direction::ToDriver, first.clone()),
            (Direction::FromDriver, reply(7, 99, 1)),
            (Direction::FromDriver, ack(99, &first)),
            (Direction::ToDriver, request(8, 1400)),
            (Direction::FromDriver, reply(8, 99, 2)),
        ]);
        let mut replay = Replay::read(&file).unwrap();
        assert_eq!(replay.requests(), 2);
        let asked = request(41, 1400);
        let message = split_messages(&asked).next().unwrap();
        let answers = replay.answer(&message, 555, None).unwrap().unwrap();
        assert_eq!(answers.len(), 2, "the reply and the ACK, each its datagram");
        let header = NlHeader::parse(&answers[0]).unwrap();
        assert_eq!((header.seq, header.port), (41, 555));
        let echoed = NlHeader::parse(&answers[1][NLMSG_HDRLEN + 4..]).unwrap();
        assert_eq!((echoed.seq, echoed.port), (41, 0), "the echoed request is this one");
        // The same request again: the next recorded answer, then the last again.
        let second = replay.answer(&message, 555, None).unwrap().unwrap();
        assert_eq!(second[0][NLMSG_HDRLEN + GENL_HDRLEN + 4..], 2u32.to_ne_bytes());
        let third = replay.answer(&message, 555, None).unwrap().unwrap();
        assert_eq!(third, second);
    }

    #[test]
    fn a_request_off_the_recording_is_told_where() {
        let file = capture(&[(Direction::ToDriver, request(1, 1400)), (Direction::FromDriver, reply(1, 9, 1))]);
        let mut replay = Replay::read(&file).unwrap();
        let asked = request(2, 1500);
        let message = split_messages(&asked).next().unwrap();
        let error = replay.answer(&message, 9, None).unwrap().unwrap_err();
        assert_eq!(error.errno, errno::EOPNOTSUPP);
        assert_eq!(
            error.ext.message.as_deref(),
            Some("replay: attribute 5 differs from the recorded command 2 request's")
        );
        assert_eq!(error.ext.offset, Some(NLMSG_HDRLEN + GENL_HDRLEN + 12), "the mtu attribute");
        // Another family is not the recording's.
        let other = MessageBuilder::genl(0x30, NLM_F_REQUEST, 3, 0, 1, 1).finish();
        assert!(replay.answer(&split_messages(&other).next().unwrap(), 9, None).is_none());
        assert!(Replay::read(&capture(&[])).unwrap_err().contains("no request"));
    }

    #[test]
    fn ignored_attributes_are_left_out_of_the_comparison() {
        use simdev_protocol::simdev::{cmd, dev_attr, FAMILY};
        assert_eq!((cmd::DEV_SET, dev_attr::MTU), (2, 5), "the requests above are simdev's dev-set with an mtu");
        let file = capture(&[(Direction::ToDriver, request(1, 1400)), (Direction::FromDriver, reply(1, 9, 1))]);
        let spec_of = |id: u16| (id == FAMILY_ID).then_some(&FAMILY);
        for names in [["mtu"], ["dev-set.mtu"]] {
            let mut replay = Replay::read(&file).unwrap();
            replay.ignore(&names.map(String::from), spec_of).unwrap();
            let asked = request(2, 1500);
            let answers = replay.answer(&split_messages(&asked).next().unwrap(), 9, None).unwrap();
            assert!(answers.is_ok(), "{names:?}: the mtu is not compared");
            // What is not ignored still is.
            let mut other = MessageBuilder::genl(FAMILY_ID, NLM_F_REQUEST | 4, 3, 0, 2, 1);
            other.put_str(2, "sim1").put_u32(5, 1400);
            let other = other.finish();
            let error = replay.answer(&split_messages(&other).next().unwrap(), 9, Some(&FAMILY)).unwrap().unwrap_err();
            assert_eq!(
                error.ext.message.as_deref(),
                Some("replay: attribute dev-name differs from the recorded dev-set request's")
            );
        }
        let mut replay = Replay::read(&file).unwrap();
        assert_eq!(
            replay.ignore(&["dev-get.mtu".into()], spec_of).unwrap_err(),
            "replay_ignore: no recorded request has an attribute dev-get.mtu"
        );
        assert!(replay.ignore(&["frobnicate".into()], spec_of).unwrap_err().contains("frobnicate"));
    }
}
