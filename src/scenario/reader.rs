//! Typed, located reads from the document tree.
//!
//! Every read names the key it asks for, so the reader knows, table by table, which keys exist.
//! Whatever the document holds beyond them is an unknown key, reported with the closest known
//! name. Reads never stop at the first problem: errors are collected, and unknown keys are
//! reported before anything else (a misspelt key usually explains a later "missing" error).

use super::doc::{Kind, Node};
use super::error::{InputError, Origin};
use super::file::Inputs;
use std::collections::BTreeMap;

/// The longest duration a scenario may give, in seconds (about three years of virtual time):
/// far beyond any published churn trace, and short enough that every run ends.
pub const MAX_SECONDS: f64 = 1e8;

/// A number as messages show it: plainly, or in exponent form when huge or tiny (`1e299`).
pub fn num(x: f64) -> String {
    let a = x.abs();
    if a.is_finite() && a != 0.0 && !(1e-4..1e12).contains(&a) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// Reads values out of a document, collecting errors and the set of known keys.
pub struct Reader<'a> {
    file: &'a str,
    text: &'a str,
    errors: Vec<InputError>,
    /// Settings that have no effect (reported, not fatal).
    warnings: Vec<InputError>,
    /// Known keys per table path ("" for the top level, "events" for each `[[events]]` table).
    known: BTreeMap<String, Vec<&'static str>>,
    /// Where the files the scenario names are read from.
    inputs: &'a Inputs,
}

/// A table of the document and its dotted path.
#[derive(Clone, Copy)]
pub struct Table<'n> {
    /// Path used to name keys in messages (`overlay`, `events[2]`).
    pub path: &'n str,
    /// Path under which known keys are registered (`overlay`, `events`).
    pub schema: &'static str,
    /// The table, or `None` when the document omits it (every read then gives its default).
    pub node: Option<&'n Node>,
}

impl<'a> Reader<'a> {
    /// A reader for the file `file` with contents `text`, whose own inputs come from `inputs`.
    pub fn new(file: &'a str, text: &'a str, inputs: &'a Inputs) -> Self {
        let (errors, warnings, known) = (Vec::new(), Vec::new(), BTreeMap::new());
        Reader { file, text, errors, warnings, known, inputs }
    }

