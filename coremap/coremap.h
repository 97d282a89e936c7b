/*
 * coremap: hardware topology (hwloc), vCPU -> pCPU mapping strategies and the
 * pinning actuator.
 *
 * Topology: coremap_topo_load() reads the live machine, an hwloc synthetic
 * description ("package:2 core:4 pu:2") or an hwloc XML file, and flattens it
 * into one record per PU (package, NUMA node, core, L3 and online state).
 * PUs are addressed by their logical index 0..nr_pus-1 in the getters; every
 * CPU number that crosses the API elsewhere (maps, reserved CPUs, cur_pcpu,
 * out_pcpu, pu_busy_pct index) is the OS index, the number sched_setaffinity
 * and /proc/stat use.
 *
 * Strategies: coremap_plan() is pure (no I/O, no clock, no globals): the same
 * topology + metrics + goal always gives the same map.
 *   PACK     fill one cache domain (L3, else package) first, one vCPU per core,
 *            then the SMT siblings, before using the next domain;
 *   SPREAD   interleave across memory domains (package x NUMA node), one vCPU
 *            per core, then siblings;
 *   EXPLICIT the given map, validated;
 *   ADAPTIVE memory-intensive vCPUs (llc_misses_per_kinstr >= threshold) are
 *            spread for performance unless the goal prefers energy; compute-bound
 *            ones are packed. Noise: host load per CPU is pu_busy_pct minus our
 *            own vCPUs' share, and a vCPU goes to the CPU with the least; without
 *            pu_busy_pct, the current CPU of a vCPU whose run delay is >=
 *            noisy_run_delay_pct counts as noisy instead. Staying put earns a
 *            bonus worth 15% host load, so a move needs a clear gain and two
 *            equally busy CPUs do not ping-pong.
 * Reserved (housekeeping) CPUs and offline CPUs are never chosen.
 *
 * Actuator: coremap_apply() pins each TID to one CPU through an ops table
 * (real: sched_setaffinity/sched_getaffinity; fake: recording), reads every
 * mask back, and on any failure restores the masks it already changed.
 *
 * Units: *_pct in percent of one CPU (0..100), *_ns nanoseconds (monotonic).
 * Threading: a topology is immutable after load (except coremap_topo_set_online)
 * and may be read from any thread; coremap_plan is reentrant; coremap_apply
 * may run concurrently with the vCPU threads it moves.
 * Errors: 0 or a negative errno; a readable reason goes to `why`/res->why.
 */
#ifndef AVMM_COREMAP_H
#define AVMM_COREMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sched.h>

/* ---------------------------------------------------------------- topology */

struct coremap_topo;

/*
 * src: NULL for the live machine; a path to an existing file or a string
 * ending in ".xml" for an hwloc XML file; anything else is an hwloc synthetic
 * description. -EINVAL (bad synthetic/XML, logged with the text), -ENOMEM.
 */
int coremap_topo_load(const char *src, struct coremap_topo **out);
void coremap_topo_free(struct coremap_topo *t);

/* "live", "synthetic:<desc>" or "xml:<path>". */
const char *coremap_topo_source(const struct coremap_topo *t);

int coremap_topo_nr_pus(const struct coremap_topo *t);
int coremap_topo_nr_cores(const struct coremap_topo *t);
int coremap_topo_nr_packages(const struct coremap_topo *t);
int coremap_topo_nr_numa(const struct coremap_topo *t);
int coremap_topo_nr_l3(const struct coremap_topo *t);      /* 0 when unknown */

/* pu = logical index 0..nr_pus-1; -EINVAL (or false) when out of range. */
int coremap_topo_pu_os_index(const struct coremap_topo *t, int pu);
int coremap_topo_pu_package(const struct coremap_topo *t, int pu); /* logical */
int coremap_topo_pu_numa(const struct coremap_topo *t, int pu);    /* OS index, -1 none */
int coremap_topo_pu_core(const struct coremap_topo *t, int pu);    /* logical */
int coremap_topo_pu_l3(const struct coremap_topo *t, int pu);      /* logical, -1 none */
bool coremap_topo_pu_online(const struct coremap_topo *t, int pu);
/* Logical index of the PU with this OS index, -ENOENT if none. */
int coremap_topo_pu_by_os(const struct coremap_topo *t, int os_index);
/* Mark a PU offline/online (CPU hotplug seen by the caller; tests). */
int coremap_topo_set_online(struct coremap_topo *t, int pu, bool online);

/* The hwloc topology behind it (hwloc_topology_t), for printing. */
void *coremap_topo_hwloc(const struct coremap_topo *t);

/* -------------------------------------------------------------- strategies */

enum coremap_strategy { COREMAP_PACK, COREMAP_SPREAD, COREMAP_EXPLICIT, COREMAP_ADAPTIVE };

/* Per vCPU, over the last tick. A negative llc_misses_per_kinstr means
 * unknown (no PMU): the vCPU is then treated as compute-bound. */
