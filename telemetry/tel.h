/*
 * telemetry: samplers, the sample ring, exporters and the live dashboard.
 *
 * Sources, each reporting up/down with the reason (struct tel_source_status):
 *   - KVM binary statistics (KVM_GET_STATS_FD) of the VM and every vCPU,
 *     looked up by name;
 *   - per-vCPU thread CPU time (the thread's CPU clock, each sample), run
 *     delay and last CPU from <fsroot>/proc/self/task/TID/{schedstat,stat}
 *     (kept open; read every delay_every / pcpu_every samples, the run
 *     delay also when the thread's CPU share moves);
 *   - hardware counters per vCPU thread: perf_event_open with events named
 *     and encoded by libpfm4, guest-only (exclude_host) and host-only
 *     (exclude_guest) groups, multiplexing scaled; or PAPI ("papi");
 *   - energy, through a function the energy module provides.
 * tel_sample() reads them all into one struct tel_sample (sample.h), derives
 * rates, pushes it into a ring, writes trace records (JSON lines or CSV) and
 * updates what the HTTP server (Prometheus /metrics, dashboard /, JSON under /api/)
 * serves.
 *
 * Units: times in ns (CLOCK_MONOTONIC), each sample and decision also with
 * its wall-clock time (wall_ns, CLOCK_REALTIME; the traces add an ISO 8601
 * "time"), energy in µJ; exported metrics use
 * base units (seconds, joules, watts). Hardware figures and what is derived
 * from them (ipc, tlb_misses_per_kinstr, llc_misses_per_kinstr) are valid only
 * when hw_valid; they are never exported otherwise.
 *
 * Threading: every function may be called from any thread; tel_sample() and
 * the HTTP server serialise on an internal lock. tel_start() runs its own
 * sampling thread; do not also call tel_sample() from another thread then.
 *
 * Errors: 0 or a negative errno, with a message naming the value and the fix
 * logged (tel_open: bad address, port in use, unwritable trace path, unknown
 * counters backend). A source that fails does not fail tel_open/tel_sample:
 * it is marked down with the reason and sampling goes on.
 */
#ifndef AVMM_TEL_H
#define AVMM_TEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "telemetry/sample.h"

#define TEL_MAX_TRACES 4
#define TEL_MAX_EVENTS TEL_SAMPLE_MAX_EVENTS
#define TEL_RING_DEFAULT 64 /* samples kept (each ~1.1 KiB + 0.4 KiB per vCPU) */

struct vmm;
struct vmm_ctl;
struct tel;

struct tel_http;
/* Extra Prometheus text appended to /metrics (the agent's health); called
 * under telemetry's lock, so fn must not call back into telemetry. */
typedef void (*tel_prom_extra_fn)(void *arg, FILE *f);

struct tel_config {
	const char *metrics_addr;   /* "ADDR:PORT", "PORT" (loopback) or NULL: off */
	const char *trace_paths[TEL_MAX_TRACES]; /* *.jsonl or *.csv */
	int nr_traces;
	const char *counters;       /* "perf" (default), "papi" or "none" */
	const char **events;        /* libpfm4 (perf) or PAPI names; NULL: defaults */
	int nr_events;
	const char *run_id, *profile_name, *vm_name;
	uint64_t period_ns;         /* tel_start() period; 0: 100 ms */
	const char *fsroot;         /* NULL or "/": the real /proc */
	int ring_len;               /* 0: TEL_RING_DEFAULT */
	/* true: a trace or the metrics server that cannot be opened is an error
	 * in the log and is left out, the rest (and the VM) goes on */
	bool exporters_optional;
	/* Slow per-thread reads, each vCPU on its turn every Nth sample (0: the
	 * default below, 1: every sample); values are carried in between. */
	int pcpu_every;             /* last CPU (stat); only if the thread ran */
	int delay_every;            /* run delay (steal area, else schedstat); rates stay exact */
	bool no_kvm_batch;          /* each vCPU's KVM stats file read, never the BPF batch
				     * (kvmbatch.c): for comparisons */
	/* a server taken from an earlier object (tel_detach_http) that serves
	 * this one from its open on (stopped if the open fails); metrics_addr
	 * is then not used */
	struct tel_http *http;
	/* more /metrics text from the first scrape on (the agent's health) */
	tel_prom_extra_fn prom_extra_fn;
	void *prom_extra_arg;
};
/* each vCPU's last CPU is at most 8 samples old, and re-read with its run
 * delay when its CPU share moves (below) */
#define TEL_PCPU_EVERY_DEFAULT 8
/* each vCPU's run delay is at most 32 samples or TEL_DELAY_MAX_AGE_NS old,
 * whichever comes first, and re-read at once when its CPU share moves 10
 * points (a vCPU that starts to wait for its CPU gets less of it): 2
 * reads per sample of 64 vCPUs instead of 64 (each a load from the vCPU's
 * steal-time area where it is in use, else a schedstat read) */
