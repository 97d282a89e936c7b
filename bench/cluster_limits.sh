#!/bin/sh
# The limits a site sizes a cluster rollout by (issue 17): the node agent's
# CPU time and resident memory with 0, 1 and N registered VMs, and the size
# of one scrape of /metrics (the agent's, and a VM's own by vCPU count).
# Usage: bench/cluster_limits.sh [BUILD] [N]   (prints a table; ~1 min)
set -eu
B=${1:-build}; N=${2:-4}; A=$B/avmm; G=$B/guests/compute.elf
D=$(mktemp -d /tmp/avmm-limits-XXXXXX); AP=$((20000 + $$ % 5000))
export AVMM_RUN_DIR=$D
# CPU ns of every thread of pid $1 (schedstat: ns, not 10 ms ticks)
cpu_ns() { cat /proc/$1/task/*/schedstat | awk '{s += $1} END {printf "%d", s}'; }
rss_kib() { awk '/^VmRSS/ {print $2}' /proc/$1/status; }
$A agent --socket $D/agent.sock --metrics 127.0.0.1:$AP > $D/agent.log 2>&1 & AG=$!
trap 'kill $AG 2>/dev/null; for p in $VMS; do kill $p 2>/dev/null; done; rm -rf $D' EXIT
VMS=""
sleep 3
measure() { # $1: label
	t0=$(cpu_ns $AG); sleep 10; t1=$(cpu_ns $AG)
	sz=$(curl -s 127.0.0.1:$AP/metrics | wc -c)
	printf '%-8s agent_cpu_pct=%s agent_rss_kib=%s agent_scrape_bytes=%s\n' "$1" \
		"$(echo "scale=3; ($t1 - $t0) / 100000000" | bc)" "$(rss_kib $AG)" "$sz"
}
measure "0 VMs"
start_vm() { # $1: index, $2: vcpus, $3: extra
	$A run --name vm$1 --vcpus $2 --socket $D/vm$1.sock $3 $G --cmdline secs=40 \
		> $D/vm$1.log 2>&1 & VMS="$VMS $!"
}
start_vm 1 1 ""; sleep 3; measure "1 VM"
i=2; while [ $i -le $N ]; do start_vm $i 1 ""; i=$((i + 1)); done; sleep 3; measure "$N VMs"
for p in $VMS; do kill $p 2>/dev/null || true; done; wait $VMS 2>/dev/null || true; VMS=""
# one VM's own /metrics (no agent: its own loop), by vCPU count
kill $AG; wait $AG 2>/dev/null || true
for v in 1 2 4; do
	P=$((AP + v)); $A run --name solo --vcpus $v --socket $D/solo.sock --metrics 127.0.0.1:$P \
		$G --cmdline secs=12 > $D/solo.log 2>&1 & S=$!
	sleep 8
	m=$(curl -s 127.0.0.1:$P/metrics)
	printf 'vm --vcpus %s: scrape_bytes=%s series=%s\n' $v "$(printf '%s\n' "$m" | wc -c)" \
		"$(printf '%s\n' "$m" | grep -c '^avmm')"
	kill $S; wait $S 2>/dev/null || true
done
