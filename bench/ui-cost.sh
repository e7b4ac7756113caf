#!/bin/sh
# ui-cost.sh: what the live view (vigil monitor --ui) costs the agent,
# with 10,000 processes in the table and 50,000 events/s: without the
# view, with the view and nobody connected, and with one client streaming
# the events and refreshing the tree. Each case runs in its own process
# (internal/ui TestCost). Needs curl. SECONDS_PER_CASE defaults to 10.
set -eu
cd "$(dirname "$0")/.."
bin=$(mktemp)
trap 'rm -f "$bin"' EXIT
go test -c -o "$bin" ./internal/ui
for mode in none idle client; do
	VIGIL_UI_COST=$mode VIGIL_UI_COST_SECONDS=${SECONDS_PER_CASE:-10} "$bin" -test.run '^TestCost$' | grep '^ui cost:'
done
