/*
 * policies: goal profiles and experiment files.
 *
 * A goal profile is an INI file in the style of tuned profiles:
 *
 *   [main]        summary = text, include = parent (name or path; parent
 *                 values first, this file's values override; cycles and
 *                 chains deeper than POL_MAX_INCLUDE_DEPTH are errors)
 *   [goal]        objective, weights, constraints, period, hysteresis, dwell,
 *                 noise, settle and measure windows
 *   [coremap] [bankmap] [paging-mode] [energy]
 *                 enabled = yes|no and each adaptation's thresholds
 *
 * See the shipped profiles (policies/profiles/) for every key with its unit and range
 * (`avmm policy check FILE` prints the effective profile with the file:line
 * that set each value).
 *
 * Profiles are found by name in the search directories as NAME.ini, or
 * given as a path (anything containing '/' or ending in ".ini"). The
 * search directories are, in order: $AVMM_PROFILE_DIR, then
 * policies/profiles next to the avmm binary (<exe>/../policies/profiles,
 * <exe>/../../policies/profiles, <exe>/../share/avmm/profiles), then
 * /usr/share/avmm/profiles and /etc/avmm/profiles.
 *
 * The machine's default profile is named (one line: a name or a path) in
 * POL_MACHINE_DEFAULT_PATH, overridable by $AVMM_PROFILE_FILE or a path
 * argument; when that file does not exist POL_FALLBACK_PROFILE is used.
 *
 * Units: times are _ns in memory (the files say _ms or _s), power in W,
 * percentages in percent (0..100, slowdown up to 1000).
 * Threading: every function is reentrant; nothing here keeps state.
 * Errors: 0 or a negative errno (-EINVAL for invalid content, -ENOENT for
 * a missing file or profile, -ELOOP for include cycles); a readable
 * message, one "file:line: problem; fix" per line, goes to err.
 * Lines longer than POL_MAX_LINE characters are rejected (libinih would
 * truncate them).
 */
#ifndef AVMM_POL_H
#define AVMM_POL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POL_MAX_LINE 196              /* characters per line, without newline */
#define POL_MAX_INCLUDE_DEPTH 8
#define POL_MAX_CPUS 64
#define POL_NAME_MAX 64
#define POL_PATH_MAX 256
#define POL_MAX_DIRS 8
#define POL_MAX_KEYS 80                /* keys a profile may set */
#define POL_MACHINE_DEFAULT_PATH "/etc/avmm/profile"
#define POL_FALLBACK_PROFILE "balanced"

enum pol_objective {
	POL_OBJ_PERFORMANCE, /* maximise guest progress */
	POL_OBJ_ENERGY,      /* maximise work per joule */
	POL_OBJ_EDP,         /* minimise energy x delay: progress^2 / power */
	POL_OBJ_POWER_CAP,   /* maximise progress with power <= power_cap_w */
	POL_OBJ_WEIGHTED,    /* progress^weight_performance / power^weight_energy */
	POL_OBJ_COUNT
};

enum pol_adaptation { POL_AD_COREMAP, POL_AD_BANKMAP, POL_AD_PAGING, POL_AD_ENERGY, POL_AD_COUNT };

enum pol_coremap_strategy { POL_CM_ADAPTIVE, POL_CM_PACK, POL_CM_SPREAD, POL_CM_EXPLICIT };
/* bankmap placement (libvirt's numatune words): adaptive = local at start
 * and the loop migrates; local, interleave, pack and explicit place once */
enum pol_bankmap_policy { POL_BM_ADAPTIVE, POL_BM_LOCAL, POL_BM_INTERLEAVE, POL_BM_PACK,
			  POL_BM_EXPLICIT };
/* bankmap written-page sets (KVM's dirty ring, else the slots' bitmap): auto =
 * only on a host with more than one NUMA node with memory (where a remote
 * share can be non-zero), yes = always, no = never */
enum pol_bm_written { POL_BM_WRITTEN_AUTO, POL_BM_WRITTEN_YES, POL_BM_WRITTEN_NO };
/* [health] action on a predicted node failure */
enum pol_health_action { POL_HEALTH_MIGRATE, POL_HEALTH_LOG };
#define POL_MAX_NODES 64

struct pol_profile {
	char name[POL_NAME_MAX];         /* file name without .ini */
	char summary[128];
	char path[POL_PATH_MAX];         /* the file it came from */

	/* [goal] */
	enum pol_objective objective;
	double weight_performance, weight_energy; /* weighted objective */
	double max_slowdown_pct;         /* vs before a change; 0 = no limit */
	double power_cap_w;              /* power-cap objective: the cap */
	uint64_t period_ns;              /* sampling / decision period when steady (the slow bound) */
	uint64_t fast_period_ns;         /* period while something changes (the fast bound); 0 = fixed period_ns */
	uint64_t steady_sample_ns;       /* while steady, a full sample this often, quiet ticks between; 0 = every tick */
	double hysteresis_pct;           /* thresholds widen by this much */
	int confirm_ticks;               /* a proposal must persist this many ticks */
	uint64_t confirm_ns;             /* ... and at least this long (first to last tick that saw it) */
	uint64_t min_dwell_ns;           /* minimum time between changes of one kind */
	double noise_pct;                /* goal-metric changes below this are noise */
	uint64_t settle_ns;              /* ignore this long after a change */
	int measure_ticks;               /* ticks averaged before/after a change */
	uint64_t revert_cooldown_ns;     /* a reverted proposal is not retried for this long */

