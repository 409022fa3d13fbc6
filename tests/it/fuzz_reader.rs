//! Property tests of the scenario reader, in process (issue 13): whatever the text, reading it
//! never panics, answers within `READ_LIMIT`, and a mistake renders as a message that starts
//! with `error: `. The documents are (a) made from the known keys (`known_keys()`) with values of
//! random types, mostly of the key's own type (so the reader goes past the type checks), and
//! (b) the shipped scenarios with bytes flipped, inserted, deleted or cut.
//!
//! These run the reader only, never a simulation. They sit apart from `corpus`, which runs the
//! `dhtsim` binary once per case: here thousands of documents are read in a few seconds, in
//! this process; they share the corpus's table of keys and their types. The number of cases is
//! proptest's (256, or `PROPTEST_CASES`).

use super::corpus::{Ty, keys};
use dhtsim::scenario::{self, doc};
use proptest::prelude::*;
use proptest::sample::Index;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::Duration;

/// Reading one document must take less than this (it takes milliseconds).
const READ_LIMIT: Duration = Duration::from_secs(5);

/// Reads `text` as the scenario `file` on a thread of its own, so that a hang is reported as one
/// rather than hanging the test; checks the properties.
fn check_reader(file: PathBuf, text: String) -> Result<(), TestCaseError> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let file = file.display().to_string();
        let parsed = doc::parse(&file, &text).err().map(|e| e.to_string());
        let read = scenario::from_text(&file, &text, "s", &[], None)
            .map(|s| s.runs.len())
            .map_err(|e| e.to_string());
        let _ = tx.send((parsed, read));
    });
    let (parsed, read) = match rx.recv_timeout(READ_LIMIT) {
        Ok(answer) => answer,
        Err(RecvTimeoutError::Timeout) => {
            return Err(TestCaseError::fail(format!("no answer within {READ_LIMIT:?}")));
        }
        Err(RecvTimeoutError::Disconnected) => {
            return Err(TestCaseError::fail("the reader panicked (see the message above)"));
        }
    };
    if let Some(msg) = parsed {
        prop_assert!(msg.starts_with("error: "), "doc::parse: {msg}");
        prop_assert!(read.is_err(), "from_text accepts what doc::parse rejects: {msg}");
    }
    match read {
        Ok(runs) => prop_assert!(runs >= 1, "a valid scenario has at least one run"),
        Err(msg) => {
            prop_assert!(msg.starts_with("error: "), "{msg}");
            let head = msg.lines().next().unwrap_or("");
            prop_assert!(head.len() > "error: ".len(), "an empty message: {msg}");
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// (a) Documents made from the known keys

const INTS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "3",
    "7",
    "63",
    "64",
    "65",
    "1000",
    "1024",
    "1025",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
];
const FLOATS: &[&str] = &[
    "0.0", "-0.0", "0.5", "1.5", "1e-9", "0.0005", "1e12", "1e300", "-1e300", "inf", "-inf", "nan",
];
const DATES: &[&str] = &["1979-05-27T07:32:00Z", "1979-05-27", "07:32:00"];
/// Strings a scenario uses (every choice, a trace file), and some it does not.
const WORDS: &[&str] = &[
    "ring",
    "joins",
    "constant",
    "uniform",
    "stored",
    "zipf",
    "own_fingers",
    "none",
    "exponential",
    "pareto",
    "weibull",
    "poisson",
    "trace",
    "steady",
    "lookup",
    "store",
    "join",
    "leave",
    "crash",
    "t.csv",
    "file-0",
    "x",
    "",
    "a/b",
    "..",
];

fn float_literal(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{x:?}")
    }
}

fn select(list: &'static [&'static str]) -> BoxedStrategy<String> {
    prop::sample::select(list).prop_map(str::to_string).boxed()
}

/// A TOML value of any type: scalars, and arrays and inline tables of them.
fn any_value() -> BoxedStrategy<String> {
    let scalar = prop_oneof![
        any::<i64>().prop_map(|i| i.to_string()),
        select(INTS),
        any::<f64>().prop_map(float_literal),
        select(FLOATS),
        any::<bool>().prop_map(|b| b.to_string()),
        "[a-z0-9_./ -]{0,10}".prop_map(|s| format!("\"{s}\"")),
        select(WORDS).prop_map(|s| format!("\"{s}\"")),
        select(DATES),
    ];
    scalar
        .prop_recursive(2, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(", "))),
                prop::collection::vec(("[a-z_]{1,6}", inner), 0..3).prop_map(|kv| {
                    let parts: Vec<String> =
                        kv.into_iter().map(|(k, v)| format!("{k} = {v}")).collect();
                    format!("{{ {} }}", parts.join(", "))
                }),
            ]
        })
        .boxed()
}

