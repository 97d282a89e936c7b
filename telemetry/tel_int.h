/* telemetry internals shared between its files (not a public header). */
#ifndef AVMM_TEL_INT_H
#define AVMM_TEL_INT_H

#include <linux/perf_event.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "common/steal.h"

#include "telemetry/tel.h"

/* ---- KVM binary statistics (kvmstats.c) ---- */
struct tel_kvm_desc {
	char name[64];
	uint32_t flags, offset;   /* offset in bytes from the data block */
	uint16_t size;            /* number of u64 */
};

struct tel_kvmstats {
	int fd;
	uint32_t data_off;
	uint32_t rd_off;          /* what tel_kvmstats_read() reads of the block */
	size_t rd_len;
	/* where the reads land: data + rd_off, or the caller's buffer
	 * (tel_kvmstats_place), holding words rd_off/8 ... of the block */
	uint64_t *rd_buf;
#define TEL_KVM_MAX_SEL 16
	int nr_sel;               /* the selected stats: word in data or -1 */
	int sel_word[TEL_KVM_MAX_SEL], sel_idx[TEL_KVM_MAX_SEL];
	size_t data_len;          /* bytes */
	uint64_t *data;
	int nr;
	struct tel_kvm_desc *desc;
};

/* Parses header + descriptors from the first len bytes of a stats file. */
int tel_kvmstats_parse(const void *buf, size_t len, struct tel_kvmstats *s);
/* KVM_GET_STATS_FD on a VM or vCPU fd, then reads and parses the layout. */
/* From a KVM VM or vCPU fd (KVM_GET_STATS_FD), or, with is_stats_fd, from a
 * stats fd the caller keeps (dup'd). */
int tel_kvmstats_open(int kvm_fd, bool is_stats_fd, struct tel_kvmstats *s, char *why,
		      size_t wlen);
int tel_kvmstats_find(const struct tel_kvmstats *s, const char *name);
/* Narrows the reads to the span of these stats (others then stay 0). */
void tel_kvmstats_select(struct tel_kvmstats *s, const int *idx, int n);
int tel_kvmstats_read(struct tel_kvmstats *s);  /* one pread of the (selected) data */
/* After select: reads land in buf (bytes long) instead, if the span fits;
 * for a caller that keeps many of them next to its own state (each vCPU's
 * span beside its thread's, not on a page of its own). False: it does not fit. */
bool tel_kvmstats_place(struct tel_kvmstats *s, uint64_t *buf, size_t bytes);
/* The selected stats' values, in the order given to tel_kvmstats_select(). */
void tel_kvmstats_values(const struct tel_kvmstats *s, uint64_t *const *out);
uint64_t tel_kvmstats_value(const struct tel_kvmstats *s, int idx);
void tel_kvmstats_close(struct tel_kvmstats *s);

/* ---- the KVM statistics of many vCPUs in one BPF call (kvmbatch.c, kvmbatch_tel.c) ---- */
#include "telemetry/bpf/kvmbatch.h"

struct tel_kvm_batch {
	bool on;
	int base, nr;             /* slots [base, base + nr): vCPU i in base + i */
	int nr_files;             /* the vCPUs with a stats file, each read */
	unsigned off, len;        /* the span of the data block, in bytes */
	unsigned long long seq;   /* of the last read */
};

/* The batch over vCPUs 0..nr with stats files fd[i] (-1: none), the span of
 * layout's selected statistics (every vCPU's layout is the same kernel's);
 * checks a first read against the files. 0, or -errno and why. */
int tel_kvm_batch_open(struct tel_kvm_batch *b, const int *fd, int nr,
		       const struct tel_kvmstats *layout, char *why, size_t wlen);
/* One BPF call: every vCPU's span into its record. -EIO: one not read. */
int tel_kvm_batch_read(struct tel_kvm_batch *b);
/* vCPU i's span as of the last read (read-only memory the kernel writes). */
const uint64_t *tel_kvm_batch_span(const struct tel_kvm_batch *b, int i);
void tel_kvm_batch_close(struct tel_kvm_batch *b);   /* before the files close */
struct tel;
/* Per sample, before the vCPUs: (re)builds t's batch when a vCPU's file
 * opened, then reads it (t->kb_fresh); a failed read ends it (until
 * another vCPU's file opens). */
