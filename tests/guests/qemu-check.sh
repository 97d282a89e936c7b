#!/bin/bash
# Runs the avmm test guests under QEMU (with KVM when /dev/kvm is usable, else
# TCG) and checks each one's exit status (0 on success: the guests power off
# through ACPI S5, PM1a control at 0x604, which QEMU's PIIX4 PM block under
# SeaBIOS and avmm both serve; a failure writes v to isa-debug-exit, status
# (v << 1) | 1, so 3) and its AVMM-RESULT line(s). Also checks three failure paths (stream
# with an injected mismatch, smp and firmware with a wrong expected CPU count).
#
# usage: tests/guests/qemu-check.sh [-d guest-dir] [-a avmm] [-t timeout-s] [-v] [guest...]
#   -d  folder with the .elf files (default $AVMM_BUILD/guests or build/guests)
#   -a  run the same checks under this avmm binary (avmm run) instead of QEMU
#   -t  per-run timeout in seconds (default 120; QEMU+SeaBIOS boot alone takes
#       several seconds where KVM emulates guest code)
#   -v  print each guest's serial output
# env: QEMU (default qemu-system-x86_64), QEMU_ACCEL=kvm|tcg (default: kvm if
#      /dev/kvm is readable and writable).
# Exit status: 0 when every check passed, 1 otherwise, 2 on usage errors.
set -u

dir="${AVMM_BUILD:-build}/guests"
tmo=120
verbose=0
avmm=""
while getopts "d:a:t:v" opt; do
	case $opt in
	d) dir=$OPTARG ;;
	a) avmm=$OPTARG ;;
	t) tmo=$OPTARG ;;
	v) verbose=1 ;;
	*) echo "usage: $0 [-d guest-dir] [-a avmm] [-t timeout-s] [-v] [guest...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
qemu=${QEMU:-qemu-system-x86_64}
if [ -n "$avmm" ] && [ ! -x "$avmm" ]; then
	echo "qemu-check: $avmm is not an executable: build it with 'make'" >&2
	exit 2
fi
if [ -z "$avmm" ] && ! command -v "$qemu" >/dev/null; then
	echo "qemu-check: $qemu not found: install qemu-system-x86 or set QEMU=" >&2
	exit 2
fi
accel=${QEMU_ACCEL:-}
if [ -z "$accel" ]; then
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then accel=kvm; else accel=tcg; fi
fi
accel_args=()
[ "$accel" = kvm ] && accel_args=(-enable-kvm)

pass=0 fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# run NAME WANT_RC VCPUS APPEND CHECK...
# CHECK is an extended regex every line of the form must match: "result:REGEX"
# (the last AVMM-RESULT guest=NAME line), or "count:N:REGEX" (lines matching).
run() {
	local name=$1 want=$2 vcpus=$3 append=$4
	shift 4
	local elf="$dir/$name.elf" rc res why="" c n re got
	if [ ! -f "$elf" ]; then
		echo "FAIL $name: $elf missing: build with 'make guests'"
		fail=$((fail + 1)); return
	fi
	if [ -n "$avmm" ]; then
		timeout "$tmo" "$avmm" run --vcpus "$vcpus" --mem 128M --socket '' "$elf" \
			--cmdline "$append" >"$out" 2>&1 </dev/null
	else
		timeout "$tmo" "$qemu" "${accel_args[@]}" -smp "$vcpus" -m 128 -display none \
			-no-reboot -serial stdio -monitor none \
			-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
			-kernel "$elf" -append "$append" >"$out" 2>&1 </dev/null
	fi
	rc=$?
	[ "$verbose" = 1 ] && sed "s/^/    [$name] /" "$out"
	res=$(grep -a "^AVMM-RESULT guest=$name " "$out" | tail -1)
	if [ "$rc" -ne "$want" ]; then
		why="exit status $rc, want $want"
		[ "$rc" -eq 124 ] && why="timed out after ${tmo}s"
	elif [ -z "$res" ]; then
		why="no AVMM-RESULT guest=$name line"
	else
		for c in "$@"; do
			case $c in
			result:*)
				re=${c#result:}
				grep -qE -- "$re" <<<"$res" || { why="result line lacks /$re/"; break; } ;;
			count:*)
				n=${c#count:}; re=${n#*:}; n=${n%%:*}
				got=$(grep -acE -- "$re" "$out")
				[ "$got" -eq "$n" ] || { why="$got lines match /$re/, want $n"; break; } ;;
			esac
		done
	fi
	if [ -z "$why" ]; then
		echo "PASS $name [$append] ${res#AVMM-RESULT }"
		pass=$((pass + 1))
	else
		echo "FAIL $name [$append]: $why"
		[ "$verbose" = 1 ] || sed "s/^/    [$name] /" "$out" | tail -20
		fail=$((fail + 1))
	fi
}