    /// The scenario's text.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// Where the files the scenario names are read from.
    pub fn inputs(&self) -> &'a Inputs {
        self.inputs
    }

    /// Records a warning that is not about one key's value.
    pub fn warn(&mut self, w: InputError) {
        self.warnings.push(w);
    }

    /// The scenario file as named by the user.
    pub fn file(&self) -> &str {
        self.file
    }

    /// Records a ready-made error.
    pub fn push(&mut self, e: InputError) {
        self.errors.push(e);
    }

    /// A duration in seconds (integer or decimal), rounded to the millisecond; must be > 0 (or
    /// >= 0 with `allow_zero`) and at most [`MAX_SECONDS`]. `None` when absent or invalid.
    pub fn seconds(
        &mut self,
        table: &Table<'_>,
        key: &'static str,
        allow_zero: bool,
    ) -> Option<u64> {
        let (s, node) = self.number(table, key)?;
        let ms = (s * 1000.0).round();
        if s < 0.0 || (!allow_zero && ms < 1.0) || s > MAX_SECONDS {
            let want = if allow_zero { "at least 0" } else { "positive (at least 0.001 s)" };
            let msg = format!("must be {want} and at most {} s, got {}", num(MAX_SECONDS), num(s));
            self.error(table, key, node, msg);
            return None;
        }
        Some(ms as u64)
    }

    /// The dotted name of `key` in `table`.
    pub fn key_name(table: &Table<'_>, key: &str) -> String {
        if table.path.is_empty() { key.to_string() } else { format!("{}.{key}", table.path) }
    }

    /// Records an error at `node` about `key` of `table`.
    pub fn error(&mut self, table: &Table<'_>, key: &str, node: &Node, message: String) {
        let name = Self::key_name(table, key);
        self.errors.push(InputError::at(self.file, self.text, &node.origin, Some(&name), message));
    }

    /// Records an error about the table itself (a missing or conflicting key).
    pub fn table_error(&mut self, table: &Table<'_>, key: &str, message: String) {
        let name = Self::key_name(table, key);
        let e = match table.node {
            Some(node) => {
                InputError::at(self.file, self.text, &node.key_origin, Some(&name), message)
            }
            None => InputError { key: Some(name), ..InputError::whole(self.file, message) },
        };
        self.errors.push(e);
    }

    /// An error at `key` of `table` (at its line) when the document sets it: `why` says why it
    /// cannot be set here.
    pub fn forbidden(&mut self, table: &Table<'_>, key: &'static str, why: &str) {
        if let Some(node) = self.get(table, key) {
            let name = Self::key_name(table, key);
            let e = InputError::at(self.file, self.text, &node.key_origin, Some(&name), why.into());
            self.errors.push(e);
        }
    }

    /// Warns that `key` of `table`, when the document sets it, has no effect: `why` says why
    /// (e.g. "has no effect with `model = \"none\"`"). A user who sets a key expects it to matter.
    pub fn ignored(&mut self, table: &Table<'_>, key: &'static str, why: &str) {
        if let Some(node) = self.get(table, key) {
            let name = Self::key_name(table, key);
            let e = InputError::at(self.file, self.text, &node.key_origin, Some(&name), why.into());
            self.warnings.push(e);
        }
    }

    /// Looks up `key` in `table`, registering it as known.
    pub fn get<'n>(&mut self, table: &Table<'n>, key: &'static str) -> Option<&'n Node> {
        let known = self.known.entry(table.schema.to_string()).or_default();
        if !known.contains(&key) {
            known.push(key);
        }
        match &table.node?.kind {
            Kind::Table(map) => map.get(key),
            _ => None,
        }
    }

    /// The sub-table `key` of `table` (a `[section]`).
    pub fn table<'n>(&mut self, table: &Table<'n>, key: &'static str, path: &'n str) -> Table<'n> {
        let node = self.get(table, key);
        if let Some(n) = node
            && !matches!(n.kind, Kind::Table(_))
        {
            let msg = format!("expected a table (a [{key}] section), found {}", n.kind.type_name());
            self.error(table, key, n, msg);
            return Table { path, schema: key, node: None };
        }
        Table { path, schema: key, node }
    }

    /// A boolean, or `default` when absent.
    pub fn bool(&mut self, table: &Table<'_>, key: &'static str, default: bool) -> bool {
        match self.get(table, key) {
            None => default,
            Some(Node { kind: Kind::Bool(b), .. }) => *b,
            Some(n) => {
                let msg =
                    format!("expected a boolean (true or false), found {}", n.kind.type_name());
                self.error(table, key, n, msg);
                default
            }
        }
    }

    /// An integer in `min..=max`, or `None` when absent.
    pub fn int(
        &mut self,
        table: &Table<'_>,
        key: &'static str,
        min: i128,
        max: i128,
    ) -> Option<i128> {
        let n = self.get(table, key)?;
        self.int_node(table, key, n, min, max)
    }

    /// The integer `n` (the value of `key`, or an element of it), checked to lie in `min..=max`.
    pub fn int_node(
        &mut self,
        table: &Table<'_>,
        key: &str,
        n: &Node,
        min: i128,
        max: i128,
    ) -> Option<i128> {
        match n.kind {
            Kind::Int(i) if (min..=max).contains(&i) => Some(i),
            Kind::HugeInt(x) => {
                let msg = format!("{} is out of range: expected {}", num(x), range_text(min, max));
                self.error(table, key, n, msg);
                None
            }
            Kind::Int(i) => {
                let shown = if i.abs() >= 10i128.pow(20) { num(i as f64) } else { i.to_string() };
                let msg = format!("{shown} is out of range: expected {}", range_text(min, max));
                self.error(table, key, n, msg);
                None
            }
            _ => {
                let msg = format!("expected an integer, found {}", n.kind.type_name());
                self.error(table, key, n, msg);
                None
            }
        }
    }

    /// A number (integer or float), finite, or `None` when absent.
    pub fn number<'n>(&mut self, table: &Table<'n>, key: &'static str) -> Option<(f64, &'n Node)> {
        let n = self.get(table, key)?;
        match n.kind {
            Kind::Int(i) => Some((i as f64, n)),
            Kind::HugeInt(x) => Some((x, n)),
            Kind::Float(x) if x.is_finite() => Some((x, n)),
            _ => {
                let msg = format!("expected a number, found {}", describe(&n.kind));
                self.error(table, key, n, msg);
                None
            }
        }
    }

    /// A string, or `None` when absent.
    pub fn string<'n>(&mut self, table: &Table<'n>, key: &'static str) -> Option<&'n str> {
        let n = self.get(table, key)?;
        match &n.kind {
            Kind::Str(s) => Some(s),
            other => {
                let msg = format!("expected a string, found {}", other.type_name());
                self.error(table, key, n, msg);
                None
            }
        }
    }

    /// One of `choices`, or `None` when absent or invalid.
    pub fn choice(
        &mut self,
        table: &Table<'_>,
        key: &'static str,
        choices: &[&'static str],
    ) -> Option<&'static str> {
        let s = self.string(table, key)?;
        if let Some(c) = choices.iter().find(|&&c| c == s) {
            return Some(c);
        }
        let node = self.get(table, key).expect("just read");
        let list = choices.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
        let name = Self::key_name(table, key);
        let mut e = InputError::at(
            self.file,
            self.text,
            &node.origin,
            Some(&name),
            format!("unknown value \"{s}\": expected one of {list}"),
        );
        if let Some(best) = closest(s, choices) {
            e = e.with_hint(format!("did you mean \"{best}\"?"));
        }
        self.errors.push(e);
        None
    }

    /// The elements of the array `key`, or `None` when absent.
    pub fn array<'n>(&mut self, table: &Table<'n>, key: &'static str) -> Option<&'n [Node]> {
        let n = self.get(table, key)?;
        match &n.kind {
            Kind::Array(items) => Some(items),
            other => {
                let msg = format!("expected an array, found {}", other.type_name());
                self.error(table, key, n, msg);
                None
            }
        }
    }

    /// Every key read so far, as dotted names (`overlay.hop_limit`, `events.at_ms`), sorted.
    pub fn known_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .known
            .iter()
            .flat_map(|(table, keys)| {
                keys.iter().map(move |k| {
                    if table.is_empty() { k.to_string() } else { format!("{table}.{k}") }
                })
            })
            .collect();
        keys.sort();
        keys
    }

    /// Checks every table of `root` for keys nobody asked for, then returns the first error:
    /// unknown keys first, in file order, then the others in the order they were found. Without
    /// errors, returns the warnings.
    pub fn finish(self, root: &Node) -> Result<Vec<InputError>, InputError> {
        let mut unknown = Vec::new();
        self.unknown_keys(root, "", "", &mut unknown);
        unknown.sort_by_key(|(pos, _)| *pos);
        if let Some((_, e)) = unknown.into_iter().next() {
            return Err(e);
        }
        match self.errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(self.warnings),
        }
    }

    fn unknown_keys(
        &self,
        node: &Node,
        path: &str,
        schema: &str,
        found: &mut Vec<(usize, InputError)>,
    ) {
        let Kind::Table(map) = &node.kind else { return };
        let empty = Vec::new();
        let known = self.known.get(schema).unwrap_or(&empty);
        for (key, child) in map {
            let name = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            if !known.contains(&key.as_str()) {
                let what = if path.is_empty() && matches!(child.kind, Kind::Table(_)) {
                    "unknown section"
                } else {
                    "unknown key"
                };
                let mut e = InputError::at(
                    self.file,
                    self.text,
                    &child.key_origin,
                    Some(&name),
                    what.to_string(),
                );
                if let Some(best) = closest(key, known) {
                    e = e.with_hint(format!("did you mean `{best}`?"));
                } else if !known.is_empty() {
                    let mut list = known.clone();
                    list.sort_unstable();
                    e = e.with_hint(format!("known keys here: {}", list.join(", ")));
                }
                let pos = match &child.key_origin {
                    Origin::File(span) => span.start,
                    Origin::Override(_) => usize::MAX,
                };
                found.push((pos, e));
                continue;
            }
            // Only sections are searched for unknown keys: a table given where a value is
            // expected (`seed = { a = 1 }`) is a type error, reported by the read of that key.
            // A nested table's schema is its dotted path (`swarm.classes`).
            let schema = match known_schema(known, key) {
                k if schema.is_empty() => k.to_string(),
                k => format!("{schema}.{k}"),
            };
            if !self.known.contains_key(schema.as_str()) {
                continue;
            }
            match &child.kind {
                Kind::Table(_) => self.unknown_keys(child, &name, &schema, found),
                Kind::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let item_path = format!("{name}[{i}]");
                        self.unknown_keys(item, &item_path, &schema, found);
                    }
                }
                _ => {}
            }
        }
    }
}

/// The schema name of a known key (its `'static` spelling).
fn known_schema<'k>(known: &'k [&'static str], key: &str) -> &'k str {
    known.iter().find(|&&k| k == key).copied().unwrap_or("")
}

/// The known name closest to `word`, if it is close enough to be a likely typo.
pub fn closest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    candidates
        .iter()
        .map(|&c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|&(d, c)| d <= 2.max(c.len() / 3))
        .min()
        .map(|(_, c)| c)
}

fn range_text(min: i128, max: i128) -> String {
    if max == i128::MAX { format!("at least {min}") } else { format!("{min} to {max}") }
}

fn describe(kind: &Kind) -> String {
    match kind {
        Kind::Float(x) => format!("the non-finite float {x}"),
        other => other.type_name().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_suggests_typos_only() {
        assert_eq!(closest("fingrs", &["fingers", "successors"]), Some("fingers"));
        assert_eq!(closest("peer", &["peers", "ids"]), Some("peers"));
        assert_eq!(closest("zzzzzz", &["peers", "ids"]), None);
    }
}
