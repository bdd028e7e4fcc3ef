//! `NLMSG_ERROR` / `NLMSG_DONE` with extended-ACK TLVs: building them (the
//! simulator) and decoding them (the client). neli does not decode these.
//!
//! The simulator cannot see a client's socket options, so it answers as the
//! kernel does for a socket with `NETLINK_EXT_ACK` = 1 and
//! `NETLINK_CAP_ACK` = 1: TLVs are always sent, and errors echo only the
//! request's header (`NLM_F_CAPPED`), never its payload.

use crate::policy::{write_policy_attrs, AttrSpec};
use crate::wire::{
    read_i32, read_u32, split_messages, Attrs, Message, MessageBuilder, NlHeader, NLMSG_DONE, NLMSG_ERROR,
    NLMSG_HDRLEN, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_MULTI,
};

/// `NLMSGERR_ATTR_*`.
pub mod attr {
    pub const MSG: u16 = 1;
    pub const OFFS: u16 = 2;
    pub const COOKIE: u16 = 3;
    pub const POLICY: u16 = 4;
    pub const MISS_TYPE: u16 = 5;
    pub const MISS_NEST: u16 = 6;
}

/// What a handler reports beside an errno (`struct netlink_ext_ack`).
#[derive(Debug, Clone, Default)]
pub struct ExtAck {
    pub message: Option<String>,
    /// Offset of the bad attribute from the start of the request.
    pub offset: Option<usize>,
    pub policy: Option<&'static AttrSpec>,
    pub missing_type: Option<u16>,
    /// Offset of the nest the missing attribute belongs in.
    pub missing_nest: Option<usize>,
}

impl ExtAck {
    pub fn message(text: impl Into<String>) -> Self {
        ExtAck { message: Some(text.into()), ..Default::default() }
    }

    pub fn is_empty(&self) -> bool {
        self.message.is_none() && self.offset.is_none() && self.policy.is_none() && self.missing_type.is_none()
    }

    /// Writes the TLVs `netlink_ack` would append for this error.
    fn write_tlvs(&self, error: i32, request_len: usize, out: &mut MessageBuilder) {
        if let Some(message) = &self.message {
            out.put_str(attr::MSG, message);
        }
        if error == 0 {
            return; // a success carries at most a warning message
        }
        if let Some(offset) = self.offset.filter(|&o| o < request_len) {
            out.put_u32(attr::OFFS, offset as u32);
        }
        // An `NLA_REJECT` policy has nothing to describe: no TLV at all.
        if let Some(policy) = self.policy.filter(|p| !matches!(p.ty, crate::policy::AttrType::Reject)) {
            out.nest_start(attr::POLICY);
            write_policy_attrs(policy, None, out);
            out.nest_end();
        }
        if let Some(missing) = self.missing_type {
            out.put_u32(attr::MISS_TYPE, missing.into());
        }
        if let Some(nest) = self.missing_nest.filter(|&o| o < request_len) {
            out.put_u32(attr::MISS_NEST, nest as u32);
        }
    }
}

/// Builds the `NLMSG_ERROR` the kernel sends for `request`: `error` is 0
/// for an ACK or a negative errno. Its `nlmsg_pid` is `requester`, the
/// port the request came from (the kernel's `netlink_ack` writes the
/// sender's port there, whatever the request's own `nlmsg_pid` said; the
/// echoed request header keeps that).
pub fn build_error(request: &NlHeader, requester: u32, error: i32, ext: &ExtAck) -> Vec<u8> {
    let mut flags = NLM_F_CAPPED;
    if !ext.is_empty() && (error != 0 || ext.message.is_some()) {
        flags |= NLM_F_ACK_TLVS;
    }
    let mut out = MessageBuilder::new(NLMSG_ERROR, flags, request.seq, requester);
    let mut body = Vec::with_capacity(20);
    body.extend_from_slice(&error.to_ne_bytes());
    request.write(&mut body);
    out.put_raw(&body);
    ext.write_tlvs(error, request.len as usize, &mut out);
    out.finish()
}

/// Builds the `NLMSG_DONE` that ends a dump (`error` 0 or negative errno),
/// with the requester's port in `nlmsg_pid` as the kernel's
/// `netlink_dump_done` puts it.
pub fn build_done(request: &NlHeader, requester: u32, error: i32, ext: &ExtAck) -> Vec<u8> {
    let mut flags = NLM_F_MULTI;
    if ext.message.is_some() {
        flags |= NLM_F_ACK_TLVS;
    }
    let mut out = MessageBuilder::new(NLMSG_DONE, flags, request.seq, requester);
    out.put_raw(&error.to_ne_bytes());
    if let Some(message) = &ext.message {
        out.put_str(attr::MSG, message);
    }
    out.finish()
}

