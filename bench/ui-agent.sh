#!/bin/bash
# ui-agent.sh: what the live view costs a real agent (sensors included):
# vigil monitor watching opens of one file while bench/workload/storm
# opens it at 50,000/s for 10 s, without --ui, with --ui and nobody
# connected, and with one client (curl) streaming /api/events. Prints the
# agent's CPU (utime+stime from /proc/PID/stat, as a share of one core)
# and RSS. Needs root, cc and curl. The table holds the host's processes
# (TestCost, bench/ui-cost.sh, fills it with 10,000).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/vigil" ./cmd/vigil
cc -O2 -o "$dir/storm" bench/workload/storm.c
touch "$dir/f"
rate=${RATE:-50000} secs=${SECS:-10} port=${PORT:-9478}
hz=$(getconf CLK_TCK)
for mode in none idle client; do
	args=(monitor --events open --open-prefix "$dir/" -o none)
	[ "$mode" != none ] && args+=(--ui "127.0.0.1:$port")
	"$dir/vigil" "${args[@]}" 2>"$dir/agent.err" &
	agent=$!
	until grep -q msg=ready "$dir/agent.err"; do sleep 0.1; done
	client=
	if [ "$mode" = client ]; then
		curl -sN "127.0.0.1:$port/api/events" >/dev/null &
		client=$!
		until curl -s "127.0.0.1:$port/api/stats" | grep -q '"clients":1'; do sleep 0.1; done
	fi
	t0=$(awk '{print $14+$15}' "/proc/$agent/stat")
	"$dir/storm" rate "$rate" "$secs" "$dir/f" >/dev/null
	t1=$(awk '{print $14+$15}' "/proc/$agent/stat")
	rss=$(awk '/VmRSS/ {print int($2/1024)}' "/proc/$agent/status")
	hwm=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$agent/status")
	[ -n "$client" ] && kill "$client"
	kill -TERM "$agent"
	wait "$agent" || true
	echo "ui agent: mode=$mode cpu=$(( 100 * (t1 - t0) / (hz * secs) ))% of a core rss=${rss} MiB peak=${hwm} MiB $(grep -E '^(open|ui:)' "$dir/agent.err" | tr -s ' ' | tr '\n' ' ')"
done