	bool enabled[POL_AD_COUNT];

	struct {
		enum pol_coremap_strategy strategy;
		double memory_intensive_llc_per_kinstr;
		double noisy_run_delay_pct;
		int nr_reserved, reserved[POL_MAX_CPUS];       /* host CPUs to avoid */
		int nr_explicit, explicit_map[POL_MAX_CPUS];   /* vCPU i -> CPU */
	} coremap;
	struct {
		enum pol_bankmap_policy policy;
		int nr_nodes, nodes[POL_MAX_NODES]; /* explicit / interleave (none: all) */
		bool strict;                   /* MPOL_BIND; no: MPOL_PREFERRED(_MANY) */
		bool numa_balancing;           /* keep AutoNUMA on the bound memory */
		int sample_pages_per_tick;     /* move_pages queries per tick */
		double migrate_quota_mib_per_s;/* the migration worker's rate, 0 = none */
		double migrate_ns_per_page;    /* predicted migration cost per 4 KiB page */
		double migrate_min_remote_pct; /* migrate when this share is remote */
		enum pol_bm_written written_sets; /* per-vCPU written pages (dirty tracking) */
	} bankmap;
	struct {
		double tlb_misses_per_kinstr_high; /* above: favour shadow paging */
		double paging_exits_per_s_high;    /* above: favour nested paging */
		bool allow_live_switch;
		/* the cost model (pgmode_params) and the live actuator */
		double exit_cost_ns;            /* one paging exit until calibrated */
		double nested_walk_factor;      /* 2-D walk / native walk, 4 KiB backing */
		double nested_walk_factor_2m;   /* the same, 2 MiB backing */
		double walk_share_2m_factor;    /* walk cycles left with 2 MiB backing */
		double min_gain_pct;            /* smallest predicted gain worth a change */
		double mem_available_low_pct;   /* below: back guest RAM with 4 KiB */
		double promote_quota_mib_per_s; /* promotion/demotion rate, 0 = none */
		int backing;                    /* enum pgmode_page at start: 0 keep (hint or
						 * --mem-backing), 4k, 2m */
	} paging;
	struct {
		double cap_step_w, cap_min_w, cap_max_w;
		/* where RAPL is absent: P = estimate_idle_w + estimate_w_per_busy_core
		 * x busy host CPUs, always exported as estimated */
		bool estimate;
		double estimate_idle_w, estimate_w_per_busy_core;
	} energy;

	/* [migration]: `avmm ctl migrate` (vmm_migrate_opts) */
	struct {
		uint64_t downtime_ns;   /* stop and copy once what is left fits this */
		int max_rounds;         /* or after this many pre-copy rounds */
		uint64_t answer_timeout_ns;   /* the wait for each of the peer's answers */
	} migration;

	/* [health]: the node agent's health watch (adapt_health_step): a rise
	 * above a *_max within window_ns predicts a failure */
	struct {
		bool enabled;
		uint64_t period_ns, window_ns, retry_ns;
		double ce_max, ue_max, throttle_max, mce_max;
		enum pol_health_action action;
	} health;

	/* Where each key's value came from (for `policy check`): origin[k].file
	 * indexes origin_files, -1 = built-in default. */
	struct { int16_t file, line; } origin[POL_MAX_KEYS];
	char origin_files[POL_MAX_INCLUDE_DEPTH + 1][POL_PATH_MAX];
};

/* Names: "performance", "energy", "edp", "power-cap", "weighted"; NULL if bad. */
const char *pol_objective_name(enum pol_objective o);
const char *pol_adaptation_name(enum pol_adaptation a); /* "coremap", ... */

/*
 * Search directories in the order given above (the binary's folder from
 * /proc/self/exe). Strings are stored in storage, one row each. Returns how
 * many were filled (<= POL_MAX_DIRS).
 */
int pol_default_dirs(const char **dirs, char storage[POL_MAX_DIRS][POL_PATH_MAX]);

/* Load, merge includes, validate. dirs may be NULL (nr_dirs 0): names then
 * only resolve as paths. */
int pol_load(const char *name_or_path, const char *const *dirs, int nr_dirs,
	     struct pol_profile *out, char *err, size_t err_len);

/* Same from a buffer (origin names it in messages); includes resolve
 * through dirs. Used by tests and the fuzzer. */
int pol_parse_buffer(const char *text, size_t len, const char *origin,
		     const char *const *dirs, int nr_dirs, struct pol_profile *out,
		     char *err, size_t err_len);

