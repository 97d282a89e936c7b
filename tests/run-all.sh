#!/bin/bash
# Runs every Criterion test binary given, then prints one closing line with
# the totals over all of them. Exit status is nonzero if any test failed.
set -u
passed=0 failed=0 skipped=0 status=0
recap=""
for bin in "$@"; do
	echo "== $bin"
	out=$("$bin" --jobs 1 --verbose=0 2>&1)
	rc=$?
	# failures with their messages, skips with their reasons, the synthesis
	printf '%s\n' "$out" | grep -v -E '^\[(RUN |PASS)\]|^\[----\] *$|^avmm: ' || true
	line=$(printf '%s\n' "$out" | grep 'Synthesis' | tail -1)
	# what failed, with its messages, again at the end (CI shows the tail)
	bad=$(printf '%s\n' "$out" | awk '/Assertion Failed|CRASH|^\[FAIL\]|^\[ERR \]/ { print; more = /Assertion Failed/; next }
		more && /^\[----\]   / { print; next } { more = 0 }')
	if [ -z "$line" ]; then
		echo "   $bin printed no summary (rc=$rc)"; failed=$((failed + 1)); status=1
		recap+="== $bin printed no summary (rc=$rc)"$'\n'"$(printf '%s\n' "$out" | tail -5)"$'\n'
		continue
	fi
	t=$(sed -E 's/.*Tested: *([0-9]+).*/\1/' <<<"$line")
	p=$(sed -E 's/.*Passing: *([0-9]+).*/\1/' <<<"$line")
	f=$(sed -E 's/.*Failing: *([0-9]+).*/\1/' <<<"$line")
	c=$(sed -E 's/.*Crashing: *([0-9]+).*/\1/' <<<"$line")
	s=$(printf '%s\n' "$out" | grep -c '\[SKIP\]' || true)
	# Criterion counts a skipped test as passing
	passed=$((passed + p - s)); failed=$((failed + f + c)); skipped=$((skipped + s))
	if [ "$f" -gt 0 ] || [ "$c" -gt 0 ] || [ "$rc" -ne 0 ]; then
		status=1
		recap+="== $bin (rc=$rc)"$'\n'"$(printf "%s\n" "$bad" | head -40)"$'\n'
	fi
	: "$t"
done
[ -z "$recap" ] || printf '\nwhat failed:\n%s\n' "$recap"
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
