/*
 * energy: node energy and power from RAPL (powercap sysfs, perf power PMU or
 * PAPI's powercap component), a power-cap actuator, per-VM / per-vCPU
 * attribution, and a labelled estimate for machines without RAPL.
 *
 * Sources (enum energy_backend):
 *   POWERCAP  /sys/class/powercap/<type>:N[:M]/energy_uj for the control
 *             types intel-rapl and intel-rapl-mmio. Each zone wraps at its own
 *             max_energy_range_uj; a zone whose values never exceed 32 bits
 *             while its range does is detected as truncated and wrapped at
 *             2^32 from then on. energy_uj is root-only since Linux 5.10
 *             (CVE-2020-8694): without root the zone is reported unavailable
 *             with the fix (run as root or chmod o+r by a udev rule).
 *   PERF      /sys/bus/event_source/devices/power/events/energy-*: one
 *             perf_event_open() per event on the first CPU of each package
 *             (the PMU's cpumask); 64-bit counts times .scale (Joules). A PMU
 *             that opens but does not advance (a hypervisor exposing the PMU
 *             without the MSRs) is reported unavailable, never as zero.
 *   PAPI      PAPI's "powercap" component (ENERGY_UJ events); when the
 *             component is missing or disabled its disabled_reason is given.
 *   ESTIMATE  the model  P = idle_w + w_per_busy_core * busy_cores  from the
 *             goal profile; readings say estimated=true and every exported
 *             value is labelled estimated="true". A measured source is never
 *             replaced by the estimate unless opts.fallback_estimate is set.
 *   AUTO      powercap, then perf, then PAPI; the first that is up.
 * opts.cross names a second source (PERF or PAPI) read alongside POWERCAP;
 * when both are up the reading carries the difference in power between them.
 *
 * Total energy is the sum of the package-N zones of intel-rapl (psys when
 * there is no package zone); mmio zones, core, uncore and dram are reported
 * per zone but not added (they are parts or mirrors of a package).
 *
 * The first energy_read() after open is the baseline: energy 0, no power.
 * Read at least every max_interval_ns (half the shortest wrap time at the
 * zone's maximum power, or ENERGY_ASSUMED_MAX_W when the zone gives none).
 *
 * Attribution (energy_attribute): over one interval the package energy delta
 * E is split by CPU-time share. A vCPU thread that ran c ns while the host's
 * CPUs were busy B ns in total (from /proc/stat: user+nice+system+irq+softirq,
 * guest time included in user) gets E * c / max(B, sum of all c). A VM gets
 * the sum over its vCPUs. The rest (host threads, idle power not covered by
 * any busy time) is "unattributed". So idle power is shared among whatever
 * ran; with nothing running, everything is unattributed.
 *
 * Capping: energy_cap_open() saves every constraint's power_limit_uw and
 * time_window_us; energy_cap_set() writes the long_term constraint (or
 * constraint_0) of every package zone, the node limit split evenly across
 * packages and clamped into the constraint's min/max; energy_cap_restore()
 * writes the saved values back in reverse order (call it on every exit path).
 *
 * Units: _uj microjoules, _uw microwatts, _us microseconds, _ns ns, _w watts.
 * Threading: one source/cap object per thread; no globals except PAPI's
 * library state (PAPI_library_init is called once, under a lock).
 * Errors: 0 or a negative errno; out-parameters; a source that is missing is
 * reported as up=false with why ("unavailable: ..."), never as zero.
 * Every sysfs/procfs path is resolved under opts.fsroot (NULL or "/" = real).
 */
#ifndef AVMM_ENERGY_H
#define AVMM_ENERGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "telemetry/sample.h"

#define ENERGY_MAX_ZONES 32
#define ENERGY_WHY_LEN 512
#define ENERGY_ASSUMED_MAX_W 1000.0 /* per zone, when it states no max power */
#define ENERGY_POWERCAP_DIR "/sys/class/powercap"
#define ENERGY_PERF_PMU_DIR "/sys/bus/event_source/devices/power"

enum energy_backend {
	ENERGY_AUTO, ENERGY_POWERCAP, ENERGY_PERF, ENERGY_PAPI, ENERGY_ESTIMATE, ENERGY_NONE
};
const char *energy_backend_name(enum energy_backend b);
int energy_backend_parse(const char *s, enum energy_backend *out);

/* The estimate: P = idle_w + w_per_busy_core * busy_cores. */
struct energy_model {
	double idle_w;
	double w_per_busy_core;
};

