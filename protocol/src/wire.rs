//! Netlink wire format: headers, attributes, message building and splitting.
//!
//! This is the one codec of the project. It works on raw bytes on purpose:
//! the simulator must answer malformed input exactly as the kernel does
//! (which needs byte offsets of bad attributes and tolerance of garbage), and
//! the controller must emit nests without `NLA_F_NESTED` like the kernel's
//! `nlctrl`. Higher-level typed messages live in [`crate::ctrl`] and
//! [`crate::simdev`]; nothing outside this crate lays out attributes by hand.
//!
//! ```text
//!  nlmsghdr (16)         genlmsghdr (4)     attributes...
//! +-----+----+-----+-----+----+----+-------+-----+-----+---------+---+
//! | len |type|flags| seq | pid|cmd |ver|rsv| len | type| payload |pad|
//! +-----+----+-----+-----+----+----+-------+-----+-----+---------+---+
//! ```

/// Size of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// Size of `struct genlmsghdr`.
pub const GENL_HDRLEN: usize = 4;
/// Size of `struct nlattr`.
pub const NLA_HDRLEN: usize = 4;

/// Control message types (below `NLMSG_MIN_TYPE`).
pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;
/// Types below this are control messages, never handed to a family.
pub const NLMSG_MIN_TYPE: u16 = 0x10;

pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_MULTI: u16 = 0x2;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_ECHO: u16 = 0x8;
pub const NLM_F_DUMP_INTR: u16 = 0x10;
pub const NLM_F_DUMP_FILTERED: u16 = 0x20;
pub const NLM_F_ROOT: u16 = 0x100;
pub const NLM_F_MATCH: u16 = 0x200;
pub const NLM_F_DUMP: u16 = NLM_F_ROOT | NLM_F_MATCH;
pub const NLM_F_REPLACE: u16 = 0x100;
pub const NLM_F_EXCL: u16 = 0x200;
pub const NLM_F_CREATE: u16 = 0x400;
/// On `NLMSG_ERROR`: the original payload was not echoed.
pub const NLM_F_CAPPED: u16 = 0x100;
/// On `NLMSG_ERROR`/`NLMSG_DONE`: extended-ACK TLVs follow.
pub const NLM_F_ACK_TLVS: u16 = 0x200;

pub const NLA_F_NESTED: u16 = 0x8000;
pub const NLA_F_NET_BYTEORDER: u16 = 0x4000;
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

/// `SOL_NETLINK` socket options.
pub const SOL_NETLINK: i32 = 270;
pub const NETLINK_ADD_MEMBERSHIP: i32 = 1;
pub const NETLINK_DROP_MEMBERSHIP: i32 = 2;
pub const NETLINK_CAP_ACK: i32 = 10;
pub const NETLINK_EXT_ACK: i32 = 11;
pub const NETLINK_GET_STRICT_CHK: i32 = 12;

/// Receive buffer every reader should use: the kernel packs dump parts into
/// datagrams of up to ~32 KiB, and a short buffer truncates them.
pub const RECV_BUF_LEN: usize = 64 * 1024;

/// Rounds up to the 4-byte netlink alignment.
pub const fn align4(len: usize) -> usize {
    (len + 3) & !3
}

/// `struct nlmsghdr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NlHeader {
    pub len: u32,
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    pub port: u32,
}

impl NlHeader {
    /// Reads a header from the first 16 bytes, if there are 16 bytes.
    pub fn parse(buf: &[u8]) -> Option<Self> {
        if buf.len() < NLMSG_HDRLEN {
            return None;
        }
        Some(NlHeader {
            len: read_u32(&buf[0..4]),
            ty: read_u16(&buf[4..6]),
            flags: read_u16(&buf[6..8]),
            seq: read_u32(&buf[8..12]),
            port: read_u32(&buf[12..16]),
        })
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.len.to_ne_bytes());
        out.extend_from_slice(&self.ty.to_ne_bytes());
        out.extend_from_slice(&self.flags.to_ne_bytes());
        out.extend_from_slice(&self.seq.to_ne_bytes());
        out.extend_from_slice(&self.port.to_ne_bytes());
    }

    /// True when both dump bits are set, which is what selects a dump.
    pub fn is_dump(&self) -> bool {
        self.flags & NLM_F_DUMP == NLM_F_DUMP
    }
}

/// `struct genlmsghdr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GenlHeader {
    pub cmd: u8,
    pub version: u8,
    pub reserved: u16,
}

