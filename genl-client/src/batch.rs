//! Batch files (`genl-client -b FILE`): one command per line in the CLI
//! grammar without the program name, split as iproute2 splits batch lines:
//! `#` starts a comment (outside quotes), a word may be quoted with `'…'` or
//! `"…"` (no escapes), and a line ending in `\` continues on the next.

/// One command of a batch file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchLine {
    /// Line number (from 1) where the command starts.
    pub line: usize,
    /// The command as written (continuations joined, comment removed).
    pub text: String,
    pub words: Vec<String>,
}

/// A batch file that cannot be split into commands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct BatchSyntaxError {
    pub line: usize,
    pub message: String,
}

/// Splits a batch file into commands; blank and comment-only lines are skipped.
pub fn parse_batch(text: &str) -> Result<Vec<BatchLine>, BatchSyntaxError> {
    let mut commands = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let (start, mut joined) = pending.take().unwrap_or((number, String::new()));
        match raw.strip_suffix('\\') {
            Some(head) => {
                joined.push_str(head);
                joined.push(' ');
                pending = Some((start, joined));
                continue;
            }
            None => joined.push_str(raw),
        }
        let (words, text) = split_words(&joined).map_err(|message| BatchSyntaxError { line: start, message })?;
        if !words.is_empty() {
            commands.push(BatchLine { line: start, text, words });
        }
    }
    if let Some((start, _)) = pending {
        return Err(BatchSyntaxError { line: start, message: "the last line ends with a continuation `\\`".into() });
    }
    Ok(commands)
}

/// Splits one command into words (iproute2's `makeargs`), dropping a
/// `#` comment; returns the words and the command text without the comment.
fn split_words(line: &str) -> Result<(Vec<String>, String), String> {
    let mut words = Vec::new();
    let mut rest = line;
    let mut consumed = 0;
    loop {
        let trimmed = rest.trim_start();
        consumed += rest.len() - trimmed.len();
        rest = trimmed;
        let Some(first) = rest.chars().next() else { break };
        if first == '#' {
            break;
        }
        let (word, len) = if first == '\'' || first == '"' {
            let end = rest[1..].find(first).ok_or_else(|| format!("unterminated {first}quoted{first} string"))?;
            (rest[1..1 + end].to_string(), end + 2)
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            (rest[..end].to_string(), end)
        };
        words.push(word);
        rest = &rest[len..];
        consumed += len;
    }
    Ok((words, line[..consumed].trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<Vec<String>> {
        parse_batch(text).unwrap().into_iter().map(|l| l.words).collect()
    }

    #[test]
    fn comments_blank_lines_and_quotes() {
        let batch =
            parse_batch("# setup\n\ndev set sim0 mtu 9000   # jumbo\n  reg write 'my dev' ctrl \"0x1\"\n").unwrap();
        assert_eq!(batch.len(), 2);
        assert_eq!(batch[0].line, 3);
        assert_eq!(batch[0].words, ["dev", "set", "sim0", "mtu", "9000"]);
        assert_eq!(batch[0].text, "dev set sim0 mtu 9000");
        assert_eq!(batch[1].words, ["reg", "write", "my dev", "ctrl", "0x1"]);
        assert_eq!(
            words("fault set d x errno EIO '# not a comment'"),
            [["fault", "set", "d", "x", "errno", "EIO", "# not a comment"]]
        );
    }

    #[test]
    fn continuation_joins_lines_and_keeps_the_first_line_number() {
        let batch = parse_batch("dev list\ndev set sim0 \\\n  mtu 1400 \\\n  up\nport list\n").unwrap();
        assert_eq!(batch[1].line, 2);
        assert_eq!(batch[1].words, ["dev", "set", "sim0", "mtu", "1400", "up"]);
        assert_eq!(batch[2].line, 5);
    }

    #[test]
    fn syntax_errors_name_their_line() {
        assert_eq!(parse_batch("dev list\ndev show 'sim0\n").unwrap_err().line, 2);
        assert!(parse_batch("dev list \\").unwrap_err().message.contains("continuation"));
    }
}
