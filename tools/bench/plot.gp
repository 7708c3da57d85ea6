# SPDX-License-Identifier: GPL-2.0
# plot.gp - the bench plot (make bench): sessions/s and alloc
# attempts/session against the pool limit, per wake policy (colour) and
# reserve (point); top row the server-bound sweep, bottom row the
# CPU-bound one.  Reads the plot-s<us>-<policy>-r<reserve>.dat files that
# tools/bench/bench-report.awk writes in dir, and with a base revision
# (BENCH_BASE) its plot-base-s<us>-<policy>-r<reserve>.dat, drawn dashed:
# gnuplot -e "dir='build/bench'" [-e "svc=2000" -e "csvc=200"].
if (!exists("svc")) svc = 2000
if (!exists("csvc")) csvc = 200
set terminal pngcairo size 1100,800 font ",9" noenhanced
set output dir . "/bench.png"
set grid
set xlabel "pool limit (buffers)"
f(side, s, p, r) = sprintf("%s/plot-%ss%d-%s-r%s.dat", dir, side, s, p, r)
fex(name) = int(system("[ -f '" . name . "' ] && echo 1 || echo 0"))
pc(p) = p eq "handoff" ? 1 : (p eq "adaptive" ? 2 : (p eq "offer" ? 3 : 4))
pr(r) = r eq "1" ? 7 : (r eq "4" ? 5 : 9)
policies = "handoff adaptive offer all"

# The data files that exist, per panel row (1 server-bound, 2
# CPU-bound), as words: L<row> the files, T<row> their titles, C<row>
# their colours (policy), P<row> their point types (reserve).
do for [row = 1:2] {
	s = row == 1 ? svc : csvc
	l = ""; t = ""; c = ""; pp = ""
	do for [side in "new base"] {
		pre = side eq "base" ? "base-" : ""
		do for [p in policies] {
			do for [r in "0 1 4"] {
				fn = f(pre, s, p, r)
				if (r ne "0" && fex(fn)) {
					l = l . " " . fn
					t = t . " " . (side eq "base" ? "before:" : "") . p . "-r" . r
					c = c . " " . pc(p)
					pp = pp . " " . pr(r)
				}
			}
		}
	}
	if (row == 1) { L1 = l; T1 = t; C1 = c; P1 = pp } else { L2 = l; T2 = t; C2 = c; P2 = pp }
}
dash(t) = strstrt(t, "before:") ? 2 : 1

set multiplot layout 2,2 title "bufpool-bench: seed-002 sessions (S=64, maxconn 8) under a pool limit, QEMU TCG, 2 vCPUs" . (strlen(L1 . L2) > 0 && strstrt(L1 . L2, "plot-base-") ? " (dashed: before)" : "")
set key bottom right
set ylabel "sessions/s"
set yrange [0:*]
set title sprintf("server-bound (service %d us): throughput", svc)
plot for [i = 1:words(L1)] word(L1, i) using 1:2 smooth unique with linespoints \
	lc (int(word(C1, i))) pt (int(word(P1, i))) dt dash(word(T1, i)) title word(T1, i)
set key top right
set ylabel "alloc attempts/session"
set yrange [1.9:*]
set title sprintf("server-bound (service %d us): attempts", svc)
plot for [i = 1:words(L1)] word(L1, i) using 1:3 smooth unique with linespoints \
	lc (int(word(C1, i))) pt (int(word(P1, i))) dt dash(word(T1, i)) title word(T1, i)
set key bottom right
set ylabel "sessions/s"
set yrange [0:*]
set title sprintf("CPU-bound (service %d us): throughput", csvc)
plot for [i = 1:words(L2)] word(L2, i) using 1:2 smooth unique with linespoints \
	lc (int(word(C2, i))) pt (int(word(P2, i))) dt dash(word(T2, i)) title word(T2, i)
set key top right
set ylabel "alloc attempts/session"
set yrange [1.9:*]
set title sprintf("CPU-bound (service %d us): attempts", csvc)
plot for [i = 1:words(L2)] word(L2, i) using 1:3 smooth unique with linespoints \
	lc (int(word(C2, i))) pt (int(word(P2, i))) dt dash(word(T2, i)) title word(T2, i)
unset multiplot
