/* Replays the sample sequences under tests/data through adapt_step. */
#ifndef AVMM_TEST_REPLAY_H
#define AVMM_TEST_REPLAY_H

#include "adapt/adapt.h"

struct replay_row {
	double t_s;
	char variant[16];
	int vcpu, pcpu;
	double cpu, delay, llc, tlb, pexits, power;
};

struct replay {
	struct replay_row *rows;
	int n;
	uint64_t instr[TEL_MAX_VCPUS];
	uint64_t prev_t_ns;
	uint64_t seq;
};

/* Maps a decision to the variant now in force ("" keeps the current one). */
typedef void (*replay_variant_fn)(const struct adapt_decision *d, char *variant, size_t len);

struct replay_result {
	int nr_decisions, nr_reverts, nr_effects, nr_kept;
	uint64_t t_ns[64];
	struct adapt_decision d[64];
	char final_variant[16];
	char last_note[192];
	uint64_t cm_plans, cm_cache_hits; /* from the state at the end */
	/* why it waited: held ticks by adaptation and reason, and per tick
	 * (the first REPLAY_TICKS) the hold, its time left and the next period */
	int ticks;
	int held[ADAPT_KIND_COUNT][ADAPT_HOLD_COUNT];
#define REPLAY_TICKS 256
	enum adapt_hold hold[REPLAY_TICKS];
	uint64_t hold_t_ns[REPLAY_TICKS], hold_left_ns[REPLAY_TICKS], period_ns[REPLAY_TICKS];
};

int replay_load(const char *name, struct replay *r); /* name under tests/data */
void replay_free(struct replay *r);
int replay_run(struct replay *r, const struct pol_profile *g, const struct adapt_env *env,
	       const char *variant0, replay_variant_fn fn, struct replay_result *res);
/* A profile: shipped NAME with extra INI lines applied over it. */
int replay_profile(const char *name, const char *extra, struct pol_profile *out);

#endif