want_guest() {
	local g
	for g in "${sel[@]}"; do [ "$g" = "$1" ] && return 0; done
	return 1
}
sel=("$@")
[ ${#sel[@]} -eq 0 ] && sel=(hello pio-loop stream ptchase ptchurn compute smp pcdev firmware)
num='[0-9]+'
ratio='[0-9]+\.[0-9]{2}'
hz='tsc_hz=([0-9]+|unknown)'

if [ -n "$avmm" ]; then
	echo "qemu-check: $avmm run, guests from $dir"
else
	echo "qemu-check: $qemu, accel=$accel, guests from $dir"
fi
want_guest hello && run hello 0 1 "" "result:ok=1$"
want_guest pio-loop && run pio-loop 0 1 "n=1000" \
	"result:n=1000 " "result:cycles=$num " "result:cycles_per_exit=$ratio" "result:$hz" "result:ok=1"
want_guest stream && {
	run stream 0 1 "size=16K reps=2" \
		"result:size=16384 " "result:reps=2 " "result:bytes=49152 " "result:cycles=$num" "result:$hz" \
		"result:ok=1"
	run stream 3 1 "size=4K reps=1 inject_error=1" "result:ok=0 error=verify-mismatch"
}
want_guest ptchase && run ptchase 0 1 "size=256K n=1000" \
	"result:slots=64 " "result:hops=1000 " "result:cycles_per_hop=$ratio" "result:pgmode=lm" "result:ok=1"
want_guest ptchurn && run ptchurn 0 1 "n=200" \
	"result:n=200 " "result:cycles_per_op=$ratio" "result:pgmode=lm" "result:ok=1"
want_guest compute && run compute 0 1 "n=5000" \
	"result:iterations=5000 " "result:cycles=$num " "result:$hz" "result:ok=1"
want_guest smp && {
	run smp 0 2 "n=1000 expect=2" \
		"result:cpus=2 " "result:ok=1" \
		"count:2:^AVMM-RESULT guest=smp cpu=[0-9]+ loop=1000 cycles=[0-9]+"
	run smp 3 2 "n=100 expect=3" "result:ok=0 error=cpu-count"
}
# the HPET's route capability differs: QEMU's PIIX offers IOAPIC pin 2, avmm 16-23
want_guest pcdev && {
	run pcdev 0 1 "" "result:year=20[2-9][0-9] " "result:pci=8086:1237 " \
		"result:hpet_timers=3 " "result:hpet_period_fs=10000000 " "result:hpet_irqs=1 " \
		"result:ok=1$"
	run pcdev 0 1 "irq=0 end=s5" "result:ok=1$"
}
want_guest firmware && {
	run firmware 0 2 "expect_cpus=2" \
		"result:fwcfg=1 dma=1 nb_cpus=2 max_cpus=2 ram=134217728 " "result:e820_dma=match" \
		"result:madt_cpus=2 " "result:ok=1"
	run firmware 3 2 "expect_cpus=3" "result:ok=0 error=cpu-count"
}
echo "qemu-check: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
