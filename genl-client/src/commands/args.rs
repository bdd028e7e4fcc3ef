//! iproute2-style `key value` argument lists: `mtu 9000 up mac 02:...`.
//! Each key at most once; errors name the key.

use std::collections::HashSet;

pub struct Words<'a> {
    iter: std::slice::Iter<'a, String>,
    seen: HashSet<String>,
}

impl<'a> Words<'a> {
    pub fn new(args: &'a [String]) -> Self {
        Words { iter: args.iter(), seen: HashSet::new() }
    }

    /// The next keyword; a keyword given twice is an error.
    pub fn next_key(&mut self) -> Result<Option<&'a str>, String> {
        let Some(word) = self.iter.next() else { return Ok(None) };
        // up/down (and on/off forms) share one setting
        let setting = match word.as_str() {
            "up" | "down" => "up|down",
            "address" => "mac",
            other => other,
        };
        if !self.seen.insert(setting.to_string()) {
            return Err(format!("`{word}` given twice"));
        }
        Ok(Some(word))
    }

    pub fn value(&mut self, key: &str) -> Result<&'a str, String> {
        self.iter.next().map(String::as_str).ok_or_else(|| format!("`{key}` needs a value"))
    }

    pub fn number<T: std::str::FromStr>(&mut self, key: &str) -> Result<T, String> {
        let text = self.value(key)?;
        text.parse().map_err(|_| format!("{key} `{text}` is not a valid number"))
    }

    pub fn on_off(&mut self, key: &str) -> Result<bool, String> {
        match self.value(key)? {
            "on" | "1" | "true" => Ok(true),
            "off" | "0" | "false" => Ok(false),
            other => Err(format!("{key} `{other}`: expected on or off")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn keys_values_and_repeats() {
        let args = words("mtu 9000 carrier off up");
        let mut w = Words::new(&args);
        assert_eq!(w.next_key(), Ok(Some("mtu")));
        assert_eq!(w.number::<u32>("mtu"), Ok(9000));
        assert_eq!(w.next_key(), Ok(Some("carrier")));
        assert_eq!(w.on_off("carrier"), Ok(false));
        assert_eq!(w.next_key(), Ok(Some("up")));
        assert_eq!(w.next_key(), Ok(None));
        let args = words("up down");
        let mut w = Words::new(&args);
        w.next_key().unwrap();
        assert!(w.next_key().unwrap_err().contains("twice"));
    }
}
