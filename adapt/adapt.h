/*
 * adapt: the control loop.
 *
 * adapt_step() is the loop's brain: goal profile + environment + state +
 * one telemetry sample in, decisions out. It is pure and deterministic: no
 * I/O, no clock (time is the sample's t_ns), no globals; replaying the same
 * samples gives the same decisions. Per tick it
 *   1. computes the goal metric: progress (instructions/s when every vCPU
 *      has hardware counters, else the CPU time the vCPUs got, % of one CPU)
 *      and power (W, when the energy source is up), and the score
 *      ln(progress) * a - ln(power) * b with (a, b) = performance (1, 0),
 *      energy (1, 1), edp (2, 1), power-cap (1, 0) + the cap, weighted
 *      (weight_performance, weight_energy);
 *   2. evaluates the change in flight: after settle_ns it averages
 *      measure_ticks scores and compares them with the measure_ticks before
 *      the change; worse beyond noise (max(noise_pct, 2 sigma of the
 *      baseline)) or slower than max_slowdown_pct: a revert decision, and
 *      that change is not proposed again for revert_cooldown_ns;
 *   3. otherwise asks each enabled adaptation for a proposal (coremap:
 *      coremap_plan() on smoothed metrics; paging-mode: a DAV2M-style rule
 *      with a hysteresis band; energy: the power-cap controller; bankmap:
 *      adapt_propose_bankmap, migration toward the vCPUs' node) and applies at most one
 *      change per tick, if: the adaptation's min_dwell_ns has passed since
 *      its last change, the same proposal came confirm_ticks ticks in a row,
 *      and its predicted score gain exceeds hysteresis_pct plus its cost
 *      (pause time over the dwell) without a predicted slowdown beyond
 *      max_slowdown_pct. A power cap above the profile's is a constraint
 *      and skips the gain test.
 *
 * The driver (adapt_driver_*) runs sample -> step -> actuate on its own
 * thread at the profile's period, pauses the vCPUs around actuators that
 * need it, logs every decision with its reason and, later, its measured
 * effect, and publishes each as a struct tel_decision. With dry_run it
 * decides and logs but never calls an actuator. The profile can be swapped
 * while it runs (adapt_driver_set_profile, or the control socket's
 * "profile" command): validated first, taken at the next tick.
 *
 * Units: _ns nanoseconds (CLOCK_MONOTONIC, from the samples), _pct percent,
 * _w watts. Threading: adapt_step is reentrant (state is the caller's); the
 * driver functions may be called from any thread. Errors: 0 or a negative
 * errno, with a message in the log or the decision's effect.
 */
#ifndef AVMM_ADAPT_H
#define AVMM_ADAPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "paging-mode/pgmode.h"
#include "policies/pol.h"
#include "telemetry/sample.h"
#include "telemetry/tel.h"

#define ADAPT_MAX_VCPUS TEL_MAX_VCPUS
#define ADAPT_MAX_DECISIONS 2
#define ADAPT_HIST 16
#define ADAPT_MAX_ACTUATORS 8
#define ADAPT_CM_CACHE_PUS 256   /* larger topologies plan every tick */

/* Same order as enum pol_adaptation. */
enum adapt_kind { ADAPT_COREMAP, ADAPT_BANKMAP, ADAPT_PAGING, ADAPT_ENERGY, ADAPT_KIND_COUNT };

enum adapt_paging_mode { ADAPT_PG_UNKNOWN = -1, ADAPT_PG_SHADOW = 0, ADAPT_PG_NESTED = 1 };

/* What an actuator is asked to do. */
struct adapt_change {
	enum adapt_kind kind;
	union {
		struct { int nr; int pcpu[ADAPT_MAX_VCPUS]; } coremap; /* OS CPU per vCPU, -1 = unpinned */
		struct { int policy; int node; } bankmap;   /* enum pol_bankmap_policy, node -1 = any */
		/* mode: enum adapt_paging_mode (host-wide; live only where
		 * env.paging_live_switch); backing: enum pgmode_page, the page
		 * size backing guest RAM (PGMODE_PAGE_KEEP: unchanged) */
		struct { int mode; int backing; } paging;
		struct { double cap_w; } energy;            /* 0 = remove the cap */
	} u;
};