/* Injectable I/O, for tests and for hosts that need another way in. */
struct energy_ops {
	int (*read_file)(void *ctx, const char *root, const char *path, char *buf, size_t len);
	int (*write_file)(void *ctx, const char *root, const char *path, const char *text);
	int (*perf_open)(void *ctx, uint32_t type, uint64_t config, int cpu); /* fd or -errno */
	int (*perf_read)(void *ctx, int fd, uint64_t *count);
	void (*perf_close)(void *ctx, int fd);
	void (*sleep_ns)(void *ctx, uint64_t ns);
	void *ctx;
};
extern const struct energy_ops energy_real_ops;

struct energy_opts {
	const char *fsroot;              /* NULL or "/" = the real root */
	enum energy_backend backend;     /* default AUTO (0) */
	enum energy_backend cross;       /* 0/AUTO/NONE = none; PERF or PAPI */
	bool fallback_estimate;          /* use the model when nothing measured is up */
	struct energy_model model;       /* needed for ESTIMATE and the fallback */
	int nr_host_cores;               /* clamps busy_cores; 0 = online CPUs */
	const struct energy_ops *ops;    /* NULL = energy_real_ops */
};

struct energy_zone_reading {
	char id[48];          /* "intel-rapl:0:1", "perf:energy-pkg:cpu0", "model" */
	char name[32];        /* "package-0", "core", "uncore", "dram", "psys" */
	int parent;           /* index of the parent zone, -1 for top level */
	bool counted;         /* part of the total */
	bool up;
	char why[ENERGY_WHY_LEN]; /* when !up */
	uint64_t energy_uj;   /* cumulative since the baseline */
	double power_w;       /* over the last interval; valid when power_valid */
	bool power_valid;
	uint64_t range_uj;    /* wrap range in use (0 = 64-bit, no wrap) */
	bool wrap32;          /* found truncated to 32 bits */
};

struct energy_reading {
	bool up;                      /* total is measured or estimated */
	bool estimated;               /* from the model, not from RAPL */
	enum energy_backend backend;  /* what produced the total */
	char source[96];              /* e.g. "powercap intel-rapl", "model: 40 W + 12 W/busy core" */
	char why[ENERGY_WHY_LEN];     /* "unavailable: ..." when !up; why estimated */
	char note[ENERGY_WHY_LEN];    /* non-fatal: partial total, interval too long */
	uint64_t t_ns, dt_ns;         /* dt 0 on the baseline read */
	uint64_t energy_uj;           /* cumulative since the baseline */
	uint64_t delta_uj;            /* over the last interval */
	double power_w;
	bool power_valid;
	uint64_t max_interval_ns;     /* read at least this often (0 = unbounded) */
	int nr_zones;
	struct energy_zone_reading zone[ENERGY_MAX_ZONES];
	/* cross-check against opts.cross */
	bool cross_up;
	char cross_source[96];
	char cross_why[ENERGY_WHY_LEN];
	double cross_power_w;
	double cross_diff_pct;        /* 100 * (cross - primary) / primary */
	bool cross_valid;
};

struct energy_src;

/* Opens the source. Returns 0 with a source even when it is down (the
 * readings then say why); -EINVAL for bad options, -ENOMEM. */
int energy_open(const struct energy_opts *o, struct energy_src **out);
/* busy_cores: host CPUs busy on average over the interval (for the model);
 * negative = derive it from <fsroot>/proc/stat. */
int energy_read(struct energy_src *s, uint64_t now_ns, double busy_cores,
		struct energy_reading *out);
void energy_close(struct energy_src *s);
/* Lines describing the zones found (for `avmm energy`). */
void energy_describe(const struct energy_src *s, FILE *f);

/* ---- parsing and arithmetic (pure, tested) ---- */
/* One decimal value with optional trailing newline: -EINVAL non-numeric,
 * -ERANGE too big, -ENODATA empty. */
int energy_parse_uj(const char *buf, uint64_t *out);
/* Delta of a zone counter. range_uj: values wrap to 0 after range_uj-1 (0 =
 * 64-bit). *wrap32 in: already known truncated; out: detected. Returns
 * -ERANGE when the counter went back by more than half its range and no
 * 32-bit truncation explains it (reset or a missed read). */
int energy_wrap_delta(uint64_t prev, uint64_t cur, uint64_t range_uj, bool *wrap32,
		      uint64_t *delta_uj);
/* Half the wrap time of a zone at max_power_w (<= 0: ENERGY_ASSUMED_MAX_W). */
uint64_t energy_half_wrap_ns(uint64_t range_uj, double max_power_w);
/* Message for errno err on file path (content: the offending text or NULL),
 * with the fix: EACCES, EPERM, ENOENT, EINVAL, ERANGE, ENODATA, others. */
void energy_explain(int err, const char *path, const char *content, bool writing,
		    char *out, size_t len);
