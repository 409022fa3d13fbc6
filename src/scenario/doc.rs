//! The scenario document as a tree of values that remember where they came from.
//!
//! TOML is parsed with `toml`'s span-preserving parser; `--set KEY=VALUE` overrides are then
//! applied to the tree, so every later error can point at the file line or the argument that
//! caused it.

use super::error::{InputError, Origin};
use indexmap::IndexMap;
use toml::de::{DeTable, DeValue};

/// A value with its origin.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub kind: Kind,
    /// Where the value is written.
    pub origin: Origin,
    /// Where its key is written (the value's own origin for array elements and the root).
    pub key_origin: Origin,
}

/// A TOML value.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A string.
    Str(String),
    /// An integer (wide enough for every u64 and i64).
    Int(i128),
    /// An integer too large even for `Int`, approximately (kept to report it as out of range).
    HugeInt(f64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A date or time (never valid in a scenario, kept to report it).
    Datetime(String),
    /// An array.
    Array(Vec<Node>),
    /// A table, keys in file order.
    Table(IndexMap<String, Node>),
}

impl Kind {
    /// How the value's type is named in messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Str(_) => "a string",
            Kind::Int(_) | Kind::HugeInt(_) => "an integer",
            Kind::Float(_) => "a float",
            Kind::Bool(_) => "a boolean",
            Kind::Datetime(_) => "a date-time",
            Kind::Array(_) => "an array",
            Kind::Table(_) => "a table",
        }
    }
}

/// Parses the scenario text `text` of file `file` into a tree.
pub fn parse(file: &str, text: &str) -> Result<Node, InputError> {
    let table = DeTable::parse(text).map_err(|e| {
        let origin = Origin::File(e.span().unwrap_or(0..0));
        let message = format!("invalid TOML: {}", e.message().trim_end());
        InputError::at(file, text, &origin, None, message)
    })?;
    let span = table.span();
    convert_table(file, text, table.into_inner(), Origin::File(span))
}

fn convert_table(
    file: &str,
    text: &str,
    t: DeTable<'_>,
    origin: Origin,
) -> Result<Node, InputError> {
    let mut map = IndexMap::new();
    for (k, v) in t {
        let key_origin = Origin::File(k.span());
        let mut node = convert(file, text, v)?;
        node.key_origin = key_origin;
        map.insert(k.into_inner().into_owned(), node);
    }
    Ok(Node { kind: Kind::Table(map), key_origin: origin.clone(), origin })
}

fn convert(file: &str, text: &str, v: toml::Spanned<DeValue<'_>>) -> Result<Node, InputError> {
    let origin = Origin::File(v.span());
    let bad = |what: &str| {
        InputError::at(file, text, &Origin::File(v.span()), None, format!("invalid {what}"))
    };
    let kind = match v.get_ref() {
        DeValue::String(s) => Kind::Str(s.to_string()),
        DeValue::Integer(i) => match i128::from_str_radix(i.as_str(), i.radix()) {
            Ok(v) => Kind::Int(v),
            Err(_) if i.radix() == 10 => {
                Kind::HugeInt(parse_float(i.as_str()).ok_or_else(|| bad("integer"))?)
            }
            Err(_) => return Err(bad("integer (more than 128 bits)")),
        },
        DeValue::Float(x) => Kind::Float(parse_float(x.as_str()).ok_or_else(|| bad("float"))?),
        DeValue::Boolean(b) => Kind::Bool(*b),
        DeValue::Datetime(d) => Kind::Datetime(d.to_string()),
        DeValue::Array(_) | DeValue::Table(_) => {
            let span = v.span();
            match v.into_inner() {
                DeValue::Array(items) => Kind::Array(
                    items
                        .into_iter()
                        .map(|item| convert(file, text, item))
                        .collect::<Result<_, _>>()?,
                ),
                DeValue::Table(t) => return convert_table(file, text, t, Origin::File(span)),
                _ => unreachable!("matched above"),
            }
        }
    };
    Ok(Node { kind, key_origin: origin.clone(), origin })
}

fn parse_float(s: &str) -> Option<f64> {
    let s = s.replace('_', "");
    match s.trim_start_matches('+') {
        "inf" => Some(if s.starts_with('-') { f64::NEG_INFINITY } else { f64::INFINITY }),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" | "-nan" => Some(f64::NAN),
        other => other.parse().ok(),
    }
}

/// Pairs of keys that say the same thing two ways (a scenario gives one or the other).
const ALTERNATIVES: [(&str, &[&str]); 3] = [
    ("workload", &["lookups", "rate_per_s", "per_peer_interval_s"]),
    ("workload", &["files", "files_per_peer"]),
    ("population", &["peers", "ids"]),
];