/* What an adaptation proposes; gains are predictions, in percent. */
struct adapt_proposal {
	bool valid;
	struct adapt_change change;
	double perf_pct;    /* predicted progress change, + = faster */
	double power_pct;   /* predicted power change, - = less power */
	uint64_t cost_ns;   /* predicted time the guest is paused */
	bool constraint;    /* fixes a violated constraint: no gain test */
	char what[128];
	char why[192];
};

struct adapt_decision {
	uint64_t id;             /* 1, 2, ... per state */
	uint64_t t_ns;
	bool revert;             /* undoes decision reverts_id */
	uint64_t reverts_id;
	struct adapt_change change;
	char what[128];
	char why[192];
};

/* The measured effect of an earlier decision. */
struct adapt_effect {
	uint64_t id;
	double score_pct, perf_pct, power_pct; /* after vs before */
	bool reverted;
	char text[96];
};

/* Why a tick did not change anything an adaptation proposes (or, for
 * measuring, could propose): one per tick, the first adaptation held in the
 * order energy, coremap, paging-mode, bankmap. */
enum adapt_hold {
	ADAPT_HOLD_NONE,
	ADAPT_HOLD_CONFIRM,        /* not yet confirm_ticks ticks and confirm_ms */
	ADAPT_HOLD_BASELINE,       /* fewer than measure_ticks goal-metric scores */
	ADAPT_HOLD_MEASURING,      /* the last change is settling or being measured */
	ADAPT_HOLD_DWELL,          /* min_dwell_ms since the adaptation's last change */
	ADAPT_HOLD_HYSTERESIS,     /* predicted gain below hysteresis_pct + its cost */
	ADAPT_HOLD_SLOWDOWN,       /* predicted slowdown beyond max_slowdown_pct */
	ADAPT_HOLD_COOLDOWN,       /* this change was reverted within revert_cooldown_ms */
	ADAPT_HOLD_NO_BETTER_CORE, /* a vCPU waits noisy_run_delay_pct or more, no CPU is better */
	ADAPT_HOLD_DRY_RUN,        /* decided, not carried out (env.dry_run) */
	ADAPT_HOLD_COUNT
};
/* "confirm", "baseline", "measuring", "dwell", "hysteresis", "slowdown",
 * "cooldown", "no-better-core", "dry-run"; "" for NONE. */
const char *adapt_hold_name(enum adapt_hold h);

/* The adaptive period: a tick whose sample differs from the smoothed past by
 * at least these (run delay or CPU share of a vCPU, points of %; the busy %
 * of a host CPU a vCPU runs on, points; a vCPU's exit rate, factor and at
 * least ADAPT_JUMP_EXITS_PER_S) is a change: the next period is
 * fast_period_ms. */
#define ADAPT_JUMP_PCT 10.0
#define ADAPT_JUMP_BUSY_PCT 20.0
#define ADAPT_JUMP_EXITS_FACTOR 2.0
#define ADAPT_JUMP_EXITS_PER_S 1000.0

/* Quiet ticks (quiet.c, pure). While the machine is steady (the period is
 * back at period_ms; the last tick held nothing back; nothing waits for
 * confirmation or is measured), a tick need not take a full sample: it
 * looks at each vCPU alone (tel_probe: its run delay from its steal-time
 * area, else its CPU time) and takes the full sample, the decision and the
 * exports when steady_sample_ms has passed since the last one, at once
 * when a vCPU's run delay or CPU share moved ADAPT_JUMP_PCT points from
 * that sample, after a read of the exports, or on a request
 * (adapt_driver_want_full). */