void tel_kvm_batch_sample(struct tel *t);
void tel_kvm_batch_end(struct tel *t);               /* in tel_close, first */

/* ---- per-thread CPU time, run delay, last CPU (proc.c) ---- */
/* A vCPU whose CPU share moves this many points between two samples has its
 * run delay re-read at once and on the next samples (TEL_DELAY_BURST in all),
 * besides its turn every delay_every samples (collect.c). */
#define TEL_DELAY_SHARE_JUMP_PCT 10.0
#define TEL_DELAY_BURST 2
struct tel_thread {
	pid_t pid, tid;           /* pid: its process's */
	bool own;                 /* a thread of this process */
	int sched_fd, stat_fd;    /* kept open, re-read with pread at offset 0 */
	int mem_fd;               /* its process's memory, -1 until tel_thread_mem_read */
	bool has_clock;           /* clock: the thread's CPU clock (same process) */
	clockid_t clock;
};
int tel_thread_open(const char *root, pid_t tid, struct tel_thread *th,
		    char *why, size_t wlen);
/* A thread of process pid (0: this process), for the node agent. */
int tel_thread_open_pid(const char *root, pid_t pid, pid_t tid, struct tel_thread *th,
			char *why, size_t wlen);
int tel_thread_read(struct tel_thread *th, uint64_t *cpu_ns, uint64_t *delay_ns);
/* CPU time alone: one clock_gettime on a thread of this process (no file I/O),
 * else schedstat. */
int tel_thread_cpu(struct tel_thread *th, uint64_t *cpu_ns);
/* The CPU the thread last ran on (stat field 39), -1 if unknown. */
int tel_thread_pcpu(struct tel_thread *th);
void tel_thread_close(struct tel_thread *th);
/* len bytes at addr of the thread's process's memory (/proc/PID/task/TID/mem,
 * opened at the first read and kept): 0, or -errno with why set. */
int tel_thread_mem_read(const char *root, struct tel_thread *th, uint64_t addr, void *buf,
			size_t len, char *why, size_t wlen);

/* ---- hardware counter backends (perf.c, perf_pfm.c, papi.c) ---- */
enum tel_hw_role { TEL_HW_CYCLES, TEL_HW_INSTR, TEL_HW_LLC, TEL_HW_DTLB, TEL_HW_WALK,
		   TEL_HW_OTHER };
struct tel_hw;
struct tel_hw_ops {
	const char *name;
	int (*setup)(const char *const *events, int n, const char *root,
		     struct tel_hw **out, char *why, size_t wlen);
	int (*attach)(struct tel_hw *h, int vcpu, pid_t tid, char *why, size_t wlen);
	int (*read)(struct tel_hw *h, int vcpu, struct tel_vcpu_sample *v);
	int (*names)(const struct tel_hw *h, const char **out, int max);
	void (*close)(struct tel_hw *h);
};
extern const struct tel_hw_ops tel_perf_ops, tel_papi_ops;
enum tel_hw_role tel_hw_role_of(const char *event);
void tel_hw_store(struct tel_vcpu_sample *v, enum tel_hw_role r, bool host, uint64_t val);
/* Why an open failed, as text for source status (errno, paranoid level). */
void tel_perf_explain(int err, const char *root, char *why, size_t wlen);

/* The perf backend's events (perf_pfm.c): the named ones encoded by
 * libpfm4, else the generic defaults plus a page-walk event where the PMU
 * has one. 0, -ENODEV (libpfm4 missing or failing), -EINVAL (an event it
 * cannot encode), -E2BIG; why says which. */
#define TEL_PERF_PMU_DIR "/sys/bus/event_source/devices"
struct tel_perf_events {
	int n;
	char names[TEL_SAMPLE_MAX_EVENTS][64];
	struct perf_event_attr attr[TEL_SAMPLE_MAX_EVENTS];
	enum tel_hw_role role[TEL_SAMPLE_MAX_EVENTS];
	bool no_pmu;                           /* no core PMU under the fsroot */
};
int tel_perf_events(const char *const *events, int n, const char *root,
		    struct tel_perf_events *out, char *why, size_t wlen);

