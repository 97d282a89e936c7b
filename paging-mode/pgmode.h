/*
 * paging-mode: the host's paging modes, a cost model for them, and the
 * actuator that changes the page size backing guest RAM while the guest runs.
 *
 * What Linux KVM allows: nested paging (EPT/NPT) is a module parameter of
 * kvm_intel/kvm_amd, fixed while the module is loaded (changed between runs
 * by reloading it with no VM running: pgmode_host_mode_set); kvm_pvm hosts
 * have shadow paging only. What changes live is the page size backing guest
 * RAM: MADV_HUGEPAGE + MADV_COLLAPSE promote a range to 2 MiB pages;
 * MADV_NOHUGEPAGE (+ the kernel's split, as root) demotes it to 4 KiB.
 *
 * Parts:
 *   probe     pgmode_probe(): KVM flavour and its parameters, THP settings,
 *             hugetlb pools, MADV_COLLAPSE on a scratch range, KVM
 *             capabilities; each lever available or not, with the reason.
 *             Every file is read under fsroot (NULL or "/" = the real root).
 *   backing   pgmode_parse_smaps(): how a mapping is backed (4 KiB / 2 MiB /
 *             1 GiB bytes), from /proc/PID/smaps text.
 *   model     pgmode_estimate(): pure. One tick's signals in, the estimated
 *             overhead of the current mode and backing and the predicted
 *             overhead of each alternative out; a missing signal makes its
 *             part unavailable with the reason, never a number.
 *   worker    pgmode_worker_*(): promotes or demotes guest RAM on its own
 *             thread under a MiB/s quota, most-populated 2 MiB ranges first,
 *             verifying each step from smaps; never on a vCPU thread.
 *   hints     pgmode_hint_*(): the model's recommendation for a guest image,
 *             kept between runs under /var/lib/avmm/paging (keyed by the
 *             image's hash).
 *   calibration  the cost of one paging exit on this host, measured by
 *             `avmm paging calibrate`, kept under /var/lib/avmm/paging.
 *
 * Units: _ns nanoseconds, _pct percent, bytes unless named _mib/_kib,
 * _per_s per second. Threading: probe, parse, model and hint functions are
 * reentrant; a worker's functions may be called from any thread.
 * Errors: 0 or a negative errno; a readable reason in `why`.
 */
#ifndef AVMM_PGMODE_H
#define AVMM_PGMODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PGMODE_WHY 192

enum pgmode_kvm { PGMODE_KVM_OTHER, PGMODE_KVM_INTEL, PGMODE_KVM_AMD, PGMODE_KVM_PVM };
/* "other", "intel", "amd", "pvm" */
const char *pgmode_kvm_name(enum pgmode_kvm k);

/* The paging mode a VM runs under (host-wide, fixed while KVM is loaded). */
enum pgmode_mode { PGMODE_MODE_UNKNOWN = -1, PGMODE_MODE_SHADOW = 0, PGMODE_MODE_NESTED = 1 };
const char *pgmode_mode_name(enum pgmode_mode m);   /* "unknown", "shadow", "nested" */

/* The page size backing guest RAM (what the live actuator sets). */
enum pgmode_page { PGMODE_PAGE_KEEP = 0, PGMODE_PAGE_4K, PGMODE_PAGE_2M, PGMODE_PAGE_1G };
const char *pgmode_page_name(enum pgmode_page p);   /* "keep", "4k", "2m", "1g" */
int pgmode_page_parse(const char *s, enum pgmode_page *out); /* "4k"/"2m" (any case) */

struct pgmode_lever {
	bool available;
	char why[PGMODE_WHY];   /* what it is (available) or why not */
};

#define PGMODE_MAX_POOLS 4
struct pgmode_hugetlb_pool {
	uint64_t page_kib;      /* 2048, 1048576 */
	uint64_t total, free;   /* pages */
};

