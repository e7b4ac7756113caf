#!/usr/bin/env bash
# test/vm/run.sh: run Go test packages inside Debian's stock kernels under
# qemu (TCG), one boot per kernel with every package batched in it, and exit
# non-zero unless every test binary passed in every kernel.
#
#   test/vm/run.sh [--kernels 6.1,6.12|host|all] [--run REGEX] [PKG...]
#
# README.md beside this file documents the flags, the guest's layout and the
# conventions tests use (VIGIL_VM, helpers, extra files, modules).
set -euo pipefail
shopt -s extglob

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${VIGIL_VM_CACHE:-$here/cache}   # downloads and unpacked kernels
export PATH=$PATH:/usr/local/go/bin
export DEBIAN_FRONTEND=noninteractive

kernels=all
run_re=
bench_re=
out=$here/out
qemu_timeout=420      # seconds for a whole boot (all packages)
test_timeout=5m       # -test.timeout for each binary
mem=2G
modules=dummy,loop    # kernel modules copied into the guest (with their deps)
extras=()
helpers=(./cmd/...)   # main packages prebuilt for vmtest.Helper
pkgs=()
quiet=0
keep=0

usage() {
	cat <<'EOF'
usage: test/vm/run.sh [flags] [PKG...]

Runs each PKG's tests (default ./test/vm/selftest; patterns such as
./internal/... work) as statically linked test binaries inside every selected
kernel, one qemu boot per kernel.

  --kernels LIST     comma-separated names from test/vm/kernels.txt, "all"
                     (default) or "host" (run the same binaries on this host)
  --run REGEX        passed to the test binaries as -test.run
  --bench REGEX      passed as -test.bench, with -test.benchtime 1x (give
                     --run '^$' to run no tests beside)
  --timeout SECS     bound on one boot, all packages included (default 420)
  --test-timeout D   -test.timeout for each binary (default 5m)
  --mem SIZE         guest memory (default 2G)
  --modules LIST     kernel modules to put in the guest (default dummy,loop;
                     loop gives the guest a scratch ext4 at /mnt/ext4)
  --extra SRC[:DST]  copy a host file or directory into the guest at DST
                     (default /extra/<basename SRC>); repeatable
  --helper PKG       also prebuild main package(s) PKG for vmtest.Helper
                     (./cmd/... always is); repeatable
  --out DIR          where logs and results go (default test/vm/out)
  --quiet            do not stream the guest console
  --keep             keep the work directory (initramfs, staged tree)
  -h, --help         this text
EOF
}

die() { echo "vm: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--kernels) kernels=${2:?}; shift 2 ;;
	--kernels=*) kernels=${1#*=}; shift ;;
	--run) run_re=${2?}; shift 2 ;;
	--run=*) run_re=${1#*=}; shift ;;
	--bench) bench_re=${2?}; shift 2 ;;
	--timeout) qemu_timeout=${2:?}; shift 2 ;;
	--test-timeout) test_timeout=${2:?}; shift 2 ;;
	--mem) mem=${2:?}; shift 2 ;;
	--modules) modules=${2?}; shift 2 ;;
	--extra) extras+=("${2:?}"); shift 2 ;;
	--helper) helpers+=("${2:?}"); shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--quiet) quiet=1; shift ;;
	--keep) keep=1; shift ;;
	-h|--help) usage; exit 0 ;;
	-*) usage >&2; die "unknown flag $1" ;;
	*) pkgs+=("$1"); shift ;;
	esac
done
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./test/vm/selftest)

# pinned NAME -> "PACKAGE VERSION"
declare -A pin cmdline
pinned=()
while read -r name pkg ver args; do
	case $name in ''|'#'*) continue ;; esac
	pin[$name]="$pkg $ver"
	cmdline[$name]=$args
	pinned+=("$name")
done < "$here/kernels.txt"

[ "$kernels" = all ] && kernels=$(IFS=,; echo "${pinned[*]}")
IFS=, read -r -a sel <<< "$kernels"
for k in "${sel[@]}"; do
	[ "$k" = host ] || [ -n "${pin[$k]:-}" ] || die "kernel $k is not pinned in test/vm/kernels.txt"
done

# --- host tools ---------------------------------------------------------------

