#!/usr/bin/env bash
# hour.sh: the false-positive measure of builtin:detect (issue 14,
# docs/detections.md "False positives"). Runs a normal hour of work on this
# host — apt-get install and purge of packages, git clone and commit, go build,
# go vet and go test of this repository, cron running a job every minute,
# service restarts, SSH logins over a local connection — under
# `vigil monitor --policy builtin:detect --alerts-only`, and counts the alerts
# that work raised, by rule.
#
# The work runs in a cgroup of its own (vigil-fphour, on the cgroup2
# hierarchy), and the count keeps only alerts whose process.cgroup is that one:
# whatever else the host does meanwhile (other builds, CI) is counted apart.
# Daemons started by the work (sshd, cron) stay in the cgroup, and so do the
# sessions and jobs they start.
#
# Needs root. Installs openssh-server, openssh-client, cron and git if absent.
#
#   test/falsepos/hour.sh [--minutes N] [--out DIR] [--vigil BIN]
#
# Beside builtin:detect, a recording policy (DIR/record.yaml, loaded after it,
# so builtin:detect's rules come first) logs every other exec, open, module
# and opt-in event of the work with severity info: DIR/work.ndjson is the
# work's whole stream, to replay tuned rules against without running the
# hour again (`vigil policy replay builtin:detect DIR/work.ndjson`).
#
# Writes DIR/alerts.ndjson (everything vigil printed), DIR/work.ndjson,
# DIR/activity.log (what was done, when), DIR/vigil.err and DIR/summary.txt
# (the count), and prints the summary.
set -euo pipefail

minutes=60
out=test/falsepos/out
vigil=
repo=$(cd "$(dirname "$0")/../.." && pwd)
while [ $# -gt 0 ]; do
	case $1 in
	--minutes) minutes=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--vigil) vigil=${2:?}; shift 2 ;;
	-h|--help) sed -n '2,22p' "$0"; exit 0 ;;
	*) echo "hour.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
case $minutes in ''|*[!0-9]*) echo "hour.sh: --minutes takes a whole number" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "hour.sh: needs root" >&2; exit 2; }
export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin
export DEBIAN_FRONTEND=noninteractive

mkdir -p "$out"
out=$(cd "$out" && pwd)
act=$out/activity.log
: > "$act"
say() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" | tee -a "$act" >&2; }

need=()
for p in openssh-server openssh-client cron git; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	say "installing ${need[*]}"
	apt-get update -qq
	apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -z "$vigil" ]; then
	vigil=$out/vigil
	(cd "$repo" && go build -o "$vigil" ./cmd/vigil)
fi

cg2=$(findmnt -n -t cgroup2 -o TARGET | head -1)
[ -n "$cg2" ] || { echo "hour.sh: no cgroup2 hierarchy mounted" >&2; exit 1; }
cg=$cg2/vigil-fphour
mkdir -p "$cg"

work=$(mktemp -d /var/tmp/vigil-fphour.XXXXXX)
vpid=
cleanup() {
	set +e
	echo $$ > "$cg2/cgroup.procs"
	service ssh stop >/dev/null 2>&1
	service cron stop >/dev/null 2>&1
	rm -f /etc/cron.d/vigil-fphour
	sed -i '/vigil-fphour/d' /root/.ssh/authorized_keys 2>/dev/null
	[ -z "$vpid" ] || { kill -INT "$vpid"; wait "$vpid"; }
	for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	sleep 1
	rmdir "$cg" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# The recording policy: one rule per event type but fork, exit and mprotect
# (no detection uses them), the types as this vigil names them.
types=$( ("$vigil" monitor --events '?' 2>&1 || true) | sed -n 's/.*(want \(.*\), or all).*/\1/p' | tr -d ,)
[ -n "$types" ] || { echo "hour.sh: could not read the event types from $vigil" >&2; exit 1; }
{
	echo "rules:"
	for t in $types; do
		case $t in fork|exit|mprotect) continue ;; esac
		printf '  - name: fphour-record-%s\n    description: recorded for replay\n    severity: info\n    event: %s\n    match:\n      cgroup_prefix: /vigil-fphour\n    action: log\n' "$t" "$t"
	done
} > "$out/record.yaml"

# vigil runs outside the work's cgroup: it is not part of the work.
"$vigil" monitor --policy builtin:detect --policy "$out/record.yaml" --alerts-only -o json > "$out/alerts.ndjson" 2> "$out/vigil.err" &
vpid=$!
for _ in $(seq 120); do
	grep -q 'msg=ready' "$out/vigil.err" && break
	kill -0 "$vpid" 2>/dev/null || { cat "$out/vigil.err" >&2; exit 1; }
	sleep 1
done
grep -q 'msg=ready' "$out/vigil.err" || { echo "hour.sh: vigil never got ready" >&2; exit 1; }
say "vigil ready ($(grep -m1 'msg=ready' "$out/vigil.err" | cut -c1-160))"