enum adapt_full_why {
	ADAPT_FULL_NONE,       /* a quiet tick */
	ADAPT_FULL_OFF,        /* steady_sample_ms is 0 (or at most period_ms) */
	ADAPT_FULL_UNSTEADY,   /* sampling fast, a hold, a confirmation or a measurement */
	ADAPT_FULL_DUE,        /* steady_sample_ms since the last full sample */
	ADAPT_FULL_JUMP,       /* a vCPU's CPU share or run delay moved */
	ADAPT_FULL_STALE,      /* the probe could not tell (new vCPU thread, read failed) */
	ADAPT_FULL_READ,       /* an exporter read since the last full sample: fresh
				* figures for the next read (a scrape, the dashboard) */
	ADAPT_FULL_ASKED,      /* a request for the loop (adapt_driver_want_full, e.g.
				* `avmm ctl backing`) */
	ADAPT_FULL_COUNT
};
/* "quiet", "off", "unsteady", "due", "jump", "stale", "read", "asked". */
const char *adapt_full_why_name(enum adapt_full_why w);
struct adapt_state;
/* After a full tick (held: it held a proposal back; last: its sample):
 * whether the ticks that follow may be quiet (NONE), else OFF, UNSTEADY
 * or STALE; and when the next full sample is due (DUE from then on). */
enum adapt_full_why adapt_steady_why(const struct pol_profile *g, const struct adapt_state *st,
				     bool held, const struct tel_sample *last);
uint64_t adapt_full_due_ns(const struct pol_profile *g, const struct tel_sample *last);
/* After probing: JUMP (the first vCPU that moved in *vcpu), STALE, READ
 * or NONE. */
enum adapt_full_why adapt_probe_jumped(const struct tel_sample *last, const struct tel_probe *p,
				       int *vcpu);

struct adapt_out {
	int nr;
	struct adapt_decision d[ADAPT_MAX_DECISIONS];
	int nr_effects;
	struct adapt_effect effect[ADAPT_MAX_DECISIONS];
	double score, perf, power_w; /* this tick's goal metric (NAN unknown) */
	char note[192];              /* why nothing was done, when nothing was */
	/* what held a proposal back this tick (ADAPT_HOLD_NONE: nothing), which
	 * adaptation, and how long it will still hold (0: not bounded in time) */
	enum adapt_hold hold;
	enum adapt_kind hold_kind;
	uint64_t hold_left_ns;
	/* when to take the next sample: fast_period_ms while something changes
	 * (changed: this sample jumped; a proposal waits for confirmation or a
	 * baseline; a change is measured), else the last period doubled, up to
	 * period_ms */
	uint64_t next_period_ns;
	bool changed;
	/* the paging-mode cost model's estimate this tick (have_paging false
	 * when paging-mode is disabled in the profile) */
	bool have_paging;
	struct tel_paging_estimate paging;
};

struct adapt_state;
struct adapt_env;
struct coremap_topo;
struct bankmap_topo;

/* A proposal source; pure. Return 0 (out->valid says whether there is one)
 * or a negative errno (noted, no proposal). */
typedef int (*adapt_propose_fn)(const struct pol_profile *goal, const struct adapt_env *env,
				const struct adapt_state *st, const struct tel_sample *s,
				void *arg, struct adapt_proposal *out);

/* What adapt_step knows of the machine besides the sample. */
struct adapt_env {
	const struct coremap_topo *topo;     /* NULL: coremap makes no proposals */
	const double *pu_busy_pct;           /* host busy % per OS CPU, may be NULL */
	int nr_pu_busy;
	int paging_mode;                     /* enum adapt_paging_mode, now */
	bool paging_live_switch;             /* the backend can switch while running */
	/* paging-mode's live lever (the page size backing guest RAM, through
	 * MADV_COLLAPSE) and why not; whether the next run could be nested; the
	 * calibrated cost of one paging exit (0: not calibrated, the profile's
	 * default is used and said so) */
	bool paging_collapse;
	char paging_collapse_why[160];
	bool paging_nested_available;
	double paging_exit_cost_ns;
	bool dry_run;                        /* decisions are not carried out: hold dry-run */
	/* bankmap: the memory topology (nodes, distances, node of each CPU);
	 * NULL: bankmap proposes nothing and coremap's moves carry no
	 * migration cost */
	const struct bankmap_topo *bm_topo;
	/* Replace a built-in proposal source (NULL: built-in). */
	adapt_propose_fn propose[ADAPT_KIND_COUNT];
	void *propose_arg[ADAPT_KIND_COUNT];
};

