#!/usr/bin/env bash
# test/vm/matrix.sh: the kernel matrix table, built from a run's results.
#
#   test/vm/matrix.sh [--out DIR] [--readme FILE]
#
# Tests record rows with vmtest.Mechanism(t, ROW, MECHANISM), which logs
# "vigil-matrix: ROW = MECHANISM". This reads DIR/*.jsonl (default
# test/vm/out, written by run.sh) and prints a Markdown table: one line per
# row in order of first appearance, one column per kernel (host first, then
# kernels.txt's order). With --readme it replaces the lines between
# "<!-- vm-matrix:begin -->" and "<!-- vm-matrix:end -->" in FILE instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$here/out
readme=
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=${2:?}; shift 2 ;;
	--readme) readme=${2:?}; shift 2 ;;
	-h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "matrix: unknown argument $1" >&2; exit 2 ;;
	esac
done

cols=()
[ -f "$out/host.jsonl" ] && cols+=(host)
while read -r name _; do
	case $name in ''|'#'*) continue ;; esac
	[ -f "$out/$name.jsonl" ] && cols+=("$name")
done < "$here/kernels.txt"
[ ${#cols[@]} -gt 0 ] || { echo "matrix: no results in $out; run test/vm/run.sh first" >&2; exit 1; }

table() {
	for k in "${cols[@]}"; do
		# Each test2json "output" event holds one line of test output.
		grep -h '"Action":"output"' "$out/$k.jsonl" | grep -o 'vigil-matrix: [^"]*' |
			sed -e 's/\\n$//' -e "s/^vigil-matrix: /$k\t/" -e 's/ = /\t/'
	done | awk -F'\t' -v cols="${cols[*]}" '
		BEGIN { nc = split(cols, col, " ") }
		!(($2) in seen) { seen[$2] = 1; rows[++nr] = $2 }
		{
			key = $2 SUBSEP $1
			if (!index("/" cell[key] "/", "/" $3 "/")) cell[key] = cell[key] (cell[key] == "" ? "" : "/") $3
		}
		END {
			line = "| |"; sep = "|---|"
			for (c = 1; c <= nc; c++) { line = line " " col[c] " |"; sep = sep "---|" }
			print line; print sep
			for (r = 1; r <= nr; r++) {
				line = "| " rows[r] " |"
				for (c = 1; c <= nc; c++) {
					v = cell[rows[r] SUBSEP col[c]]
					line = line " " (v == "" ? "–" : v) " |"
				}
				print line
			}
		}'
	# Which kernels the columns are, from run.sh's summaries.
	local k rel notes=()
	for k in "${cols[@]}"; do
		rel=$(sed -n 's/.*(\(host \)\{0,1\}kernel \([^)]*\)).*/\2/p' "$out/$k.summary" 2>/dev/null)
		notes+=("$k = ${rel:-?}")
	done
	echo
	echo "Kernels: $(IFS=,; echo "${notes[*]}" | sed 's/,/, /g')."
}

if [ -z "$readme" ]; then
	table
	exit 0
fi
grep -q '<!-- vm-matrix:begin -->' "$readme" || { echo "matrix: $readme has no <!-- vm-matrix:begin --> marker" >&2; exit 1; }
tmp=$(mktemp)
table > "$tmp.table"
awk -v t="$tmp.table" '
	/<!-- vm-matrix:end -->/ { skip = 0 }
	!skip { print }
	/<!-- vm-matrix:begin -->/ { while ((getline l < t) > 0) print l; skip = 1 }' "$readme" > "$tmp"
cat "$tmp" > "$readme"
rm -f "$tmp" "$tmp.table"
