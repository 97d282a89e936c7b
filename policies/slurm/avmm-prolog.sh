#!/bin/sh
# Slurm job prolog: the alternative to the avmm SPANK plugin for sites that
# load no SPANK plugins. A job asks for a goal profile with
#   sbatch --comment=avmm-profile=NAME ...
# and this prolog switches the node agent to NAME for the job, keeping the
# profile in force in $AVMM_SLURM_STATE/job-<id>; avmm-epilog.sh puts it
# back (after a cancel too: slurmd runs the epilog in every case).
# slurm.conf:
#   Prolog=/usr/local/lib/avmm/avmm-prolog.sh
#   Epilog=/usr/local/lib/avmm/avmm-epilog.sh
# Settings (defaults shown) from the environment or /etc/default/avmm-slurm:
#   AVMM=/usr/local/bin/avmm  AVMM_AGENT_SOCKET=/run/avmm/agent.sock
#   AVMM_SLURM_STATE=/run/avmm/slurm
# Unlike the plugin, a bad name is not refused at submission (no hook
# there): the prolog logs `avmm policy check`'s words and the job runs
# under the profile in force. It always exits 0: a failing prolog drains
# the node.
[ -r /etc/default/avmm-slurm ] && . /etc/default/avmm-slurm
AVMM=${AVMM:-/usr/local/bin/avmm}
SOCK=${AVMM_AGENT_SOCKET:-/run/avmm/agent.sock}
STATE=${AVMM_SLURM_STATE:-/run/avmm/slurm}
log() { logger -t avmm-prolog "job $SLURM_JOB_ID: $*" 2>/dev/null || echo "avmm-prolog: $*" >&2; }
agent_profile() { "$AVMM" list --json --socket "$SOCK" 2>/dev/null |
	sed -n 's/.*"profile":"\([^"]*\)".*/\1/p'; }

want=$(scontrol show job -o "$SLURM_JOB_ID" 2>/dev/null |
	sed -n 's/.* Comment=avmm-profile=\([A-Za-z0-9._-]*\).*/\1/p')
[ -n "$want" ] || exit 0
if ! msg=$("$AVMM" policy check "$want" 2>&1 >/dev/null); then
	log "avmm-profile=$want not applied: $msg"; exit 0
fi
prev=$(agent_profile)
[ -n "$prev" ] || { log "avmm-profile=$want not applied: no avmm agent on $SOCK"; exit 0; }
mkdir -p "$STATE" && printf '%s\n%s\n' "$prev" "$want" > "$STATE/job-$SLURM_JOB_ID" ||
	{ log "cannot keep the previous profile in $STATE: not switching"; exit 0; }
"$AVMM" ctl --socket "$SOCK" profile "$want" >/dev/null 2>&1 ||
	{ log "the agent refused profile $want"; rm -f "$STATE/job-$SLURM_JOB_ID"; }
exit 0
