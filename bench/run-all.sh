#!/bin/bash
# Runs every benchmark program; each prints its medians and ratios.
build=$1; shift
status=0
for b in "$@"; do
	echo "== $(basename "$b")"
	AVMM_BUILD=$build "$b" || status=1
done
exit $status