struct pgmode_host {
	enum pgmode_kvm kvm;
	enum pgmode_mode mode;          /* what a VM started now gets */
	/* module parameters: 1 = Y, 0 = N, -1 = absent */
	int ept, npt, tdp_mmu;
	char nx_huge_pages[16];         /* "auto", "force", "off", "N", ... "" = absent */
	/* THP: the word in [brackets] of each file, "" = absent */
	char thp_enabled[16], thp_defrag[24];
	int khugepaged_defrag;          /* -1 absent */
	uint64_t khugepaged_pages_to_scan; /* 0 absent */
	int nr_pools;
	struct pgmode_hugetlb_pool pool[PGMODE_MAX_POOLS];
	/* KVM capabilities that matter here (-1: not checked) */
	int cap_dirty_log_ring, cap_binary_stats, cap_sync_mmu;
	/* the levers */
	struct pgmode_lever nested;      /* nested paging in use now */
	struct pgmode_lever host_switch; /* pgmode_host_mode_set possible */
	struct pgmode_lever thp;         /* THP usable for guest RAM */
	struct pgmode_lever collapse;    /* MADV_COLLAPSE works */
	struct pgmode_lever hugetlb_2m, hugetlb_1g;
	struct pgmode_lever split;       /* demotion by the kernel's split (debugfs, root) */
	struct pgmode_lever kvm_page_stats; /* KVM pages_4k/2m/1g stats are live */
};

enum { PGMODE_PROBE_NO_SYSCALLS = 1 }; /* skip /dev/kvm and the MADV_COLLAPSE try (fake trees) */
int pgmode_probe(const char *fsroot, unsigned flags, struct pgmode_host *out);

/* How a mapping is backed; bytes resident. */
struct pgmode_backing {
	bool valid;
	uint64_t size;                    /* the mapping's size */
	uint64_t rss, bytes_4k, bytes_2m, bytes_1g;
	char why[PGMODE_WHY];             /* when !valid */
};
/* From smaps text: the mapping that contains [start, start + len). */
int pgmode_parse_smaps(const char *smaps, uint64_t start, uint64_t len, struct pgmode_backing *out);
/* Reads <fsroot>/proc/<pid>/smaps (pid 0: self). */
int pgmode_read_backing(const char *fsroot, pid_t pid, uint64_t start, uint64_t len,
			struct pgmode_backing *out);

/* ---- the cost model (pure) ---------------------------------------------- */

/* Parameters, from the profile's [paging-mode] section and the calibration. */
struct pgmode_params {
	double exit_cost_ns;          /* one paging exit; calibrated per host */
	bool exit_cost_calibrated;    /* false: the documented default */
	double nested_walk_factor;    /* nested 2-D walk cost / native walk, 4 KiB backing */
	double nested_walk_factor_2m; /* the same with 2 MiB backing */
	double walk_share_2m_factor;  /* walk cycles left with 2 MiB backing (0..1) */
	double min_gain_pct;          /* below this predicted gain: no change */
	double mem_available_low_pct; /* MemAvailable under this % of MemTotal: 4 KiB */
};
void pgmode_params_default(struct pgmode_params *p);

/* One tick's signals. */
struct pgmode_signals {
	enum pgmode_mode mode;
	double backing_2m_share;      /* of resident guest RAM, 0..1; < 0 unknown */
	int nr_vcpus;
	double cpu_pct;               /* the vCPUs' CPU time, % of one CPU, summed */
	double paging_exits_per_s;    /* pf_taken + invlpg + mmu_pte_write + tlb_flush */
	bool hw_valid;                /* hardware counters present */
	double walk_cycles_share;     /* page-walk cycles / cycles, 0..1 (hw_valid) */
	double tlb_misses_per_kinstr; /* (hw_valid) */
	char hw_why[PGMODE_WHY];      /* why the counters are missing */
	bool nested_available;        /* the host could run the next run nested */
	bool collapse_available;      /* the live lever */
	char collapse_why[PGMODE_WHY];
	double mem_available_pct;     /* host MemAvailable / MemTotal, < 0 unknown */
	bool prefer_energy;           /* the goal packs memory */
};

