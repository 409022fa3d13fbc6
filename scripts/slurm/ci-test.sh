#!/bin/bash
# A real Slurm test of sharded sweeps (issue 18), run by .ci/run: installs Slurm and munge from
# Debian's packages when missing, starts a one-node cluster on localhost (munged, slurmctld,
# slurmd, all in a temporary directory but munge's socket), submits a small sweep with
# scripts/slurm/submit.sh as a real `sbatch --array` job plus its merge job, waits for them,
# compares the merged files with a local run byte for byte, and stops the daemons it started.
#
#   scripts/slurm/ci-test.sh path/to/dhtsim
set -euo pipefail
dhtsim=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
started=()
cleanup() {
    for pidfile in "${started[@]}"; do
        [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    sleep 1
    rm -rf "$work"
}
trap cleanup EXIT

if ! command -v sbatch > /dev/null || ! command -v munged > /dev/null; then
    echo "installing slurm-wlm and munge from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq slurm-wlm munge > /dev/null
fi

# munge: the key comes with the package; its socket directory may not exist in a container.
if ! munge -n > /dev/null 2>&1; then
    install -d -o munge -g munge -m 755 /run/munge
    runuser -u munge -- /usr/sbin/munged
    started+=(/run/munge/munged.pid)
fi
munge -n | unmunge > /dev/null

# A one-node cluster on ports of its own, its state in $work.
mkdir -p "$work/ctld" "$work/d"
cat > "$work/slurm.conf" <<CONF
ClusterName=dhtsim-ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
StateSaveLocation=$work/ctld
SlurmdSpoolDir=$work/d
SlurmctldPidFile=$work/ctld.pid
SlurmdPidFile=$work/d.pid
SlurmctldLogFile=$work/ctld.log
SlurmdLogFile=$work/d.log
SlurmctldPort=16817
SlurmdPort=16818
MaxArraySize=3
NodeName=localhost CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=ci Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$work/slurm.conf
echo "slurm: $(sbatch --version)"
slurmctld -f "$SLURM_CONF"
started+=("$work/ctld.pid")
slurmd -f "$SLURM_CONF" -N localhost
started+=("$work/d.pid")
for _ in $(seq 60); do
    sinfo -h -o %T 2>/dev/null | grep -qx idle && break
    sleep 0.5
done
sinfo

# A sweep of 4 points x 2 seeds, in 5 shards: MaxArraySize=3 splits it into two arrays.
cd "$work"
cat > s.toml <<'TOML'
name = "slurm-ci"
seed = 4
id_bits = 24
[population]
peers = 64
[workload]
lookups = 300
[sweep]
"population.peers" = [32, 64]
"overlay.fingers" = [false, true]
seeds = [1, 2]
TOML
jobs=$(DHTSIM=$dhtsim "$here/submit.sh" s.toml sharded --shards 5 --throttle 2)
echo "submitted jobs: $jobs"
merge=${jobs##* }
state=""
for _ in $(seq 240); do
    state=$(scontrol show job "$merge" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
    case $state in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL) break ;; esac
    sleep 0.5
done
for id in $jobs; do
    scontrol show job "$id" | grep -E 'JobId=|JobState=' | paste -sd' ' | sed 's/  */ /g'
done
cat slurm-dhtsim-merge-"$merge".out
[ "$state" = COMPLETED ] || { echo "merge job $merge: $state"; tail -20 "$work"/*.log; exit 1; }

# The same sweep on this machine, in one process: every file identical, the manifest but for
# when and how it was made.
"$dhtsim" run s.toml --out local --quiet
(cd local && find . -type f | sort) > local.list
(cd sharded && find . -type f | sort) > sharded.list
diff local.list sharded.list
while read -r f; do
    [ "$f" = ./manifest.json ] && continue
    cmp "local/$f" "sharded/$f"
done < local.list
python3 - <<'PY'
import json
def content(d):
    m = json.load(open(d + "/manifest.json"))
    del m["created"], m["command_line"]
    return m
assert content("local") == content("sharded"), "manifests differ"
PY
echo "slurm: $(wc -l < local.list) files of the merged sweep identical to a local run"
