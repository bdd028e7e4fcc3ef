//! What devlink's messages carry that its 6.12 spec does not describe
//! (parameter values, health messages, region chunks: data whose type
//! varies, or repeated nests the spec lists once), written by the uapi's
//! numbers (`simdev_netlink::devlink`'s `attr` and `cmd`: one list for the
//! kernel's devlink client and this driver).

pub use simdev_netlink::devlink::{attr, cmd};
use simdev_protocol::wire::{MessageBuilder, NLMSG_HDRLEN};

/// Attributes written by `fill`, without a message around them.
pub fn raw(fill: impl FnOnce(&mut MessageBuilder)) -> Vec<u8> {
    let mut message = MessageBuilder::new(0, 0, 0, 0);
    fill(&mut message);
    message.finish()[NLMSG_HDRLEN..].to_vec()
}

/// The largest piece of binary data in one value (`DEVLINK_FMSG_MAX_SIZE`:
/// `NLMSG_GOODSIZE`, 3776 with 4 KiB pages, less the netlink, genetlink,
/// genetlink-again and attribute headers).
const FMSG_MAX_SIZE: usize = 3776 - 16 - 4 - 4 - 4;

/// A health message (`struct devlink_fmsg`): objects, pairs and arrays of
/// named values, as the kernel's `devlink_fmsg_*_put` builds them.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Fmsg {
    items: Vec<FmsgItem>,
}

#[derive(Debug, Clone, PartialEq)]
enum FmsgItem {
    Flag(u16),
    Name(String),
    Value(FmsgValue),
}

/// A value and its netlink type (`DEVLINK_ATTR_FMSG_OBJ_VALUE_TYPE`).
#[derive(Debug, Clone, PartialEq)]
pub enum FmsgValue {
    Bool(bool),
    U8(u8),
    U32(u32),
    U64(u64),
    String(String),
    Binary(Vec<u8>),
}

impl Fmsg {
    pub fn obj_start(&mut self) -> &mut Self {
        self.items.push(FmsgItem::Flag(attr::FMSG_OBJ_NEST_START));
        self
    }

    pub fn obj_end(&mut self) -> &mut Self {
        self.items.push(FmsgItem::Flag(attr::FMSG_NEST_END));
        self
    }

    /// `devlink_fmsg_pair_nest_start`: a name whose value follows.
    pub fn pair_start(&mut self, name: &str) -> &mut Self {
        self.items.push(FmsgItem::Flag(attr::FMSG_PAIR_NEST_START));
        self.items.push(FmsgItem::Name(name.to_string()));
        self
    }

    pub fn pair_end(&mut self) -> &mut Self {
        self.items.push(FmsgItem::Flag(attr::FMSG_NEST_END));
        self
    }

    /// `devlink_fmsg_arr_pair_nest_start`: a name whose values follow.
    pub fn arr_pair_start(&mut self, name: &str) -> &mut Self {
        self.pair_start(name);
        self.items.push(FmsgItem::Flag(attr::FMSG_ARR_NEST_START));
        self
    }

    /// `devlink_fmsg_arr_pair_nest_end`: the array's end and its pair's.
    pub fn arr_pair_end(&mut self) -> &mut Self {
        self.items.push(FmsgItem::Flag(attr::FMSG_NEST_END));
        self.pair_end()
    }

    /// `devlink_fmsg_*_put`: a value of an array.
    pub fn value(&mut self, value: FmsgValue) -> &mut Self {
        self.items.push(FmsgItem::Value(value));
        self
    }

    /// `devlink_fmsg_*_pair_put`: a binary value is an array of itself
    /// (`devlink_fmsg_binary_pair_nest_start`), in pieces of at most
    /// `DEVLINK_FMSG_MAX_SIZE`.
    pub fn pair(&mut self, name: &str, value: FmsgValue) -> &mut Self {
        self.pair_start(name);
        match value {
            FmsgValue::Binary(bytes) => {
                self.items.push(FmsgItem::Flag(attr::FMSG_ARR_NEST_START));
                for piece in bytes.chunks(FMSG_MAX_SIZE) {
                    self.items.push(FmsgItem::Value(FmsgValue::Binary(piece.to_vec())));
                }
                self.items.push(FmsgItem::Flag(attr::FMSG_NEST_END));
            }
            value => self.items.push(FmsgItem::Value(value)),
        }
        self.pair_end()
    }

    /// The whole message: one object (`devlink_fmsg_obj_nest_start`
    /// around what the reporter put, as the core adds it).
    pub fn finished(mut self) -> Fmsg {
        self.items.insert(0, FmsgItem::Flag(attr::FMSG_OBJ_NEST_START));
        self.items.push(FmsgItem::Flag(attr::FMSG_NEST_END));
        self
    }

    /// The `fmsg` nest, as `devlink_fmsg_prepare_skb` writes it (a bool's
    /// data is a u8, "regardless of its value").
    pub fn nest(&self) -> Vec<u8> {
        raw(|m| {
            m.nest_start_noflag(attr::FMSG);
            for item in &self.items {
                match item {
                    FmsgItem::Flag(kind) => m.put_flag(*kind),
                    FmsgItem::Name(name) => m.put_str(attr::FMSG_OBJ_NAME, name),
                    FmsgItem::Value(value) => {
                        let (nla_type, data) = match value {
                            FmsgValue::Bool(b) => (6u8, vec![u8::from(*b)]),
                            FmsgValue::U8(n) => (1, vec![*n]),
                            FmsgValue::U32(n) => (3, n.to_ne_bytes().to_vec()),
                            FmsgValue::U64(n) => (4, n.to_ne_bytes().to_vec()),
                            FmsgValue::String(s) => (10, [s.as_bytes(), &[0]].concat()),
                            FmsgValue::Binary(b) => (11, b.clone()),
                        };
                        m.put_u8(attr::FMSG_OBJ_VALUE_TYPE, nla_type).put_bytes(attr::FMSG_OBJ_VALUE_DATA, &data)
                    }
                };
            }
            m.nest_end();
        })
    }
}
