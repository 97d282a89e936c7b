#!/bin/bash
# Builds the profile and experiment parser fuzzers with clang
# (-fsanitize=fuzzer,address,undefined) and runs each for FUZZ_SECONDS
# (default 20) on a copy of the seed corpus. Usage: tests/fuzz/run.sh BUILD
set -eu
build=${1:-build}
secs=${FUZZ_SECONDS:-20}
out="$build/fuzz"
mkdir -p "$out"
cc=${FUZZ_CC:-clang}
command -v "$cc" >/dev/null || { echo "fuzz: $cc not found; install clang (Debian: apt-get install clang)"; exit 1; }
flags="-std=gnu11 -g -O1 -I. -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
srcs="policies/*.c common/*.c"
status=0
for name in profile experiment; do
	bin="$out/fuzz_$name"
	# shellcheck disable=SC2086
	$cc $flags -o "$bin" "tests/fuzz/fuzz_$name.c" $(ls $srcs | grep -v '/cli_ctl.c$') -linih -ljansson -lm
	corpus="$out/corpus-$name"
	mkdir -p "$corpus"
	cp -n tests/fuzz/corpus/$name/* "$corpus/" 2>/dev/null || true
	echo "fuzz: $name for ${secs}s"
	if ! "$bin" -max_total_time="$secs" -max_len=4096 -timeout=5 "$corpus" >"$out/fuzz_$name.log" 2>&1; then
		echo "fuzz: $name FAILED, see $out/fuzz_$name.log"; tail -30 "$out/fuzz_$name.log"; status=1
	else
		grep -E '^(#[0-9]+|Done)' "$out/fuzz_$name.log" | tail -1
	fi
done
exit $status
