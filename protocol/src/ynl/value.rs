//! What a decoded message is, in the shape the kernel's YNL library gives
//! it (Python dicts, lists, sets, ints, strings, bytes), and its two
//! printed forms: JSON as `cli.py --output-json` prints it (`json.dumps`
//! with YNL's encoder: bytes as hex, sets as lists) and the text YNL prints
//! by default (`pprint.PrettyPrinter().pprint`: width 80, keys sorted).

use std::fmt::Write;

/// A dict key: attribute names, or the attribute types of indexed arrays.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    Int(u64),
    Str(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i128),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Value>),
    /// A flags enum: the names of the bits set, in bit order (YNL makes a
    /// Python set, whose order is the interpreter's; pprint sorts long ones,
    /// and so does this for all).
    Set(Vec<String>),
    /// Keys in the order the attributes came.
    Dict(Vec<(Key, Value)>),
}

impl Value {
    /// The dict entry `key`, if this is a dict that has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(entries) => entries.iter().find(|(k, _)| matches!(k, Key::Str(s) if s == key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// JSON, as `json.dumps(value, cls=YnlEncoder)` makes it.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::None => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => match (u64::try_from(*i), i64::try_from(*i)) {
                (Ok(u), _) => u.into(),
                (_, Ok(s)) => s.into(),
                _ => serde_json::Value::String(i.to_string()),
            },
            Value::Str(s) => s.clone().into(),
            Value::Bytes(b) => hex(b).into(),
            Value::List(items) => items.iter().map(Value::to_json).collect(),
            Value::Set(items) => items.iter().cloned().collect(),
            Value::Dict(entries) => {
                let map = entries
                    .iter()
                    .map(|(k, v)| {
                        let key = match k {
                            Key::Int(i) => i.to_string(),
                            Key::Str(s) => s.clone(),
                        };
                        (key, v.to_json())
                    })
                    .collect();
                serde_json::Value::Object(map)
            }
        }
    }
}

/// Bytes as YNL prints them: lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    hex_separated(bytes, None)
}

/// Lower-case hex, two digits a byte, `separator` between bytes (a MAC's
/// `:`, YNL's `hex` hint's space). Written into one string: a decoded dump
/// formats one for every MAC it holds.
pub(crate) fn hex_separated(bytes: &[u8], separator: Option<char>) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 3);
    for (index, byte) in bytes.iter().enumerate() {
        if let (Some(separator), true) = (separator, index > 0) {
            text.push(separator);
        }
        text.push(DIGITS[usize::from(byte >> 4)].into());
        text.push(DIGITS[usize::from(byte & 0xf)].into());
    }
    text
}

/// `json.dumps` text: `", "` and `": "` separators, non-ASCII escaped.
pub fn python_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_json(value, &mut out);
    out
}

