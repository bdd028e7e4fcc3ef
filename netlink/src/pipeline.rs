//! Pipelining: many requests in flight on one socket, matched to their
//! answers by sequence number, completed in the order they were sent.
//! Netlink peers answer a socket's requests in order, so a bounded window
//! keeps the wire busy without reordering anything.

use crate::client::{status_error, Client, Reply};
use crate::error::{Error, Result};
use simdev_protocol::extack::decode_status;
use simdev_protocol::policy::AttrSet;
use simdev_protocol::wire::{MessageBuilder, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP};
use std::collections::VecDeque;
use std::time::Instant;

/// The default number of requests in flight.
pub const DEFAULT_WINDOW: usize = 64;

/// Whether to keep sending after a completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Send nothing more; what is in flight still completes (and is reported).
    Stop,
}

/// One request to pipeline.
pub struct Pipelined {
    pub request: MessageBuilder,
    pub dump: bool,
}

struct InFlight {
    index: usize,
    seq: u32,
    dump: bool,
    bytes: Vec<u8>,
    replies: Vec<Reply>,
    outcome: Option<Result<Vec<Reply>>>,
}

impl Client {
    /// Sends `requests` with up to `window` in flight. `on_done(index,
    /// outcome)` is called for each, in the order sent; returning
    /// [`Flow::Stop`] sends nothing more. Do requests get `NLM_F_ACK`.
    pub fn pipeline(
        &mut self,
        requests: impl IntoIterator<Item = Pipelined>,
        window: usize,
        policy: Option<&'static AttrSet>,
        mut on_done: impl FnMut(usize, Result<Vec<Reply>>) -> Flow,
    ) -> Result<()> {
        let window = window.max(1);
        let requests: Vec<Pipelined> = requests.into_iter().collect();
        if requests.iter().any(|r| r.dump) {
            self.declare_recv_size();
        }
        let mut requests = requests.into_iter().enumerate().peekable();
        let mut in_flight: VecDeque<InFlight> = VecDeque::new();
        let mut stopped = false;
        let mut last_answer = Instant::now();
        loop {
            let first_new = in_flight.len();
            while !stopped && in_flight.len() < window {
                let Some((index, item)) = requests.next() else { break };
                let mut bytes = item.request.finish();
                let flags = u16::from_ne_bytes([bytes[6], bytes[7]]) | if item.dump { NLM_F_DUMP } else { NLM_F_ACK };
                bytes[6..8].copy_from_slice(&flags.to_ne_bytes());
                let seq = u32::from_ne_bytes(bytes[8..12].try_into().unwrap());
                in_flight.push_back(InFlight {
                    index,
                    seq,
                    dump: item.dump,
                    bytes,
                    replies: Vec::new(),
                    outcome: None,
                });
            }
            // Each request its own datagram, all in one system call.
            let new: Vec<&[u8]> = in_flight.range(first_new..).map(|f| f.bytes.as_slice()).collect();
            self.send_many(&new)?;
            // Report finished requests from the front, in order.
            while in_flight.front().is_some_and(|f| f.outcome.is_some()) {
                let done = in_flight.pop_front().unwrap();
                if on_done(done.index, done.outcome.unwrap()) == Flow::Stop {
                    stopped = true;
                }
            }
            if in_flight.is_empty() && (stopped || requests.peek().is_none()) {
                return Ok(());
            }
            if in_flight.iter().all(|f| f.outcome.is_some()) {
                continue;
            }
            let received = self.recv_many()?;
            let answered = received.iter().any(|reply| {
                let seq = reply.message().header.seq;
                in_flight.iter().any(|f| f.seq == seq && f.outcome.is_none())
            });
            if answered {
                last_answer = Instant::now();
            } else {
                // Something else arrived: it does not count as an answer.
                self.check_waited(last_answer.elapsed())?;
            }
            for reply in received {
                let header = reply.message().header;
                let Some(pending) = in_flight.iter_mut().find(|f| f.seq == header.seq && f.outcome.is_none()) else {
                    continue; // an answer to nothing we wait for
                };
                match header.ty {
                    NLMSG_ERROR | NLMSG_DONE => {
                        let message = reply.message();
                        let status = decode_status(&message).ok_or_else(|| Error::Protocol("short status".into()))?;
                        let finished = header.ty == NLMSG_DONE || !pending.dump || status.error != 0;
                        if finished {
                            pending.outcome = Some(if status.error == 0 {
                                Ok(std::mem::take(&mut pending.replies))
                            } else {
                                Err(status_error(&status, &pending.bytes, policy))
                            });
                        }
                    }
                    _ => pending.replies.push(reply),
                }
            }
        }
    }
}
