#!/bin/bash
# Submits a dhtsim sweep to Slurm: a job array of shards, then a merge job that runs once every
# shard has succeeded (--dependency=afterok). Prints the job ids, the merge job's last.
#
#   scripts/slurm/submit.sh SCENARIO OUT [--shards K] [--throttle N] [-- dhtsim run options...]
#
# K defaults to the number of runs (one run per task, as `dhtsim check --runs` lists them);
# N (default 32) caps the tasks running at once (`--array=...%N`). Arrays longer than the
# cluster's MaxArraySize are split into several, each with its offset. Shards go to
# OUT.shard-I-of-K/, the merged sweep to OUT/. Set DHTSIM to the binary (default: dhtsim on
# PATH); it must be reachable from the compute nodes, as must the scenario and OUT.
set -euo pipefail
usage() { echo "usage: $0 SCENARIO OUT [--shards K] [--throttle N] [-- dhtsim run options...]" >&2; exit 2; }
[ $# -ge 2 ] || usage
scenario=$1
out=$2
shift 2
shards=""
throttle=32
while [ $# -gt 0 ]; do
    case $1 in
        --shards) shards=$2; shift 2 ;;
        --throttle) throttle=$2; shift 2 ;;
        --) shift; break ;;
        *) usage ;;
    esac
done
dhtsim=${DHTSIM:-$(command -v dhtsim || true)}
[ -n "$dhtsim" ] || { echo "$0: no dhtsim on PATH; set DHTSIM" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
# The options that change the runs (--set, --seed) go to `check --runs` as well.
check=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case ${args[i]} in
        --set | --seed) check+=("${args[i]}" "${args[i + 1]:-}"); i=$((i + 1)) ;;
        --set=* | --seed=*) check+=("${args[i]}") ;;
    esac
done
# One line per run after the header; the last columns are memory_bytes, memory, events, time_s
# and time (a swept value may hold a comma, so they are counted from the end).
list=$("$dhtsim" check "$scenario" --runs "${check[@]}")
runs=$(($(printf '%s\n' "$list" | wc -l) - 1))
[ "$runs" -ge 1 ] || { echo "$0: $scenario lists no run" >&2; exit 2; }
shards=${shards:-$runs}
[ "$shards" -ge 1 ] || usage
# What to ask of each task: the longest shard's estimated time, the largest run's memory.
printf '%s\n' "$list" | awk -F, -v k="$shards" '
    NR > 1 { t[$1 % k] += $(NF - 1); if ($(NF - 4) + 0 > m) m = $(NF - 4) + 0 }
    END {
        for (i in t) if (t[i] > x) x = t[i]
        printf "estimated per task: at most %.3g s of one core, %.0f MB (dhtsim check --runs)\n", x, m / 1e6
    }' >&2
# MaxArraySize: task ids go up to MaxArraySize - 1.
max=$(scontrol show config | awk '$1 == "MaxArraySize" { print $3 }')
per=$(( ${max:-1001} - 1 ))
ids=()
offset=0
while [ "$offset" -lt "$shards" ]; do
    n=$(( shards - offset < per ? shards - offset : per ))
    id=$(sbatch --parsable --array="1-$n%$throttle" \
        --export="ALL,SHARDS=$shards,OFFSET=$offset,DHTSIM=$dhtsim" \
        "$here/sweep.sbatch" "$scenario" "$out" "$@")
    ids+=("${id%%;*}")
    echo "array job ${id%%;*}: shards $((offset + 1))-$((offset + n)) of $shards" >&2
    offset=$(( offset + n ))
done
deps=$(IFS=:; echo "${ids[*]}")
dirs=()
for i in $(seq 1 "$shards"); do dirs+=("$out.shard-$i-of-$shards"); done
merge=$(sbatch --parsable --job-name=dhtsim-merge --dependency="afterok:$deps" \
    --output="slurm-%x-%j.out" --wrap="$(printf '%q ' "$dhtsim" merge "$out" "${dirs[@]}")")
echo "merge job ${merge%%;*}: $out/ once every shard has succeeded" >&2
echo "${ids[@]} ${merge%%;*}"