/* "event=0x02" -> 2. */
int energy_parse_perf_event(const char *buf, uint64_t *config);
/* "0,28" or "0-3,8" -> cpus[] (at most max). Returns the count or -errno. */
int energy_parse_cpulist(const char *buf, int *cpus, int max);
/* The aggregate "cpu" line of /proc/stat -> busy and total in USER_HZ ticks. */
int energy_parse_proc_stat(const char *buf, uint64_t *busy_ticks, uint64_t *total_ticks);
/* The same per CPU ("cpuN" lines) into arrays of max entries; returns the
 * number of CPUs (highest N + 1) or -EINVAL. */
int energy_parse_proc_stat_cpus(const char *buf, uint64_t *busy_ticks, uint64_t *total_ticks,
				int max);
/* <fsroot>/proc/stat converted to ns. */
int energy_read_host_cpu_ns(const char *fsroot, uint64_t *busy_ns, uint64_t *total_ns);
/* The model's power for busy_cores clamped into [0, nr_cores]. */
double energy_model_power_w(const struct energy_model *m, double busy_cores, int nr_cores);

/* ---- attribution (pure) ---- */
struct energy_attr_in {
	uint64_t pkg_delta_uj;          /* package energy over the interval */
	uint64_t host_busy_ns;          /* all host CPUs, same interval */
	int nr_vcpus;
	const uint64_t *vcpu_cpu_ns;    /* per-vCPU thread CPU time delta */
	const int *vcpu_vm;             /* VM index of each vCPU, NULL = all VM 0 */
	int nr_vms;
};
struct energy_attr_out {
	uint64_t *vcpu_uj;              /* caller's arrays: nr_vcpus entries */
	uint64_t *vm_uj;                /* nr_vms entries */
	uint64_t unattributed_uj;
	double denominator_ns;          /* max(host_busy, sum of vCPU time) */
};
int energy_attribute(const struct energy_attr_in *in, struct energy_attr_out *out);

/* ---- export ---- */
/* Fills telemetry's per-tick energy sample (power_cap_w: 0 = none). power_w
 * is NAN when there is no power for the tick (baseline read, source down):
 * never a made-up zero. st (may be NULL) gets up and why (the reason when
 * down, "estimated: ..." when estimated, the note otherwise). */
void energy_fill_tel(const struct energy_reading *r, double power_cap_w,
		     struct tel_energy_sample *out, struct tel_source_status *st);
/* Prometheus text lines; every value carries source= and estimated= labels.
 * attr may be NULL; its values are exported as *_joules_total, so pass sums
 * the caller accumulated from energy_attribute() over the run. */
int energy_write_prom(FILE *f, const struct energy_reading *r,
		      const struct energy_attr_out *attr, int nr_vcpus, int nr_vms);

/* ---- power capping ---- */
#define ENERGY_MAX_CONSTRAINTS 64
struct energy_constraint {
	char dir[64];          /* "intel-rapl:0" */
	int n;                 /* constraint_N */
	char name[32];         /* "long_term", "short_term", "peak_power" */
	uint64_t orig_limit_uw, orig_window_us;
	bool has_window;
	uint64_t min_uw, max_uw, min_window_us, max_window_us; /* 0 = not stated */
	bool target;           /* written by energy_cap_set */
	int orig_enabled;      /* the zone's "enabled", -1 unknown (targets only) */
	bool changed;          /* needs restoring */
};
struct util_state;
struct energy_cap {
	char fsroot[256];
	const struct energy_ops *ops;
	struct util_state *state;  /* set after open: originals journaled before a write */
	int nr;
	struct energy_constraint c[ENERGY_MAX_CONSTRAINTS];
	int nr_targets;        /* packages that get a share of the cap */
	double cap_w;          /* last limit set, 0 = none */
};
/* Saves the current limits. -ENODEV with msg when there is no powercap zone. */
int energy_cap_open(struct energy_cap *c, const char *fsroot, const struct energy_ops *ops,
		    char *msg, size_t msglen);
/* Node cap in watts (split evenly across packages), window_us 0 = keep.
 * Returns 0 when applied as asked, 1 when clamped into a constraint's
 * min/max (msg names the file and the range), negative errno on failure
 * (msg names the file, the value and the fix); a failure restores first. */
int energy_cap_set(struct energy_cap *c, double watts, uint64_t window_us,
		   char *msg, size_t msglen);
/* Writes every saved value back. Returns 0 or the first error (all tried). */
int energy_cap_restore(struct energy_cap *c, char *msg, size_t msglen);

/* `avmm energy [--fsroot DIR] [--interval S] [--count N] [--backend B]
 *  [--cross B] [--estimate IDLE_W,W_PER_CORE] [--cap W [--window US]
 *  [--duration S]]`. argv[0] = "energy". Returns the exit status. */
int energy_cli_main(int argc, char **argv);

#endif