fn write_json(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(item, out);
            }
            out.push(']');
        }
        serde_json::Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json_string(key, out);
                out.push_str(": ");
                write_json(item, out);
            }
            out.push('}');
        }
        serde_json::Value::String(s) => write_json_string(s, out),
        other => out.push_str(&other.to_string()),
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `repr` of a str.
fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (0x80..0xa0).contains(&(c as u32)) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr` of bytes.
fn repr_bytes(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') { '"' } else { '\'' };
    let mut out = format!("b{quote}");
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b if b as char == quote => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            b => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(quote);
    out
}

fn repr_key(key: &Key) -> String {
    match key {
        Key::Int(i) => i.to_string(),
        Key::Str(s) => repr_str(s),
    }
}

/// Dict entries sorted as pprint sorts them (by key).
fn sorted(entries: &[(Key, Value)]) -> Vec<&(Key, Value)> {
    let mut entries: Vec<_> = entries.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
}

/// Python's one-line `repr` as pprint makes it (dict keys sorted).
fn repr(value: &Value) -> String {
    match value {
        Value::None => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => repr_str(s),
        Value::Bytes(b) => repr_bytes(b),
        Value::List(items) => format!("[{}]", items.iter().map(repr).collect::<Vec<_>>().join(", ")),
        Value::Set(items) if items.is_empty() => "set()".into(),
        Value::Set(items) => {
            let mut items: Vec<String> = items.iter().map(|s| repr_str(s)).collect();
            items.sort();
            format!("{{{}}}", items.join(", "))
        }
        Value::Dict(entries) => format!(
            "{{{}}}",
            sorted(entries).iter().map(|(k, v)| format!("{}: {}", repr_key(k), repr(v))).collect::<Vec<_>>().join(", ")
        ),
    }
}

const WIDTH: usize = 80;

/// `pprint.PrettyPrinter().pformat(value)`.
pub fn pformat(value: &Value) -> String {
    let mut out = String::new();
    format(value, &mut out, 0, 0, 1);
    out
}

/// `PrettyPrinter._format`: the repr when it fits in what is left of the
/// line, otherwise the container laid out over lines.
fn format(value: &Value, out: &mut String, indent: usize, allowance: usize, level: usize) {
    let rep = repr(value);
    if rep.chars().count() + indent + allowance <= WIDTH {
        out.push_str(&rep);
        return;
    }
    match value {
        Value::Dict(entries) if !entries.is_empty() => {
            out.push('{');
            let indent = indent + 1;
            let entries = sorted(entries);
            for (i, (key, item)) in entries.iter().enumerate() {
                let last = i + 1 == entries.len();
                let key = repr_key(key);
                out.push_str(&key);
                out.push_str(": ");
                format(item, out, indent + key.chars().count() + 2, if last { allowance + 1 } else { 1 }, level + 1);
                if !last {
                    out.push_str(",\n");
                    out.push_str(&" ".repeat(indent));
                }
            }
            out.push('}');
        }
        Value::List(items) if !items.is_empty() => {
            out.push('[');
            format_items(items, out, indent, allowance + 1, level);
            out.push(']');
        }
        Value::Set(items) if !items.is_empty() => {
            out.push('{');
            let mut items = items.clone();
            items.sort();
            let items: Vec<Value> = items.into_iter().map(Value::Str).collect();
            format_items(&items, out, indent, allowance + 1, level);
            out.push('}');
        }
        Value::Str(s) if !s.is_empty() => format_str(s, out, indent, allowance, level),
        _ => out.push_str(&rep),
    }
}

/// `PrettyPrinter._format_items` (not compact).
fn format_items(items: &[Value], out: &mut String, indent: usize, allowance: usize, level: usize) {
    let indent = indent + 1;
    for (i, item) in items.iter().enumerate() {
        let last = i + 1 == items.len();
        if i > 0 {
            out.push_str(",\n");
            out.push_str(&" ".repeat(indent));
        }
        format(item, out, indent, if last { allowance } else { 1 }, level + 1);
    }
}

/// `PrettyPrinter._pprint_str`: a long string split at word ends into
/// adjacent literals (in parentheses at the top level).
fn format_str(s: &str, out: &mut String, mut indent: usize, mut allowance: usize, level: usize) {
    if level == 1 {
        indent += 1;
        allowance += 1;
    }
    let max_width = WIDTH.saturating_sub(indent);
    let lines = split_lines_keep_ends(s);
    let mut chunks = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let rep = repr_str(line);
        let limit = if i + 1 == lines.len() { max_width.saturating_sub(allowance) } else { max_width };
        if rep.chars().count() <= limit {
            chunks.push(rep);
            continue;
        }
        // Alternating runs of non-space then space, as re.findall(r'\S*\s*').
        let parts = words(line);
        let mut current = String::new();
        for (j, part) in parts.iter().enumerate() {
            let candidate = format!("{current}{part}");
            let part_limit = if j + 1 == parts.len() && i + 1 == lines.len() {
                max_width.saturating_sub(allowance)
            } else {
                max_width
            };
            if repr_str(&candidate).chars().count() > part_limit && !current.is_empty() {
                chunks.push(repr_str(&current));
                current = part.to_string();
            } else {
                current = candidate;
            }
        }
        if !current.is_empty() {
            chunks.push(repr_str(&current));
        }
    }
    if chunks.len() == 1 {
        out.push_str(&chunks[0]);
        return;
    }
    if level == 1 {
        out.push('(');
    }
    for (i, chunk) in chunks.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(chunk);
    }
    if level == 1 {
        out.push(')');
    }
}

fn split_lines_keep_ends(s: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == '\n' {
            lines.push(&s[start..=i]);
            start = i + 1;
        }
    }
    if start < s.len() {
        lines.push(&s[start..]);
    }
    lines
}

fn words(line: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_space = false;
    for (i, c) in line.char_indices() {
        if !c.is_whitespace() && in_space {
            parts.push(&line[start..i]);
            start = i;
            in_space = false;
        } else if c.is_whitespace() {
            in_space = true;
        }
    }
    if start < line.len() {
        parts.push(&line[start..]);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(entries: Vec<(&str, Value)>) -> Value {
        Value::Dict(entries.into_iter().map(|(k, v)| (Key::Str(k.to_string()), v)).collect())
    }

    #[test]
    fn json_is_what_json_dumps_prints() {
        let value = dict(vec![
            ("b", Value::Int(u64::MAX.into())),
            ("a", Value::Bytes(vec![0xde, 0xad])),
            ("s", Value::Set(vec!["x".into()])),
            ("t", Value::Str("é\"".into())),
            ("n", Value::None),
        ]);
        assert_eq!(
            python_json(&value.to_json()),
            r#"{"b": 18446744073709551615, "a": "dead", "s": ["x"], "t": "\u00e9\"", "n": null}"#
        );
    }

    #[test]
    fn short_values_print_as_their_repr_with_sorted_keys() {
        let value = dict(vec![("z", Value::Int(1)), ("a", Value::Str("it's".into())), ("f", Value::Bool(true))]);
        assert_eq!(pformat(&value), r#"{'a': "it's", 'f': True, 'z': 1}"#);
        assert_eq!(pformat(&Value::Bytes(b"a\x00'".to_vec())), r#"b"a\x00'""#);
        assert_eq!(pformat(&Value::Set(vec![])), "set()");
    }

    #[test]
    fn long_containers_break_as_pprint_breaks_them() {
        // What Python 3.11 prints for the same data (checked with pprint).
        let port = dict(vec![
            ("ifname", Value::Str("sim0p0".into())),
            ("index", Value::Int(0)),
            ("mac", Value::Str("02:53:49:4d:00:00".into())),
            ("peer-ifname", Value::Str("sim0p0-peer".into())),
        ]);
        let value = vec![dict(vec![("dev-name", Value::Str("sim0".into())), ("port", Value::List(vec![port]))])];
        assert_eq!(
            pformat(&Value::List(value)),
            "[{'dev-name': 'sim0',\n  'port': [{'ifname': 'sim0p0',\n            'index': 0,\n            \
             'mac': '02:53:49:4d:00:00',\n            'peer-ifname': 'sim0p0-peer'}]}]"
        );
    }
}
