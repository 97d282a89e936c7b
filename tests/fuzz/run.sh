#!/bin/bash
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined)
# and runs each for FUZZ_SECONDS (default 20) on a copy of its seed corpus
# (tests/fuzz/corpus/NAME/). Usage: tests/fuzz/run.sh BUILD [NAME...]
# (no NAME: every target). FUZZ_ONLY_BUILD=1 builds without running.
set -eu
build=${1:-build}
shift || true
secs=${FUZZ_SECONDS:-20}
out="$build/fuzz"
mkdir -p "$out"
cc=${FUZZ_CC:-clang}
command -v "$cc" >/dev/null || { echo "fuzz: $cc not found; install clang (Debian: apt-get install clang)"; exit 1; }
flags="-std=gnu11 -g -O1 -I. -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"

# name | sources besides tests/fuzz/fuzz_NAME.c and common/ | libraries | max input bytes
# The sources go into an archive, so a target links only the objects it
# uses (files that grow new dependencies elsewhere do not break it);
# main*.c and cli_ctl.c are left out, and so is a pattern matching no file.
targets="
profile    | policies/*.c                                       | -linih -ljansson -lm  | 4096
experiment | policies/*.c                                       | -linih -ljansson -lm  | 4096
exit       | vmm-core/*.c                                       | -lseccomp -ljansson -lm | 4096
ctl        | vmm-core/*.c                                       | -lseccomp -ljansson -lm | 4096
loader     | vmm-core/loader_*.c vmm-core/elf.c vmm-core/e820.c vmm-core/lowmem.c |                       | 32768
parse      | energy/parse.c telemetry/proc.c                    | -lm                   | 1024
kvmstats   | telemetry/kvmstats.c                               |                       | 8192
topo       | coremap/*.c                                        | -lhwloc -ljansson -lm | 16384
memory     | paging-mode/*.c bankmap/*.c coremap/*.c            | -lnuma -lhwloc -ljansson -lm | 16384
"
# True when obj is missing or older than a file it was built from.
stale() {
	local dep
	[ -e "$1" ] && [ -e "$1.d" ] || return 0
	for dep in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$1.d"); do
		[ "$dep" -nt "$1" ] && return 0
	done
	return 1
}
# Objects of the sources (recompiled when stale) into archive $1.
archive() {
	local lib=$1 src obj
	shift
	mkdir -p "$out/obj"
	rm -f "$lib"
	for src in $(ls "$@" 2>/dev/null | grep -v -E '/(cli_ctl|main[^/]*)\.c$'); do
		obj="$out/obj/${src//\//_}.o"
		if stale "$obj"; then
			# shellcheck disable=SC2086
			$cc $flags -MMD -MF "$obj.d" -c -o "$obj" "$src" || return 1
		fi
		ar rcs "$lib" "$obj"
	done
}
archive "$out/libcommon.a" common/*.c
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
want=" $* "
status=0
while IFS='|' read -r name srcs libs maxlen; do
	name=$(echo $name)
	[ -n "$name" ] || continue
	[ "$want" = "  " ] || [[ "$want" == *" $name "* ]] || continue
	bin="$out/fuzz_$name"
	# shellcheck disable=SC2086
	archive "$out/lib$name.a" $srcs
	# shellcheck disable=SC2086
	$cc $flags -o "$bin" "tests/fuzz/fuzz_$name.c" "$out/lib$name.a" "$out/libcommon.a" \
		$libs -lpthread -ldl
	# fuzz_topo runs hwloc_probe (no sanitizers) to skip inputs that crash hwloc
	[ "$name" != topo ] || $cc -std=gnu11 -O1 -g -o "$out/hwloc_probe" tests/fuzz/hwloc_probe.c -lhwloc
	[ -z "${FUZZ_ONLY_BUILD:-}" ] || continue
	corpus="$out/corpus-$name"
	mkdir -p "$corpus"
	cp -n tests/fuzz/corpus/$name/* "$corpus/" 2>/dev/null || true
	dict=()
	[ ! -f "tests/fuzz/$name.dict" ] || dict=(-dict="tests/fuzz/$name.dict")
	echo "fuzz: $name for ${secs}s"
	# -close_fd_mask=3: the code under test logs; libFuzzer and the
	# sanitizers still report (they keep their own copy of stderr)
	if ! "$bin" -max_total_time="$secs" -max_len=$(echo $maxlen) -timeout=5 -close_fd_mask=3 \
		"${dict[@]}" -artifact_prefix="$out/$name-" "$corpus" >"$out/fuzz_$name.log" 2>&1; then
		echo "fuzz: $name FAILED, see $out/fuzz_$name.log"; tail -30 "$out/fuzz_$name.log"; status=1
	else
		grep -E '^(#[0-9]+|Done)' "$out/fuzz_$name.log" | tail -1
	fi
done <<<"$targets"
exit $status
