//! `socket-set`: simdev's extension through which a socket says the
//! largest receive buffer it reads with, so that its dump datagrams are
//! sized as the kernel sizes them to a socket's largest `recvmsg` (which a
//! user-space server cannot see). Any user may say it of their own socket;
//! the setting ends with the socket.

use crate::kernel::genl::{Context, HandlerError, Request};
use crate::simulator::Simulator;
use simdev_protocol::simdev::dev_attr;

pub fn set(_: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let bytes = super::required(request, dev_attr::RECV_SIZE)?.u32().expect("a u32, by the policy");
    ctx.recv_size = Some(bytes);
    Ok(None)
}
