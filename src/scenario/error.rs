//! Input errors: one message that names the file, line, column and key, with the offending line
//! quoted, so a user can fix a scenario without reading code.

use std::fmt;
use std::ops::Range;

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Bytes `span` of the scenario file.
    File(Range<usize>),
    /// A `--set KEY=VALUE` argument (the whole argument).
    Override(String),
}

/// A mistake in the user's input. Exit status 2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    /// The scenario file as the user named it.
    pub file: String,
    /// Where in the input, when known.
    pub location: Option<Location>,
    /// The dotted key at fault, when there is one.
    pub key: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
    /// A suggestion ("did you mean ...").
    pub hint: Option<String>,
}

/// A resolved position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// 1-based line and column in the file, with the line's text and the span's width on it.
    File { line: usize, col: usize, text: String, width: usize },
    /// A `--set` argument.
    Override(String),
}

impl InputError {
    /// An error about the input as a whole (no position).
    pub fn whole(file: &str, message: impl Into<String>) -> Self {
        InputError {
            file: file.to_string(),
            location: None,
            key: None,
            message: message.into(),
            hint: None,
        }
    }

    /// An error at `origin` in `text` (the file's contents), about `key`.
    pub fn at(file: &str, text: &str, origin: &Origin, key: Option<&str>, message: String) -> Self {
        let location = Some(match origin {
            Origin::File(span) => locate(text, span.clone()),
            Origin::Override(arg) => Location::Override(arg.clone()),
        });
        InputError {
            file: file.to_string(),
            location,
            key: key.map(str::to_string),
            message,
            hint: None,
        }
    }

    /// The same error with a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The 1-based line of the error in the file, if it has one.
    pub fn line(&self) -> Option<usize> {
        match &self.location {
            Some(Location::File { line, .. }) => Some(*line),
            _ => None,
        }
    }
}

/// Line, column and line text of the byte range `span` of `text`.
fn locate(text: &str, span: Range<usize>) -> Location {
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = text[..start].matches('\n').count() + 1;
    let col = text[line_start..start].chars().count() + 1;
    let line_text = text[line_start..line_end].trim_end_matches('\r').to_string();
    let width = text[start..span.end.clamp(start, line_end)].chars().count().max(1);
    Location::File { line, col, text: line_text, width }
}

impl InputError {
    /// The same text as a warning: something in the input that has no effect, said so instead
    /// of being silently ignored.
    pub fn as_warning(&self) -> String {
        let text = self.to_string();
        format!("warning: {}", text.strip_prefix("error: ").unwrap_or(&text))
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: ")?;
        match &self.location {
            Some(Location::File { line, col, .. }) => write!(f, "{}:{line}:{col}: ", self.file)?,
            Some(Location::Override(arg)) => write!(f, "--set {arg}: ")?,
            None => write!(f, "{}: ", self.file)?,
        }
        if let Some(key) = &self.key {
            write!(f, "key `{key}`: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(Location::File { line, col, text, width }) = &self.location {
            let gutter = line.to_string().len();
            let pad = " ".repeat(gutter);
            let (shown, caret_at, width) = snippet(text, col - 1, *width);
            let indent: String =
                shown.chars().take(caret_at).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
            write!(f, "\n{pad} |\n{line} | {shown}\n{pad} | {indent}{}", "^".repeat(width))?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  = hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InputError {}

/// The most characters of a line an error quotes.
const SNIPPET_CHARS: usize = 100;

/// The part of `line` an error quotes: at most [`SNIPPET_CHARS`] characters around the column
/// `at` (0-based), elided with `…`, control characters shown as `�`. Returns the text, the
/// caret's column in it and the caret's width.
fn snippet(line: &str, at: usize, width: usize) -> (String, usize, usize) {
    let chars: Vec<char> =
        line.chars().map(|c| if c.is_control() && c != '\t' { '\u{fffd}' } else { c }).collect();
    let at = at.min(chars.len());
    if chars.len() <= SNIPPET_CHARS {
        return (chars.into_iter().collect(), at, width);
    }
    let start = at.saturating_sub(SNIPPET_CHARS / 3).min(chars.len() - SNIPPET_CHARS);
    let end = start + SNIPPET_CHARS;
    let mut text: String = chars[start..end].iter().collect();
    let mut caret = at - start;
    if start > 0 {
        text.insert(0, '…');
        caret += 1;
    }
    if end < chars.len() {
        text.push('…');
    }
    (text, caret, width.min(end - at).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_column_and_caret() {
        let text = "name = \"x\"\n[overlay]\nfingrs = true\n";
        let at = text.find("fingrs").unwrap();
        let e = InputError::at(
            "s.toml",
            text,
            &Origin::File(at..at + 6),
            Some("overlay.fingrs"),
            "unknown key".into(),
        )
        .with_hint("did you mean `fingers`?");
        assert_eq!(
            e.to_string(),
            "error: s.toml:3:1: key `overlay.fingrs`: unknown key\n  |\n3 | fingrs = true\n  | ^^^^^^\n  = hint: did you mean `fingers`?"
        );
        assert_eq!(e.line(), Some(3));
    }

    #[test]
    fn long_lines_are_cut_around_the_column() {
        let text = format!("ids = [{}99999]\n", "1, ".repeat(1000));
        let at = text.find("99999").unwrap();
        let e = InputError::at("s.toml", &text, &Origin::File(at..at + 5), None, "bad".into());
        let shown = e.to_string();
        let quoted = shown.lines().nth(2).unwrap();
        assert!(quoted.chars().count() < 120, "{quoted}");
        assert!(quoted.starts_with("1 | …") && quoted.ends_with("99999]"), "{quoted}");
        let caret = shown.lines().nth(3).unwrap();
        assert_eq!(caret.find('^').unwrap(), quoted.find("99999").unwrap() - 2, "{shown}");
        assert!(shown.starts_with(&format!("error: s.toml:1:{}:", at + 1)), "{shown}");
    }

    #[test]
    fn control_characters_are_not_echoed() {
        let text = "a = \u{1b}[31m\0\n";
        let e = InputError::at("s.toml", text, &Origin::File(4..5), None, "bad".into());
        assert!(!e.to_string().contains('\u{1b}') && !e.to_string().contains('\0'), "{e}");
    }
}