impl GenlHeader {
    pub fn parse(buf: &[u8]) -> Option<Self> {
        if buf.len() < GENL_HDRLEN {
            return None;
        }
        Some(GenlHeader { cmd: buf[0], version: buf[1], reserved: read_u16(&buf[2..4]) })
    }
}

/// One netlink message inside a datagram, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub header: NlHeader,
    /// The whole message, header included, `header.len` bytes.
    pub bytes: &'a [u8],
}

impl<'a> Message<'a> {
    /// Everything after the 16-byte header.
    pub fn payload(&self) -> &'a [u8] {
        &self.bytes[NLMSG_HDRLEN..]
    }

    /// The genetlink header, when the payload is long enough to hold one.
    pub fn genl_header(&self) -> Option<GenlHeader> {
        GenlHeader::parse(self.payload())
    }

    /// Attributes after the genetlink header (and a family header of
    /// `hdrsize` bytes); offsets are relative to the start of the message.
    pub fn genl_attrs(&self, hdrsize: usize) -> Attrs<'a> {
        let start = (NLMSG_HDRLEN + GENL_HDRLEN + hdrsize).min(self.bytes.len());
        Attrs::new(&self.bytes[start..], start)
    }
}

/// Splits a datagram into messages the way the kernel's `netlink_rcv_skb`
/// does: stop silently at the first header that is shorter than 16 bytes or
/// claims more bytes than the datagram holds.
pub fn split_messages(datagram: &[u8]) -> impl Iterator<Item = Message<'_>> {
    let mut rest = datagram;
    std::iter::from_fn(move || {
        let header = NlHeader::parse(rest)?;
        let len = header.len as usize;
        if len < NLMSG_HDRLEN || len > rest.len() {
            rest = &[];
            return None;
        }
        let message = Message { header, bytes: &rest[..len] };
        rest = &rest[align4(len).min(rest.len())..];
        Some(message)
    })
}

/// One attribute, borrowed, with its position in the enclosing message.
#[derive(Debug, Clone, Copy)]
pub struct Attr<'a> {
    /// `nla_type` as sent, flags included.
    pub raw_type: u16,
    pub payload: &'a [u8],
    /// Byte offset of the attribute header from the start of the message
    /// (what the kernel reports in `NLMSGERR_ATTR_OFFS`).
    pub offset: usize,
}

impl<'a> Attr<'a> {
    /// Attribute type without the `NESTED`/`NET_BYTEORDER` flags.
    pub fn kind(&self) -> u16 {
        self.raw_type & NLA_TYPE_MASK
    }

    pub fn has_nested_flag(&self) -> bool {
        self.raw_type & NLA_F_NESTED != 0
    }

    pub fn u8(&self) -> Option<u8> {
        self.payload.first().copied().filter(|_| self.payload.len() == 1)
    }

    pub fn u16(&self) -> Option<u16> {
        (self.payload.len() == 2).then(|| read_u16(self.payload))
    }

    pub fn u32(&self) -> Option<u32> {
        (self.payload.len() == 4).then(|| read_u32(self.payload))
    }

    pub fn u64(&self) -> Option<u64> {
        (self.payload.len() == 8).then(|| u64::from_ne_bytes(self.payload.try_into().unwrap()))
    }

    pub fn i64(&self) -> Option<i64> {
        self.u64().map(|v| v as i64)
    }

    /// An unsigned integer of any of the four sizes, read liberally.
    pub fn uint(&self) -> Option<u64> {
        match self.payload.len() {
            1 => self.u8().map(u64::from),
            2 => self.u16().map(u64::from),
            4 => self.u32().map(u64::from),
            8 => self.u64(),
            _ => None,
        }
    }

    /// A string, up to its first NUL (or the whole payload without one).
    pub fn string(&self) -> Option<&'a str> {
        let end = self.payload.iter().position(|&b| b == 0).unwrap_or(self.payload.len());
        std::str::from_utf8(&self.payload[..end]).ok()
    }

    /// The attributes nested inside this one.
    pub fn nested(&self) -> Attrs<'a> {
        Attrs::new(self.payload, self.offset + NLA_HDRLEN)
    }
}