/* ---- wall-clock time (wall.c) ---- */
uint64_t tel_wall_ns(void);                 /* CLOCK_REALTIME, ns since the epoch */
uint64_t tel_wall_of(uint64_t mono_ns);     /* a CLOCK_MONOTONIC time on the wall clock */
/* "2026-11-26T14:03:05.123Z" (UTC, ms); buf of TEL_ISO8601_LEN or more. */
#define TEL_ISO8601_LEN 32
int tel_iso8601(uint64_t wall_ns, char *buf, size_t len);

/* trace files (trace.c): public in tel.h (the simulator writes them too) */

/* ---- files served as they are (assets.c) ---- */
struct tel_asset {
	const char *url, *type;
	const unsigned char *data;
	const unsigned int *len;
};
const struct tel_asset *tel_asset_find(const char *url);   /* NULL: none */

/* ---- HTTP server (http.c) ---- */
struct tel_http;
int tel_http_start(struct tel *t, const char *addr, struct tel_http **out);
int tel_http_port(const struct tel_http *h);
void tel_http_stop(struct tel_http *h);
/* The object h serves from now on; NULL: none (its requests wait for one). */
void tel_http_attach(struct tel_http *h, struct tel *t);

/* ---- Prometheus text (prom.c, prom_series.c, prom_vm.c) ---- */
struct tel_prom_in {
	const struct tel_sample *s;   /* NULL before the first sample */
	const char *vm, *run_id, *profile;
	const char *job_id;           /* batch job (AVMM_JOB_ID, SLURM_JOB_ID); NULL: none */
	const struct tel_source_status *src; /* TEL_SRC_COUNT entries */
	const char *const *kinds;    /* decision kinds with their counts */
	const uint64_t *kind_counts;
	const uint64_t *kind_apply_ns;
	int nr_kinds;
	const struct tel_held *held;  /* NULL: no loop */
	const char *const *vcpu_vm;   /* per vCPU: its VM's name; NULL: vm */
	const char *const *vcpu_job;  /* per vCPU: its VM's job id ("" none); NULL: none */
	const int *vcpu_idx;          /* per vCPU: its index in that VM; NULL: i */
	uint64_t samples_total, probes_total, http_cpu_ns, sampler_cpu_ns;
	uint64_t period_ns;
	const struct tel_paging_estimate *paging_est; /* NULL: none published */
};
int tel_prom_render(const struct tel_prom_in *in, FILE *f);
/* prom_series.c: the exposition's pieces, shared by prom*.c: a label value
 * escaped, a family's HELP and TYPE, one series name{vm="VM"[,k="v"]} x. */
void tel_prom_esc(FILE *f, const char *s);
void tel_prom_family(FILE *f, const char *name, const char *type, const char *help);
void tel_prom_one(FILE *f, const char *name, const char *vm, const char *k, const char *v,
		  double x);
/* prom_series.c: a series' labels; " x\n" (NaN, +Inf, -Inf spelled out); one
 * series name{labels} x; the labels of vCPU i's series (its VM, its index). */
struct tel_prom_lbl {
	const char *vm;
	int vcpu;            /* -1: none */
	const char *source;  /* NULL: none */
	const char *k, *v;   /* one extra label, k NULL: none */
};
void tel_prom_value(FILE *f, double v);
void tel_prom_series(FILE *f, const char *name, const struct tel_prom_lbl *l, double v);
struct tel_prom_lbl tel_prom_vlbl(const struct tel_prom_in *in, int i, const char *src,
				  const char *k, const char *v);
/* prom_vm.c: the VM-wide parts of tel_prom_render: KVM's VM stats and the
 * console, energy, held ticks, the agent's avmm_info line per job's VM. */
