#!/usr/bin/env bash
# Run the SPIN second-opinion model bench/spin/ext4.pml over a list of page
# counts, for the correct model and both buggy variants, with and without
# partial-order reduction, and print one table row per run.
#
# usage: bench/spin/run.sh ["2 3 4 5 6"]      (or NPAGES_LIST="2 3" run.sh)
# needs: spin (Debian package "spin"), gcc
# env:   PAN_FLAGS  extra ./pan flags (default none; -m100000 is always given)
#        KEEP=1     keep the temporary directory
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
model="$here/ext4.pml"
npages_list=${1:-${NPAGES_LIST:-"2 3 4 5 6"}}
variants=${VARIANTS:-"correct UNLOCK_BEFORE_WB NO_WAIT_WB"}

command -v spin >/dev/null || { echo "spin not found (apt-get install -y spin)" >&2; exit 2; }
command -v gcc  >/dev/null || { echo "gcc not found" >&2; exit 2; }

work=$(mktemp -d)
if [ "${KEEP:-0}" = 1 ]; then echo "# work dir: $work"; else trap 'rm -rf "$work"' EXIT; fi

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

echo "# $(spin -V)"
echo "# gcc $(gcc -dumpfullversion); pan compiled with -O2 -DSAFETY [-DNOREDUCE]; run as ./pan -m100000 ${PAN_FLAGS:-}"
printf '%-17s %-4s %6s %-10s %12s %12s %6s %10s %8s %9s\n' \
	variant POR NPAGES verdict states transitions depth t_total_s t_pan_s mem_MB
for n in $npages_list; do
	for v in $variants; do
		for por in off on; do
			d="$work/$v.$n.$por"; mkdir -p "$d"; cp "$model" "$d/"
			defs="-DNPAGES=$n"; [ "$v" = correct ] || defs="$defs -D$v"
			cflags="-O2 -DSAFETY"; [ "$por" = off ] && cflags="$cflags -DNOREDUCE"
			t0=$(now)
			( cd "$d" && spin -a $defs ext4.pml >spin.out 2>&1 && gcc $cflags -o pan pan.c >gcc.out 2>&1 ) \
				|| { echo "build failed for $v NPAGES=$n POR=$por (see $d)" >&2; KEEP=1; exit 1; }
			t1=$(now)
			( cd "$d" && ./pan -m100000 ${PAN_FLAGS:-} >pan.out 2>&1 ) || true
			t2=$(now)
			out="$d/pan.out"
			errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$out" | tail -1)
			states=$(awk '/states, stored/ {print $1; exit}' "$out")
			trans=$(awk '/transitions \(= stored\+matched\)/ {print $1; exit}' "$out")
			depth=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' "$out" | tail -1)
			mem=$(awk '/total actual memory usage/ {print $1; exit}' "$out")
			if grep -q 'max search depth too small' "$out"; then verdict="DEPTH!"
			elif [ "${errors:-x}" = 0 ]; then verdict="ok(0)"
			else verdict="FAIL(${errors:-?})"; fi
			printf '%-17s %-4s %6s %-10s %12s %12s %6s %10s %8s %9s\n' \
				"$v" "$por" "$n" "$verdict" "${states:-?}" "${trans:-?}" "${depth:-?}" \
				"$(secs "$t0" "$t2")" "$(secs "$t1" "$t2")" "${mem:-?}"
		done
	done
done
