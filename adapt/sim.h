/*
 * adapt: the policy simulator (issue #16).
 *
 * Purpose: run the REAL control loop -- the adapt driver, adapt_step(), the
 * coremap planner on the model's hwloc topology, the paging-mode cost model
 * (pgmode_estimate through adapt_propose_paging), the bankmap proposal and
 * the energy controller, and the decision log -- against a machine model
 * instead of a machine. The simulator produces struct tel_sample values as
 * telemetry does (cumulative per-vCPU counters, then tel_derive), and its
 * actuators (pinning, page migration, page-size change, power cap) change
 * the model after a modelled time. `avmm experiment --simulate MODEL FILE`
 * runs an experiment file this way (sim_exp.c).
 *
 * Files: sim_ini.c (the small INI reader, file:line errors), sim_model.c
 * (machine model), sim_work.c (workload), sim_engine.c (set-up, advancing
 * virtual time), sim_active.c (what runs where), sim_chunk.c (the physics
 * of one chunk), sim_migrate.c (memory placement and migration),
 * sim_sample.c (samples), sim_act.c (actuators, the initial placement),
 * sim_loop.c (driver, timeline), sim_exp.c (experiment files).
 *
 * The model (equations; all per chunk of virtual time dt over which nothing
 * changes: the engine cuts a loop tick at every phase, noise, arrival and
 * actuator event):
 *   run queue   every runnable entity (vCPU, host hog, background VM vCPU)
 *               sits on one PU: pinned ones on their PU, floating ones on the
 *               least-loaded PU (ties: the one it was on, then the lowest),
 *               which is what CFS's balancing converges to. n_p entities on
 *               PU p share it equally: on-CPU time dt/n_p, run delay
 *               dt (1 - 1/n_p). An SMT core whose PUs are both busy gives
 *               each smt_throughput/2 of a core.
 *   progress    a vCPU's time per instruction
 *                 tau = 1/(ips f) + mpki_eff/1000 * lat_eff/mlp + paging
 *               with ips the workload's core-bound instruction rate, f the
 *               power-cap frequency factor (1 uncapped), and its on-CPU time
 *               c (scaled by guest_speed, the share of native speed guest
 *               code runs at: 1 on VT-x, about 1e-3 where KVM emulates)
 *               giving instructions = c * guest_speed / tau.
 *   L3          mpki_eff = mpki * clamp(W_d / L3, 1, 4)^0.5 where W_d is the
 *               working set of every vCPU running in L3 domain d (the
 *               square-root rule of cache miss rates, Hartstein et al. 2006).
 *   memory      lat_eff = sum_n frac_n * lat * (n remote ? remote_factor : 1)
 *                         * q(u_n),  q(u) = 1 + u^2/(1 - u), u clamped to 0.95
 *               u_n = traffic to node n (64 B per miss) / bandwidth of n;
 *               three damped fixed-point iterations (traffic depends on
 *               progress). frac_n: the share of the vCPU's own pages on
 *               node n (each vCPU owns 1/nr_vcpus of guest RAM, private;
 *               placed at start by the profile's bankmap policy, first
 *               touch by default, then moved by migration).
 *   paging      shadow: each page-table update is a paging exit costing
 *               shadow_exit_ns; TLB misses walk the shadow table natively
 *               (native_walk_cycles). nested: no such exits; each TLB miss
 *               costs nested_walk_cycles_4k or _2m by backing. TLB misses:
 *               tlb_mpki * (1 - b2m (1 - tlb_2m_factor)), b2m the share of
 *               guest RAM backed by 2 MiB pages.
 *               paging = pt_updates_per_s/ips * shadow_exit_ns (shadow)
 *                      + tlb_mpki_eff/1000 * walk_cycles / (ghz f)
 *   power       P = sum_packages (pkg_idle_w, or pkg_sleep_w when none of
 *               its cores is busy, + core_busy_w * f^2 * busy cores)
 *               + dram_rank_w * active ranks (ceil of the VM's bytes
 *               on a node / rank_gib, at least one per node with traffic);
 *               a cap below P lowers f until P <= cap (f >= 0.3).
 *   actuators   pinning takes pin_us, then the moved vCPU refills its working
 *               set from memory (wss / bandwidth, no progress); migration
 *               moves pages at min(quota, 1/migrate_ns_per_page) toward the
 *               target; page-size change at 2 MiB per collapse_ms_per_2m
 *               (bounded by the profile's promote quota); the power cap is
 *               immediate; the host paging mode changes live only when the
 *               model says live_mode_switch.
 *   noise       seed: a deterministic per-chunk jitter of every vCPU's ips
 *               (jitter_pct of the model), so runs differ by seed only.
 *
 * Units: _ns, _s, _gbs (GB/s), _mib, _w, _pct; virtual time in ns from a
 * base of 1 s. Threading: one simulator per thread; nothing global.
 * Errors: 0 or a negative errno; parsers write "file:line: what, fix" to err.
 */
#ifndef AVMM_ADAPT_SIM_H
#define AVMM_ADAPT_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapt/adapt.h"

#define SIM_NAME 64
#define SIM_PATH 512
#define SIM_MAX_PHASES 16
#define SIM_MAX_NOISE 16
#define SIM_MAX_BGVMS 8
#define SIM_MAX_ENTS (ADAPT_MAX_VCPUS + SIM_MAX_NOISE * 8 + SIM_MAX_BGVMS * 16)

