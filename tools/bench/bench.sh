#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh - `make bench`: build, boot one VM that runs the benchmarks
# (tools/bench/vm-phases -> tools/bench/bufpool-bench-vm.sh), and turn its
# console log into a table, build/bench/results.json and a PNG plot.
#
#   bench.sh            the whole thing
#   bench.sh -P LOG     only parse an existing console log
#
# BENCH_BASE=<git revision>: before and after in one boot.  That
# revision's bufpool.ko, kbench module and bufpool-bench are built (its
# own `make modules tools kbench`, in a `git archive` copy under
# $BUILD/bench/base, removed afterwards) and packed beside this tree's
# under /lib/modules/base/ and /bin/base/; the VM runs the base set of
# configurations under both modules in turn (tools/bench/
# bufpool-bench-vm.sh) and the report adds <out>/before-after.md.  The
# core harness's microbenchmark (tools/testing/bufpool/build/bench) runs
# natively before the boot, BENCH_REPS times, alternating base and new
# with a base (BENCH_HARNESS=0: not at all; BENCH_HARNESS_ITERS pairs a
# thread, 200000): <out>/harness.md.
#
# Run from the top-level Makefile (it uses $MAKE and its variables).  Env:
# BENCH_S, BENCH_M, BENCH_SECS, BENCH_KMS, BENCH_FLOOR_N, BENCH_SERVICE_US,
# BENCH_CPU_SERVICE_US, BENCH_REPS (3: every configuration that many
# times in the one boot, the report gives medians and spreads) and
# BENCH_BASE_POLICIES (the policies run on both sides, "default": the
# base's default policy; e.g. "handoff adaptive") are passed to the VM (see
# tools/bench/bufpool-bench-vm.sh).  BENCH_PHASES: another phase file than
# tools/bench/vm-phases, to run a part of it (the report has the tables of
# what ran).  BENCH_PAIRS (7) and BENCH_PAIR_MS (1000) go to the VM too:
# tools/bench/kbench-pairs-vm.sh, kbench's bufpool and sbitmap_queue (and
# the base's bufpool) in adjacent runs, <out>/pairs.md
# (tools/bench/kbench-pairs.awk).  Benchmarks are not tests: nothing here
# fails on a number.
set -euo pipefail

cd "$(dirname "$0")/../.."
make=${MAKE:-make}
parse_only=
[ "${1:-}" = -P ] && parse_only=$2

vars=$("$make" --no-print-directory -s -f Makefile -f - print-vars <<'EOM'
print-vars:
	@echo "$(KERNEL)|$(BUILD)|$(VM_CPUS)|$(VM_MEM)|$(KDIR)"
EOM
)
IFS='|' read -r kernel build cpus mem kdir <<< "$vars"
out=$build/bench
log=${parse_only:-$out/vm.log}
mkdir -p "$out"

reps=${BENCH_REPS:-3}
base=${BENCH_BASE:-}
bdir=$(realpath -m "$out/base")
base_rev=
if [ -n "$base" ]; then
	base_rev=$(git rev-parse --verify "$base^{commit}")
	echo "$base_rev" > "$out/base.rev"
elif [ -z "$parse_only" ]; then
	rm -f "$out/base.rev"
fi
[ -z "$parse_only" ] || [ ! -f "$out/base.rev" ] || base_rev=$(cat "$out/base.rev")
# this tree's revision, as the run measured it
[ -n "$parse_only" ] ||
	git describe --always --dirty --abbrev=12 > "$out/head.rev" 2> /dev/null ||
	rm -f "$out/head.rev"

# build_base: the base revision's module, kbench module, bench tool and
# harness bench, built by its own Makefile in a copy of its tree.
build_base()
{
	rm -rf "$bdir"
	mkdir -p "$bdir"
	git archive "$base_rev" | tar -x -C "$bdir"
	# Its own make, not this one's variables (MAKEFLAGS carries the
	# command line's BUILD=... and the like).
	(cd "$bdir" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		"$make" --no-print-directory KDIR="$kdir" BUILD="$bdir/build" \
		modules tools kbench)
	if [ "${BENCH_HARNESS:-1}" != 0 ] && [ -d "$bdir/tools/testing/bufpool" ]; then
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
			"$make" --no-print-directory -C "$bdir/tools/testing/bufpool" \
			build/bench || echo "bench: the base's harness bench does not build"
	fi
}

# harness: the core harness's microbenchmark, natively, BENCH_REPS times,
# base and new in turn (who goes first alternates), one "@@HARNESS" line
# per line of its output in <out>/harness.log.
harness()
{
	local rep sd b first

	: > "$out/harness.log"
	for rep in $(seq 1 "$reps"); do
		first="base new"
		[ $((rep % 2)) -eq 1 ] || first="new base"
		for sd in $first; do
			b=tools/testing/bufpool/build/bench
			[ "$sd" = new ] || b=$bdir/tools/testing/bufpool/build/bench
			[ -x "$b" ] || continue
			[ "$sd" = new ] || [ -n "$base_rev" ] || continue
			echo "bench: harness $sd, repetition $rep of $reps"
			"$b" "${BENCH_HARNESS_ITERS:-200000}" |
				sed "s/^/@@HARNESS side=$sd rep=$rep /" >> "$out/harness.log"
		done
	done
}

