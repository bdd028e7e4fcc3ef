//! `socket-set`: simdev's extension through which a socket says the
//! largest receive buffer it reads with, so that its dump datagrams are
//! sized as the kernel sizes them to a socket's largest `recvmsg` (which a
//! user-space server cannot see), and that it waits after each send for
//! its request's first answer (`sync-send`, as a send to the kernel
//! returns once the request was handled). Any user may say it of their own
//! socket; the settings end with the socket.

use crate::kernel::genl::{Context, HandlerError, Request};
use crate::simulator::Simulator;
use simdev_protocol::simdev::dev_attr;

pub fn set(_: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    ctx.recv_size = request.attrs.get(dev_attr::RECV_SIZE).map(|a| a.u32().expect("a u32, by the policy"));
    ctx.sync_send = request.attrs.get(dev_attr::SYNC_SEND).is_some();
    Ok(None)
}
