#!/usr/bin/env bash
# Fuzzes the scenario reader for SECONDS (default 60) on stable Rust.
# Seeds fuzz/corpus/scenario from scenarios/*.toml and writes a dictionary of TOML tokens and
# every key documented in docs/scenario.md, then runs `cargo fuzz` without a sanitizer (`-s none`
# is what works on stable). Crashes and hangs are saved in fuzz/artifacts/scenario/.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
mkdir -p corpus/scenario
cp ../scenarios/*.toml corpus/scenario/
{
    for t in '[' ']' '[[' ']]' '{' '}' '=' '"' "'" '"""' '.' ',' '#' 'true' 'false' 'inf' 'nan' \
        '1e300' '-1' '0' '18446744073709551616' '1979-05-27T07:32:00Z' '[[events]]' '[sweep]'; do
        printf '"%s"\n' "$(printf '%s' "$t" | sed 's/\\/\\\\/g; s/"/\\"/g')"
    done
    grep -o '^| `[a-z_]*`' ../docs/scenario.md | sed 's/^| `\(.*\)`$/"\1"/' | sort -u
} > scenario.dict
cargo fuzz run -s none -a scenario corpus/scenario -- -dict=scenario.dict \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
