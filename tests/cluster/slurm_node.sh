#!/bin/sh
# A real single-node Slurm (Debian's munge, slurmctld, slurmd) with the avmm
# SPANK plugin, everything under DIR and in a network namespace of its own
# (only its loopback: nothing listens outside 127.0.0.1), and an avmm agent
# on DIR/run/agent.sock. Run by tests/cluster/test_slurm.c as:
#   unshare --net tests/cluster/slurm_node.sh BUILD DIR
# It prints "CHECK <name> <value>" lines for the test to judge, "SKIP <why>"
# when something it needs is missing; daemons it started are stopped on exit.
set -u
B=$(realpath "$1"); D=$2; SRC=$(pwd)
A=$B/avmm
for bin in /usr/sbin/munged /usr/sbin/mungekey /usr/sbin/slurmctld /usr/sbin/slurmd \
	/usr/bin/sbatch /usr/bin/squeue /usr/bin/scancel "$B/avmm_spank.so" /usr/bin/curl; do
	[ -e "$bin" ] || { echo "SKIP no $bin (make deps installs slurm-wlm munge libslurm-dev)"; exit 0; }
done
PIDS=""
stop() { for p in $PIDS; do kill "$p" 2>/dev/null; done; sleep 1
	 for p in $PIDS; do kill -9 "$p" 2>/dev/null; done; }
trap stop EXIT
# lo only; glibc's AI_ADDRCONFIG (Slurm binds with it) wants one IPv4
# address besides 127/8 before it answers at all: a private one on lo
{ ip link set lo up && ip addr add 10.254.0.1/32 dev lo; } 2>/dev/null ||
	{ echo "SKIP cannot set up lo in a network namespace (ip, root)"; exit 0; }
mkdir -p "$D/run" "$D/state" "$D/spool" "$D/spank" "$D/out"
chmod 755 "$D"

mungekey -c -k "$D/munge.key" 2>"$D/mungekey.log" || { echo "SKIP mungekey failed"; exit 0; }
chmod 400 "$D/munge.key"
munged -F -f -S "$D/munge.sock" --key-file="$D/munge.key" --pid-file="$D/munged.pid" \
	--log-file="$D/munged.log" --seed-file="$D/munged.seed" & PIDS="$PIDS $!"

export AVMM_RUN_DIR="$D/run"
"$A" agent --socket "$D/run/agent.sock" --profile balanced > "$D/agent.log" 2>&1 & PIDS="$PIDS $!"

CP=$((6817 + $$ % 1000)); DP=$((CP + 1))
cat > "$D/plugstack.conf" <<EOF
required $B/avmm_spank.so avmm=$A socket=$D/run/agent.sock state=$D/spank
EOF
# the prolog/epilog alternative too, for jobs that ask by --comment
for w in prolog epilog; do cat > "$D/$w.sh" <<EOF
#!/bin/sh
export AVMM=$A AVMM_AGENT_SOCKET=$D/run/agent.sock AVMM_SLURM_STATE=$D/pe-state SLURM_CONF=$D/slurm.conf
exec $SRC/policies/slurm/avmm-$w.sh
EOF
chmod +x "$D/$w.sh"; done
cat > "$D/slurm.conf" <<EOF
ClusterName=avmmtest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CP
SlurmdPort=$DP
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$D/munge.sock
CredType=cred/munge
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
SlurmdDebug=verbose
PlugStackConfig=$D/plugstack.conf
Prolog=$D/prolog.sh
Epilog=$D/epilog.sh
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SchedulerType=sched/builtin
InactiveLimit=0
KillWait=2
MinJobAge=300
NodeName=avmmnode NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=avmmnode Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF
export SLURM_CONF="$D/slurm.conf"
for i in $(seq 50); do [ -S "$D/munge.sock" ] && break; sleep 0.2; done
/usr/sbin/slurmctld -D -i -f "$SLURM_CONF" > "$D/slurmctld.out" 2>&1 & PIDS="$PIDS $!"
/usr/sbin/slurmd -D -N avmmnode -f "$SLURM_CONF" > "$D/slurmd.out" 2>&1 & PIDS="$PIDS $!"