/* What coremap_plan() read last time and what it gave: strategy, topology
 * and its online CPUs, reserved/explicit CPUs, and for adaptive each vCPU's
 * class and CPU, its rounded run delay when delayed (the why shows it), and
 * the host-load inputs when pu_busy_pct is given. Part of adapt_state. */
struct adapt_cm_cache {
	bool valid;
	const struct coremap_topo *topo;
	int strategy, nr, nr_pus;
	bool prefer_energy, have_busy;
	uint64_t online[ADAPT_CM_CACHE_PUS / 64];
	int nr_reserved, reserved[POL_MAX_CPUS];
	int nr_explicit, explicit_map[ADAPT_MAX_VCPUS];
	uint8_t cls[ADAPT_MAX_VCPUS];        /* memory-intensive, no LLC data, delayed */
	int cur[ADAPT_MAX_VCPUS];
	double delay_rounded[ADAPT_MAX_VCPUS];
	double cpu_pct[ADAPT_MAX_VCPUS];     /* with pu_busy_pct only */
	double busy_pct[ADAPT_CM_CACHE_PUS]; /* per PU, with pu_busy_pct only */
	/* the result */
	int rc;
	int plan[ADAPT_MAX_VCPUS];
	char why[160];
};

/* Everything adapt_step carries between ticks (plain data, copyable). */
/* The paging model's last estimate and its inputs: a steady tick whose
 * inputs moved less than noise reuses it (propose_paging.c), so a tick does
 * not format the model's texts again; at most ADAPT_PG_REUSE_NS old. */
#define ADAPT_PG_REUSE_NS 600000000000ull   /* 20 full samples of a steady loop */
struct adapt_pg_cache {
	bool have;
	uint64_t t_ns;           /* the sample it was computed on */
	uint64_t tick_ns;        /* the sample it is valid for (this tick's t_ns) */
	struct pgmode_params p;
	struct pgmode_signals in;
	struct pgmode_estimate e;
	uint64_t computed, reused;
};

