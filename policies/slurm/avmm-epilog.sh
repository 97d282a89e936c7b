#!/bin/sh
# Slurm job epilog: puts back the profile avmm-prolog.sh found in force,
# when the profile in force is still the job's (a later switch, or an agent
# restarted since with its machine profile, is left as it is). Exits 0.
[ -r /etc/default/avmm-slurm ] && . /etc/default/avmm-slurm
AVMM=${AVMM:-/usr/local/bin/avmm}
SOCK=${AVMM_AGENT_SOCKET:-/run/avmm/agent.sock}
STATE=${AVMM_SLURM_STATE:-/run/avmm/slurm}
f=$STATE/job-$SLURM_JOB_ID
[ -r "$f" ] || exit 0
prev=$(sed -n 1p "$f"); mine=$(sed -n 2p "$f")
rm -f "$f"
now=$("$AVMM" list --json --socket "$SOCK" 2>/dev/null | sed -n 's/.*"profile":"\([^"]*\)".*/\1/p')
if [ -n "$prev" ] && [ "$now" = "$mine" ]; then
	"$AVMM" ctl --socket "$SOCK" profile "$prev" >/dev/null 2>&1 ||
		logger -t avmm-epilog "job $SLURM_JOB_ID: profile $prev not restored" 2>/dev/null
fi
exit 0