ensure_tools() {
	local need=() p
	for p in qemu-system-x86 busybox-static cpio xz-utils kmod; do
		dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
	done
	[ ${#need[@]} -eq 0 ] && return
	echo "vm: installing ${need[*]}"
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

# --- kernels ------------------------------------------------------------------

# apt_private runs apt-get with a sources list and state of its own under the
# cache, so a pin the host's apt does not know (another suite, backports) can
# still be downloaded without touching the host's apt configuration.
apt_private() {
	local d=$cache/apt
	local kr=/usr/share/keyrings/debian-archive-keyring.gpg want
	# bookworm for 6.1 and 6.12 (backports), bullseye for 5.10.
	want=$(for suite in bookworm bullseye; do
		echo "deb [signed-by=$kr] http://deb.debian.org/debian $suite main"
		echo "deb [signed-by=$kr] http://deb.debian.org/debian $suite-updates main"
		[ "$suite" = bookworm ] && echo "deb [signed-by=$kr] http://deb.debian.org/debian $suite-backports main"
		echo "deb [signed-by=$kr] http://deb.debian.org/debian-security $suite-security main"
	done)
	if [ "$(cat "$d/sources.list" 2>/dev/null)" != "$want" ]; then
		# A list from an older run.sh lacks a suite: start its state anew.
		rm -rf "$d" && mkdir -p "$d/lists/partial" "$d/archives/partial"
		echo "$want" > "$d/sources.list"
		touch "$d/status"
	fi
	apt-get -q -o Dir::Etc::SourceList="$d/sources.list" -o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State="$d" -o Dir::State::Lists="$d/lists" -o Dir::State::status="$d/status" \
		-o Dir::Cache="$d" -o Dir::Cache::archives="$d/archives" \
		-o Debug::NoLocking=1 -o APT::Sandbox::User=root "$@"
}

# fetch_kernel NAME: downloads and unpacks the pinned package once; prints
# the directory holding boot/vmlinuz-* and lib/modules/*.
fetch_kernel() {
	local pkg ver deb dir
	read -r pkg ver <<< "${pin[$1]}"
	dir=$cache/kernels/${pkg}_$ver
	if [ ! -f "$dir/.done" ]; then
		mkdir -p "$cache/debs"
		deb=$(ls "$cache/debs/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n1 || true)
		if [ -z "$deb" ]; then
			echo "vm: downloading $pkg=$ver" >&2
			if ! (cd "$cache/debs" && apt-get -q -o APT::Sandbox::User=root download "$pkg=$ver" >&2); then
				echo "vm: the host's apt does not have $pkg=$ver; trying bookworm and bullseye (-updates, -security, bookworm-backports)" >&2
				apt_private update >&2
				(cd "$cache/debs" && apt_private download "$pkg=$ver" >&2) ||
					die "cannot download $pkg=$ver: move the pin in test/vm/kernels.txt (see its header)"
			fi
			deb=$(ls "$cache/debs/${pkg}_${ver//:/%3a}_"*.deb | head -n1)
		fi
		rm -rf "$dir" && mkdir -p "$dir"
		dpkg-deb -x "$deb" "$dir"
		# The package ships no modules.dep: its postinst runs depmod.
		/sbin/depmod -b "$dir" "$(basename "$(ls -d "$dir"/lib/modules/*)")"
		touch "$dir/.done"
	fi
	echo "$dir"
}

# modules_cpio KDIR OUT: a cpio with the listed modules and their
# dependencies, decompressed (the signature survives) so that insmod and
# finit_module work without the kernel's decompressor.
modules_cpio() {
	local kdir=$1 cpio=$2 kver mdir st m rel
	kver=$(basename "$(ls -d "$kdir"/lib/modules/*)")
	mdir=$kdir/lib/modules/$kver
	st=$(mktemp -d)
	mkdir -p "$st/lib/modules/$kver"
	: > "$st/lib/modules/$kver/modules.dep"
	declare -A seen=()
	IFS=, read -r -a want <<< "$modules"
	for m in "${want[@]}"; do
		[ -n "$m" ] || continue
		local pat="/${m//[-_]/[-_]}\.ko(\.xz|\.zst|\.gz)?"
		if grep -qE "${pat}\$" "$mdir/modules.builtin"; then
			continue # built in: nothing to load
		fi
		local line
		line=$(grep -E "${pat}:" "$mdir/modules.dep" | head -n1) || die "module $m is not in $kver"
		# modules.dep lists every dependency, transitively, after the colon.
		for rel in ${line/:/ }; do
			[ -z "${seen[$rel]:-}" ] || continue
			seen[$rel]=1
			mkdir -p "$st/lib/modules/$kver/$(dirname "$rel")"
			case $rel in
			*.xz) xz -dc "$mdir/$rel" > "$st/lib/modules/$kver/${rel%.xz}" ;;
			*.zst) zstd -qdc "$mdir/$rel" > "$st/lib/modules/$kver/${rel%.zst}" ;;
			*.gz) gzip -dc "$mdir/$rel" > "$st/lib/modules/$kver/${rel%.gz}" ;;
			*) cp "$mdir/$rel" "$st/lib/modules/$kver/$rel" ;;
			esac
			grep -F "$rel:" "$mdir/modules.dep" | sed -E 's/\.ko\.(xz|zst|gz)/.ko/g' \
				>> "$st/lib/modules/$kver/modules.dep"
		done
	done
	cp "$mdir/modules.builtin" "$st/lib/modules/$kver/"
	(cd "$st" && find . | cpio -o -H newc --quiet) > "$cpio"
	rm -rf "$st"
}

# --- the initramfs shared by every kernel ------------------------------------

# build_root STAGE: test binaries, helpers, testdata, busybox, /init.
build_root() {
	local st=$1 i=0 p rel bin d
	mkdir -p "$st"/{bin,etc,vm/bin,vm/helpers,src,extra,root,tmp}
	cp /bin/busybox "$st/bin/busybox"
	cp "$here/init.sh" "$st/init"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$st/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' > "$st/etc/group"
	printf 'hosts: files\n' > "$st/etc/nsswitch.conf"
	printf '127.0.0.1 localhost\n::1 localhost\n' > "$st/etc/hosts"
	: > "$st/vm/manifest"
	# Patterns such as ./internal/... expand to the packages that have tests.
	local dirs
	dirs=$(cd "$root" && go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.Dir}}{{end}}' "${pkgs[@]}")
	for p in $dirs; do
		rel=${p#"$root"/}
		bin=/vm/bin/$i-$(basename "$rel").test
		echo "vm: building $rel" >&2
		(cd "$root" && CGO_ENABLED=0 go test -c -o "$st$bin" "./$rel")
		mkdir -p "$st/src/$rel"
		if [ -d "$root/$rel/testdata" ]; then
			cp -a "$root/$rel/testdata" "$st/src/$rel/"
			# Every directory under testdata holding a main package is a helper:
			# prebuilt to /vm/helpers/<its path in the repo>.
			for d in $(cd "$root" && grep -lsr --include='*.go' -E '^package main\b' "$rel/testdata" | xargs -r -n1 dirname | sort -u); do
				echo "vm: building helper $d" >&2
				(cd "$root" && CGO_ENABLED=0 go build -o "$st/vm/helpers/$d" "./$d")
			done
		fi
		echo "$rel $bin" >> "$st/vm/manifest"
		i=$((i + 1))
	done
	# Main packages elsewhere in the repository (the vigil command itself).
	for d in $(cd "$root" && go list -f '{{if eq .Name "main"}}{{.Dir}}{{end}}' "${helpers[@]}"); do
		d=${d#"$root"/}
		echo "vm: building helper $d" >&2
		(cd "$root" && CGO_ENABLED=0 go build -o "$st/vm/helpers/$d" "./$d")
	done
	local e src dst
	for e in "${extras[@]}"; do
		src=${e%%:*}
		dst=/extra/$(basename "$src")
		[ "$src" = "$e" ] || dst=${e#*:}
		mkdir -p "$st$(dirname "$dst")"
		cp -a "$src" "$st$dst"
	done
	q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
	printf 'VM_RUN=%s\nVM_BENCH=%s\nVM_TEST_TIMEOUT=%s\n' "$(q "$run_re")" "$(q "$bench_re")" "$(q "$test_timeout")" > "$st/vm/env"
}

# --- running and judging ------------------------------------------------------

sink() { if [ $quiet = 1 ]; then cat > "$1"; else tee "$1"; fi; }
now() { echo "${EPOCHREALTIME/,/.}"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# judge NAME LOG: writes NAME.jsonl (go test -json events, one "Kernel" field
# added) and NAME.summary, prints the summary line, returns 1 on failure.
judge() {
	local name=$1 log=$2 ok=1 pkg bin seg rc counts reason
	local jsonl=$out/$name.jsonl
	: > "$jsonl"
	local tp=0 tf=0 ts=0 npk=0 nok=0
	while read -r pkg bin; do
		[ -n "$pkg" ] || continue
		npk=$((npk + 1))
		seg=$(awk -v p="$pkg" '$0 == "=== VIGIL-VM BEGIN " p { on = 1; next }
			on && index($0, "=== VIGIL-VM END " p " ") == 1 { exit }
			on' "$log")
		rc=$(sed -n "s|^=== VIGIL-VM END $pkg rc=\([0-9]*\).*|\1|p" "$log" | head -n1)
		printf '%s\n' "$seg" | (cd "$root" && go tool test2json -p "github.com/vigil-sec/vigil/$pkg") |
			sed "s/^{/{\"Kernel\":\"$name\",/" >> "$jsonl"
		counts=$(printf '%s\n' "$seg" | awk '/^ *--- PASS/ {p++} /^ *--- FAIL/ {f++} /^ *--- SKIP/ {s++}
			END {print p+0, f+0, s+0}')
		read -r p f s <<< "$counts"
		tp=$((tp + p)); tf=$((tf + f)); ts=$((ts + s))
		reason=
		if ! grep -q "^=== VIGIL-VM BEGIN $pkg\$" "$log"; then
			reason="never started"
		elif [ -z "$rc" ]; then
			if grep -q 'Kernel panic' "$log"; then
				reason="kernel panic before its END marker"
			elif grep -q '^vm: .* qemu killed after' "$log"; then
				reason="still running when qemu was killed after ${qemu_timeout}s (--timeout)"
			else
				reason="no END marker (the guest died; see the log)"
			fi
		elif [ "$rc" != 0 ]; then
			reason="exit code $rc"
		elif [ "$f" != 0 ]; then
			reason="$f failed tests"
		fi
		if [ -n "$reason" ]; then
			ok=0
			# A binary that died without a "--- FAIL" line still counts as one.
			[ "$f" != 0 ] || { f=1; tf=$((tf + 1)); }
			echo "vm: $name: FAIL $pkg: $reason"
			grep -E '^\s*--- FAIL' <<< "$seg" | sed "s/^/vm: $name:   /" || true
		else
			nok=$((nok + 1))
		fi
	done < "$manifest"
	if grep -qE 'Kernel panic|BUG: |Oops' "$log"; then
		ok=0
		echo "vm: $name: kernel trouble:"
		grep -m5 -E 'Kernel panic|BUG: |Oops' "$log" | sed "s/^/vm: $name:   /"
	fi
	echo "vm: $name: console log in ${log#"$root"/}"
	local verdict=PASS
	[ $ok = 1 ] || verdict=FAIL
	local line="vm: $name: $verdict $nok/$npk packages, $tp passed, $tf failed, $ts skipped; $3"
	echo "$line" | tee "$out/$name.summary"
	total_p=$((total_p + tp)); total_f=$((total_f + tf)); total_s=$((total_s + ts))
	[ $ok = 1 ]
}

# boot NAME: one qemu run of every binary; prints boot and total seconds.
boot() {
	local name=$1 kdir vmlinuz kver log=$out/$1.log t0 tready= tdone= line
	kdir=$(fetch_kernel "$name")
	vmlinuz=$(ls "$kdir"/boot/vmlinuz-*)
	kver=${vmlinuz##*/vmlinuz-}
	modules_cpio "$kdir" "$work/$name-modules.cpio"
	cat "$work/root.cpio" "$work/$name-modules.cpio" > "$work/$name.cpio"
	echo "vm: booting $name ($kver)"
	t0=$(now)
	# No -enable-kvm: KVM's emulation fails on these machines; TCG works.
	# thread=single: multi-threaded TCG does not keep cross-modified code
	# coherent between vCPUs, and the kernel patches its text (text_poke_bp)
	# each time a tracepoint's static key flips: a vCPU then traps on a
	# stale int3 ("Oops: int3" in syscall_exit_to_user_mode_prepare). One
	# host thread still runs two vCPUs, so the guest stays SMP.
	# no_timer_check: a loaded host can make emulated time crawl enough that
	# the kernel's IO-APIC timer check panics the boot.
	# The initramfs is left uncompressed: unpacking beats inflating under TCG.
	{
		local qrc=0
		timeout -k 10 "$qemu_timeout" qemu-system-x86_64 -accel tcg,thread=single -cpu max -smp 2 -m "$mem" \
			-nographic -nic none -no-reboot -kernel "$vmlinuz" -initrd "$work/$name.cpio" \
			-append "console=ttyS0 panic=-1 oops=panic loglevel=1 edd=off no_timer_check rdinit=/init${cmdline[$name]:+ ${cmdline[$name]}}" \
			</dev/null 2>&1 || qrc=$?
		echo $qrc > "$work/$name.qrc"
	} | while IFS= read -r line; do
		line=${line%$'\r'}
		line=${line//$'\e'@(c|\[*([0-9;?])[a-zA-Z])/} # SeaBIOS's terminal resets
		case $line in
		*'=== VIGIL-VM READY'*|'=== VIGIL-VM DONE'*) echo "=== VIGIL-VM ${line#*=== VIGIL-VM } host_seconds=$(secs "$t0" "$(now)")" ;;
		*) printf '%s\n' "$line" ;;
		esac
	done | sink "$log"
	[ "$(cat "$work/$name.qrc")" != 124 ] || echo "vm: $name: qemu killed after ${qemu_timeout}s" | tee -a "$log"
	tready=$(sed -n 's/^=== VIGIL-VM READY.*host_seconds=//p' "$log")
	tdone=$(secs "$t0" "$(now)")
	echo "boot ${tready:-?}s, total ${tdone}s (kernel $kver)" > "$work/$name.timing"
}

run_host() {
	local log=$out/host.log t0 pkg bin rc s
	t0=$(now)
	: > "$log"
	while read -r pkg bin; do
		echo "=== VIGIL-VM BEGIN $pkg"
		s=$(now)
		set +e
		(cd "$root/$pkg" && "$work/root$bin" -test.v -test.count=1 -test.timeout="$test_timeout" \
			${run_re:+-test.run "$run_re"} ${bench_re:+-test.bench "$bench_re" -test.benchtime 1x} </dev/null 2>&1)
		rc=$?
		set -e
		echo "=== VIGIL-VM END $pkg rc=$rc seconds=$(secs "$s" "$(now)")"
	done < "$manifest" | sink "$log"
	echo "total $(secs "$t0" "$(now)")s (host kernel $(uname -r))" > "$work/host.timing"
}

# --- main ---------------------------------------------------------------------

[ "$(id -u)" = 0 ] || die "run as root (installs packages; tests need root)"
ensure_tools
mkdir -p "$out" "$cache"
# One run's results only, so matrix.sh never mixes runs.
rm -f "$out"/*.log "$out"/*.jsonl "$out"/*.summary
work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-vm.XXXXXX")
if [ $keep = 1 ]; then echo "vm: work directory $work"; else trap 'rm -rf "$work"' EXIT; fi
build_root "$work/root"
manifest=$work/root/vm/manifest
[ -s "$manifest" ] || die "no test binaries to run"
chmod 755 "$work/root" # the guest's /: nobody must be able to walk it
(cd "$work/root" && find . | cpio -o -H newc --quiet) > "$work/root.cpio"
echo "vm: initramfs $(du -h "$work/root.cpio" | cut -f1), $(wc -l < "$manifest") test binaries"

total_p=0 total_f=0 total_s=0
failed=()
for k in "${sel[@]}"; do
	: > "$work/$k.timing"
	if [ "$k" = host ]; then run_host; else boot "$k"; fi
	judge "$k" "$out/$k.log" "$(cat "$work/$k.timing")" || failed+=("$k")
done
echo "vm: results in ${out#"$root"/}/ (NAME.log, NAME.jsonl, NAME.summary)"
[ ${#failed[@]} -eq 0 ] || echo "vm: failed on: ${failed[*]}"
echo "matrix: $total_p passed, $total_f failed, $total_s skipped"
[ ${#failed[@]} -eq 0 ]