if [ -z "$parse_only" ]; then
	t_start=$(date +%s)
	tools/vm/deps.sh gnuplot-nox
	"$make" --no-print-directory modules tools kbench
	if [ -n "$base_rev" ]; then
		trap 'rm -rf "$bdir"' EXIT
		build_base
	fi
	rm -f "$out/harness.log"
	if [ "${BENCH_HARNESS:-1}" != 0 ]; then
		"$make" --no-print-directory -C tools/testing/bufpool build/bench
		t0=$(date +%s)
		harness
		echo "bench: harness runs took $(($(date +%s) - t0)) s"
	fi
	cp tools/bench/bufpool-bench-vm.sh "$out/bufpool-bench-vm"
	cp tools/bench/bufpool-bench-vm.sh "$out/bufpool-bench-floor"
	cp tools/bench/bufpool-bench-pages.sh "$out/bufpool-bench-pages"
	cp tools/bench/kbench-pairs-vm.sh "$out/kbench-pairs-vm"
	tools/vm/mkinitramfs.sh -o "$out/initramfs.cpio.gz" -k bufpool.ko \
		-p "${BENCH_PHASES:-tools/bench/vm-phases}" -x "$build/tools/bufpool-bench" \
		-x "$out/bufpool-bench-vm" -x "$out/bufpool-bench-floor" \
		-x "$out/kbench-pairs-vm" \
		-x "$build/tools/bufpool-pagebench" -x "$out/bufpool-bench-pages" \
		-x "$build/tools/bufpool-iobench" \
		-x tools/bench/bufpool-bench-trace.sh \
		-r "$(tools/vm/kver.sh release "$kdir")" -m null_blk:nr_devices=0
	# A second cpio archive with the kbench module, and the base's
	# modules and tool: the kernel unpacks concatenated archives one
	# after the other.
	kroot=$(mktemp -d)
	trap 'rm -rf "$kroot" ${base_rev:+"$bdir"}' EXIT
	mkdir -p "$kroot/lib/modules"
	cp tools/bench/kbench/bufpool_kbench.ko "$kroot/lib/modules/"
	if [ -n "$base_rev" ]; then
		mkdir -p "$kroot/lib/modules/base" "$kroot/bin/base"
		cp "$bdir/bufpool.ko" "$bdir/tools/bench/kbench/bufpool_kbench.ko" \
			"$kroot/lib/modules/base/"
		cp "$bdir/build/tools/bufpool-bench" "$kroot/bin/base/"
	fi
	(cd "$kroot" && find . | LC_ALL=C sort |
		cpio -o -H newc --owner=0:0 --quiet) | gzip -1 \
		>> "$out/initramfs.cpio.gz"
	append=""
	for v in BENCH_S BENCH_M BENCH_SECS BENCH_KMS BENCH_FLOOR_N BENCH_SERVICE_US \
		 BENCH_CPU_SERVICE_US BENCH_REPS BENCH_BASE_POLICIES BENCH_PAIRS \
		 BENCH_PAIR_MS; do
		# the kernel command line splits on spaces: commas there
		val=${!v:-}
		[ -n "$val" ] && append="$append $v=${val// /,}"
	done
	per_rep=600
	[ -z "$base_rev" ] || per_rep=1200
	# the paired kernel runs: 13 configurations, 3 peers, ~1.3 s each
	# beyond the nominal time, switches between modules included
	pairs_s=$((13 * ${BENCH_PAIRS:-7} * 3 * (${BENCH_PAIR_MS:-1000} + 1500) / 1000))
	t0=$(date +%s)
	tools/vm/vm-run.sh -k "$kernel" -i "$out/initramfs.cpio.gz" -l "$log" \
		-t $((600 + per_rep * reps + pairs_s)) -c "$cpus" -m "$mem" \
		-a "$append" |
		tee "$out/vm-run.out" ||
		echo "bench: the VM run reported failures (see $out/vm-run.out)"
	echo "bench: VM run took $(($(date +%s) - t0)) s, make bench $(($(date +%s) - t_start)) s so far"
fi

kver=$(tr -d '\r' < "$log" | sed -n 's/.*@@BUFPOOL boot .*kernel=\([^ ]*\).*/\1/p' | head -n 1)
nproc=$(tr -d '\r' < "$log" | sed -n 's/.*@@BUFPOOL boot .*nproc=\([0-9]*\).*/\1/p' | head -n 1)
# (no vm-run.out beside a log parsed from elsewhere)
qemu=$(sed -n 's/^vm: \(qemu-system.*\)/\1/p' "$out/vm-run.out" 2>/dev/null | head -n 1 || true)

rm -f "$out"/plot-*.dat "$out/before-after.md" "$out/harness.md" "$out/pairs.md"
{ tr -d '\r' < "$log"; cat "$out/harness.log" 2> /dev/null || true; } |
	awk -v kver="$kver" -v nproc="$nproc" -v qemu="$qemu" -v out="$out" \
	    -v baserev="${base_rev:0:12}" -v headrev="$(cat "$out/head.rev" 2> /dev/null)" \
	    -f tools/bench/bench-report.awk
tr -d '\r' < "$log" | awk -f tools/bench/kbench-pairs.awk > "$out/pairs.md"
if [ -s "$out/pairs.md" ]; then
	cat "$out/pairs.md"
	echo "bench: $out/pairs.md"
else
	rm -f "$out/pairs.md"
fi
tr -d '\r' < "$log" | awk -f tools/bench/pages-report.awk | tee "$out/pages.md"
tools/bench/io-report.sh "$log" | tee "$out/io.md"
tr -d '\r' < "$log" | awk -f tools/bench/trace-report.awk | tee "$out/trace.md"
if ! ls "$out"/plot-*.dat > /dev/null 2>&1; then
	echo "bench: no sweep rows in the log: no plot"
elif command -v gnuplot > /dev/null; then
	gnuplot -e "dir='$out'" -e "svc=${BENCH_SERVICE_US:-2000}" \
		-e "csvc=${BENCH_CPU_SERVICE_US:-200}" tools/bench/plot.gp &&
		echo "bench: plot $out/bench.png"
else
	echo "bench: no gnuplot: no plot"
fi