/*
 * The profile a run uses: override (from --profile) if not NULL, else the
 * name in default_path (NULL: $AVMM_PROFILE_FILE or POL_MACHINE_DEFAULT_PATH),
 * else POL_FALLBACK_PROFILE when that file does not exist.
 */
int pol_load_machine(const char *override, const char *default_path,
		     const char *const *dirs, int nr_dirs, struct pol_profile *out,
		     char *err, size_t err_len);

/*
 * The machine file's migration targets (/etc/avmm/machine.ini, or
 * $AVMM_MACHINE_FILE; other sections are other modules'):
 *   [migration]
 *   target = tcp:HOST:PORT | unix:PATH     where the agent moves its VMs
 *   target.NAME = ADDR                     for the VM named NAME
 * Unknown keys, a bad address, a key twice: -EINVAL with file:line in err.
 * Load: path NULL = $AVMM_MACHINE_FILE or POL_MACHINE_FILE; a missing file
 * is 0 with nothing set (why says so).
 */
#define POL_MACHINE_FILE "/etc/avmm/machine.ini"
#define POL_MAX_TARGETS 32
struct pol_targets {
	char path[POL_PATH_MAX];
	char target[256];                  /* "" none */
	int nr;
	struct { char vm[72]; char addr[256]; } per_vm[POL_MAX_TARGETS];
	char why[256];                     /* no file, no [migration] */
};
int pol_targets_parse(const char *text, const char *name, struct pol_targets *out,
		      char *err, size_t err_len);
int pol_targets_load(const char *path, struct pol_targets *out, char *err, size_t err_len);
/* The address for VM vm: its own, else target; NULL: none. */
const char *pol_target_for(const struct pol_targets *t, const char *vm);

/* Print the effective profile as an INI file that loads to the same values. */
int pol_format(const struct pol_profile *p, char *buf, size_t len);

/* ---- experiment files ---------------------------------------------------
 *
 *   [experiment]  name, guest (path: relative to the file's folder when it
 *                 exists there, else to the current folder), cmdline, vcpus,
 *                 memory (64M, 1G), profile (the starting profile), compare
 *                 (comma list of profiles: run once under each and print
 *                 side by side), duration_s, repeat
 *   [output]      trace (JSON-lines path), summary (path or "-"), format
 *                 = table|csv, report (HTML path, "none": no report; unset:
 *                 beside the summary file, else beside the trace, else
 *                 NAME.html in the current folder)
 *   [phase.N]     at_s, profile (switch to), host_load = start|stop|none,
 *                 host_load_threads, host_load_kind = cpu|memory,
 *                 host_load_cpus (list)
 */
#define POL_EXP_MAX_PHASES 16
#define POL_EXP_MAX_COMPARE 8

enum pol_load_action { POL_LOAD_NONE, POL_LOAD_START, POL_LOAD_STOP };
enum pol_load_kind { POL_LOADK_CPU, POL_LOADK_MEMORY };
enum pol_exp_format { POL_FMT_TABLE, POL_FMT_CSV };

struct pol_exp_phase {
	int index;                      /* N of [phase.N] */
	int line;                       /* where the section starts */
	uint64_t at_ns;                 /* from the start of the run */
	char profile[POL_PATH_MAX];     /* "" = keep */
	enum pol_load_action load;
	enum pol_load_kind load_kind;
	int load_threads;
	int nr_load_cpus, load_cpus[POL_MAX_CPUS];
};

struct pol_experiment {
	char path[POL_PATH_MAX];
	char name[POL_NAME_MAX];
	char guest[POL_PATH_MAX];
	char cmdline[POL_MAX_LINE + 1];
	int vcpus;
	uint64_t mem_bytes;
	char profile[POL_PATH_MAX];
	int nr_compare;
	char compare[POL_EXP_MAX_COMPARE][POL_PATH_MAX];
	uint64_t duration_ns;
	int repeat;
	char trace[POL_PATH_MAX];        /* "" = none */
	char summary[POL_PATH_MAX];      /* "-" = stdout */
	char report[POL_PATH_MAX];       /* "" = the default place, "none" = no report */
	enum pol_exp_format format;
	int nr_phases;                   /* sorted by at_ns */
	struct pol_exp_phase phase[POL_EXP_MAX_PHASES];
};

/* Parse and validate. With dirs, every profile named must load too. */
int pol_exp_load(const char *path, const char *const *dirs, int nr_dirs,
		 struct pol_experiment *out, char *err, size_t err_len);
int pol_exp_parse_buffer(const char *text, size_t len, const char *origin,
			 const char *const *dirs, int nr_dirs,
			 struct pol_experiment *out, char *err, size_t err_len);

/* ---- CLI ---------------------------------------------------------------- */
/* `avmm policy check FILE|NAME` and `avmm policy list`. */
int pol_cli_policy(int argc, char **argv);
/* `avmm ctl [--socket PATH] [--name VM] profile NAME|FILE` */
int pol_cli_ctl(int argc, char **argv);

#endif