/// Iterates attributes like the kernel's `nla_for_each_attr`: it stops at
/// the first attribute whose length is below 4 or past the end; what was
/// not consumed is [`Attrs::leftover`].
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Attrs<'a> {
    /// `base` is the offset of `buf` in the enclosing message.
    pub fn new(buf: &'a [u8], base: usize) -> Self {
        Attrs { buf, pos: 0, base }
    }

    /// Bytes left that do not form a whole attribute (after iteration).
    pub fn leftover(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// The first attribute of the given type.
    pub fn get(&self, kind: u16) -> Option<Attr<'a>> {
        Iterator::find(&mut self.clone(), |a| a.kind() == kind)
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Attr<'a>;

    fn next(&mut self) -> Option<Attr<'a>> {
        let rest = &self.buf[self.pos.min(self.buf.len())..];
        if rest.len() < NLA_HDRLEN {
            return None;
        }
        let len = read_u16(&rest[0..2]) as usize;
        if len < NLA_HDRLEN || len > rest.len() {
            return None;
        }
        let attr =
            Attr { raw_type: read_u16(&rest[2..4]), payload: &rest[NLA_HDRLEN..len], offset: self.base + self.pos };
        self.pos += align4(len);
        Some(attr)
    }
}

/// Builds one netlink message; lengths of the message and of nests are
/// patched in when they close.
#[derive(Debug, Clone)]
pub struct MessageBuilder {
    buf: Vec<u8>,
    open_nests: Vec<usize>,
}

impl MessageBuilder {
    /// Starts a message with the given header fields (length filled in later).
    pub fn new(ty: u16, flags: u16, seq: u32, port: u32) -> Self {
        let mut buf = Vec::with_capacity(256);
        NlHeader { len: 0, ty, flags, seq, port }.write(&mut buf);
        MessageBuilder { buf, open_nests: Vec::new() }
    }

    /// Starts a Generic Netlink message: nlmsghdr + genlmsghdr.
    pub fn genl(family: u16, flags: u16, seq: u32, port: u32, cmd: u8, version: u8) -> Self {
        let mut builder = Self::new(family, flags, seq, port);
        builder.put_raw(&[cmd, version, 0, 0]);
        builder
    }

    /// Appends bytes as they are (fixed family headers such as ifinfomsg),
    /// padded to alignment.
    pub fn put_raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self.pad();
        self
    }

    pub fn put_bytes(&mut self, ty: u16, payload: &[u8]) -> &mut Self {
        self.put_parts(ty, payload, &[])
    }

    /// One attribute whose payload is `head` then `tail`.
    fn put_parts(&mut self, ty: u16, head: &[u8], tail: &[u8]) -> &mut Self {
        let len = NLA_HDRLEN + head.len() + tail.len();
        assert!(len <= u16::MAX as usize, "attribute {ty} too long");
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(head);
        self.buf.extend_from_slice(tail);
        self.pad();
        self
    }

    pub fn put_flag(&mut self, ty: u16) -> &mut Self {
        self.put_bytes(ty, &[])
    }

    pub fn put_u8(&mut self, ty: u16, value: u8) -> &mut Self {
        self.put_bytes(ty, &[value])
    }

    pub fn put_u16(&mut self, ty: u16, value: u16) -> &mut Self {
        self.put_bytes(ty, &value.to_ne_bytes())
    }

    pub fn put_u32(&mut self, ty: u16, value: u32) -> &mut Self {
        self.put_bytes(ty, &value.to_ne_bytes())
    }

    pub fn put_u64(&mut self, ty: u16, value: u64) -> &mut Self {
        self.put_bytes(ty, &value.to_ne_bytes())
    }

    pub fn put_i64(&mut self, ty: u16, value: i64) -> &mut Self {
        self.put_bytes(ty, &value.to_ne_bytes())
    }

    /// A NUL-terminated string (`NLA_NUL_STRING`, and what `nla_put_string` sends).
    pub fn put_str(&mut self, ty: u16, value: &str) -> &mut Self {
        self.put_parts(ty, value.as_bytes(), &[0])
    }

    /// Opens a nest flagged `NLA_F_NESTED`, as modern families send them.
    pub fn nest_start(&mut self, ty: u16) -> &mut Self {
        self.nest_start_noflag(ty | NLA_F_NESTED)
    }

    /// Opens a nest without `NLA_F_NESTED` (`nla_nest_start_noflag`), as the
    /// kernel's controller sends its OPS and MCAST_GROUPS nests.
    pub fn nest_start_noflag(&mut self, ty: u16) -> &mut Self {
        self.open_nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self
    }

    /// Closes the innermost nest. Like an attribute, a nest holds at most
    /// 64 KiB (`nla_len` is 16 bits): callers keep what they nest bounded,
    /// and a longer one is a bug, not a length to truncate.
    pub fn nest_end(&mut self) -> &mut Self {
        let start = self.open_nests.pop().expect("nest_end without nest_start");
        let len = u16::try_from(self.buf.len() - start).expect("a nest longer than 64 KiB");
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        self
    }

    /// Bytes written so far (header included).
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.len() <= NLMSG_HDRLEN
    }

    /// Closes the message and returns its bytes (a multiple of 4 long).
    pub fn finish(mut self) -> Vec<u8> {
        assert!(self.open_nests.is_empty(), "unclosed nest");
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }

    fn pad(&mut self) {
        let padded = align4(self.buf.len());
        self.buf.resize(padded, 0);
    }
}

