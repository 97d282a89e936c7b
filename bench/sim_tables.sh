#!/bin/sh
# bench/sim_tables.sh [AVMM]: the policy simulator's paper-style tables
# (issue #16 item 6), as markdown on stdout. MODEL RESULTS, not measurements:
# every figure comes from the machine models in policies/models/ driven by
# the real control loop (avmm experiment --simulate).
#   1. vcore mapping on the 2-socket (16 vCPUs) and 4-socket (32 vCPUs)
#      models: static pack vs static spread vs the adaptive performance goal
#      vs the energy goal, for memory-bound, compute-bound and phased mixes
#      (120 s each);
#   2. paging on the 2-socket model: static shadow vs static nested (4 KiB
#      backing) vs adaptive, relative to native, for phased page-table churn
#      and a TLB-heavy workload.
set -eu
AVMM=${1:-build/avmm}
T=$(mktemp -d /tmp/avmm-simtab-XXXXXX)
trap 'rm -rf "$T"' EXIT
W=policies/experiments/sim/workloads

# csvexp EXPERIMENT OUT: a copy writing a CSV summary to OUT (its report beside it, in $T)
csvexp() {
	sed -e '/^summary/d' -e '/^format/d' -e '/^trace/d' -e '/^report/d' \
	    -e "s|^\[output\]|[output]\nsummary = $2\nformat = csv|" "$1" > "$T/x.ini"
}
# sim MODEL WORKLOAD EXPERIMENT OUT
sim() {
	csvexp "$3" "$4"
	"$AVMM" experiment --quiet --simulate "$1" --workload "$2" "$T/x.ini" >/dev/null
}
# whole-run rows: profile throughput power_w energy_j
rows() { awk -F, '$3 == "all" { print $2, $17, $12, $13 }' "$1"; }

for mv in "2s-16c 2 16" "4s-16c 4 32"; do
	set -- $mv
	echo "### vcore mapping, $1 model ($2 x 16 cores), $3 vCPUs (model results)"
	echo
	echo "| workload | mapping | performance vs pack | power vs pack | energy per instruction vs pack |"
	echo "|---|---|---|---|---|"
	for w in memory compute phased; do
		sim policies/models/$1.ini "$W/vcore-$w.ini" policies/experiments/sim/vcore-${2}s.ini "$T/v.csv"
		rows "$T/v.csv" | awk -v w="$w" 'NR == 1 { t0 = $2; p0 = $3; e0 = $4 / $2 }
			{ printf "| %s | %s | %+.1f%% | %+.1f%% | %+.1f%% |\n", w, $1,
			  100 * ($2 / t0 - 1), 100 * ($3 / p0 - 1), 100 * (($4 / $2) / e0 - 1) }'
	done
	echo
done
echo "### paging, 2-socket model, 16 vCPUs, slowdown vs native (model results)"
echo
echo "| workload | static shadow | static nested (4K) | adaptive |"
echo "|---|---|---|---|"
for w in paging-phased paging-tlb; do
	sed 's/^paging_mode = .*/paging_mode = shadow/; s/^pt_updates_per_s = .*/pt_updates_per_s = 0/' "$W/$w.ini" > "$T/native.ini"
	sed 's/^paging_mode = .*/paging_mode = shadow/' "$W/$w.ini" > "$T/shadow.ini"
	sed 's/^paging_mode = .*/paging_mode = nested/' "$W/$w.ini" > "$T/nested.ini"
	for v in native shadow nested; do
		sim policies/models/2s-16c.ini "$T/$v.ini" policies/experiments/sim/paging-2s.ini "$T/$v.csv"
	done
	sim policies/models/2s-16c-live.ini "$T/nested.ini" policies/experiments/sim/paging-2s.ini "$T/adaptive.csv"
	n=$(rows "$T/native.csv" | awk 'NR == 1 { print $2 }')
	s=$(rows "$T/shadow.csv" | awk 'NR == 1 { print $2 }')
	e=$(rows "$T/nested.csv" | awk 'NR == 1 { print $2 }')
	a=$(rows "$T/adaptive.csv" | awk 'NR == 2 { print $2 }')
	awk -v w="$w" -v n="$n" -v s="$s" -v e="$e" -v a="$a" 'BEGIN {
		printf "| %s | %.1f%% | %.1f%% | %.1f%% |\n", w, 100 * (1 - s / n), 100 * (1 - e / n), 100 * (1 - a / n) }'
done