# The setup is the administrator's, before the hour, and is not counted:
# it adds a key to authorized_keys and a file to /etc/cron.d, which
# builtin:detect reports (detect-authorized-keys-write, detect-cron-write).
# An SSH login over a local connection, with a key of its own.
ssh-keygen -q -t ed25519 -N '' -C vigil-fphour -f "$work/key"
mkdir -p /root/.ssh && chmod 700 /root/.ssh
cat "$work/key.pub" >> /root/.ssh/authorized_keys
ssh_opts=(-i "$work/key" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)
# cron runs a job every minute, as hosts have them.
printf '* * * * * root /usr/bin/date -u >> %s/cron.log; /usr/bin/find /var/tmp -maxdepth 1 -name "*.none" -delete\n' "$work" > /etc/cron.d/vigil-fphour

# From here on, this shell and all it starts are the work.
echo $$ > "$cg/cgroup.procs"

say "service ssh start"; service ssh start >/dev/null
say "service cron start"; service cron start >/dev/null

pkgs=(tree jq ncdu htop lsof)
end=$(( $(date +%s) + minutes * 60 ))
cycle=0
while [ "$(date +%s)" -lt "$end" ]; do
	cycle=$((cycle + 1))
	start=$(date +%s)
	pkg=${pkgs[$(( (cycle - 1) % ${#pkgs[@]} ))]}
	say "cycle $cycle: apt-get install $pkg"
	apt-get install -y -qq "$pkg" >/dev/null 2>&1 || say "apt-get install $pkg failed"
	say "cycle $cycle: git clone, commit"
	rm -rf "$work/clone"
	git clone -q "$repo" "$work/clone"
	(cd "$work/clone" &&
		echo "hour $cycle" >> README.md &&
		git -c user.name=dev -c user.email=dev@example.com commit -q -am "edit $cycle" &&
		git log --oneline -3 >/dev/null) || say "git commit failed"
	say "cycle $cycle: go build, go vet, go test"
	(cd "$work/clone" && go build ./... && go vet ./internal/policy ./internal/event &&
		go test -count=1 ./internal/policy ./internal/event ./internal/config ./internal/output >/dev/null) ||
		say "go build/test failed"
	say "cycle $cycle: ssh login"
	ssh "${ssh_opts[@]}" root@127.0.0.1 'uptime; ls -la ~ >/dev/null; cat /etc/os-release >/dev/null; id' >/dev/null ||
		say "ssh login failed"
	if [ $((cycle % 2)) = 0 ]; then
		say "cycle $cycle: service cron restart, service ssh restart"
		service cron restart >/dev/null
		service ssh restart >/dev/null
	fi
	say "cycle $cycle: apt-get purge $pkg"
	apt-get purge -y -qq "$pkg" >/dev/null 2>&1 || say "apt-get purge $pkg failed"
	# A cycle is five minutes: work, then idle, as people work.
	left=$(( 300 - ($(date +%s) - start) ))
	now=$(date +%s)
	[ $((now + left)) -le "$end" ] || left=$((end - now))
	[ "$left" -le 0 ] || sleep "$left"
done
say "done: $cycle cycles, $(wc -l < "$work/cron.log" 2>/dev/null || echo 0) cron runs"

echo $$ > "$cg2/cgroup.procs"
kill -INT "$vpid"; wait "$vpid" || true; vpid=
python3 - "$out/alerts.ndjson" "$out/summary.txt" "$minutes" "$cycle" "$out/work.ndjson" <<'EOF'
import collections, json, sys
alerts, summary, minutes, cycles, workfile = sys.argv[1:6]
work, other = collections.Counter(), collections.Counter()
examples = {}
recorded = 0
wf = open(workfile, "w")
for line in open(alerts):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if not e.get("severity"):
        continue
    cg = (e.get("process", {}).get("cgroup") or {}).get("path", "")
    key = e.get("rule", "?")
    mine = cg == "/vigil-fphour" or cg.startswith("/vigil-fphour/")
    if mine:
        wf.write(line)
        recorded += 1
    if key.startswith("fphour-record-"):
        continue
    if mine:
        work[key] += 1
        p = e.get("process", {})
        examples.setdefault(key, collections.Counter())[(p.get("comm"), p.get("exe"))] += 1
    else:
        other[key] += 1
with open(summary, "w") as f:
    f.write(f"false-positive hour: {minutes} min, {cycles} cycles\n")
    f.write(f"events of the work recorded: {recorded} (work.ndjson)\n")
    f.write(f"alerts from the work: {sum(work.values())}\n")
    for rule, n in work.most_common():
        who = ", ".join(f"{c} ({x}) x{k}" for (c, x), k in examples[rule].most_common(4))
        f.write(f"  {n:5d} {rule}: {who}\n")
    f.write(f"alerts from the rest of the host (not counted): {sum(other.values())}\n")
    for rule, n in other.most_common():
        f.write(f"  {n:5d} {rule}\n")
print(open(summary).read(), end="")
EOF