/// A value of the key's own type, near the edges of its range more often than not.
fn typed_value(ty: Ty) -> BoxedStrategy<String> {
    match ty {
        Ty::Int(min, max) => {
            let lo = min.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
            let hi = max.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
            let edges = vec![min - 1, min, min + 1, max - 1, max, max + 1];
            prop_oneof![
                (lo..=hi).prop_map(|i| i.to_string()),
                prop::sample::select(edges).prop_map(|i| i.to_string()),
                select(INTS),
            ]
            .boxed()
        }
        Ty::Num { lo, hi, .. } => {
            let edges: Vec<String> = [lo, hi, lo - 1.0, hi + 1.0, (lo + hi.min(1e6)) / 2.0]
                .into_iter()
                .map(float_literal)
                .collect();
            prop_oneof![
                (0.0..1000.0f64).prop_map(float_literal),
                (0u32..2000).prop_map(|i| i.to_string()),
                prop::sample::select(edges),
                select(FLOATS),
            ]
            .boxed()
        }
        Ty::Bool => any::<bool>().prop_map(|b| b.to_string()).boxed(),
        Ty::Str | Ty::Name | Ty::Choice(_) => {
            let choices: Vec<String> = match ty {
                Ty::Choice(c) => c.iter().map(|s| format!("\"{s}\"")).collect(),
                _ => vec!["\"t.csv\"".into(), "\"x\"".into()],
            };
            prop_oneof![
                prop::sample::select(choices),
                select(WORDS).prop_map(|s| format!("\"{s}\""))
            ]
            .boxed()
        }
        Ty::Ids | Ty::Seeds => prop::collection::vec(0u64..70, 0..6)
            .prop_map(|v| {
                let items: Vec<String> = v.iter().map(u64::to_string).collect();
                format!("[{}]", items.join(", "))
            })
            .boxed(),
        Ty::Times => prop::collection::vec(0.0..20.0f64, 0..4)
            .prop_map(|v| {
                let items: Vec<String> = v.into_iter().map(float_literal).collect();
                format!("[{}]", items.join(", "))
            })
            .boxed(),
        Ty::Section | Ty::Events => any_value(),
    }
}

/// (known key, value) for any known key: of its own type three times in four when the corpus
/// knows its type, of any type otherwise.
fn key_value() -> BoxedStrategy<(String, String)> {
    let types: BTreeMap<&str, Ty> = keys().iter().map(|k| (k.known, k.ty)).collect();
    // `[[schedule]]` steps name pending events, which random documents cannot: the corpus
    // tests their keys.
    let strategies: Vec<BoxedStrategy<(String, String)>> = scenario::known_keys()
        .into_iter()
        .filter(|key| !key.starts_with("schedule"))
        .map(|key| {
            let value = match types.get(key.as_str()) {
                Some(&ty) => prop_oneof![3 => typed_value(ty), 1 => any_value()].boxed(),
                None => any_value(),
            };
            value.prop_map(move |v| (key.clone(), v)).boxed()
        })
        .collect();
    prop::strategy::Union::new(strategies).boxed()
}

/// A scenario document: top-level keys, `[section]`s, up to three `[[events]]` tables, and a
/// `[sweep]` of up to two keys of up to three values each (so at most 9 points per seed).
fn document() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(key_value(), 0..16),
        1usize..4,
        prop::collection::vec((key_value(), prop::collection::vec(key_value(), 0..3)), 0..3),
    )
        .prop_map(|(pairs, n_events, swept)| {
            let mut top = Vec::new();
            let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let mut events: Vec<Vec<String>> = vec![Vec::new(); n_events];
            let mut seen = std::collections::BTreeSet::new();
            for (i, (key, value)) in pairs.into_iter().enumerate() {
                if !seen.insert(key.clone()) {
                    continue;
                }
                match key.split_once('.') {
                    Some(("events", k)) => events[i % n_events].push(format!("{k} = {value}")),
                    Some((t, k)) => {
                        tables.entry(t.into()).or_default().push(format!("{k} = {value}"))
                    }
                    None => top.push((key, value)),
                }
            }
            // Swept keys: the first value's key, with the values of the others as its list.
            for ((key, first), rest) in swept {
                if key.starts_with("events.") || key.starts_with("sweep") || !key.contains('.') {
                    continue;
                }
                let mut values = vec![first];
                values.extend(rest.into_iter().map(|(_, v)| v));
                let line = format!("\"{key}\" = [{}]", values.join(", "));
                tables.entry("sweep".into()).or_default().push(line);
            }
            let mut text = String::new();
            for (key, value) in &top {
                // `overlay = 5` only when the document has no [overlay] of its own.
                if tables.contains_key(key)
                    || (key == "events" && events.iter().any(|e| !e.is_empty()))
                {
                    continue;
                }
                text.push_str(&format!("{key} = {value}\n"));
            }
            for (table, lines) in &tables {
                text.push_str(&format!("[{table}]\n"));
                for line in lines {
                    text.push_str(&format!("{line}\n"));
                }
            }
            for lines in events.iter().filter(|e| !e.is_empty()) {
                text.push_str("[[events]]\n");
                for line in lines {
                    text.push_str(&format!("{line}\n"));
                }
            }
            text
        })
}

