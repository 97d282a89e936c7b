#!/bin/bash
# Runs every bundled guest (each build/guests/*.elf) under avmm and under QEMU
# side by side and prints one table: guest | avmm | QEMU | same?
# A result is "ok" (the guest's AVMM-RESULT line says ok=1 and the monitor
# exited with 0: the guest powered off through ACPI S5), "fail error=WHY" (ok=0), "timeout", or "no result (exit N)".
#
# usage: tests/guests/compat.sh [-d guest-dir] [-a avmm] [-t timeout-s] [-v] [guest...]
#   -d  folder with the .elf files (default $AVMM_BUILD/guests or build/guests)
#   -a  the avmm binary (default $AVMM_BUILD/avmm or build/avmm)
#   -t  per-run timeout in seconds (default 120: QEMU+SeaBIOS boot alone takes
#       several seconds where KVM emulates guest code)
#   -v  print each run's result line
# env: QEMU (default qemu-system-x86_64), QEMU_ACCEL=kvm|tcg (default kvm when
#      /dev/kvm is usable), MEM (default 128M).
# Exit status: 0 when every guest passes under avmm and agrees with QEMU (or
# differs in a way listed in KNOWN below), 1 otherwise, 2 on usage errors.
#
# Each guest's parameters come from the table below (a guest not listed runs
# with 1 vCPU and no command line); a row NAME:VARIANT runs guest NAME again
# with other parameters. Fields: vCPUs | command line | avmm options | QEMU options.
set -u

declare -A P=(
	[hello]="1|||"
	[pio-loop]="1|n=1000||"
	[stream]="1|size=16K reps=2||"
	[ptchase]="1|size=256K n=1000||"
	[ptchurn]="1|n=200||"
	[compute]="1|n=5000||"
	[stall]="1|size=1M n=2000 calib=0||"
	[smp]="2|n=1000 expect=2||"
	[lowload]="1|n=7||"
	[cpuid]="1||--cpu host|-cpu host"
	[cpuid:-x2apic]="1|x2apic=0|--cpu host,-x2apic|-cpu host,-x2apic"
	[cpuid:vendor]="1|vendor=AuthenticAMD|--cpu host,vendor=AuthenticAMD|-cpu host,vendor=AuthenticAMD"
	[testdev]="1||--testdev|-device pc-testdev"
	# guests of the PC machine (fw_cfg, ACPI, HPET, RTC, PCI): 2 vCPUs so
	# that CPU counts in fw_cfg and the MADT are checked against something
	[firmware]="2|expect_cpus=2||"
	[pcdev]="1|||"
	[pcdev:s5]="1|irq=0 end=s5||"
	[memwrite]="1|start=8M bytes=1M||"
)
# Differences understood and accepted (the row reads "no (known: WHY)" and
# does not fail the run while avmm passes).
declare -A KNOWN=(
	[lowload]="QEMU writes its Multiboot info and memory map at 0x9000-0x9fff, inside this image"
)

build=${AVMM_BUILD:-build}
dir="$build/guests"
avmm="$build/avmm"
tmo=120
verbose=0
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
mem=${MEM:-128M}
[ -x "$avmm" ] || { echo "compat: $avmm is not an executable: build it with 'make'" >&2; exit 2; }
command -v "$qemu" >/dev/null || { echo "compat: $qemu not found: install qemu-system-x86 or set QEMU=" >&2; exit 2; }
ls "$dir"/*.elf >/dev/null 2>&1 || { echo "compat: no guests in $dir: run 'make guests'" >&2; exit 2; }
accel=${QEMU_ACCEL:-}
if [ -z "$accel" ]; then
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then accel=kvm; else accel=tcg; fi
fi
accel_args=()
[ "$accel" = kvm ] && accel_args=(-enable-kvm)

out=$(mktemp)
trap 'rm -f "$out"' EXIT

# verdict NAME RC: one word or phrase from the run's output in $out
verdict() {
	local name=$1 rc=$2 res
	res=$(grep -a "^AVMM-RESULT guest=$name " "$out" | tail -1)
	[ "$verbose" = 1 ] && [ -n "$res" ] && echo "    $res" >&2
	if [ "$rc" -eq 124 ]; then echo "timeout"
	elif [ -z "$res" ]; then echo "no result (exit $rc)"
	elif [[ $res =~ ok=1 ]] && [ "$rc" -eq 0 ]; then echo "ok"
	elif [[ $res =~ error=([^ ]+) ]]; then echo "fail error=${BASH_REMATCH[1]}"
	else echo "fail (exit $rc)"
	fi
}

# Rows: every guest in the folder (or those named), plus its variants.
rows=()
if [ $# -gt 0 ]; then names=("$@"); else
	names=(); for f in "$dir"/*.elf; do names+=("$(basename "$f" .elf)"); done
fi
for n in "${names[@]}"; do
	rows+=("$n")
	for k in $(printf '%s\n' "${!P[@]}" | sort); do [[ $k == "$n:"* ]] && rows+=("$k"); done
done

echo "compat: avmm ($avmm) and $qemu (accel=$accel), guests from $dir, $mem"
printf '\n| guest | avmm | QEMU | same? |\n|---|---|---|---|\n'
bad=0
for row in "${rows[@]}"; do
	name=${row%%:*}
	elf="$dir/$name.elf"
	IFS='|' read -r vcpus cmdline a_opts q_opts <<<"${P[$row]:-1|||}"
	if [ ! -f "$elf" ]; then
		printf '| %s | missing | missing | no |\n' "$row"; bad=1; continue
	fi
	# shellcheck disable=SC2086 # the option fields are word lists
	timeout "$tmo" "$avmm" run --vcpus "$vcpus" --mem "$mem" --socket '' --no-adapt \
		$a_opts "$elf" --cmdline "$cmdline" >"$out" 2>&1 </dev/null
	a=$(verdict "$name" $?)
	# shellcheck disable=SC2086
	timeout "$tmo" "$qemu" "${accel_args[@]}" -smp "$vcpus" -m "$mem" -display none \
		-no-reboot -serial stdio -monitor none \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 $q_opts \
		-kernel "$elf" -append "$cmdline" >"$out" 2>&1 </dev/null
	q=$(verdict "$name" $?)
	same=no; [ "$a" = "$q" ] && same=yes
	{ { [ "$same" = no ] && [ -z "${KNOWN[$row]:-}" ]; } || [ "$a" != ok ]; } && bad=1
	[ "$same" = no ] && [ -n "${KNOWN[$row]:-}" ] && same="no (known: ${KNOWN[$row]})"
	printf '| %s | %s | %s | %s |\n' "$row" "$a" "$q" "$same"
done
echo
[ "$bad" -eq 0 ] && echo "compat: every guest passes under avmm and agrees with QEMU (but for the known differences marked)" ||
	echo "compat: differences above"
exit "$bad"