struct adapt_state {
	uint64_t next_id;
	struct adapt_pg_cache pg;
	bool have_prev;
	uint64_t prev_t_ns;
	uint64_t prev_instr[ADAPT_MAX_VCPUS];
	/* smoothed per-vCPU inputs (EWMA, alpha 1/2) */
	bool have_smooth;
	double llc[ADAPT_MAX_VCPUS], run_delay[ADAPT_MAX_VCPUS], cpu[ADAPT_MAX_VCPUS];
	double tlb, paging_exits;
	/* page-walk cycles / guest cycles over the last tick, all vCPUs
	 * (walk_state: 0 unknown, 1 valid, 2 cycles counted but no walk event,
	 * 3 no cycles counted), from these counters of the previous sample */
	bool have_hw_prev;
	int walk_state;
	double walk_share;
	uint64_t prev_cycles[ADAPT_MAX_VCPUS], prev_walk[ADAPT_MAX_VCPUS], prev_dtlb[ADAPT_MAX_VCPUS];
	/* goal-metric history (log score), newest last */
	int hist_n;
	double hist_score[ADAPT_HIST], hist_perf[ADAPT_HIST], hist_power[ADAPT_HIST];
	/* the configuration the loop has set */
	bool have_cur[ADAPT_KIND_COUNT];
	struct adapt_change cur[ADAPT_KIND_COUNT];
	bool changed[ADAPT_KIND_COUNT];
	uint64_t last_change_ns[ADAPT_KIND_COUNT];
	/* proposals waiting for confirmation; since: the start of the interval of
	 * the first sample that made it (its t_ns - dt_ns) */
	int streak[ADAPT_KIND_COUNT];
	uint64_t streak_since_ns[ADAPT_KIND_COUNT];
	struct adapt_change streak_change[ADAPT_KIND_COUNT];
	/* the change being measured */
	bool pending;
	bool pending_constraint;   /* made to meet a constraint: not reverted */
	struct adapt_decision pending_d;
	bool pending_had_prev;
	struct adapt_change pending_prev;
	double base_score, base_perf, base_power, base_noise_pct;
	int after_n;
	double after_score, after_perf, after_power;
	/* reverted changes not to retry yet */
	bool banned[ADAPT_KIND_COUNT];
	struct adapt_change banned_change[ADAPT_KIND_COUNT];
	uint64_t banned_until_ns[ADAPT_KIND_COUNT];
	/* The built-in coremap proposal's last coremap_plan() result, reused
	 * while every input it depends on is the same (same decisions as
	 * planning anew; see struct adapt_cm_cache). */
	struct adapt_cm_cache cm_cache;
	uint64_t cm_plans, cm_cache_hits;   /* coremap_plan calls / reuses */
	/* the adaptive period: the one last given, and the references the
	 * change detector compares each sample with (smoothed, alpha 1/2) */
	uint64_t period_ns;
	/* a quiet tick's probe saw a vCPU move (set by the driver): the next
	 * step counts as a change though its sample, over the long quiet
	 * interval, may have smoothed the move away */
	bool probe_moved;
	bool have_ref;
	double ref_exits[ADAPT_MAX_VCPUS];
	int nr_ref_busy;
	double ref_busy[ADAPT_CM_CACHE_PUS];
};

void adapt_state_init(struct adapt_state *st);
void adapt_env_init(struct adapt_env *env);

/* One tick. Returns 0 or -EINVAL (bad arguments). */
int adapt_step(const struct pol_profile *goal, const struct adapt_env *env,
	       struct adapt_state *st, const struct tel_sample *s, struct adapt_out *out);

/* The adaptive period (period.c, called by adapt_step): whether s jumped
 * from the references in st (and updates them), and the next period. */
bool adapt_detect_change(const struct adapt_env *env, struct adapt_state *st,
			 const struct tel_sample *s);
uint64_t adapt_next_period(const struct pol_profile *g, struct adapt_state *st, bool fast);
/* A vCPU's exit rate jumped from ref (ADAPT_JUMP_EXITS_FACTOR and at least
 * ADAPT_JUMP_EXITS_PER_S apart). */
bool adapt_exits_jumped(double now, double ref);

/* When the loop reads the host's per-CPU load (loadgate.c). /proc/stat
 * costs a steady tick more than everything else together (about 25-40 us
 * here, the kernel formats every IRQ's count), so a steady tick keeps the
 * last reading unless a cheap per-vCPU signal moved: the gate says whether
 * this sample needs a fresh one. Pure: values in, a reason out. */
enum adapt_load_due {
	ADAPT_LOAD_KEEP,      /* nothing moved: keep the last reading */
	ADAPT_LOAD_FIRST,     /* no reading yet, or the vCPUs changed */
	ADAPT_LOAD_FAST,      /* the loop samples fast (something changes) */
	ADAPT_LOAD_AGE,       /* ADAPT_LOAD_MAX_TICKS samples since the last */
	ADAPT_LOAD_JUMP,      /* a vCPU's run delay, CPU share or exit rate jumped */
	ADAPT_LOAD_DELAYED,   /* a vCPU waits half noisy_run_delay_pct or more */
	ADAPT_LOAD_DUE_COUNT
};
/* A reading is at most this many samples old (the counters are cumulative:
 * the next reading averages over the whole gap, and the energy split over
 * it is exact; while steady with quiet ticks, samples come every
 * steady_sample_ms). */
