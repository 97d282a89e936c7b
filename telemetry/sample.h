/* Included by telemetry/tel.h: the per-tick sample every module reads. */
#ifndef AVMM_TEL_SAMPLE_H
#define AVMM_TEL_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TEL_MAX_VCPUS 64
#define TEL_SAMPLE_MAX_EVENTS 8   /* added by telemetry */

enum tel_source {
	TEL_SRC_KVM_STATS,  /* KVM binary stats fd */
	TEL_SRC_THREAD,     /* per-thread CPU time and run delay (schedstat) */
	TEL_SRC_PERF,       /* perf_event_open hardware counters (libpfm4) */
	TEL_SRC_PAPI,       /* PAPI backend */
	TEL_SRC_ENERGY,     /* RAPL or the labelled estimate */
	TEL_SRC_COUNT
};

struct tel_source_status {
	bool up;
	char why[160];      /* reason when !up, e.g. "no hardware PMU (ENOENT)" */
};

/* Cumulative values unless the name says per second / ratio / pct. What
 * every sample writes comes first (the first 184 bytes: tid ... hw_host_valid),
 * the hardware counters after it, so a sample without counters touches
 * three or four cache lines per vCPU record (400 bytes), not all seven. */
struct tel_vcpu_sample {
	pid_t tid;
	int pcpu;                    /* CPU the thread last ran on, -1 unknown */
	uint64_t cpu_time_ns;
	uint64_t run_delay_ns;       /* runnable but waiting for a CPU */
	/* KVM per-vCPU statistics */
	uint64_t exits, io_exits, mmio_exits, halt_exits;
	uint64_t pf_taken, pf_fixed, pf_emulate, tlb_flush, invlpg;
	/* added by telemetry: when run_delay_ns was read (CLOCK_MONOTONIC ns; it
	 * is re-read every tel_config.delay_every samples, carried in between;
	 * 0: read at t_ns) */
	uint64_t run_delay_t_ns;
	/* added by telemetry: when cpu_time_ns was read (CLOCK_MONOTONIC ns;
	 * 0: at t_ns). cpu_pct is over the time between two reads, so a read
	 * late in one sample does not show a vCPU above 100% of a core. */
	uint64_t cpu_t_ns;
	/* derived over the last tick */
	double ipc, exits_per_s, paging_exits_per_s, tlb_misses_per_kinstr;
	double llc_misses_per_kinstr, cpu_pct, run_delay_pct;
	/* added for energy attribution: this vCPU's share of the node's energy
	 * since start (CPU-time share, see energy_attribute); valid when
	 * tel_energy_sample.attributed */
	uint64_t energy_uj;
	/* hardware counters (valid only when hw_valid) */
	bool hw_valid;
	/* added by telemetry: the fields cycles ... walk_cycles count guest
	 * mode only (exclude_host); host_cycles ... host_walk_cycles count host
	 * mode only (exclude_guest), valid only when hw_host_valid */
	bool hw_host_valid;
	uint64_t cycles, instructions, llc_misses, dtlb_misses, walk_cycles;
	double multiplex_ratio;      /* time_running / time_enabled, 1 = none */
	uint64_t host_cycles, host_instructions, host_llc_misses, host_dtlb_misses,
		host_walk_cycles;
	/* every configured counter event by index (tel_event_name()), scaled
	 * for multiplexing: guest-only and host-only */
	uint64_t ev_guest[TEL_SAMPLE_MAX_EVENTS], ev_host[TEL_SAMPLE_MAX_EVENTS];
};
/* The part of struct tel_vcpu_sample every sample writes (the rest: the
 * hardware counters). */
#define TEL_VCPU_HOT_BYTES offsetof(struct tel_vcpu_sample, cycles)

struct tel_vm_sample {
	uint64_t mmu_pte_write, mmu_shadow_zapped, remote_tlb_flush;
	uint64_t pages_4k, pages_2m, pages_1g;
	/* the guest's serial console (from the monitor; all 0 without one) */
	bool console_valid;
	uint64_t console_written_bytes, console_dropped_bytes, console_lost_bytes;
};

struct tel_energy_sample {
	bool up, estimated;          /* estimated: from the model, not RAPL */
	uint64_t energy_uj;          /* cumulative since start */
	double power_w;              /* over the last tick */
	double power_cap_w;          /* 0 = none */
	/* per-VM / per-vCPU attribution (CPU-time share of the host's busy time) */
	bool attributed;
	uint64_t vm_energy_uj;       /* the VM's share since start */
	uint64_t host_busy_ns;       /* set by the energy hook: the whole host's busy
				      * CPU time, cumulative; 0: no attribution */
};

/* How guest RAM is backed, and the live page-size actuator's progress
 * (filled by the session's sample hook; valid false: not read this tick). */