#define TEL_DELAY_EVERY_DEFAULT 32
#define TEL_DELAY_MAX_AGE_NS 4000000000ull

/*
 * What to sample, as raw descriptors (for tests, benchmarks and other VMMs).
 * Callbacks are asked again at each sample while they return 0 / -1, so a
 * target whose vCPU threads start later is picked up when they appear.
 */
struct tel_target {
	int nr_vcpus;
	int (*vm_fd)(void *arg);              /* -1: none */
	int (*vcpu_fd)(void *arg, int vcpu);  /* -1: none */
	/* Optional, preferred: KVM binary-stats fds the target already holds
	 * (telemetry dups them). A vCPU fd's own ioctls block while the vCPU is
	 * inside KVM_RUN, so a running VM's stats fds must come from here. */
	int (*vm_stats_fd)(void *arg);
	int (*vcpu_stats_fd)(void *arg, int vcpu);
	pid_t (*vcpu_tid)(void *arg, int vcpu); /* 0: not started yet */
	/* the vCPU's KVM steal-time area (common/steal.h), read by quiet ticks
	 * for its run delay; NULL (or no callback): none */
	const struct util_steal_area *(*vcpu_steal)(void *arg, int vcpu);
	/* Optional: the process of vCPU thread i when it is not this one (the
	 * node agent's VMs); procfs is then read under /proc/PID/task/TID. */
	pid_t (*vcpu_pid)(void *arg, int vcpu);
	/* Optional (the node agent): the VM vCPU i belongs to and its index
	 * there, for the vm and vcpu labels of per-vCPU series (default: the
	 * config's vm_name and i). Read once, at open. */
	const char *(*vcpu_vm)(void *arg, int vcpu);
	int (*vcpu_index)(void *arg, int vcpu);
	/* Optional (the node agent): the batch job id of vCPU i's VM ("" none),
	 * for a per-VM avmm_info{vm,job_id}. Read once, at open. */
	const char *(*vcpu_job)(void *arg, int vcpu);
	/* Optional: the CPU the vCPU thread is on or last ran on, without a
	 * system call (vmm_vcpu_pcpu); -1: unknown, then procfs is read. */
	int (*vcpu_pcpu)(void *arg, int vcpu);
	/* Optional: the console's bytes written, dropped over its caps and lost
	 * to write errors, cumulative (vmm_console_counters). */
	void (*console)(void *arg, uint64_t *written, uint64_t *dropped, uint64_t *lost);
	void *arg;
};

/* Fills the tick's energy (power, energy, estimated, ...) into out
 * (&s->energy); s is the tick's sample so far (t_ns, the vCPUs with their
 * rates), for a hook that reads host-wide sources only when the vCPUs say
 * something moved. When it also sets host_busy_ns, the energy is attributed
 * to the VM and its vCPUs over the interval since the last host_busy_ns that
 * differed (a hook that keeps the last reading defers the attribution; the
 * cumulative per-VM and per-vCPU energy is carried meanwhile). */
typedef int (*tel_energy_fn)(void *arg, const struct tel_sample *s, double busy_cores,
			     struct tel_energy_sample *out);

/*
 * Node health (health.c), read under an injectable root (NULL or "/": the
 * real one), for the node agent's proactive migration:
 *   edac      <root>/sys/devices/system/edac/mc/mcN/{ce_count,ue_count}, and
 *             the DIMM (dimmK/dimm_ce_count) or chip-select row
 *             (csrowK/ce_count) with the most corrected errors;
 *   throttle  <root>/sys/devices/system/cpu/cpuN/thermal_throttle/
 *             core_throttle_count summed over CPUs, package_throttle_count
 *             once per package (topology/physical_package_id);
 *   mce       the "MCE:" row of <root>/proc/interrupts summed over CPUs:
 *             machine-check exceptions the kernel took. Corrected errors the
 *             kernel finds by polling or CMCI are not in it (EDAC has them).
 * A source this host lacks is down with why (never a 0). Counts are raw
 * (they may reset or wrap; adapt_health_step handles both).
 */