#define ADAPT_LOAD_MAX_TICKS 10
struct adapt_load_gate {
	uint64_t read_ns;                 /* the sample of the last reading, 0: none */
	int kept;                         /* samples that kept it since */
	int nr;                           /* vCPUs in the references */
	double delay_pct[ADAPT_MAX_VCPUS], cpu_pct[ADAPT_MAX_VCPUS], exits[ADAPT_MAX_VCPUS];
	uint64_t count[ADAPT_LOAD_DUE_COUNT]; /* samples by the gate's answer */
};
/* period_ns: the loop's period now (0: not known yet, as fast);
 * steady_ns: the profile's period_ms; noisy_pct: noisy_run_delay_pct (0: none). */
enum adapt_load_due adapt_load_due(const struct adapt_load_gate *g, const struct tel_sample *s,
				   uint64_t period_ns, uint64_t steady_ns, double noisy_pct);
/* Counts the answer; after a reading (due != KEEP) s becomes the reference. */
void adapt_load_gate_note(struct adapt_load_gate *g, const struct tel_sample *s,
			  enum adapt_load_due due);
const char *adapt_load_due_name(enum adapt_load_due d);

/* Tell the state a decision was not carried out (dry run, actuator
 * failure): it forgets the change but keeps the dwell, so the same
 * decision is not repeated before min_dwell_ns. */
void adapt_state_not_applied(struct adapt_state *st, const struct adapt_decision *d);

/* Forget the change in flight and the confirmations (profile switch). */
void adapt_state_reset_goal(struct adapt_state *st);

/* Built-in proposal sources (also usable from hooks). */
int adapt_propose_coremap(const struct pol_profile *goal, const struct adapt_env *env,
			  const struct adapt_state *st, const struct tel_sample *s,
			  void *arg, struct adapt_proposal *out);
int adapt_propose_paging(const struct pol_profile *goal, const struct adapt_env *env,
			 const struct adapt_state *st, const struct tel_sample *s,
			 void *arg, struct adapt_proposal *out);
int adapt_propose_energy(const struct pol_profile *goal, const struct adapt_env *env,
			 const struct adapt_state *st, const struct tel_sample *s,
			 void *arg, struct adapt_proposal *out);
/* bankmap (propose_bankmap.c): under policy adaptive or local, migrate guest
 * RAM to the node of the vCPUs when the coremap's current placement put them
 * on another node than the memory, or when a vCPU's remote share
 * (s->bankmap) is at least migrate_min_remote_pct. Predicted perf gain =
 * remote share x (1 - local/remote distance): the time a memory-bound vCPU
 * saves when those accesses become local (an upper bound); cost_ns = the
 * worker's predicted CPU time (bankmap_migrate_predict with
 * migrate_ns_per_page); the guest is not paused. */
int adapt_propose_bankmap(const struct pol_profile *goal, const struct adapt_env *env,
			  const struct adapt_state *st, const struct tel_sample *s,
			  void *arg, struct adapt_proposal *out);

const char *adapt_kind_name(enum adapt_kind k); /* "coremap", "bankmap", "paging-mode", "energy" */

/* Exported form for telemetry; effect may be NULL. */
void adapt_decision_to_tel(const struct adapt_decision *d, const struct adapt_effect *effect,
			   bool dry_run, struct tel_decision *out);

/* ---- node health (health.c) --------------------------------------------
 *
 * Pure: the profile's [health] limits, the previous state and one health
 * sample in; whether the node is predicted to fail, and why, out. Each
 * count's rise over the last window_ns (wrap and reset handled: EDAC counts
 * are 32-bit) is compared with its limit; "rise > max" predicts a failure.
 * The first sample of a source (or after it comes back, or after the set of
 * memory controllers changes) is only a baseline: counts from before the
 * agent started predict nothing. A source that is down is listed in
 * unavailable with its reason, never read as 0.
 */
