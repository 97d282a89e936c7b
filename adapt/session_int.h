/* adapt internal: the session's state, shared by session*.c. */
#ifndef AVMM_ADAPT_SESSION_INT_H
#define AVMM_ADAPT_SESSION_INT_H

#include <pthread.h>
#include <sched.h>

#include "adapt/adapt.h"
#include "adapt/session.h"
#include "common/steal.h"
#include "coremap/coremap.h"
#include "energy/energy.h"
#include "paging-mode/pgmode.h"

/* The node agent's registered VMs (agent.c); the composite (one index per
 * vCPU of every VM) is rebuilt on the agent's main thread when they change. */
#define AGENT_MAX_VMS 32
struct agent_vm {
	char name[72];
	char job_id[24];                 /* batch job that started it; "" none */
	pid_t pid;
	uid_t uid;
	int pidfd;                       /* -1 until the main thread opens it */
	int nr_vcpus;
	pid_t tid[VMM_MAX_VCPUS];
	int remote_fd[VMM_MAX_VCPUS];    /* KVM stats fds in the VM's process, -1 */
	int stats_fd[VMM_MAX_VCPUS];     /* our copies (pidfd_getfd), -1 */
	int remote_steal_fd;             /* its run-delay page's memfd there, -1 */
	const struct util_steal_area *steal; /* that page, mapped read-only; NULL */
	bool attached;                   /* pidfd and fds taken */
	char ctl[108];                   /* its control socket ("" unknown): migrate */
	bool paused;                     /* `avmm ctl pause`: left out of the plan */
	bool migrated;                   /* the health watch moved it away */
};
struct agent_slot {
	pid_t pid, tid;
	int vcpu;
	int stats_fd;
	const struct util_steal_area *steal;   /* NULL: schedstat only */
	char vm[72];
	char job_id[24];
};
struct adapt_agent {
	pthread_mutex_t lock;
	int wake_fd;                     /* eventfd: membership changed or stop */
	bool stop;
	struct agent_vm vm[AGENT_MAX_VMS];
	int nr_vms;
	uint64_t generation;             /* bumped on each change */
	/* the composite the current telemetry and driver were built on */
	struct agent_slot slot[TEL_MAX_VCPUS];
	int nr_slots;
	struct agent_health *health;     /* agent_health.c; main thread */
};