void tel_prom_vm_part(FILE *f, const struct tel_prom_in *in);
void tel_prom_energy_part(FILE *f, const struct tel_prom_in *in);
void tel_prom_held_part(FILE *f, const struct tel_prom_in *in);
void tel_prom_vm_info_lines(FILE *f, const struct tel_prom_in *in);
/* prom_paging.c: guest RAM by page size, the worker, the model's estimate. */
void tel_prom_paging(FILE *f, const char *vm, const struct tel_sample *s,
		     const struct tel_paging_estimate *e);
/* prom_bankmap.c: guest RAM by node, remote shares, the migration worker. */
void tel_prom_bankmap(FILE *f, const char *vm, const struct tel_sample *s);

/* ---- JSON (json.c) ---- */
#include <jansson.h>
json_t *tel_sample_json(const struct tel_sample *s, const char *const *ev, int nev);
json_t *tel_decision_json(const struct tel_decision *d, uint64_t seq);
json_t *tel_held_json(const struct tel_held *h);
json_t *tel_paging_json(const struct tel_paging_sample *p);            /* null when !valid */
json_t *tel_bankmap_json(const struct tel_bankmap_sample *b);          /* null when !valid */
extern const char tel_bankmap_csv_cols[];   /* ",col,..." (json_bankmap.c) */
void tel_bankmap_csv(FILE *f, const struct tel_bankmap_sample *b);

/* ---- the tel object (tel.c, tel_sample.c, tel_publish.c) ---- */
#define TEL_MAX_DECISIONS 256
#define TEL_MAX_KINDS 8

/* Per vCPU: what every sample reads and writes first, next to each other
 * (a sample's time beyond its system calls is mostly cache misses on this),
 * the KVM statistics' read buffer after it, the layout kept for lookups last. */
struct tel_vcpu_src {
	struct tel_thread th;
	bool th_ok, hw_ok;
	bool kvm_ok, kvm_tried, kvm_read;  /* kvm_read: the span holds values */
	bool kvm_batched;                  /* the span is in t->kb's records */
	bool delay_from_area;              /* the last run delay read was from the steal area */
	pid_t tid;
	int last_pcpu;
	int delay_burst;                   /* samples that still re-read the run delay */
	uint64_t last_cpu_ns, last_delay_ns;
	uint64_t delay_t_ns;               /* when last_delay_ns was read, 0: never */
	/* last_delay_ns = delay_raw_ns (as read) + delay_offset_ns (read_delay) */
	uint64_t delay_raw_ns, delay_offset_ns;
	uint64_t cpu_t_ns;                 /* when last_cpu_ns was read, 0: never */
	double share_pct;                  /* CPU share over the last sample, -1 unknown */
	/* the last probe's reads (probe.c), 0: none since it was attached */
	uint64_t probe_t_ns, probe_cpu_ns, probe_delay_ns;
	/* the run-delay area (common/steal.h; NULL: none) and its value at the
	 * last probe (probe_steal_t_ns 0: none; full samples read the area into
	 * delay_raw_ns and leave the probe's reference alone) */
	const struct util_steal_area *steal;
	uint64_t probe_steal_ns, probe_steal_t_ns;
	uint64_t probe_steal_hva;          /* the guest's area read then, 0: avmm's */
	bool guest_area_unreadable;        /* the VM process's memory refused a read */
	/* where the KVM statistics' reads land (tel_kvmstats_place): here, not
	 * on a page of their own (the span of the 9 statistics: 136 bytes here) */
#define TEL_VCPU_SPAN_WORDS 20
	uint64_t kvm_span[TEL_VCPU_SPAN_WORDS];
	struct tel_kvmstats kvm;
	int kvm_idx[16];
};

