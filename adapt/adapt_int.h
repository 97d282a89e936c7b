/* adapt: internals shared by the files of this module (not public). */
#ifndef AVMM_ADAPT_INT_H
#define AVMM_ADAPT_INT_H

#include "adapt/adapt.h"
#include "coremap/coremap.h"

void adapt_weights(const struct pol_profile *g, double *a, double *b);
void adapt_smooth(const struct tel_sample *s, struct adapt_state *st);
bool adapt_metric(const struct pol_profile *g, const struct tel_sample *s,
		  struct adapt_state *st, struct adapt_out *out, double *lscore,
		  double *lperf, double *lpower);
void adapt_hist_push(struct adapt_state *st, double lscore, double lperf, double lpower);
void adapt_hist_mean(const struct adapt_state *st, int n, double *score, double *perf,
		     double *power, double *noise_pct);
/* What coremap_plan gets from the profile, the environment and the state
 * (propose_coremap.c), and the proposal made from its plan. */
struct adapt_cm_inputs {
	struct coremap_vcpu_metrics m[ADAPT_MAX_VCPUS];
	struct coremap_goal cg;
	enum coremap_strategy strategy;
	int cur[ADAPT_MAX_VCPUS];
	int n;
	/* bankmap: where most guest RAM is (-1: unknown, or memory does not
	 * follow the vCPUs) and its pages: a move off that node pays the
	 * migration of the vCPU's share */
	int mem_node;
	uint64_t mem_pages;
};
void adapt_cm_inputs(const struct pol_profile *g, const struct adapt_env *env,
		     const struct adapt_state *st, const struct tel_sample *s,
		     struct adapt_cm_inputs *in);
/* a, b and c into out; a text longer than len is cut after its last whole
 * clause ("; ") that fits, with " ...", never inside a clause (a number cut
 * off would read as another value: "(host load ;"). */
void adapt_why_join(char *out, size_t len, const char *a, const char *b, const char *c);
int adapt_cm_propose(const struct pol_profile *g, const struct adapt_env *env,
		     const struct adapt_state *st, const struct adapt_cm_inputs *in,
		     const char *why, struct adapt_proposal *out);
/* adapt_propose_coremap with the plan cache in st->cm_cache (propose_cmcache.c). */
int adapt_propose_coremap_cached(const struct pol_profile *g, const struct adapt_env *env,
				 struct adapt_state *st, const struct tel_sample *s,
				 struct adapt_proposal *out);
/* The goal favours energy (energy, edp, weighted with weight_energy >=
 * weight_performance): coremap packs vCPUs, paging-mode packs memory. */
bool adapt_prefers_energy(const struct pol_profile *g);
/* paging-mode (propose_paging.c): the page-walk share over the tick (call
 * each tick after adapt_smooth), the cost model's estimate this tick, and
 * its exported form. */
struct pgmode_estimate;
void adapt_paging_smooth(const struct tel_sample *s, struct adapt_state *st);
void adapt_paging_estimate(const struct pol_profile *g, const struct adapt_env *env,
			   const struct adapt_state *st, const struct tel_sample *s,
			   struct pgmode_estimate *e);
/* The model's parameters and this tick's signals (propose_paging.c). */
void adapt_paging_inputs(const struct pol_profile *g, const struct adapt_env *env,
			 const struct adapt_state *st, const struct tel_sample *s,
			 struct pgmode_params *p, struct pgmode_signals *in);
/* The estimate for this tick into st->pg (paging_cache.c): computed anew (true) or the last
 * one reused, its inputs having moved less than noise (false). */
bool adapt_paging_estimate_tick(const struct pol_profile *g, const struct adapt_env *env,
				struct adapt_state *st, const struct tel_sample *s);
void adapt_paging_to_tel(const struct pgmode_estimate *e, uint64_t t_ns,
			 struct tel_paging_estimate *out);
bool adapt_change_same(const struct adapt_change *a, const struct adapt_change *b);
/* bankmap (propose_bankmap.c): the node of an OS CPU (-1 unknown); where
 * most guest RAM is (-1 unknown) and its pages; the predicted cost of
 * migrating pages (the worker's CPU time, ns); whether the profile lets
 * memory follow the vCPUs (bankmap enabled, policy adaptive or local). */
int adapt_bm_cpu_node(const struct adapt_env *env, int cpu);
int adapt_bm_mem_node(const struct tel_sample *s, uint64_t *pages);
uint64_t adapt_bm_cost_ns(const struct pol_profile *g, uint64_t pages);
bool adapt_bm_follows(const struct pol_profile *g);
/* adapt_step's parts (step.c): the tick's hold (the first one set stays),
 * its note (likewise), and the period while something changes; step 2, the
 * change in flight measured and maybe reverted, true while it occupies the
 * tick (step_eval.c); step 3 for one adaptation, true when it made the
 * tick's decision (step_consider.c). */
void adapt_out_hold(struct adapt_out *out, enum adapt_kind k, enum adapt_hold h, uint64_t left_ns);
void adapt_out_note(struct adapt_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t adapt_fast_ns(const struct pol_profile *g);
bool adapt_step_evaluate(const struct pol_profile *g, struct adapt_state *st,
			 const struct tel_sample *s, bool valid, double ls, double lp, double lw,
			 struct adapt_out *out);
bool adapt_step_consider(const struct pol_profile *g, const struct adapt_env *env,
			 struct adapt_state *st, const struct tel_sample *s, enum adapt_kind k,
			 struct adapt_out *out);

#endif