/* The VM side of an agent: registration and the watcher (agent_link.c). */
struct adapt_link {
	char path[108];
	pthread_t watcher;
	bool watching, stop, registered, own_loop;
	bool kick;                       /* tell the agent now (pause, resume) */
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

/* The live page-size actuator of the session's VM (session_paging.c). */
struct adapt_paging {
	pthread_mutex_t lock;            /* op_req */
	struct pgmode_worker *w;         /* NULL: none (why says so) */
	void *hva;                       /* guest RAM: one host mapping */
	uint64_t bytes;
	enum pgmode_page initial;        /* the backing at creation (--mem-backing) */
	char image_hash[17];             /* the guest image's, "" unknown */
	struct pgmode_hint hint;         /* the last run's recommendation (backing KEEP: none) */
	enum pgmode_page op_req;         /* the operator's, waiting for the loop; KEEP: none */
	enum pgmode_page op_set;         /* the operator's, carried out at op_set_ns; KEEP: none */
	uint64_t op_set_ns;
	char why[PGMODE_WHY];
	/* the sampling thread's: smaps and meminfo, read now and then */
	struct pgmode_backing backing;
	uint64_t backing_t_ns;
	uint64_t read_faults;            /* the process's page faults at that read */
	unsigned long long read_huge_kib; /* the host's AnonHugePages at that read */
	uint64_t smaps_reads, smaps_ns_last;  /* how many, the last one's cost */
	uint64_t check_t_ns;             /* the last fault check (or read) */
	bool settled;                    /* re-read once, or checked clean, after the first */
	bool was_busy;
	enum pgmode_page read_target;    /* the worker's target and progress at that read */
	uint64_t read_done;
};

/* session_memsig.c's readings (the sampling thread's). */
struct adapt_memsig {
	uint64_t faults, faults_t_ns;    /* page faults at sample time faults_t_ns */
	bool meminfo_open;
	int meminfo_fd;
	uint64_t meminfo_t_ns;           /* 0: never read */
	double mem_available_pct;        /* < 0 unknown */
	unsigned long long anon_huge_kib; /* the host's AnonHugePages */
};

struct adapt_session {
	struct adapt_session_cfg cfg;
	struct adapt_agent *agent;       /* `avmm agent` only */
	struct adapt_link link;          /* `avmm run` under an agent */
	struct pol_profile profile;
	const char *dirs[POL_MAX_DIRS];
	char dir_storage[POL_MAX_DIRS][POL_PATH_MAX];
	int nr_dirs;
	char run_id[48], socket[108];
	struct vmm *vm;
	bool migrated;                   /* "migrate" moved the VM away: exit 0 */
	char migrate_summary[200];
	enum energy_backend energy_backend;
	bool energy_tried;
	struct energy_src *energy;
	struct energy_cap cap;
	struct util_state *state;  /* host-state journal; NULL: none */
	bool restore_failed;       /* keep the journal for `avmm restore` */
	bool cap_open;
	char cap_why[256];
	struct tel *tel;
	struct vmm_ctl *ctl;
	struct coremap_topo *topo;
	struct adapt_driver *driver;
	struct adapt_bankmap *bankmap;   /* NULL: bankmap off (session_bankmap.c) */
	char bm_track_why[160];           /* why written pages are tracked or not */
	struct adapt_cpu_load cpu_load;
	struct adapt_load_gate load_gate; /* when a tick re-reads cpu_load (loadgate.c) */
	uint64_t loop_period_ns;          /* the loop's period now (atomic), 0: no loop yet */
	cpu_set_t start_cpus;   /* the process's CPUs at open: what unpinning restores */
	double pu_busy_pct[ADAPT_CPU_LOAD_MAX]; /* read by adapt_step through env */
	struct adapt_paging *paging;     /* NULL: no VM in this process (agent) */
	struct adapt_memsig memsig;
	pthread_mutex_t cost_lock;       /* oneoff (session_cost.c) */
	int nr_oneoff;
	struct adapt_oneoff oneoff[ADAPT_ONEOFF_MAX];
	int started;          /* steps brought up */
	bool running;
};

/* session_energy.c: the energy source (opened on the first sample) and the
 * power-cap actuator. */
int adapt_session_energy_init(struct adapt_session *s);
void adapt_session_energy_exit(struct adapt_session *s);
int adapt_session_energy_sample(void *arg, const struct tel_sample *smp, double busy_cores,
				struct tel_energy_sample *out);
int adapt_session_apply_energy(void *ctx, const struct adapt_change *c, char *msg, size_t len);

/* session_bankmap.c / session_bankmap_loop.c: guest RAM bound per the
 * profile before the guest runs, the tick's bankmap sample (telemetry
 * hook), the migration actuator and the initial placement decision. */
struct adapt_bankmap;
struct adapt_driver_cfg;
int adapt_session_bankmap_init(struct adapt_session *s);
void adapt_session_bankmap_exit(struct adapt_session *s);
int adapt_session_bankmap_sample(void *arg, uint64_t now_ns, const struct tel_sample *ts,
				 struct tel_bankmap_sample *out);
void adapt_session_bankmap_env(struct adapt_session *s, struct adapt_env *env);
int adapt_session_bankmap_register(struct adapt_session *s);
/* session_written_track.c: before vmm_create, the dirty tracking the profile's
 * [bankmap] written_sets asks for (s->cfg.vm.dirty_track). */
void adapt_session_bankmap_track(struct adapt_session *s);

/* session_loop.c: the control loop and its coremap actuator. */
int adapt_session_loop_init(struct adapt_session *s);
void adapt_session_loop_exit(struct adapt_session *s);
/* vCPU i of what the loop drives: the VM's, or the agent's composite. */
int adapt_session_nr_vcpus(const struct adapt_session *s);
pid_t adapt_session_vcpu_tid(const struct adapt_session *s, int i);

/* session_paging.c: the page-size worker over guest RAM (after the VM and
 * telemetry; destroyed at close), its actuator, the loop's paging proposal
 * wrapped with the operator's request, the tick's tel_paging_sample, the
 * warm-up check of MADV_COLLAPSE, and the profile's initial backing. */
int adapt_session_paging_init(struct adapt_session *s);
void adapt_session_paging_exit(struct adapt_session *s);
int adapt_session_paging_sample(void *arg, uint64_t now_ns, struct tel_paging_sample *out);
int adapt_session_apply_paging(void *ctx, const struct adapt_change *c, char *msg, size_t len);
void adapt_session_paging_loop(struct adapt_session *s, struct adapt_driver_cfg *c);
/* session_paging_hint.c: the per-guest hint, read at open and kept at exit. */
void adapt_session_paging_hint_load(struct adapt_session *s, struct adapt_paging *pg);
void adapt_session_paging_hint_save(struct adapt_session *s, struct adapt_paging *pg);
void adapt_session_paging_warmup(struct adapt_session *s, struct adapt_env *env);
int adapt_session_paging_start(struct adapt_session *s);
/* session_memsig.c: cheap signals that guest memory may have changed.
 * MemAvailable / MemTotal in % from /proc/meminfo text; -EINVAL. */
int adapt_parse_meminfo(const char *buf, double *available_pct);
/* Pure: a re-read of guest memory's layout (smaps; the one-node bankmap
 * pass) is due ADAPT_MEM_MAX_AGE_NS after the last in any case, and
 * ADAPT_MEM_MIN_AGE_NS after it when moved (page faults, the host's huge
 * pages: what changes the layout shows in one of them; the hour is a safety
 * net). */
#define ADAPT_MEM_MIN_AGE_NS 10000000000ull
#define ADAPT_MEM_MAX_AGE_NS 3600000000000ull
bool adapt_mem_reread_due(uint64_t age_ns, bool moved);
/* Pure: how often /proc/meminfo is read: every ADAPT_MEMINFO_SLOW_NS while
 * MemAvailable is ADAPT_MEMINFO_HEADROOM_PCT points or more above the
 * profile's mem_available_low_pct, else every ADAPT_MEMINFO_FAST_NS. */
#define ADAPT_MEMINFO_FAST_NS 1000000000ull
#define ADAPT_MEMINFO_SLOW_NS 30000000000ull
#define ADAPT_MEMINFO_HEADROOM_PCT 20.0
uint64_t adapt_meminfo_every_ns(double available_pct, double low_pct);
/* The page faults (minor + major, cumulative) of the process's threads but
 * the calling one (the sampling thread, where the readers run: their own
 * buffers and passes do not start the next read), read once per sample time
 * now_ns (0: read now); the readers ask only every ADAPT_MEM_MIN_AGE_NS
 * (getrusage sums every thread: several us in a cold tick). */
uint64_t adapt_session_faults(struct adapt_session *s, uint64_t now_ns);
/* Re-reads /proc/meminfo into s->memsig when due (adapt_meminfo_every_ns). */
void adapt_session_meminfo(struct adapt_session *s, uint64_t now_ns);
void adapt_session_memsig_close(struct adapt_session *s);
/* session_cost.c: records one-off work (what, its CPU time) for
 * adapt_session_cost. */
void adapt_session_oneoff(struct adapt_session *s, const char *what, uint64_t cpu_ns);
/* session_paging_ctl.c: "paging" and "backing" on the control socket. */
int adapt_session_paging_ctl(struct adapt_session *s);
/* session_lifecycle.c: "pause", "resume", "vmstate" (whole-VM pause),
 * "snapshot"; adapt_session_restore loads cfg.restore_path into the new VM
 * (on failure it destroys the VM: nothing half-restored ever runs). */
int adapt_session_lifecycle_ctl(struct adapt_session *s);
int adapt_session_restore(struct adapt_session *s);
/* session_migrate.c: "migrate" (the source) and cfg.incoming (the target;
 * on failure it destroys the VM, like adapt_session_restore). */
int adapt_session_migrate_ctl(struct adapt_session *s);
int adapt_session_incoming(struct adapt_session *s);
char *adapt_ctl_paging(const char *req, const struct vmm_ctl_peer *peer, void *s, int *err);
char *adapt_ctl_backing(const char *req, const struct vmm_ctl_peer *peer, void *s, int *err);

/* session.c: guest RAM as one host range; telemetry on a target (NULL: the
 * session's VM). */
int adapt_session_guest_ram(const struct vmm *vm, void **hva, uint64_t *bytes);
/* http: a metrics server kept from the telemetry before (the agent), or NULL */
int adapt_session_tel_open(struct adapt_session *s, const struct tel_target *tg,
			   struct tel_http *http);
void adapt_session_tel_close(struct adapt_session *s);

/* agent.c: the node agent's VM table and control commands. */
int adapt_agent_init(struct adapt_session *s);
void adapt_agent_exit(struct adapt_session *s);
void adapt_agent_stop(struct adapt_session *s);
void adapt_agent_wake(struct adapt_agent *a);            /* the main thread */
void adapt_agent_drop_vm(struct adapt_session *s, int i);  /* agent lock held */

/* agent_link.c: register with the agent after the vCPUs start; watch it;
 * kick: tell it the VM's pause state now (from the control thread). */
int adapt_link_start(struct adapt_session *s);
void adapt_link_stop(struct adapt_session *s);
void adapt_link_kick(struct adapt_session *s);

/* agent_health.c: the agent's health watch: the machine file's migration
 * targets (init; a bad file fails the agent's start), one health sample per
 * [health] period on the main thread (tick: the decision, its log, the
 * migration of every VM with backoff), and its /metrics part (attach, after
 * each rebuild of telemetry; agent_health_prom.c). */
struct agent_health {
	pthread_mutex_t lock;            /* what /metrics reads: last, v, counts */
	struct pol_targets targets;
	struct adapt_health_state st;
	struct tel_health_sample last;
	struct adapt_health_verdict v;
	bool have;
	uint64_t next_ns, retry_at_ns, backoff_ns;
	uint64_t predicted_total, migrated_ok, migrated_failed, migrated_unconfirmed;
	char unavailable[512];           /* logged when it changes */
};
int adapt_agent_health_init(struct adapt_session *s);
void adapt_agent_health_exit(struct adapt_session *s);
/* Returns ms until it wants the next tick. */
int adapt_agent_health_tick(struct adapt_session *s);
/* The health series in /metrics from telemetry's first scrape on. */
void adapt_agent_health_config(const struct adapt_session *s, struct tel_config *c);

#endif
