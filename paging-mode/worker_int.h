/* paging-mode worker internals: the worker object shared by its thread
 * (worker.c) and the promotion/demotion steps (worker_steps.c). */
#ifndef AVMM_PGMODE_WORKER_INT_H
#define AVMM_PGMODE_WORKER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "paging-mode/pgmode.h"

#define PGW_2M (2ull << 20)
#define PGW_VERIFY_EVERY (64ull << 20)   /* smaps check every this many bytes */
#define PGW_SPLIT_CHUNK (32ull << 20)    /* one write to split_huge_pages */

struct pgmode_worker {
	void *hva;
	uint64_t bytes;
	pthread_t thread;
	pthread_mutex_t lock;            /* guards everything below */
	pthread_cond_t cond;             /* CLOCK_MONOTONIC; requests, stop, done */
	double quota_mib_per_s;          /* 0: none */
	uint64_t gen, done_gen;          /* request generation asked / finished */
	bool stop;
	bool started;                    /* the thread is in its sandbox, waiting */
	struct pgmode_worker_stats st;
};

/* True when request gen has been superseded (or the worker stops). */
bool pgw_superseded(struct pgmode_worker *w, uint64_t gen);
/* Sleeps so that done_bytes since t0_ns stay within the quota; false when
 * superseded meanwhile. */
bool pgw_pace(struct pgmode_worker *w, uint64_t gen, uint64_t t0_ns, uint64_t done_bytes);
/* Reads the backing of [hva, hva + bytes) from /proc/self/smaps into st. */
void pgw_verify(struct pgmode_worker *w);

/* The two jobs (worker_steps.c), run on the worker's thread. */
void pgw_promote(struct pgmode_worker *w, uint64_t gen);
void pgw_demote(struct pgmode_worker *w, uint64_t gen);

#endif