/// Applies `--set KEY=VALUE` to the tree: KEY is a dotted path (`overlay.hop_limit`); VALUE is a
/// TOML value (`true`, `64`, `"text"`, `[1, 2]`), or else taken as a plain string. A key under
/// `sweep.` names a swept key, itself dotted: `sweep.population.peers=[16, 32]` (or quoted,
/// as in the file: `sweep."population.peers"=[16, 32]`). Setting one of alternative keys
/// (`workload.lookups` / `rate_per_s` / `per_peer_interval_s`, `workload.files` /
/// `files_per_peer`, `population.peers` / `ids`) removes the others.
pub fn apply_override(file: &str, root: &mut Node, arg: &str) -> Result<(), InputError> {
    let origin = Origin::Override(arg.to_string());
    let err = |key: Option<&str>, msg: String| InputError::at(file, "", &origin, key, msg);
    let Some((path, raw)) = arg.split_once('=') else {
        return Err(err(None, "expected KEY=VALUE, e.g. --set overlay.hop_limit=64".into()));
    };
    let path = path.trim();
    let mut parts: Vec<String> = path.split('.').map(|p| p.trim().to_string()).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(err(Some(path), "empty key segment".into()));
    }
    if parts[0] == "sweep" && parts.len() > 1 {
        // `sweep.a.b` and `sweep."a.b"` both name the swept key `a.b`.
        let key = parts[1..].join(".");
        parts = vec!["sweep".to_string(), key.trim_matches('"').to_string()];
    }
    // Setting one of two alternative keys replaces the other, so `--set workload.lookups=20`
    // works on a scenario that gives `rate_per_s`.
    for (table, keys) in ALTERNATIVES {
        if let [t, k] = &parts[..]
            && t == table
            && keys.contains(&k.as_str())
            && let Kind::Table(map) = &mut root.kind
            && let Some(Node { kind: Kind::Table(section), .. }) = map.get_mut(table)
        {
            for other in keys.iter().filter(|o| **o != k) {
                section.shift_remove(*other);
            }
        }
    }
    let raw = raw.trim();
    let mut kind = match DeValue::parse(raw) {
        Ok(v) => convert("--set", raw, v).map(|n| n.kind).unwrap_or(Kind::Str(raw.to_string())),
        Err(_) => Kind::Str(raw.to_string()),
    };
    set_origin_deep(&mut kind, &origin);
    let node = Node { kind, origin: origin.clone(), key_origin: origin.clone() };
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    set_path(root, &parts, node).map_err(|msg| err(Some(path), msg))
}

/// Sets the value at the dotted path `parts` (creating tables on the way) to `node`. Fails with a
/// message when the path runs through something that is not a table.
pub fn set_path(root: &mut Node, parts: &[&str], node: Node) -> Result<(), String> {
    let mut table = root;
    for (i, part) in parts.iter().enumerate() {
        let Kind::Table(map) = &mut table.kind else {
            return Err(format!("`{}` is not a table", parts[..i].join(".")));
        };
        if i + 1 == parts.len() {
            map.insert(part.to_string(), node);
            return Ok(());
        }
        let origin = node.key_origin.clone();
        table = map.entry(part.to_string()).or_insert_with(|| Node {
            kind: Kind::Table(IndexMap::new()),
            origin: origin.clone(),
            key_origin: origin,
        });
    }
    unreachable!("the loop returns at the last part")
}

/// A value as a user would write it, for result columns: `true`, `64`, `0.5`, `uniform`,
/// `[1, 2]`.
pub fn display(kind: &Kind) -> String {
    match kind {
        Kind::Str(s) | Kind::Datetime(s) => s.clone(),
        Kind::Int(i) => i.to_string(),
        Kind::HugeInt(x) => super::reader::num(*x),
        Kind::Float(x) => x.to_string(),
        Kind::Bool(b) => b.to_string(),
        Kind::Array(items) => {
            let inner: Vec<String> = items.iter().map(|n| display(&n.kind)).collect();
            format!("[{}]", inner.join(", "))
        }
        Kind::Table(map) => {
            let inner: Vec<String> =
                map.iter().map(|(k, n)| format!("{k} = {}", display(&n.kind))).collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

fn set_origin_deep(kind: &mut Kind, origin: &Origin) {
    let children: Box<dyn Iterator<Item = &mut Node>> = match kind {
        Kind::Array(items) => Box::new(items.iter_mut()),
        Kind::Table(map) => Box::new(map.values_mut()),
        _ => return,
    };
    for child in children {
        child.origin = origin.clone();
        child.key_origin = origin.clone();
        set_origin_deep(&mut child.kind, origin);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(n: &'a Node, key: &str) -> &'a Node {
        let Kind::Table(m) = &n.kind else { panic!("not a table") };
        &m[key]
    }

    #[test]
    fn keeps_spans_of_keys_and_values() {
        let text = "seed = 7\n[overlay]\nhop_limit = 64\n";
        let root = parse("f", text).unwrap();
        let v = get(get(&root, "overlay"), "hop_limit");
        assert_eq!(v.kind, Kind::Int(64));
        let Origin::File(span) = &v.key_origin else { panic!() };
        assert_eq!(&text[span.clone()], "hop_limit");
    }

    #[test]
    fn big_unsigned_integers_survive() {
        let root = parse("f", "x = 18446744073709551615\n").unwrap();
        assert_eq!(get(&root, "x").kind, Kind::Int(u64::MAX as i128));
    }

    #[test]
    fn overrides_create_tables_and_parse_values() {
        let mut root = parse("f", "seed = 7\n").unwrap();
        apply_override("f", &mut root, "overlay.hop_limit=64").unwrap();
        apply_override("f", &mut root, "name=plain words").unwrap();
        apply_override("f", &mut root, "seed = 9").unwrap();
        apply_override("f", &mut root, "sweep.population.peers=[1, 2]").unwrap();
        let swept = get(get(&root, "sweep"), "population.peers");
        assert_eq!(display(&swept.kind), "[1, 2]");
        assert_eq!(get(get(&root, "overlay"), "hop_limit").kind, Kind::Int(64));
        assert_eq!(get(&root, "name").kind, Kind::Str("plain words".into()));
        assert_eq!(get(&root, "seed").kind, Kind::Int(9));
        let e = apply_override("f", &mut root, "seed.x=1").unwrap_err();
        assert!(e.to_string().contains("`seed` is not a table"), "{e}");
        assert!(apply_override("f", &mut root, "novalue").is_err());
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let e = parse("f.toml", "seed = 7\nname = \n").unwrap_err();
        assert_eq!(e.line(), Some(2), "{e}");
    }
}