#define ADAPT_HEALTH_HIST 66   /* totals kept: one per window/64 */
struct adapt_health_totals {
	uint64_t t_ns;
	uint64_t ce[TEL_HEALTH_MAX_MC], ue[TEL_HEALTH_MAX_MC], throttle, mce;
};
struct adapt_health_state {
	bool have[TEL_HEALTH_SRC_COUNT];      /* a baseline for the source */
	struct tel_health_sample prev;
	struct adapt_health_totals now;       /* running totals since the baseline */
	struct adapt_health_totals hist[ADAPT_HEALTH_HIST];
	int nr_hist, head;                    /* ring: head is the oldest */
};
struct adapt_health_verdict {
	bool failing;
	char reason[256];       /* the first limit passed, e.g. "EDAC mc0 corrected errors
				 * rose 12 in 60 s > threshold 10 per 60 s" */
	char unavailable[512];  /* "edac: why; mce: why" */
	int nr_up;              /* sources read */
	/* rises over the window (the largest controller's for EDAC), for /metrics */
	uint64_t ce_rise, ue_rise, throttle_rise, mce_rise;
	uint64_t span_ns;       /* what the rises cover (less than the window at first) */
};
void adapt_health_init(struct adapt_health_state *st);
int adapt_health_step(const struct pol_profile *p, struct adapt_health_state *st,
		      const struct tel_health_sample *s, struct adapt_health_verdict *out);
/* Pure: a count's increase from prev to cur. range: its wrap (0: 64-bit).
 * cur < prev is a wrap when prev is in the top quarter of the range and cur
 * in the bottom quarter, else a reset (the increase is then cur). */
uint64_t adapt_health_delta(uint64_t prev, uint64_t cur, uint64_t range);

/* ---- driver ------------------------------------------------------------ */

struct adapt_actuator {
	const char *name;
	enum adapt_kind kind;
	bool needs_pause;     /* the driver pauses every vCPU around apply */
	/* 0 or -errno; msg says what was done or why it failed. */
	int (*apply)(void *ctx, const struct adapt_change *c, char *msg, size_t msg_len);
	void *ctx;
};

struct adapt_driver_cfg {
	const struct pol_profile *profile;                 /* copied */
	/* 0 or -errno; *out: the sample, valid until the next call */
	int (*sample)(void *arg, const struct tel_sample **out);
	void *sample_arg;
	/* Called for each decision when made and again when its effect is
	 * known (same t_ns and what, effect filled). May be NULL. */
	void (*publish)(void *arg, const struct tel_decision *d);
	void *publish_arg;
	/* vCPU pause/resume (vcpu -1 = all), e.g. adapt_vmm_pause with a
	 * struct vmm *; NULL: actuators run without pausing. */
	int (*pause)(void *arg, int vcpu);
	int (*resume)(void *arg, int vcpu);
	/* The operator paused the whole VM (e.g. adapt_vmm_paused): true while
	 * paused; *transitions counts pauses and resumes. A tick taken while
	 * paused, or whose interval saw a pause or resume, still samples (the
	 * exporters and `avmm stat` go on, and the next tick's rates start
	 * fresh) but makes no decision and no measurement: counted in
	 * stats.paused_ticks, never as a hold. NULL: never paused. */
	bool (*paused)(void *arg, uint64_t *transitions);
	void *vm_arg;
	struct adapt_env env;                              /* copied */
	bool dry_run;
	/* Called once on the loop thread before its first tick, one period
	 * after start (so a short guest never waits for it): slow set-up such
	 * as loading the host topology into env. May be NULL. */
	void (*warmup)(void *arg, struct adapt_env *env);
	void *warmup_arg;
	/* After each tick: why the loop waits (held ticks by adaptation and
	 * reason, the tick's hold) and the period it now samples at. May be NULL. */
	void (*held)(void *arg, const struct tel_held *h);
	void *held_arg;
	/* After each tick with an estimate (adapt_out.have_paging). May be NULL. */
	void (*paging)(void *arg, const struct tel_paging_estimate *e);
	void *paging_arg;
	/* A quiet tick's look at the vCPUs (e.g. tel_probe) at now_ns, the time
	 * the tick was due. NULL: every tick takes a full sample. */
	int (*probe)(void *arg, uint64_t now_ns, struct tel_probe *out);
	void *probe_arg;
	const char *const *profile_dirs;                   /* for the ctl command */
	int nr_profile_dirs;
};

