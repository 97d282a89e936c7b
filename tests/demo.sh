#!/bin/bash
# make demo: the adaptation in about 10 s, on the embedded default (no node
# agent: `avmm run` drives its own control loop).
#
# A host CPU hog (a busy shell loop) is pinned to CPU 0, and the compute
# guest's vCPU is pinned onto that CPU after it starts, as an unlucky
# scheduler would leave it. avmm runs it under the shipped `performance`
# profile (its loop samples every 100 ms while something changes and needs
# 300 ms of agreeing samples, so it reacts within a second; `balanced`
# samples every second and would take most of the demo to decide) with the
# dashboard on a free port (--metrics 0) and -v, which logs each decision
# with its reason. The guest prints its throughput every second
# (compute every_ms=1000), so the demo can compare the second before the
# move with the seconds after it.
#
# usage: tests/demo.sh [BUILD]   (BUILD default $AVMM_BUILD or build)
# env: DEMO_SECS (default 8) guest run time; DEMO_HOG_CPU (default 0).
# Exit status: avmm's (0: the guest powered off), 1 when the demo could not
# run (missing binary, one CPU), 2 on a usage error.
set -u

build=${1:-${AVMM_BUILD:-build}}
avmm="$build/avmm"
guest="$build/guests/compute.elf"
secs=${DEMO_SECS:-8}
hog_cpu=${DEMO_HOG_CPU:-0}

[ -x "$avmm" ] || { echo "demo: $avmm missing: run 'make'" >&2; exit 1; }
[ -f "$guest" ] || { echo "demo: $guest missing: run 'make guests'" >&2; exit 1; }
command -v taskset >/dev/null || { echo "demo: taskset missing (util-linux)" >&2; exit 1; }
if [ "$(nproc)" -lt 2 ]; then
	echo "demo: this machine offers $(nproc) CPU to this process: the loop needs a second" \
		"CPU to move the vCPU to" >&2
	exit 1
fi

tmp=$(mktemp -d /tmp/avmm-demo.XXXXXX)
log="$tmp/avmm.log"
hog=""
avmm_pid=""
cleanup() {
	[ -n "$hog" ] && kill "$hog" 2>/dev/null
	[ -n "$avmm_pid" ] && kill "$avmm_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "demo: a host hog holds CPU $hog_cpu; the compute guest's vCPU starts there; avmm's"
echo "demo: loop (profile performance) should move it to a free CPU within a second."
taskset -c "$hog_cpu" sh -c 'while :; do :; done' &
hog=$!

"$avmm" -v run --name "demo-$$" --socket "$tmp/demo.sock" --profile performance \
	--metrics 0 "$guest" --cmdline "secs=$secs every_ms=1000" >"$log" 2>&1 &
avmm_pid=$!

# the vCPU thread (avmm-vcpu0) onto the hog's CPU, once it exists
tid=""
for _ in $(seq 100); do
	for t in /proc/"$avmm_pid"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = avmm-vcpu0 ] && tid=${t##*/}
	done
	[ -n "$tid" ] && break
	sleep 0.05
done
if [ -n "$tid" ] && taskset -p -c "$hog_cpu" "$tid" >/dev/null; then
	echo "demo: vCPU thread $tid pinned to CPU $hog_cpu, next to the hog (pid $hog)"
else
	echo "demo: could not pin the vCPU thread onto CPU $hog_cpu; the demo goes on" >&2
fi

# what matters, live: the start-up line (dashboard URL), decisions, throughput
tail -n +1 -f --pid="$avmm_pid" "$log" 2>/dev/null |
	grep --line-buffered -E "avmm: VM |decision coremap|effect of coremap|coremap held|compute: t_ms|AVMM-RESULT|guest ended|error:" |
	sed -u 's/^/  | /' &
wait "$avmm_pid"
rc=$?
avmm_pid=""
sleep 0.3   # let tail print the last lines
kill "$hog" 2>/dev/null
hog=""

# throughput before the first coremap decision and after it (ops/s per second)
awk '
	/decision coremap/ && !moved { moved = 1; next }
	/compute: t_ms=/ {
		split($0, a, "ops_per_s="); v = a[2] + 0
		if (!moved) { b += v; nb++ } else { after += v; na++ }
	}
	END {
		if (!moved) { print "demo: the loop did not move the vCPU: no CPU was free enough (the held lines above say why; other load on this host?)"; exit }
		if (nb) printf "demo: throughput on the hog'"'"'s CPU:  %.0f ops/s (%d s before the move)\n", b / nb, nb
		else print "demo: the move came before the first throughput line (< 1 s)"
		if (na) printf "demo: throughput after the move:   %.0f ops/s (%d s)\n", after / na, na
		if (nb && na && b > 0) printf "demo: %.2fx after the move\n", (after / na) / (b / nb)
	}' "$log"
echo "demo: avmm exit status $rc (0: the guest powered off after its run)"
exit "$rc"
