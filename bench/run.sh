#!/usr/bin/env bash
# Runs vigil's benchmarks side by side with bpftrace and auditd. Root.
#   bench/run.sh                 everything (about 10 minutes)
#   bench/run.sh Overhead/exec   one benchmark (a -bench regexp)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
need=()
for p in bpftrace auditd gcc; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
mkdir -p bench/out
go test -run '^$' -bench "${1:-.}" -benchtime 1x -timeout 60m -v ./bench | tee "bench/out/bench-$(date +%Y%m%d-%H%M%S).txt"
