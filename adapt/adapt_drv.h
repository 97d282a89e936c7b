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
	pthread_mutex_t lock;   /* profile, next, actuators, log, stats */
	pthread_t thread;
	bool running;
	uint32_t stop;          /* the loop sleeps on it (util_sleep_until_stop) */
	bool warm;              /* cfg.warmup has run */
	struct adapt_driver_cfg cfg;
	struct pol_profile profile, next;
	bool have_next;         /* under the lock; the loop peeks at it without */
	struct adapt_state state;   /* the loop thread's */
	struct tel_sample sample;   /* the loop thread's */
	struct adapt_actuator act[ADAPT_MAX_ACTUATORS];
	int nr_act;
	struct adapt_log_entry log[ADAPT_LOG_SIZE];
	uint64_t log_next;
	struct adapt_driver_stats stats;
	char last_note[192];
	struct tel_held held;       /* why it waits (under the lock) */
	enum adapt_hold last_hold;  /* the hold last logged */
	enum adapt_kind last_hold_kind;
	uint64_t next_period_ns;    /* the loop thread's: adapt_step's choice */
	uint64_t pause_transitions; /* the loop thread's: cfg.paused at the last tick */
	/* the loop thread's, for quiet ticks: the last probe; adapt_steady_why
	 * and the due time as of the last full tick; whether the loop is in a
	 * quiet stretch (full samples that were only due do not end it) */
	struct tel_probe probe;
	enum adapt_full_why steady_why;
	uint64_t full_due_ns;
	bool quiet;
};

/* Actuate one decision, log and publish it (on the loop thread, or before
 * the loop starts). */
void adapt_drv_carry_out(struct adapt_driver *d, const struct adapt_decision *dec);
/* A quiet tick instead of a full one (quiet.c's rules, cfg.probe): true
 * when it only probed; false: take the full tick now (counted by why). */
bool adapt_drv_quiet_tick(struct adapt_driver *d);
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