pub fn read_u16(bytes: &[u8]) -> u16 {
    u16::from_ne_bytes([bytes[0], bytes[1]])
}

pub fn read_u32(bytes: &[u8]) -> u32 {
    u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

pub fn read_i32(bytes: &[u8]) -> i32 {
    i32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_message_round_trips_through_split_and_attrs() {
        let mut b = MessageBuilder::genl(0x13, NLM_F_REQUEST, 7, 0, 1, 1);
        b.put_u32(1, 42).put_str(2, "sim0");
        b.nest_start(4).put_u8(1, 1).nest_end();
        let mut datagram = b.finish();
        let first_len = datagram.len();
        datagram.extend(MessageBuilder::new(NLMSG_DONE, NLM_F_MULTI, 7, 0).finish());

        let messages: Vec<_> = split_messages(&datagram).collect();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].header.len as usize, first_len);
        assert_eq!(messages[0].genl_header().unwrap().cmd, 1);
        let attrs: Vec<_> = messages[0].genl_attrs(0).collect();
        assert_eq!(attrs.len(), 3);
        assert_eq!(attrs[0].u32(), Some(42));
        assert_eq!(attrs[0].offset, 20);
        assert_eq!(attrs[1].string(), Some("sim0"));
        assert_eq!(attrs[1].payload, b"sim0\0");
        assert!(attrs[2].has_nested_flag());
        assert_eq!(attrs[2].kind(), 4);
        let inner: Vec<_> = attrs[2].nested().collect();
        assert_eq!(inner[0].u8(), Some(1));
        assert_eq!(inner[0].offset, attrs[2].offset + 4);
        assert_eq!(messages[1].header.ty, NLMSG_DONE);
    }

    #[test]
    fn split_stops_at_bad_length_like_the_kernel() {
        let good = MessageBuilder::new(0x10, NLM_F_REQUEST, 1, 0).finish();
        let mut datagram = good.clone();
        datagram.extend_from_slice(&[12, 0, 0, 0, 0x10, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        datagram.extend_from_slice(&good);
        assert_eq!(split_messages(&datagram).count(), 1);
        assert_eq!(split_messages(&good[..10]).count(), 0);
    }

    #[test]
    fn attrs_stop_at_length_past_end_and_report_leftover() {
        let mut buf = Vec::new();
        buf.extend_from_slice(&8u16.to_ne_bytes());
        buf.extend_from_slice(&1u16.to_ne_bytes());
        buf.extend_from_slice(&5u32.to_ne_bytes());
        buf.extend_from_slice(&40u16.to_ne_bytes());
        buf.extend_from_slice(&2u16.to_ne_bytes());
        buf.extend_from_slice(b"abcd");
        let mut attrs = Attrs::new(&buf, 20);
        assert_eq!(attrs.next().unwrap().u32(), Some(5));
        assert!(attrs.next().is_none());
        assert_eq!(attrs.leftover(), 8);
    }

    #[test]
    #[should_panic(expected = "a nest longer than 64 KiB")]
    fn a_nest_over_64_kib_is_refused_not_truncated() {
        let mut b = MessageBuilder::new(0x10, 0, 0, 0);
        b.nest_start(1);
        for _ in 0..20 {
            b.put_bytes(2, &[0u8; 4000]);
        }
        b.nest_end();
    }

    #[test]
    fn integer_accessors_require_exact_sizes() {
        let mut b = MessageBuilder::new(0x10, 0, 0, 0);
        b.put_u32(1, 7);
        let msg = b.finish();
        let attr = Attrs::new(&msg[16..], 16).next().unwrap();
        assert_eq!(attr.u32(), Some(7));
        assert_eq!(attr.u16(), None);
        assert_eq!(attr.uint(), Some(7));
    }
}