struct tel_paging_sample {
	bool valid;
	uint64_t ram_bytes, rss_bytes;          /* guest RAM mapped / resident */
	uint64_t bytes_4k, bytes_2m, bytes_1g;  /* resident, by backing page size */
	int target;                             /* enum pgmode_page being worked toward, 0 none */
	bool busy;                              /* the worker is promoting or demoting */
	uint64_t ranges_total, ranges_done;     /* 2 MiB ranges of the request */
	uint64_t collapse_ok, collapse_errors;  /* cumulative */
	double mem_available_pct;               /* host MemAvailable / MemTotal; < 0 unknown */
	char why[160];                          /* when !valid, or the last error */
	/* added by the live actuator: collapse_errors by errno (cumulative), and
	 * when the backing above was read from smaps (CLOCK_MONOTONIC ns; it is
	 * re-read while the worker is busy, else every few seconds, and carried
	 * in between) */
	uint64_t err_einval, err_eagain, err_enomem, err_other;
	uint64_t backing_t_ns;
	double quota_mib_per_s;                 /* the worker's quota, 0 none */
};

/* Where guest RAM lives (bankmap; filled by the session's bankmap hook,
 * valid false: not sampled this tick, why says). node_bytes: the sampler's
 * per-node histogram of guest pages scaled to all of guest RAM (exact once
 * complete: every page queried at least once). Per vCPU: the share of its
 * written pages (all resident guest pages when there is no written-page
 * set) on another node than the one its CPU is on. */
#define TEL_MAX_NODES 16
enum tel_bm_why {
	TEL_BM_OK,            /* remote_pct valid */
	TEL_BM_NO_CPU,        /* the vCPU's CPU is not known yet */
	TEL_BM_NO_NODE,       /* its CPU is on no known node */
	TEL_BM_NO_PAGES,      /* no page of its set has been sampled yet */
	TEL_BM_WHY_COUNT
};
/* What a vCPU's remote share is taken over. */
enum tel_bm_basis {
	TEL_BM_BASIS_ALL,     /* all resident guest pages: no per-vCPU written set */
	TEL_BM_BASIS_WRITTEN, /* the pages it wrote in the window (dirty ring) */
	TEL_BM_BASIS_COUNT
};
struct tel_bankmap_vcpu {
	bool valid;
	uint8_t why;                 /* enum tel_bm_why */
	uint8_t basis;               /* enum tel_bm_basis */
	int16_t node;                /* node of its CPU, -1 unknown */
	double remote_pct;           /* 0..100, valid only when valid */
	uint64_t written_pages;      /* its written set (RING): pages in the window */
};
/* Written-page tracking (vmm_dirty_*), as the session runs it. */
enum tel_dirty_mode { TEL_DIRTY_OFF, TEL_DIRTY_RING, TEL_DIRTY_BITMAP };
struct tel_bankmap_dirty {
	uint8_t mode;                /* enum tel_dirty_mode */
	bool per_vcpu;               /* RING: one set per vCPU */
	uint32_t ring_entries;       /* RING: per vCPU */
	uint64_t window_ns;          /* the sets hold pages written in this long (so far) */
	uint64_t vm_written_pages;   /* BITMAP: the VM's set in the window */
	uint64_t harvest_ns;         /* this tick's harvest of every set */
	uint64_t harvests, entries;  /* cumulative (vmm_dirty_info) */
	uint64_t ring_full_exits, ring_overflows, lost_entries;
	char why[160];               /* how the mode was chosen, what is missing */
};
struct tel_bankmap_sample {
	bool valid;
	uint64_t ram_bytes;
	int nr_nodes;
	int node[TEL_MAX_NODES];                 /* node ids, ascending */
	uint64_t node_bytes[TEL_MAX_NODES];      /* guest RAM there (scaled) */
	uint64_t nr_pages, present_pages, absent_pages, unknown_pages, error_pages;
	uint64_t pages_queried;                  /* cumulative */
	bool complete;
	uint64_t query_ns;                       /* this tick's query (move_pages) */
	bool written_sets;                       /* remote share from written pages */
	struct tel_bankmap_dirty dirty;
	int nr_vcpus;
	struct tel_bankmap_vcpu vcpu[TEL_MAX_VCPUS];
	/* the migration worker (mig_valid false: no worker) */
	bool mig_valid, mig_busy;
	int mig_target;
	uint64_t mig_requests, mig_pages_total, mig_pages_done, mig_pages_failed;
	uint64_t mig_failed[5];                  /* by class: enomem, ebusy, enodev, absent, other */
	uint64_t mig_bytes_moved, mig_errors;    /* cumulative (errors: failed requests) */
	char why[160];
};
/* "ok", "no-cpu", "no-node", "no-pages" */
const char *tel_bm_why_name(int why);
/* "all", "written" */
const char *tel_bm_basis_name(int basis);
/* "off", "ring", "bitmap" */
const char *tel_dirty_mode_name(int mode);
/* "enomem", "ebusy", "enodev", "absent", "other" */
extern const char *const tel_bm_fail_names[5];

