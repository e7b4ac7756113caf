#!/usr/bin/env bash
# The vigil run benchmark: per-call cost of an openat storm (intercepted)
# and a getpid storm (not intercepted), bare and under each supervisor,
# side by side in one run. Each configuration runs REPS times, interleaved
# with the others so that load from elsewhere spreads over all of them;
# the table shows the best (minimum) and median per-call cost.
#
#   bench/run/bench.sh [REPS]        (as root or not; needs gcc, strace, go)
set -euo pipefail
cd "$(dirname "$0")"
reps=${1:-5}
out=../out/run
mkdir -p "$out"
gcc -O2 -Wall -o "$out/storm" storm.c
gcc -O2 -Wall -o "$out/csupervisor" csupervisor.c
(cd ../.. && go build -o "bench/out/run/vigil" ./cmd/vigil)
storm=$out/storm csup=$out/csupervisor vigil=$out/vigil
target=$(mktemp /tmp/vigil-bench.XXXXXX)
trap 'rm -f "$target"' EXIT
n_open=${N_OPEN:-20000}
n_getpid=${N_GETPID:-200000}

# name|command prefix (the workload is appended)
configs=(
  "bare|"
  "C filter only|$csup filter 1 --"
  "C supervisor, emulate + ADDFD|$csup emulate 1 --"
  "C supervisor, emulate, no SYNC_WAKE_UP|$csup emulate 0 --"
  "C supervisor, CONTINUE (unsafe)|$csup continue 1 --"
  "vigil run --deny (emulate)|$vigil run --deny /nonexistent --"
  "vigil run, no SYNC_WAKE_UP|$vigil run --no-sync-wakeup --deny /nonexistent --"
  "strace -f|strace -f -qq -o /dev/null --"
  "strace -f --seccomp-bpf|strace -f -qq --seccomp-bpf -e trace=openat -o /dev/null --"
)

declare -A res
for ((r = 0; r < reps; r++)); do
  for c in "${configs[@]}"; do
    name=${c%%|*} pre=${c#*|}
    res["$name|openat"]+="$($pre $storm openat "$n_open" "$target") "
    res["$name|getpid"]+="$($pre $storm getpid "$n_getpid") "
  done
done

stat() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {printf "%s %s\n", a[1], a[int((NR+1)/2)]}'; }
read -r bare_o _ < <(echo "${res["bare|openat"]}" | stat)
read -r bare_g _ < <(echo "${res["bare|getpid"]}" | stat)
printf "%s reps, openat x%s, getpid x%s, kernel %s, %s CPUs, load %s\n" "$reps" "$n_open" "$n_getpid" "$(uname -r)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-40s %12s %12s %8s   %12s %12s %8s\n" "" "openat min" "median" "x bare" "getpid min" "median" "x bare"
for c in "${configs[@]}"; do
  name=${c%%|*}
  read -r omin omed < <(echo "${res["$name|openat"]}" | stat)
  read -r gmin gmed < <(echo "${res["$name|getpid"]}" | stat)
  printf "%-40s %10.0fns %10.0fns %8.2f   %10.1fns %10.1fns %8.2f\n" "$name" "$omin" "$omed" \
    "$(echo "$omin / $bare_o" | bc -l)" "$gmin" "$gmed" "$(echo "$gmin / $bare_g" | bc -l)"
done
