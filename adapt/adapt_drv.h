/* adapt: the driver object (internal to this module). */
#ifndef AVMM_ADAPT_DRV_H
#define AVMM_ADAPT_DRV_H

#include <pthread.h>

#include "adapt/adapt_int.h"

struct adapt_log_entry {
	uint64_t id;            /* decision id, 0 for profile swaps */
	struct tel_decision d;
};

struct adapt_driver {
	/* first, together: what a quiet tick touches (a tick after a second's
	 * sleep finds its caches cold, so each line and page counts) */
	uint32_t stop;          /* the loop sleeps on it (util_sleep_until_stop) */
	bool warm;              /* cfg.warmup has run */
	bool have_next;         /* under the lock; the loop peeks at it without */
	bool want_full;         /* atomic: adapt_driver_want_full, cleared by a full tick */
	/* the loop thread's, for quiet ticks: adapt_steady_why and the due time
	 * as of the last full tick; whether the loop is in a quiet stretch
	 * (full samples that were only due or read do not end it); the last
	 * probe */
	bool quiet;
	enum adapt_full_why steady_why;
	uint64_t full_due_ns;
	uint64_t next_period_ns;    /* the loop thread's: adapt_step's choice */
	struct adapt_driver_stats stats;
	struct adapt_driver_cfg cfg;
	struct tel_probe probe;
	pthread_mutex_t lock;   /* profile, next, actuators, log, stats */
	pthread_t thread;
	bool running;
	struct pol_profile profile, next;
	struct adapt_state state;   /* the loop thread's */
	const struct tel_sample *sample;   /* the loop thread's (cfg.sample's); NULL before the first */
	struct adapt_actuator act[ADAPT_MAX_ACTUATORS];
	int nr_act;
	struct adapt_log_entry log[ADAPT_LOG_SIZE];
	uint64_t log_next;
	char last_note[192];
	struct tel_held held;       /* why it waits (under the lock) */
	enum adapt_hold last_hold;  /* the hold last logged */
	enum adapt_kind last_hold_kind;
	uint64_t pause_transitions; /* the loop thread's: cfg.paused at the last tick */
};

/* Actuate one decision, log and publish it (on the loop thread, or before
 * the loop starts). */
void adapt_drv_carry_out(struct adapt_driver *d, const struct adapt_decision *dec);
/* A quiet tick instead of a full one (quiet.c's rules, cfg.probe) at
 * now_ns, the time the tick was due (the loop reads no clock for it: cold,
 * the read costs a third of a quiet tick): true when it only probed; false:
 * take the full tick now (counted by why). */
bool adapt_drv_quiet_tick(struct adapt_driver *d, uint64_t now_ns);
/* After a full tick's step (held: it held a proposal back): whether quiet
 * ticks may follow and when the next full one is due. Returns the full
 * samples' interval while quiet (0: every tick is full). */
uint64_t adapt_drv_judge_steady(struct adapt_driver *d, bool held);
/* Runs cfg.warmup once (the first tick, or a placement before it). */
void adapt_drv_warmup(struct adapt_driver *d);
/* driver_act.c: the decision log (under the lock): add an entry, find the
 * entry of a decision id (NULL: gone from the ring); and publishing an
 * entry (exported, and in the log at -v). */
struct adapt_log_entry *adapt_drv_log_add(struct adapt_driver *d, uint64_t id, const struct tel_decision *td);
struct adapt_log_entry *adapt_drv_log_find(struct adapt_driver *d, uint64_t id);
void adapt_drv_publish(struct adapt_driver *d, const struct tel_decision *td);

#endif