#define TEL_HEALTH_MAX_MC 16
#define TEL_HEALTH_WHY 200
enum tel_health_src { TEL_HEALTH_EDAC, TEL_HEALTH_THROTTLE, TEL_HEALTH_MCE, TEL_HEALTH_SRC_COUNT };
struct tel_health_sample {
	uint64_t t_ns;
	bool up[TEL_HEALTH_SRC_COUNT];
	char why[TEL_HEALTH_SRC_COUNT][TEL_HEALTH_WHY];  /* why a source is down */
	int nr_mc;
	struct {
		int index;                 /* N of mcN */
		uint64_t ce, ue;
		char worst[24];            /* "dimm3", "csrow1", "" none */
		uint64_t worst_ce;
	} mc[TEL_HEALTH_MAX_MC];
	uint64_t throttle_core, throttle_package;
	int nr_cpus;                       /* CPUs with thermal_throttle */
	uint64_t mce;
};
const char *tel_health_src_name(enum tel_health_src s);   /* "edac", ... */
/* Always 0: what is missing is in up[]/why[]. */
int tel_health_read(const char *fsroot, uint64_t now_ns, struct tel_health_sample *out);
/* Pure: the sum over CPUs of /proc/interrupts row ("MCE"); -ENOENT without it. */
int tel_health_parse_interrupts(const char *text, const char *row, uint64_t *sum);


/* The node agent reopens telemetry when its VMs change and keeps one
 * metrics server across: takes t's server (after a request in flight ends;
 * later ones wait up to 2 s for the next object, then answer 503), for the
 * next tel_config.http. NULL: t has none. */
struct tel_http *tel_detach_http(struct tel *t);

/* Open on a vmm (vmm-core). Starts the HTTP server and opens the traces. */
int tel_open(const struct tel_config *c, struct vmm *vm, struct tel **out);
int tel_open_target(const struct tel_config *c, const struct tel_target *tg,
		    struct tel **out);
/* Reads every source into *out (may be NULL), derives, records, exports. */
int tel_sample(struct tel *t, struct tel_sample *out);
/* The same, with no copy: *out points at the sample in telemetry's ring,
 * read-only and valid on the calling thread until it takes ring_len - 1
 * more samples or closes t (only the sampling thread writes the ring). */
int tel_sample_ref(struct tel *t, const struct tel_sample **out);
/* The cheapest look between two samples (probe.c), on the thread that
 * samples, at now_ns (the caller's time, e.g. when its tick was due: a cold
 * clock read is a third of a look; 0: read the clock): per vCPU its run
 * delay from its steal-time area (memory: avmm's, or the guest's own in
 * guest RAM, one pread of another process's), else one read of its thread's
 * CPU time (a clock_gettime in this process, schedstat in another); a
 * thread that could not be read makes it stale. Counted in
 * avmm_telemetry_probes_total. Returns 0. */
int tel_probe(struct tel *t, uint64_t now_ns, struct tel_probe *out);
int tel_start(struct tel *t);   /* own sampling thread every period_ns */
void tel_stop(struct tel *t);
void tel_set_energy_fn(struct tel *t, tel_energy_fn fn, void *arg);
/* Fills the tick's guest-RAM backing and the page-size worker's progress
 * (struct tel_paging_sample); called on the sampling thread inside
 * tel_sample(), after the energy hook. */
typedef int (*tel_paging_fn)(void *arg, uint64_t now_ns, struct tel_paging_sample *out);
void tel_set_paging_fn(struct tel *t, tel_paging_fn fn, void *arg);
/* Records the paging-mode cost model's newest estimate: /metrics
 * (avmm_paging_estimate_pct for its valid parts, avmm_paging_estimate_info
 * with the reasons), the "paging_estimate" object of the samples JSON. */
int tel_publish_paging(struct tel *t, const struct tel_paging_estimate *e);
/* The newest estimate published (-ENOENT: none yet). */
int tel_latest_paging(struct tel *t, struct tel_paging_estimate *out);
/* An estimate as a JSON object (jansson's json_t, a new reference): parts
 * {valid, pct only when valid, why}, want, want_mode, reason, recommend. */
struct json_t;
struct json_t *tel_paging_estimate_json(const struct tel_paging_estimate *e);
/* Fills the tick's guest RAM by node, each vCPU's remote share and the
 * migration worker's progress (struct tel_bankmap_sample); called on the
 * sampling thread inside tel_sample(), after the vCPUs' CPUs are read (s). */
typedef int (*tel_bankmap_fn)(void *arg, uint64_t now_ns, const struct tel_sample *s,
			      struct tel_bankmap_sample *out);
void tel_set_bankmap_fn(struct tel *t, tel_bankmap_fn fn, void *arg);
/* Records a decision: traces, the dashboard timeline, avmm_decisions_total. */
int tel_publish_decision(struct tel *t, const struct tel_decision *d);
/* Records why the loop waits (struct tel_held): /metrics
 * (avmm_adapt_held_ticks_total, avmm_adapt_hold_left_seconds), the "held"
 * object of the samples JSON (dashboard, `stat`). */
int tel_publish_held(struct tel *t, const struct tel_held *h);
/* The period the loop samples at now (exported; tel_start's thread uses it
 * from its next wait). */
void tel_set_period(struct tel *t, uint64_t period_ns);
/* The goal profile in force after a switch (`avmm ctl profile`, an
 * experiment's phase): avmm_info{profile}, the samples JSON (dashboard,
 * `avmm stat`) and the traces' profile column name it from now on.
 * 0, -EINVAL (no name) or -ENOMEM (the old name stays). */
