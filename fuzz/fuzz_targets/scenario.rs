//! Feeds arbitrary bytes to the scenario reader, as `dhtsim check` reads a file: no overrides,
//! no `--seed`, then the memory estimate that `check` prints for what it accepts. It must never
//! panic (overflow included: run with debug assertions, `-a`), never hang, and a mistake must
//! render as a message that starts with `error: `. Bytes that are not UTF-8 are read lossily
//! (the command line rejects them before the reader; the reader itself must cope with any text).
#![no_main]

use libfuzzer_sys::fuzz_target;

/// The scenario's name in messages. Its directory does not exist, so a relative `churn.trace`
/// names no file and the fuzzer reads none.
const FILE: &str = "/nonexistent-dhtsim-fuzz/fuzz.toml";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match dhtsim::scenario::from_text(FILE, &text, "fuzz", &[], None) {
        Ok(scenario) => {
            let _ = dhtsim::memory::sweep_estimate(&scenario, 0);
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("error: "), "{message}");
        }
    }
});
