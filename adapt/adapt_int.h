/* adapt: internals shared by the files of this module (not public). */
#ifndef AVMM_ADAPT_INT_H
#define AVMM_ADAPT_INT_H

#include "adapt/adapt.h"

void adapt_weights(const struct pol_profile *g, double *a, double *b);
void adapt_smooth(const struct tel_sample *s, struct adapt_state *st);
bool adapt_metric(const struct pol_profile *g, const struct tel_sample *s,
		  struct adapt_state *st, struct adapt_out *out, double *lscore,
		  double *lperf, double *lpower);
void adapt_hist_push(struct adapt_state *st, double lscore, double lperf, double lpower);
void adapt_hist_mean(const struct adapt_state *st, int n, double *score, double *perf,
		     double *power, double *noise_pct);
/* adapt_propose_coremap with the plan cache in st->cm_cache. */
int adapt_propose_coremap_cached(const struct pol_profile *g, const struct adapt_env *env,
				 struct adapt_state *st, const struct tel_sample *s,
				 struct adapt_proposal *out);
bool adapt_change_same(const struct adapt_change *a, const struct adapt_change *b);

#endif
