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
# Run from the top-level Makefile (it uses $MAKE and its variables).  Env:
# BENCH_S, BENCH_M, BENCH_SECS, BENCH_KMS, BENCH_SERVICE_US,
# BENCH_CPU_SERVICE_US and BENCH_REPS (3: every configuration that many
# times in the one boot, the report gives medians and spreads) are passed
# to the VM (see tools/bench/bufpool-bench-vm.sh).  Benchmarks are not
# tests: nothing here fails on a number.
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

if [ -z "$parse_only" ]; then
	tools/vm/deps.sh gnuplot-nox
	"$make" --no-print-directory modules tools kbench
	cp tools/bench/bufpool-bench-vm.sh "$out/bufpool-bench-vm"
	cp tools/bench/bufpool-bench-vm.sh "$out/bufpool-bench-floor"
	cp tools/bench/bufpool-bench-pages.sh "$out/bufpool-bench-pages"
	tools/vm/mkinitramfs.sh -o "$out/initramfs.cpio.gz" -k bufpool.ko \
		-p tools/bench/vm-phases -x "$build/tools/bufpool-bench" \
		-x "$out/bufpool-bench-vm" -x "$out/bufpool-bench-floor" \
		-x "$build/tools/bufpool-pagebench" -x "$out/bufpool-bench-pages" \
		-x "$build/tools/bufpool-iobench" \
		-x tools/bench/bufpool-bench-trace.sh \
		-r "$(tools/vm/kver.sh release "$kdir")" -m null_blk:nr_devices=0
	# A second cpio archive with the kbench module: the kernel unpacks
	# concatenated archives one after the other.
	kroot=$(mktemp -d)
	trap 'rm -rf "$kroot"' EXIT
	mkdir -p "$kroot/lib/modules"
	cp tools/bench/kbench/bufpool_kbench.ko "$kroot/lib/modules/"
	(cd "$kroot" && find . | LC_ALL=C sort |
		cpio -o -H newc --owner=0:0 --quiet) | gzip -1 \
		>> "$out/initramfs.cpio.gz"
	append=""
	for v in BENCH_S BENCH_M BENCH_SECS BENCH_KMS BENCH_SERVICE_US \
		 BENCH_CPU_SERVICE_US BENCH_REPS; do
		[ -n "${!v:-}" ] && append="$append $v=${!v}"
	done
	t0=$(date +%s)
	tools/vm/vm-run.sh -k "$kernel" -i "$out/initramfs.cpio.gz" -l "$log" \
		-t $((600 + 600 * ${BENCH_REPS:-3})) -c "$cpus" -m "$mem" \
		-a "$append" |
		tee "$out/vm-run.out" ||
		echo "bench: the VM run reported failures (see $out/vm-run.out)"
	echo "bench: VM run took $(($(date +%s) - t0)) s"
fi

kver=$(sed -n 's/.*@@BUFPOOL boot .*kernel=\([^ ]*\).*/\1/p' "$log" | head -n 1)
nproc=$(sed -n 's/.*@@BUFPOOL boot .*nproc=\([0-9]*\).*/\1/p' "$log" | head -n 1)
qemu=$(sed -n 's/^vm: \(qemu-system.*\)/\1/p' "$out/vm-run.out" 2>/dev/null | head -n 1)

tr -d '\r' < "$log" | awk -v kver="$kver" -v nproc="$nproc" \
	-v qemu="$qemu" -v out="$out" -f tools/bench/bench-report.awk
tr -d '\r' < "$log" | awk -f tools/bench/pages-report.awk | tee "$out/pages.md"
tools/bench/io-report.sh "$log" | tee "$out/io.md"
tr -d '\r' < "$log" | awk -f tools/bench/trace-report.awk | tee "$out/trace.md"
if command -v gnuplot > /dev/null; then
	gnuplot -e "dir='$out'" -e "svc=${BENCH_SERVICE_US:-2000}" \
		-e "csvc=${BENCH_CPU_SERVICE_US:-200}" tools/bench/plot.gp &&
		echo "bench: plot $out/bench.png"
else
	echo "bench: no gnuplot: no plot"
fi