/* The paging-mode cost model's estimate after one tick (filled by the loop,
 * exported by telemetry). Parts: shadow (time in paging exits), walk (time
 * in TLB-miss walks), now (the total), alt_2m / alt_4k (the current mode
 * with that backing), alt_mode (the other host mode, next run). */
enum { TEL_PG_SHADOW, TEL_PG_WALK, TEL_PG_NOW, TEL_PG_ALT_2M, TEL_PG_ALT_4K, TEL_PG_ALT_MODE,
       TEL_PG_PARTS };
struct tel_paging_estimate {
	uint64_t t_ns;
	struct { bool valid; double pct; char why[160]; } part[TEL_PG_PARTS];
	char want[8];          /* "keep", "4k", "2m" */
	char want_mode[8];     /* "shadow", "nested", "unknown": for the next run */
	char reason[192];
	char recommend[192];
};

struct tel_sample {
	uint64_t seq;
	uint64_t t_ns;               /* CLOCK_MONOTONIC */
	uint64_t wall_ns;            /* CLOCK_REALTIME at t_ns (ns since the epoch, UTC) */
	uint64_t dt_ns;              /* since the previous sample, 0 for the first */
	int nr_vcpus;
	struct tel_vm_sample vm;
	struct tel_energy_sample energy;
	struct tel_paging_sample paging;
	struct tel_bankmap_sample bankmap;
	struct tel_source_status src[TEL_SRC_COUNT];
	/* added by telemetry: its own cost */
	uint64_t tel_cpu_ns;         /* telemetry's CPU time, cumulative: the samples
				      * (on its own thread also its waits and
				      * wake-ups) and the HTTP server */
	uint64_t tel_sample_ns;      /* wall time this sample took to collect */
	/* last, so that telemetry's ring keeps only the nr_vcpus in use
	 * (entries past nr_vcpus are unspecified in a copy) */
	struct tel_vcpu_sample vcpu[TEL_MAX_VCPUS];
};

/* A quiet tick's look at the vCPUs (tel_probe): a vCPU with a KVM
 * steal-time area (common/steal.h) gives its run-delay share alone (cpu_pct
 * NAN), read from memory, since its previous look (NAN at the first); any
 * other, since the later of the previous probe and the last full sample,
 * its thread's CPU share, and its run-delay share where the same read gives
 * it (another process's thread: schedstat has both; NAN otherwise). */
struct tel_probe {
	uint64_t t_ns;
	int nr_vcpus;
	int nr_from_memory;   /* vCPUs read from their steal-time area (avmm's or the guest's) */
	int nr_remote;        /* of them, a guest's own area in another process (a pread) */
	bool exports_read;    /* an exporter (/metrics, /api/samples, avmm stat)
			       * read since the last full sample */
	bool stale;     /* a vCPU's thread is new, gone or not read yet: sample fully */
	double cpu_pct[TEL_MAX_VCPUS], run_delay_pct[TEL_MAX_VCPUS];
};

/* One adaptation decision as exported (decision log, dashboard timeline). */
struct tel_decision {
	uint64_t t_ns;
	uint64_t wall_ns;   /* CLOCK_REALTIME of t_ns; 0: telemetry fills it in */
	char kind[16];      /* "coremap", "bankmap", "paging-mode", "energy", "profile" */
	char what[128];     /* e.g. "vcpu0 cpu1->cpu0" */
	char why[192];      /* the inputs that triggered it */
	char effect[96];    /* measured afterwards, "" until known */
	bool dry_run;
	uint64_t apply_ns;  /* how long the actuator took (vCPU pause included; for
			     * coremap: the remap latency); 0 = not applied */
};

/* Why the control loop waits: ticks in which it held a proposal back, by
 * adaptation and reason (counters, cumulative), and the newest tick's hold.
 * Filled by the loop's driver, exported by telemetry. */
#define TEL_MAX_HELD 24
struct tel_held {
	int nr;
	struct {
		char adaptation[16];   /* "coremap", ... */
		char reason[16];       /* "dwell", "confirm", ... */
		uint64_t ticks;
	} c[TEL_MAX_HELD];
	/* the newest tick: adaptation "" when nothing was held back */
	uint64_t t_ns;
	char adaptation[16], reason[16];
	uint64_t left_ns;              /* how long it still holds; 0: not bounded in time */
	uint64_t period_ns;            /* the loop's period after that tick */
	uint64_t full_every_ns;        /* while steady, a full sample this often and
					* quiet ticks between (0: every tick is full) */
	char note[192];                /* the loop's own words for it */
};

#endif
