/*
 * adapt session: one running guest with everything around it — the VM
 * (vmm-core), telemetry, the energy source and power cap, the control socket
 * and the control-loop driver with its actuators (coremap pinning, power cap).
 * Used by `avmm run` and `avmm experiment`.
 *
 * Lifecycle: adapt_session_open() brings the parts up in order through a
 * table of {name, init, exit}; adapt_session_close() runs exit in reverse
 * over what started (restoring power limits and pinning). Threading:
 * adapt_session_stop() may be called from any thread. Errors: 0 or negative
 * errno, with a message naming the part and the value.
 */
#ifndef AVMM_ADAPT_SESSION_H
#define AVMM_ADAPT_SESSION_H

#include "telemetry/tel.h"
#include "vmm-core/vmm.h"

struct adapt_session_cfg {
	struct vmm_config vm;
	const char *profile;          /* name or path; NULL: the machine's default */
	const char *profile_file;     /* machine default file; NULL: /etc/avmm/profile */
	const char *metrics_addr;     /* NULL: off */
	const char *traces[TEL_MAX_TRACES];
	int nr_traces;
	const char *counters;         /* perf|papi|none; NULL: perf */
	const char *energy_backend;   /* auto|powercap|perf|papi|estimate|none; NULL: auto */
	const char *fsroot;           /* injectable sysfs/procfs root; NULL: / */
	const char *name;             /* VM name (control socket, labels); NULL: "avmm" */
	const char *socket_path;      /* NULL: default path for name; "" : none */
	const char *socket_group;     /* NULL: socket 0600; else 0660 for this group */
	const char *run_id;           /* NULL: generated */
	bool dry_run;
	bool no_adapt;                /* telemetry only, no control loop */
	bool every_tick;              /* a full sample every period, never a quiet tick
				       * (an experiment's phases; a trace implies it) */
	bool best_effort;             /* a --metrics or --trace that fails is reported and
				       * left out; else the session does not open */
	bool agent;                   /* `avmm agent`: no VM; the loop drives every
				       * VM that registers on the agent socket */
	bool no_agent;                /* `avmm run`: never register with an agent */
	const char *machine_file;     /* the agent: [migration] targets; NULL:
				       * $AVMM_MACHINE_FILE or /etc/avmm/machine.ini */
	const char *agent_socket;     /* NULL: util_run_dir()/agent.sock */
	const char *incoming;         /* `avmm run --incoming ADDR`: wait for a migrated
				       * VM there before starting; NULL: none */
	const char *restore_path;     /* `avmm run --restore FILE`: a snapshot loaded into
				       * the VM before it starts; NULL: none */
};

struct adapt_session;
struct adapt_driver;

int adapt_session_open(const struct adapt_session_cfg *cfg, struct adapt_session **out);
int adapt_session_start(struct adapt_session *s);
/* Waits for the guest to end; then stops the loop and telemetry. */
int adapt_session_wait(struct adapt_session *s, struct vmm_result *res);
void adapt_session_stop(struct adapt_session *s);
void adapt_session_close(struct adapt_session *s);

/* `avmm agent`: serves registrations and drives every registered VM's vCPUs
 * in one plan until adapt_session_stop(); returns 0 or -errno. */
int adapt_agent_run(struct adapt_session *s);
/* The agent socket's path (cfg.agent_socket or the default). */
void adapt_agent_socket_path(const struct adapt_session_cfg *cfg, char *out, size_t len);

struct vmm *adapt_session_vmm(struct adapt_session *s);
struct tel *adapt_session_tel(struct adapt_session *s);
struct adapt_driver *adapt_session_driver(struct adapt_session *s); /* NULL if no loop */
const char *adapt_session_profile_name(const struct adapt_session *s);
/* The control socket's path, NULL when there is none. */
const char *adapt_session_socket(const struct adapt_session *s);

/* What the loop does besides its ticks, for a reader who measures a steady
 * tick (bench/tel_sample): the one-off work of the start (the topology and
 * paging-mode probe at warm-up, opening the energy source, the first smaps
 * read, bankmap's first pass over guest RAM, and each once more for the
 * guest's start-up page faults), each with when (monotonic ns) and its CPU
 * time, and warm once all that the session has is done and the memory
 * readers settled (read again for the start's page faults, or found none,
 * ADAPT_MEM_MIN_AGE_NS after their first read); the
 * recurring work a steady tick does not do each time (smaps re-reads,
 * bankmap passes: how many, the last one's CPU time, at most
 * reread_max_age_ns apart when nothing moves); how the host-load gate
 * answered, by adapt_load_due. Any thread. */
#define ADAPT_ONEOFF_MAX 8
struct adapt_session_cost {
	bool warm;
	int nr_oneoff;
	struct adapt_oneoff {
		char what[96];
		uint64_t t_ns, cpu_ns;
	} oneoff[ADAPT_ONEOFF_MAX];
	uint64_t smaps_reads, smaps_cpu_ns, bm_passes, bm_pass_cpu_ns, reread_max_age_ns;
	uint64_t load_due[6];    /* by enum adapt_load_due */
};
void adapt_session_cost(struct adapt_session *s, struct adapt_session_cost *out);

/* Host load from <fsroot>/proc/stat (one read per tick serves the coremap
 * noise rule, the energy model and the energy attribution). */
#define ADAPT_CPU_LOAD_MAX 256
struct adapt_cpu_load {
	bool have;
	uint64_t busy[ADAPT_CPU_LOAD_MAX], total[ADAPT_CPU_LOAD_MAX]; /* ticks */
	uint64_t busy_ns;   /* whole host, cumulative */
	double busy_cores;  /* busy CPUs over the last interval; init -1 = not known */
	bool stat_open;     /* the real /proc/stat is kept open (stat_fd), re-read with pread */
	int stat_fd;
	char *buf;          /* the text read, kept between calls */
};
/* Busy % of each CPU since the previous call (0 on the first); returns how
 * many CPUs were filled or -errno. Also updates busy_ns and busy_cores. */
int adapt_cpu_busy_pct(struct adapt_cpu_load *l, const char *fsroot, double *pct, int max);
/* Closes what adapt_cpu_busy_pct keeps open (its file and buffer). */
void adapt_cpu_load_close(struct adapt_cpu_load *l);

#endif