/// A directory holding a small valid trace `t.csv`, for documents whose `churn.trace` names it.
fn trace_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.csv"), "at_ms,kind,peer\n1000,crash,1\n2000,join,2\n")
        .unwrap();
    dir
}

// ---------------------------------------------------------------------------------------------
// (b) Mutated shipped scenarios

/// One change to a file's bytes, at a position given relative to its length.
#[derive(Clone, Debug)]
enum Mutation {
    FlipBit(Index, u8),
    SetByte(Index, u8),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Duplicate(Index, usize),
    Truncate(Index),
}

/// Bytes that mean something to TOML or to the reader.
const TOKENS: &[&[u8]] = &[
    b"[",
    b"]",
    b"[[",
    b"]]",
    b"{",
    b"}",
    b"\"",
    b"'",
    b"\"\"\"",
    b"=",
    b".",
    b",",
    b"\n",
    b"\r",
    b"#",
    b"\\",
    b"-",
    b"0",
    b"1e300",
    b"-1",
    b"inf",
    b"nan",
    b"true",
    b"18446744073709551616",
    b"[[events]]\n",
    b"[sweep]\n",
    b"\xff",
    b"\0",
    b"\xc3",
    b"\t",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::SetByte(i, b)),
        (any::<Index>(), prop::sample::select(TOKENS))
            .prop_map(|(i, t)| Mutation::Insert(i, t.to_vec())),
        (any::<Index>(), prop::collection::vec(any::<u8>(), 1..4))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<Index>(), 1usize..32).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let at = |i: &Index, len: usize| i.index(len + 1);
    match m {
        Mutation::FlipBit(i, bit) if !bytes.is_empty() => {
            let p = i.index(bytes.len());
            bytes[p] ^= 1 << bit;
        }
        Mutation::SetByte(i, b) if !bytes.is_empty() => {
            let p = i.index(bytes.len());
            bytes[p] = *b;
        }
        Mutation::Insert(i, b) => {
            let p = at(i, bytes.len());
            bytes.splice(p..p, b.iter().copied());
        }
        Mutation::Delete(i, n) => {
            let p = at(i, bytes.len());
            let end = (p + n).min(bytes.len());
            bytes.drain(p..end);
        }
        Mutation::Duplicate(i, n) => {
            let p = at(i, bytes.len());
            let end = (p + n).min(bytes.len());
            let copy = bytes[p..end].to_vec();
            bytes.splice(end..end, copy);
        }
        Mutation::Truncate(i) => {
            let p = at(i, bytes.len());
            bytes.truncate(p);
        }
        _ => {}
    }
}

/// Every shipped scenario: its path and bytes, in name order.
fn shipped() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> =
        std::fs::read_dir(super::repo_root().join("scenarios"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .map(|p| {
                let bytes = std::fs::read(&p).unwrap();
                (p, bytes)
            })
            .collect();
    files.sort();
    files
}

proptest! {
    #[test]
    fn generated_documents_read_without_panic_or_hang(text in document()) {
        let dir = trace_dir();
        check_reader(dir.path().join("s.toml"), text)?;
    }

    #[test]
    fn mutated_scenarios_read_without_panic_or_hang(
        which in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let files = shipped();
        prop_assert!(!files.is_empty());
        let (path, original) = &files[which.index(files.len())];
        let mut bytes = original.clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        check_reader(path.clone(), String::from_utf8_lossy(&bytes).into_owned())?;
    }
}

/// The generators make what they should: documents that the reader accepts as well as ones it
/// rejects, so the properties are tested past the first type check.
#[test]
fn generated_documents_are_sometimes_valid() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = document();
    let dir = trace_dir();
    let file = dir.path().join("s.toml").display().to_string();
    let (mut ok, mut bad) = (0, 0);
    for _ in 0..300 {
        let text = strategy.new_tree(&mut runner).unwrap().current();
        match scenario::from_text(&file, &text, "s", &[], None) {
            Ok(_) => ok += 1,
            Err(_) => bad += 1,
        }
    }
    assert!(ok >= 10 && bad >= 10, "{ok} valid and {bad} invalid of 300 generated documents");
}