struct coremap_vcpu_metrics {
	double llc_misses_per_kinstr;
	double run_delay_pct;   /* runnable but waiting, % of wall time */
	double cpu_pct;         /* CPU time used, % of one CPU */
	int cur_pcpu;           /* OS index it runs on now, -1 unknown */
};

struct coremap_goal {
	bool prefer_energy;
	double memory_intensive_llc_per_kinstr; /* >= this: memory-intensive */
	double noisy_run_delay_pct;             /* >= this: move away (<= 0: off) */
	const int *reserved_cpus;               /* OS indices never used */
	int nr_reserved;
	const int *explicit_map;                /* vCPU i -> OS index */
	int nr_explicit;
	/* Added: host busy % per CPU, indexed by OS index (cpuN of /proc/stat),
	 * including our own vCPUs; NULL when unknown. */
	const double *pu_busy_pct;
	int nr_pu_busy;
};

/* Returns "pack", "spread", "explicit", "adaptive" ("?" otherwise). */
const char *coremap_strategy_name(enum coremap_strategy s);
/* Name -> enum; -EINVAL for an unknown name. */
int coremap_strategy_parse(const char *name, enum coremap_strategy *out);

/*
 * Map nr_vcpus vCPUs to CPUs: out_pcpu[i] = OS index for vCPU i. `why` gets
 * one line saying what was decided and on which inputs (or what is wrong).
 * m may be NULL except for ADAPTIVE. More vCPUs than eligible CPUs are
 * placed round-robin (oversubscribed), and `why` says so.
 * -EINVAL: bad arguments, an explicit map that is empty, too short, names a
 * CPU out of range, offline or reserved; a reserved CPU not in the topology;
 * no CPU left after reservations.
 */
int coremap_plan(const struct coremap_topo *topo, enum coremap_strategy s,
		 const struct coremap_vcpu_metrics *m, int nr_vcpus,
		 const struct coremap_goal *goal, int *out_pcpu,
		 char *why, size_t why_len);

/* ---------------------------------------------------------------- actuator */

struct coremap_ops {
	/* 0 or -errno, like the syscalls (tid 0 = the calling thread). */
	int (*set_affinity)(void *ctx, pid_t tid, const cpu_set_t *set);
	int (*get_affinity)(void *ctx, pid_t tid, cpu_set_t *set);
	void *ctx;
};

/* sched_setaffinity / sched_getaffinity; ctx unused. */
extern const struct coremap_ops coremap_real_ops;

/* Recording fake: every set is recorded; masks live in a small table; an
 * error can be injected for one CPU (any TID) or one TID. */
#define COREMAP_FAKE_MAX 64
struct coremap_fake_call { pid_t tid; int cpu; /* first CPU in the mask, -1 empty */ };
struct coremap_fake {
	int nr_calls;
	struct coremap_fake_call calls[COREMAP_FAKE_MAX];
	int nr_threads;
	pid_t tid[COREMAP_FAKE_MAX];
	cpu_set_t mask[COREMAP_FAKE_MAX];
	int fail_cpu, fail_cpu_err;  /* setting exactly {fail_cpu} -> fail_cpu_err */
	pid_t fail_tid;              /* set_affinity on this TID -> fail_tid_err */
	int fail_tid_err;
	bool lie_on_readback;        /* get returns all CPUs (verification fails) */
	int nr_cpus;                 /* CPUs 0..nr_cpus-1 exist; others: -EINVAL */
};
/* Initialise the fake (no failures, every thread starts on CPUs 0..nr_cpus-1)
 * and point ops at it. */
void coremap_fake_init(struct coremap_fake *f, int nr_cpus, struct coremap_ops *ops);

struct coremap_apply_result {
	int err;               /* 0 or -errno of the first failure */
	pid_t failed_tid;      /* 0 when none */
	int failed_cpu;        /* -1 when none */
	int nr_moved;          /* threads whose mask changed and was verified */
	bool rolled_back;      /* a failure restored the previous masks */
	uint64_t latency_ns;   /* first set to last verified read-back */
	char why[256];
};

/*
 * Pin tids[i] to CPU pcpu[i] (OS index) for i < n. All masks are read first;
 * a thread already pinned to exactly that CPU is left alone. After each set
 * the mask is read back and compared. On the first failure (EINVAL: offline
 * CPU or outside the cpuset; EPERM; ESRCH; EIO: read-back differs) every
 * thread already changed gets its old mask back, res says which TID and CPU
 * and why, and the error is returned. Bad input (n < 0, pcpu < 0 "empty
 * set", pcpu >= CPU_SETSIZE) is -EINVAL before anything is touched.
 */
int coremap_apply(const struct coremap_ops *ops, const pid_t *tids, const int *pcpu,
		  int n, struct coremap_apply_result *res);

/* ---------------------------------------------------------------- CLI */

/* avmm topo [--json] [--synthetic STR | --xml FILE]; prints to stdout.
 * Returns the process exit status (0 ok, 1 load error, 2 usage). */
int coremap_cli_topo(int argc, char **argv);

#endif