struct tel {
	pthread_mutex_t lock;
	struct tel_config cfg;             /* strings below are owned copies */
	char *run_id, *profile, *vm_name, *fsroot;
	char *job_id;                      /* NULL: not started by a batch job */
	char *events_store[TEL_MAX_EVENTS];
	struct tel_target tg;
	int nr_vcpus;
	uint64_t nr_samples;               /* seq of the next sample */
	/* next to what the probe reads (tel_probe: a quiet tick's caches are
	 * cold) */
	uint64_t nr_probes;                /* tel_probe calls */
	bool exports_read;                 /* an exporter read since the last sample
					    * (atomic: tel_probe reports it) */
	struct tel_vcpu_src vs[TEL_MAX_VCPUS];
	struct tel_kvmstats vmstats;
	int vm_idx[8];
	/* the vCPUs' KVM statistics in one call (kb.on); kb_stale: a vCPU's
	 * file opened since it was built; kb_fresh: this sample read it */
	struct tel_kvm_batch kb;
	bool kb_stale, kb_fresh;
	char kb_why[200];                  /* why not kb.on */
	bool vm_ok;
	bool vm_level_na;          /* a target without VM-level KVM stats (the agent) */
	bool vcpu_labels;          /* the target names each vCPU's VM (the agent) */
	char vcpu_vm[TEL_MAX_VCPUS][72];
	const char *vcpu_vm_ptr[TEL_MAX_VCPUS];
	char vcpu_job[TEL_MAX_VCPUS][24];  /* the agent's VMs' batch job ids */
	const char *vcpu_job_ptr[TEL_MAX_VCPUS];
	int vcpu_idx[TEL_MAX_VCPUS];
	const struct tel_hw_ops *hw_ops;
	struct tel_hw *hw;
	enum tel_source hw_src;
	struct tel_source_status src[TEL_SRC_COUNT];
	tel_energy_fn energy_fn;
	void *energy_arg;
	tel_bankmap_fn bankmap_fn;
	void *bankmap_arg;
	/* energy attribution (attr.c): the references of the last split and the
	 * cumulative shares since start */
	uint64_t attr_busy_ns, attr_uj, attr_cpu_ns[TEL_MAX_VCPUS];
	uint64_t attr_vm_uj, attr_vcpu_uj[TEL_MAX_VCPUS];
	int attr_nr;
	bool attr_have;
	tel_paging_fn paging_fn;
	void *paging_arg;
	bool have_paging_est;       /* tel_publish_paging was called */
	struct tel_paging_estimate paging_est;
	/* ring: ring_len slots slot_bytes apart, each a sample of sample_bytes
	 * (up to its nr_vcpus; never more than sizeof(struct tel_sample)) */
	unsigned char *ring;
	size_t slot_bytes, sample_bytes;
	int ring_len;
	/* decisions */
	struct tel_decision dec[TEL_MAX_DECISIONS];
	uint64_t nr_dec;
	char kinds[TEL_MAX_KINDS][16];
	uint64_t kind_counts[TEL_MAX_KINDS];
	uint64_t kind_apply_ns[TEL_MAX_KINDS];  /* the last applied decision's */
	int nr_kinds;
	bool have_held;                    /* a loop publishes why it waits */
	struct tel_held held;
	/* exporters */
	struct tel_trace *traces[TEL_MAX_TRACES];
	int nr_traces;
	struct tel_http *http;
	uint64_t sampler_cpu_ns, http_cpu_ns;
	uint64_t own_cpu_ns;   /* own thread's CPU clock after its last sample, 0: none */
	/* own thread */
	pthread_t thread;
	bool running;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stop;
};

/* The ring slot of sample seq, and a copy of one (nr_vcpus entries). */
static inline struct tel_sample *tel_slot(const struct tel *t, uint64_t seq)
{
	return (struct tel_sample *)(t->ring + (seq % (uint64_t)t->ring_len) * t->slot_bytes);
}

static inline void tel_copy_sample(const struct tel *t, struct tel_sample *dst,
				   const struct tel_sample *src)
{
	memcpy(dst, src, t->sample_bytes);
}

void tel_collect(struct tel *t, struct tel_sample *s);
/* tel_sample on telemetry's own thread (thread.c): its whole CPU time counts. */
int tel_sample_own(struct tel *t);
int tel_open_vm_stats(struct tel *t);
/* Source reason helpers. */
void tel_set_down(struct tel_source_status *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* attr.c: per-VM / per-vCPU energy from the node's, by CPU-time share. */
void tel_attribute_energy(struct tel *t, struct tel_sample *s);

#endif