struct adapt_driver_stats {
	uint64_t ticks, sample_errors, decisions, applied, failed, reverts, not_applied;
	uint64_t held[ADAPT_KIND_COUNT][ADAPT_HOLD_COUNT];  /* ticks held back, by reason */
	uint64_t period_ns;                                 /* the period it samples at now */
	uint64_t step_ns_max, step_ns_total, pause_ns_max;
	uint64_t paused_ticks;   /* ticks skipped: the VM was (or became) paused */
	bool warm;               /* cfg.warmup has run */
	uint64_t pg_computed, pg_reused; /* paging estimates made anew / reused (steady) */
	uint64_t quiet_ticks;                  /* ticks that only probed (not in ticks) */
	uint64_t full_why[ADAPT_FULL_COUNT];   /* full ticks by why they were full */
};

#define ADAPT_LOG_SIZE 256

struct adapt_driver;

int adapt_driver_create(const struct adapt_driver_cfg *cfg, struct adapt_driver **out);
/* Before adapt_driver_start; -ENOSPC past ADAPT_MAX_ACTUATORS, -EEXIST for a kind twice. */
int adapt_driver_register(struct adapt_driver *d, const struct adapt_actuator *a);
int adapt_driver_start(struct adapt_driver *d);   /* the loop thread */
void adapt_driver_stop(struct adapt_driver *d);   /* joins it; idempotent */
void adapt_driver_destroy(struct adapt_driver *d);
/* One iteration on the calling thread (tests; the thread calls it too). */
int adapt_driver_tick(struct adapt_driver *d);
/* From any thread: the next tick is a full one, quiet or not (a request
 * the loop must see, e.g. a page size asked for through the control
 * socket). */
void adapt_driver_want_full(struct adapt_driver *d);
/* Taken at the next tick; the profile must already be valid. */
int adapt_driver_set_profile(struct adapt_driver *d, const struct pol_profile *p);
void adapt_driver_get_profile(struct adapt_driver *d, struct pol_profile *out);
/* Why it waits, as published to the held hook (nr 0 before the first tick). */
void adapt_driver_held(struct adapt_driver *d, struct tel_held *out);
/* Copies the newest decisions (oldest first); returns how many. */
int adapt_driver_log(struct adapt_driver *d, struct tel_decision *out, int max);
void adapt_driver_stats(struct adapt_driver *d, struct adapt_driver_stats *out);

struct vmm_ctl;
struct vmm_ctl_peer;
/* Registers "profile": {"cmd":"profile","name":"NAME|PATH"} -> loads and
 * validates it with the driver's profile_dirs, then swaps it in; answers
 * {"ok":true,"profile":NAME,"objective":...} or {"error":"..."}. A NAME
 * comes from the profile folders; a PATH is taken only from root (peer uid
 * 0; peer NULL: trusted caller), only as an absolute path to a regular file,
 * and the content of a file that does not load is never echoed. */
int adapt_driver_ctl_register(struct adapt_driver *d, struct vmm_ctl *ctl);
/* The "profile" handler itself (vmm_ctl_fn), for tests. */
char *adapt_ctl_profile(const char *request_json, const struct vmm_ctl_peer *peer,
			void *driver, int *err);

/* vmm_pause / vmm_resume with a struct vmm * as arg. */
int adapt_vmm_pause(void *vm, int vcpu);
int adapt_vmm_resume(void *vm, int vcpu);
bool adapt_vmm_paused(void *vm, uint64_t *transitions);

/* ---- CLI ---------------------------------------------------------------- */
/* `avmm experiment [--check] [--dry-run] FILE` */
int adapt_cli_experiment(int argc, char **argv);

#endif
