# SPDX-License-Identifier: GPL-2.0
# plot.gp - the bench plot (make bench): sessions/s and alloc
# attempts/session against the pool limit, per wake policy; top row the
# server-bound sweep (reserve 1 and 4), bottom row the CPU-bound one
# (reserve 4).  Reads the plot-s<us>-<policy>-r<reserve>.dat files that
# tools/bench/bench-report.awk writes in dir: gnuplot -e "dir='build/bench'"
# [-e "svc=2000" -e "csvc=200"].
if (!exists("svc")) svc = 2000
if (!exists("csvc")) csvc = 200
set terminal pngcairo size 1100,800 font ",9" noenhanced
set output dir . "/bench.png"
set multiplot layout 2,2 title "bufpool-bench: seed-002 sessions (S=64, maxconn 8) under a pool limit, QEMU TCG, 2 vCPUs"
set grid
set xlabel "pool limit (buffers)"
f(s, p, r) = sprintf("%s/plot-s%d-%s-r%s.dat", dir, s, p, r)
set key bottom right
set ylabel "sessions/s"
set yrange [0:*]
set title sprintf("server-bound (service %d us): throughput", svc)
plot for [p in "handoff offer all"] for [r in "1 4"] f(svc, p, r) \
	using 1:2 smooth unique with linespoints title p . " r" . r
set key top right
set ylabel "alloc attempts/session"
set yrange [1.9:*]
set title sprintf("server-bound (service %d us): attempts", svc)
plot for [p in "handoff offer all"] for [r in "1 4"] f(svc, p, r) \
	using 1:3 smooth unique with linespoints title p . " r" . r
set key bottom right
set ylabel "sessions/s"
set yrange [0:*]
set title sprintf("CPU-bound (service %d us): throughput", csvc)
plot for [p in "handoff offer all"] f(csvc, p, "4") \
	using 1:2 smooth unique with linespoints title p . " r4"
set key top right
set ylabel "alloc attempts/session"
set yrange [1.9:*]
set title sprintf("CPU-bound (service %d us): attempts", csvc)
plot for [p in "handoff offer all"] f(csvc, p, "4") \
	using 1:3 smooth unique with linespoints title p . " r4"
unset multiplot