struct adapt_sim_model {
	char path[SIM_PATH], name[SIM_NAME];
	char topology[SIM_PATH];       /* hwloc synthetic string or XML path */
	double ghz, l3_mib, smt_throughput, guest_speed, jitter_pct;
	bool pmu, rapl;
	double node_gib, bw_gbs, lat_ns, remote_factor;
	double pkg_idle_w, pkg_sleep_w, core_busy_w, dram_rank_w, rank_gib; /* sleep < 0: = idle */
	double shadow_exit_ns, native_walk_cycles, nested_walk_cycles_4k,
		nested_walk_cycles_2m, tlb_2m_factor;
	int paging_mode;               /* enum adapt_paging_mode the host runs */
	bool live_mode_switch, nested_available;
	double pin_us, migrate_ns_per_page, collapse_ms_per_2m;
	double base_exits_per_s;       /* exits of a running vCPU besides paging */
};

struct adapt_sim_phase {
	uint64_t vcpus;                /* bit i: vCPU i (vCPUs 0..63) */
	double dur_s, ips, llc_mpki, wss_mib, mlp, pt_updates_per_s, tlb_mpki;
};

struct adapt_sim_noise {
	int kind;                      /* 0 cpu hog, 1 memory streamer */
	int threads, nr_cpus, cpus[8]; /* nr_cpus 0: floating */
	double start_s, stop_s;        /* stop 0: never */
};

struct adapt_sim_bgvm {
	int vcpus;
	double arrive_s, depart_s, ips, llc_mpki, wss_mib, mlp;
};

struct adapt_sim_workload {
	char path[SIM_PATH];
	bool cycle;                    /* phases repeat */
	int paging_mode;               /* initial mode, ADAPT_PG_UNKNOWN: the model's */
	int backing;                   /* enum pgmode_page at start, 0: the profile's, else 4k */
	int nr_phases;
	struct adapt_sim_phase ph[SIM_MAX_PHASES];
	int nr_noise;
	struct adapt_sim_noise noise[SIM_MAX_NOISE];
	int nr_bgvms;
	struct adapt_sim_bgvm bg[SIM_MAX_BGVMS];
};

/* sim_model.c / sim_work.c: parse a file (0, -errno; err "file:line: ..."). */
void adapt_sim_model_default(struct adapt_sim_model *m);
int adapt_sim_model_load(const char *path, struct adapt_sim_model *m, char *err, size_t err_len);
int adapt_sim_model_parse(const char *text, const char *origin, struct adapt_sim_model *m,
			  char *err, size_t err_len);
int adapt_sim_workload_load(const char *path, struct adapt_sim_workload *w, char *err, size_t err_len);
int adapt_sim_workload_parse(const char *text, const char *origin, struct adapt_sim_workload *w,
			     char *err, size_t err_len);
/* The default workload for an experiment's guest: compute.elf is core-bound,
 * stream.elf memory-bound, both on vCPU 0 only (the in-tree guests run on
 * their boot vCPU; the others wait for a start-up IPI and take no CPU, as
 * the real runs show: 2 vCPUs of stream.elf get 50% of a CPU each on
 * average); anything else a mix on every vCPU; said in why. */
void adapt_sim_workload_for_guest(const char *guest, struct adapt_sim_workload *w,
				  char *why, size_t why_len);

/* ---- one simulated VM under the real loop ------------------------------- */

struct adapt_sim;

struct adapt_sim_cfg {
	const struct adapt_sim_model *model;
	const struct adapt_sim_workload *work;
	const struct pol_profile *profile;   /* copied */
	int nr_vcpus;
	uint64_t mem_bytes;
	uint64_t seed;
	bool dry_run;
	/* the tick's sample and each decision as the driver publishes it
	 * (either may be NULL; both on the calling thread) */
	void (*on_sample)(void *arg, const struct tel_sample *s);
	void (*on_decision)(void *arg, const struct tel_decision *d);
	void *arg;
};

/* Loads the model's topology, builds the driver with simulated actuators
 * and makes the initial placement (fixed coremap, bankmap policy). */
int adapt_sim_create(const struct adapt_sim_cfg *cfg, struct adapt_sim **out, char *err, size_t err_len);
void adapt_sim_destroy(struct adapt_sim *s);
/* Runs the loop until virtual time t_ns (from the start): samples at the
 * loop's period, adapt_driver_tick, actuators. */
int adapt_sim_run_until(struct adapt_sim *s, uint64_t t_ns);
uint64_t adapt_sim_now_ns(const struct adapt_sim *s);   /* virtual, from the start */
uint64_t adapt_sim_base_ns(void);                       /* sample t_ns of the start */
/* Host load as in an experiment phase (cpus NULL/0: floating). */
int adapt_sim_load_start(struct adapt_sim *s, int kind, int threads, const int *cpus, int nr_cpus);
void adapt_sim_load_stop(struct adapt_sim *s);
int adapt_sim_set_profile(struct adapt_sim *s, const struct pol_profile *p);
struct adapt_driver *adapt_sim_driver(struct adapt_sim *s);
/* Totals so far: guest instructions, energy (J). */
void adapt_sim_totals(const struct adapt_sim *s, double *instr, double *energy_j);

/* Validation input (sim_summary.c): the per-phase rows of a summary CSV
 * (profile, phase, guest CPU %, the loop's decisions; the "all" rows left
 * out). Returns the rows read or -errno. */
struct adapt_sim_row { char profile[64], phase[32]; double cpu; int decisions; };
int adapt_sim_read_summary(const char *path, struct adapt_sim_row *rows, int max);

/* `avmm experiment --simulate MODEL [--workload FILE] [--seed N] FILE`
 * (sim_exp.c), called by adapt_cli_experiment with its loaded context. */
struct exp_ctx;
int adapt_sim_experiment(struct exp_ctx *c, const char *model, const char *workload, uint64_t seed);

#endif