/// A decoded `NLMSG_ERROR` or `NLMSG_DONE` status.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Status {
    /// 0 or a negative errno, as sent.
    pub error: i32,
    /// The request header echoed back (ERROR only).
    pub request: Option<NlHeader>,
    pub message: Option<String>,
    pub offset: Option<u32>,
    pub missing_type: Option<u32>,
    pub missing_nest: Option<u32>,
    /// Raw `NL_POLICY_TYPE_ATTR_*` nest of the failed policy, if sent.
    pub policy: Option<Vec<(u16, Vec<u8>)>>,
}

/// Decodes an `NLMSG_ERROR` or `NLMSG_DONE` message; `None` for other types
/// or a payload too short to hold the status.
pub fn decode_status(message: &Message<'_>) -> Option<Status> {
    let payload = message.payload();
    if payload.len() < 4 {
        return None;
    }
    let error = read_i32(payload);
    let mut status = Status { error, ..Default::default() };
    let tlv_start = match message.header.ty {
        NLMSG_ERROR => {
            let echoed = NlHeader::parse(&payload[4..])?;
            status.request = Some(echoed);
            let echoed_len = if message.header.flags & NLM_F_CAPPED != 0 { NLMSG_HDRLEN } else { echoed.len as usize };
            4 + crate::wire::align4(echoed_len)
        }
        NLMSG_DONE => 4,
        _ => return None,
    };
    if message.header.flags & NLM_F_ACK_TLVS != 0 && tlv_start <= payload.len() {
        let base = NLMSG_HDRLEN + tlv_start;
        for tlv in Attrs::new(&payload[tlv_start..], base) {
            match tlv.kind() {
                attr::MSG => status.message = tlv.string().map(str::to_string),
                attr::OFFS => status.offset = tlv.u32(),
                attr::MISS_TYPE => status.missing_type = tlv.u32(),
                attr::MISS_NEST => status.missing_nest = tlv.u32(),
                attr::POLICY => status.policy = Some(tlv.nested().map(|a| (a.kind(), a.payload.to_vec())).collect()),
                _ => {}
            }
        }
    }
    Some(status)
}

/// Convenience for tests and tools: decodes the first message of a datagram.
pub fn decode_first_status(datagram: &[u8]) -> Option<Status> {
    split_messages(datagram).next().as_ref().and_then(decode_status)
}

/// Reads a u32 out of a raw policy attribute payload.
pub fn policy_u32(payload: &[u8]) -> Option<u32> {
    (payload.len() == 4).then(|| read_u32(payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{AttrType, Check};
    use crate::wire::NLM_F_REQUEST;

    static NAME: AttrSpec =
        AttrSpec { id: 2, name: "family-name", ty: AttrType::NulString, check: Check::MaxLen(15), doc: "" };

    #[test]
    fn error_with_policy_matches_kernel_bytes() {
        // Bytes the kernel's nlctrl sent on this machine for a 32-byte
        // GETFAMILY whose name attribute lacked its NUL.
        let request = NlHeader { len: 32, ty: 0x10, flags: NLM_F_REQUEST | 4, seq: 1, port: 0 };
        let ext = ExtAck {
            message: Some("Attribute failed policy validation".into()),
            offset: Some(20),
            policy: Some(&NAME),
            ..Default::default()
        };
        let bytes = build_error(&request, 0, -22, &ext);
        let expected_tlvs = "27000100417474726962757465206661696c656420706f6c6963792076616c69646174696f6e0000\
080002001400000014000480080007000f000000080001000c000000";
        let hex: String = bytes[36..].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected_tlvs);
        let header = NlHeader::parse(&bytes).unwrap();
        assert_eq!(header.flags, NLM_F_CAPPED | NLM_F_ACK_TLVS);

        let status = decode_first_status(&bytes).unwrap();
        assert_eq!(status.error, -22);
        assert_eq!(status.offset, Some(20));
        assert_eq!(status.message.as_deref(), Some("Attribute failed policy validation"));
        assert_eq!(status.request.unwrap().len, 32);
        assert_eq!(status.policy.unwrap().len(), 2);
    }

    #[test]
    fn plain_ack_has_no_tlvs() {
        let request = NlHeader { len: 20, ty: 0x10, flags: 5, seq: 9, port: 0 };
        let bytes = build_error(&request, 77, 0, &ExtAck::default());
        let header = NlHeader::parse(&bytes).unwrap();
        assert_eq!((header.len, header.flags, header.seq, header.port), (36, NLM_F_CAPPED, 9, 77), "to the requester");
        assert_eq!(decode_first_status(&bytes).unwrap().request.unwrap().port, 0, "the request's header as it was");
        assert_eq!(decode_first_status(&bytes).unwrap().error, 0);
    }

    #[test]
    fn done_carries_status_and_message() {
        let request = NlHeader { len: 20, ty: 0x13, flags: 0x301, seq: 3, port: 5 };
        let bytes = build_done(&request, 5, -5, &ExtAck::message("dump failed"));
        let status = decode_first_status(&bytes).unwrap();
        assert_eq!(status.error, -5);
        assert_eq!(status.message.as_deref(), Some("dump failed"));
    }
}