# the profile the agent has now (its answer's "profile")
profile() { python3 -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"{\"cmd\":\"profile\"}\n")
print(json.loads(s.makefile().readline()).get("profile", "?"))' "$D/run/agent.sock" 2>/dev/null || echo down; }
state() { timeout 10 squeue -h -j "$1" -o %T 2>/dev/null; }
wait_state() { # job, state, tenths of a second
	for i in $(seq "$3"); do [ "$(state "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }
wait_gone() { for i in $(seq "$2"); do [ -z "$(state "$1")" ] && return 0; sleep 0.1; done; return 1; }

for i in $(seq 150); do timeout 10 sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix)' && break; sleep 0.2; done
echo "CHECK node $(timeout 10 sinfo -h -o %t 2>/dev/null | head -1)"
echo "CHECK before $(profile)"

# an unknown profile is refused at submission with avmm policy check's words
timeout 20 sbatch --avmm-profile=nosuch --wrap true > "$D/out/refused.txt" 2>&1
echo "CHECK refused_rc $?"
echo "CHECK refused_msg $(grep -c 'nosuch: no such profile' "$D/out/refused.txt")"

# job 1 runs a guest under --avmm-profile=energy and reports its VM's labels
MP=$((CP + 2))
cat > "$D/job1.sh" <<EOF
#!/bin/sh
"$A" run --name job1vm --metrics 127.0.0.1:$MP "$B/guests/compute.elf" --cmdline secs=6 &
sleep 4
curl -s 127.0.0.1:$MP/metrics | grep '^avmm_info'
wait
EOF
J1=$(timeout 20 sbatch --parsable --avmm-profile=energy -o "$D/out/job1.txt" "$D/job1.sh")
echo "CHECK job1_submitted $J1"
wait_state "$J1" RUNNING 300
sleep 2
echo "CHECK during1 $(profile)"
wait_gone "$J1" 600 || wait_state "$J1" COMPLETED 300
sleep 1
echo "CHECK after1 $(profile)"
echo "CHECK job1_label $(grep -c "job_id=\"$J1\"" "$D/out/job1.txt" 2>/dev/null)"
echo "CHECK job1_result $(grep -c 'AVMM-RESULT guest=compute.* ok=1' "$D/out/job1.txt" 2>/dev/null)"

# job 2 is cancelled half-way: the epilog restores the profile anyway
J2=$(timeout 20 sbatch --parsable --avmm-profile=performance -o "$D/out/job2.txt" --wrap "sleep 120")
wait_state "$J2" RUNNING 300
sleep 2
echo "CHECK during2 $(profile)"
timeout 20 scancel "$J2"
for i in $(seq 300); do [ -e "$D/spank/job-$J2" ] || break; sleep 0.1; done
sleep 1
echo "CHECK after2 $(profile)"
echo "CHECK state_left $(ls "$D/spank" | wc -l)"

# job 3 asks by --comment: the prolog/epilog scripts switch and restore
J3=$(timeout 20 sbatch --parsable --comment=avmm-profile=static -o "$D/out/job3.txt" --wrap "sleep 5")
wait_state "$J3" RUNNING 300
sleep 2
echo "CHECK during3 $(profile)"
wait_gone "$J3" 300 || wait_state "$J3" COMPLETED 300
for i in $(seq 100); do [ -e "$D/pe-state/job-$J3" ] || break; sleep 0.1; done
sleep 1
echo "CHECK after3 $(profile)"

# job 4: the agent restarts half-way; it comes back under the machine's
# profile, and the epilog leaves that alone
J4=$(timeout 20 sbatch --parsable --avmm-profile=energy -o "$D/out/job4.txt" --wrap "sleep 6")
wait_state "$J4" RUNNING 300
sleep 1
echo "CHECK during4 $(profile)"
AG=$(echo $PIDS | awk '{print $2}')
kill "$AG"; wait "$AG" 2>/dev/null
"$A" agent --socket "$D/run/agent.sock" --profile balanced >> "$D/agent.log" 2>&1 & PIDS="$PIDS $!"
for i in $(seq 50); do [ "$(profile)" != down ] && break; sleep 0.1; done
echo "CHECK restarted4 $(profile)"
wait_gone "$J4" 300 || wait_state "$J4" COMPLETED 300
for i in $(seq 100); do [ -e "$D/spank/job-$J4" ] || break; sleep 0.1; done
echo "CHECK after4 $(profile)"
echo "CHECK state_left4 $(ls "$D/spank" | wc -l)"