struct pgmode_part {
	bool valid;
	double pct;                   /* overhead, % of the vCPUs' time */
	char why[PGMODE_WHY];         /* how it was computed, or why it is unavailable */
};

struct pgmode_estimate {
	struct pgmode_part shadow;    /* time in paging exits (shadow paging) */
	struct pgmode_part walk;      /* time in TLB-miss walks */
	struct pgmode_part now;       /* total, current mode and backing */
	struct pgmode_part alt_2m;    /* predicted, current mode with 2 MiB backing */
	struct pgmode_part alt_4k;    /* predicted, current mode with 4 KiB backing */
	struct pgmode_part alt_mode;  /* predicted, the other host mode (next run), 2 MiB */
	enum pgmode_page want;        /* the backing the model asks for now (KEEP: none) */
	enum pgmode_mode want_mode;   /* the mode it recommends for the next run */
	double gain_pct;              /* predicted gain of `want` */
	char reason[PGMODE_WHY];
	char recommend[PGMODE_WHY];   /* e.g. "measured shadow-paging overhead 12%; ..." */
};
void pgmode_estimate(const struct pgmode_params *p, const struct pgmode_signals *in,
		     struct pgmode_estimate *out);

/* ---- calibration and hints (files under <state_dir>, default
 * /var/lib/avmm/paging; AVMM_STATE_DIR overrides /var/lib/avmm) ------------ */
void pgmode_state_dir(char *out, size_t len);
int pgmode_calibration_load(const char *dir, double *exit_cost_ns, char *why, size_t len);
int pgmode_calibration_save(const char *dir, double exit_cost_ns, const char *how);

struct pgmode_hint {
	char image_hash[17];          /* 64-bit FNV-1a of the image, hex */
	enum pgmode_page backing;
	enum pgmode_mode mode;
	char recommend[PGMODE_WHY];
};
int pgmode_image_hash(const char *path, char out[17]);
int pgmode_hint_load(const char *dir, const char *image_hash, struct pgmode_hint *out);
int pgmode_hint_save(const char *dir, const struct pgmode_hint *h);

/* Between runs (root): reload kvm_intel/kvm_amd with ept/npt = nested.
 * Refuses (-EBUSY) while VMs run (names them in why), -EOPNOTSUPP on hosts
 * without the parameter. */
int pgmode_host_mode_set(const char *fsroot, enum pgmode_mode m, char *why, size_t len);

/* ---- the live actuator --------------------------------------------------- */

struct pgmode_worker_stats {
	enum pgmode_page target;      /* the last request */
	bool busy;
	uint64_t ranges_total, ranges_done;   /* 2 MiB ranges of this request */
	uint64_t ranges_skipped;              /* of those: none resident, left (done) */
	uint64_t bytes_done;
	uint64_t collapse_ok, err_einval, err_eagain, err_enomem, err_other;
	uint64_t longest_step_ns;
	char last_error[PGMODE_WHY];
	struct pgmode_backing backing;        /* as last verified from smaps */
};

struct pgmode_worker;
/* Guest RAM [hva, hva + bytes) of this process; quota_mib_per_s 0 = none. */
int pgmode_worker_create(void *hva, uint64_t bytes, double quota_mib_per_s,
			 struct pgmode_worker **out);
/* Asks for a backing; returns at once (the thread does the work). */
int pgmode_worker_request(struct pgmode_worker *w, enum pgmode_page p, char *why, size_t len);
void pgmode_worker_set_quota(struct pgmode_worker *w, double quota_mib_per_s);
void pgmode_worker_stats(struct pgmode_worker *w, struct pgmode_worker_stats *out);
/* Waits until the request in flight is done (timeout_ns 0: forever). */
int pgmode_worker_wait(struct pgmode_worker *w, uint64_t timeout_ns);
void pgmode_worker_destroy(struct pgmode_worker *w);

#endif