int tel_set_profile(struct tel *t, const char *name);
/* Registers the "stat" control command (vmm-core control socket). */
int tel_register_ctl(struct tel *t, struct vmm_ctl *ctl);
/* The "stat" handler itself (a vmm_ctl_fn with t as its arg). */
struct vmm_ctl_peer;
char *tel_ctl_stat(const char *req, const struct vmm_ctl_peer *peer, void *t, int *err);
void tel_close(struct tel *t);

/* The newest sample (-ENOENT before the first); the bound port (0: off). */
int tel_latest(struct tel *t, struct tel_sample *out);
int tel_metrics_port(const struct tel *t);
/* Counter events in use (index into ev_guest/ev_host), NULL past the end. */
int tel_nr_events(const struct tel *t);
const char *tel_event_name(const struct tel *t, int i);
/* Source status as of open/last sample. */
void tel_source_status(struct tel *t, enum tel_source s, struct tel_source_status *out);
const char *tel_source_name(enum tel_source s);   /* "kvm", "thread", ... */

/* Prometheus text exposition of the newest state (malloc'd, NUL-terminated). */
int tel_metrics_text(struct tel *t, char **text);
/* JSON: {"samples":[...]} newer than seq, and {"decisions":[...]} (malloc'd). */
int tel_samples_json(struct tel *t, uint64_t since_seq, char **json);
int tel_decisions_json(struct tel *t, uint64_t since_seq, char **json);

/*
 * Trace files on their own (trace.c), as tel_open writes them: for a
 * producer of samples that is not a VM (the policy simulator). The path
 * ends in .jsonl (one JSON object per line, "type" sample or decision) or
 * .csv; run_id, profile_name and vm_name of c label every record.
 * tel_trace_note adds a JSON line {"type": type, "note": note, run_id,
 * profile, vm} (a CSV trace has no place for it: 0, nothing written).
 */
struct tel_trace;
int tel_trace_open(const char *path, const struct tel_config *c, int nr_vcpus,
		   struct tel_trace **out);
int tel_trace_sample(struct tel_trace *tr, const struct tel_sample *s,
		     const char *const *ev, int nev);
int tel_trace_decision(struct tel_trace *tr, const struct tel_decision *d);
int tel_trace_note(struct tel_trace *tr, const char *type, const char *note);
int tel_trace_set_profile(struct tel_trace *tr, const char *name);
void tel_trace_close(struct tel_trace *tr);

/* Pure helpers (tested on their own). */
void tel_derive(const struct tel_sample *prev, struct tel_sample *cur);
/* The tick's energy (cur - prev) split over the vCPUs by CPU-time share of
 * the host's busy time over the tick (energy_attribute): sets attributed,
 * vm_energy_uj and each vCPU's energy_uj, cumulative from prev's. -EINVAL
 * when either energy reading is down or went back. */
int tel_energy_split(const struct tel_sample *prev, struct tel_sample *cur, uint64_t host_busy_ns);
int tel_parse_schedstat(const char *buf, uint64_t *cpu_ns, uint64_t *delay_ns);
/* Where a sample reads a vCPU's KVM statistics file (KVM_GET_STATS_FD; left
 * open): the file offset and length of the span of the statistics it
 * selects, as one pread each sample (the benchmarks' floor). 0 or -errno. */
int tel_vcpu_stats_span(int stats_fd, uint64_t *off_bytes, size_t *len_bytes);
/* Loads the BPF program that reads the KVM statistics of many vCPUs in one
 * call (TEL_KVM_BATCH_MIN_VCPUS or more: a big VM, the node agent): once per
 * process, before its sandbox (which keeps only the calls that use it). 0,
 * or -errno and why (then each vCPU's file is read). Below that many vCPUs
 * a sample reads each one's file: the batch's fixed cost (one BPF call, ~4
 * us here) is that of about 5 preads, and its load (~25 ms) would lengthen
 * a small VM's start. */
#define TEL_KVM_BATCH_MIN_VCPUS 16
int tel_kvm_batch_init(char *why, size_t wlen);
/* Whether t's samples read the vCPUs' KVM statistics in one call; if not, why. */
bool tel_kvm_batched(const struct tel *t, char *why, size_t wlen);
int tel_parse_stat_cpu(const char *buf, int *cpu);
int tel_parse_listen_addr(const char *s, char *host, size_t host_len, int *port);

/* `avmm stat [--socket PATH | --name VM] [--interval S] [--once]` */
int tel_cli_stat(int argc, char **argv);
/* Renders the answer of the "stat" command as the table avmm stat prints. */
int tel_stat_render(const char *stat_json, FILE *f);

#endif
