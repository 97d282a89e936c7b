/* adapt internal: the session's bankmap state, shared by
 * session_bankmap.c (placement, lifecycle) and session_bankmap_loop.c
 * (the tick's sample, the migration actuator, the initial decision). */
#ifndef AVMM_ADAPT_SESSION_BANKMAP_H
#define AVMM_ADAPT_SESSION_BANKMAP_H

#include <pthread.h>

#include "adapt/session_int.h"
#include "bankmap/bankmap.h"

#define BM_BATCH_PAGES 512             /* pages per move_pages call of the worker */

struct adapt_bankmap {
	pthread_mutex_t lock;          /* sampler, counters */
	void *hva;
	uint64_t bytes;
	bool have_topo;
	struct bankmap_topo topo;
	struct coremap_topo *ct;
	struct bankmap_sampler *sampler;
	struct bankmap_worker *worker;
	uint64_t requests, errors;
	bool placed, initial;          /* bound at start; its decision not yet carried out */
	struct adapt_change change;    /* the placement made */
	char what[128], why[192];
	char sample_why[160];
};

#endif
