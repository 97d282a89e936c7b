/*
 * adapt: internals of `avmm experiment` (not public).
 *
 * Host loads: N threads that either spin on the CPU or stream through a
 * private buffer (memory bandwidth), each pinned with sched_setaffinity to
 * cpus[i % nr_cpus] (nr_cpus 0: not pinned). They run until
 * adapt_hostload_stop(), which joins them and frees everything (NULL is a
 * no-op). Every signal is blocked in the load threads.
 * Errors: 0 or a negative errno with a message in err.
 */
#ifndef AVMM_ADAPT_EXPERIMENT_INT_H
#define AVMM_ADAPT_EXPERIMENT_INT_H

#include <stddef.h>

#include "policies/pol.h"

#define ADAPT_HOSTLOAD_MEM_BYTES (64u << 20) /* per memory-load thread */

struct adapt_hostload;

/* Every CPU listed must be one this process may run on. */
int adapt_hostload_check_cpus(const int *cpus, int nr_cpus, char *err, size_t err_len);
int adapt_hostload_start(enum pol_load_kind kind, int threads, const int *cpus, int nr_cpus,
			 struct adapt_hostload **out, char *err, size_t err_len);
void adapt_hostload_stop(struct adapt_hostload *hl);
/* Loop iterations done by all threads so far (shows the threads ran). */
unsigned long long adapt_hostload_work(const struct adapt_hostload *hl);

#endif
