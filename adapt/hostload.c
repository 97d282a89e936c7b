/* adapt: host loads for experiments (CPU spinners, memory streamers). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/experiment_int.h"
#include "common/sandbox.h"
#include "common/util.h"

struct load_thread {
	struct adapt_hostload *hl;
	pthread_t th;
	bool started;
	unsigned char *buf;
	atomic_ullong work;
};

struct adapt_hostload {
	enum pol_load_kind kind;
	atomic_bool stop;
	int nr;
	struct load_thread t[];
};

static void spin(struct load_thread *lt)
{
	uint64_t x = 88172645463325252ull;
	unsigned i;

	while (!atomic_load_explicit(&lt->hl->stop, memory_order_relaxed)) {
		for (i = 0; i < 65536; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		__asm__ volatile("" : : "r"(x));
		atomic_fetch_add_explicit(&lt->work, 1, memory_order_relaxed);
	}
}

/* Read-modify-write one byte per cache line over a buffer larger than the LLC. */
static void stream(struct load_thread *lt)
{
	volatile unsigned char *b = lt->buf;
	size_t i;

	while (!atomic_load_explicit(&lt->hl->stop, memory_order_relaxed)) {
		for (i = 0; i < ADAPT_HOSTLOAD_MEM_BYTES; i += 64) {
			b[i] = (unsigned char)(b[i] + 1);
			if (!(i & ((1u << 20) - 1)) &&
			    atomic_load_explicit(&lt->hl->stop, memory_order_relaxed))
				return;
		}
		atomic_fetch_add_explicit(&lt->work, 1, memory_order_relaxed);
	}
}

static void *load_main(void *arg)
{
	struct load_thread *lt = arg;

	pthread_setname_np(pthread_self(), "avmm-hostload");
	util_sandbox_enter(UTIL_SANDBOX_HOSTLOAD);     /* prints why when it fails */
	if (lt->hl->kind == POL_LOADK_MEMORY)
		stream(lt);
	else
		spin(lt);
	return NULL;
}

static void cpus_allowed_text(const cpu_set_t *set, char *out, size_t len)
{
	size_t used = 0;
	int c, first = -1;

	out[0] = 0;
	for (c = 0; c <= CPU_SETSIZE; c++) {
		bool in = c < CPU_SETSIZE && CPU_ISSET(c, set);

		if (in && first < 0)
			first = c;
		if (!in && first >= 0) {
			int n = first == c - 1 ? snprintf(out + used, len - used, "%s%d", used ? "," : "", first)
					       : snprintf(out + used, len - used, "%s%d-%d", used ? "," : "", first, c - 1);
			if (n < 0 || (size_t)n >= len - used)
				return;
			used += (size_t)n;
			first = -1;
		}
	}
}

int adapt_hostload_check_cpus(const int *cpus, int nr_cpus, char *err, size_t err_len)
{
	cpu_set_t set;
	char allowed[128];
	int i;

	if (sched_getaffinity(0, sizeof(set), &set)) {
		snprintf(err, err_len, "cannot read this process's CPU set: %s", strerror(errno));
		return -errno;
	}
	for (i = 0; i < nr_cpus; i++) {
		if (cpus[i] >= 0 && cpus[i] < CPU_SETSIZE && CPU_ISSET(cpus[i], &set))
			continue;
		cpus_allowed_text(&set, allowed, sizeof(allowed));
		snprintf(err, err_len, "host_load_cpus: CPU %d is not one this process may use "
			 "(allowed: %s); list CPUs from that set", cpus[i], allowed);
		return -EINVAL;
	}
	return 0;
}

static int start_one(struct adapt_hostload *hl, int i, const int *cpus, int nr_cpus,
		     char *err, size_t err_len)
{
	struct load_thread *lt = &hl->t[i];
	pthread_attr_t attr;
	cpu_set_t set;
	int rc;

	lt->hl = hl;
	atomic_init(&lt->work, 0);
	if (hl->kind == POL_LOADK_MEMORY) {
		lt->buf = malloc(ADAPT_HOSTLOAD_MEM_BYTES);
		if (!lt->buf) {
			snprintf(err, err_len, "memory load thread %d: cannot allocate %u MiB; use fewer threads",
				 i, ADAPT_HOSTLOAD_MEM_BYTES >> 20);
			return -ENOMEM;
		}
		memset(lt->buf, 0, ADAPT_HOSTLOAD_MEM_BYTES);
	}
	pthread_attr_init(&attr);
	if (nr_cpus > 0) {
		CPU_ZERO(&set);
		CPU_SET(cpus[i % nr_cpus], &set);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	}
	rc = pthread_create(&lt->th, &attr, load_main, lt);
	pthread_attr_destroy(&attr);
	if (rc) {
		if (nr_cpus > 0)
			snprintf(err, err_len, "host load thread %d on CPU %d: %s", i, cpus[i % nr_cpus], strerror(rc));
		else
			snprintf(err, err_len, "host load thread %d: %s", i, strerror(rc));
		return -rc;
	}
	lt->started = true;
	return 0;
}

int adapt_hostload_start(enum pol_load_kind kind, int threads, const int *cpus, int nr_cpus,
			 struct adapt_hostload **out, char *err, size_t err_len)
{
	struct adapt_hostload *hl;
	sigset_t all, old;
	int i, rc;

	if (threads < 1 || nr_cpus < 0 || (nr_cpus && !cpus) || !out) {
		snprintf(err, err_len, "host load: bad arguments (threads %d, %d CPUs)", threads, nr_cpus);
		return -EINVAL;
	}
	rc = adapt_hostload_check_cpus(cpus, nr_cpus, err, err_len);
	if (rc)
		return rc;
	hl = calloc(1, sizeof(*hl) + (size_t)threads * sizeof(hl->t[0]));
	if (!hl) {
		snprintf(err, err_len, "host load: out of memory");
		return -ENOMEM;
	}
	hl->kind = kind;
	hl->nr = threads;
	atomic_init(&hl->stop, false);
	/* the load threads never take SIGINT/SIGTERM meant for the runner */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0, rc = 0; i < threads && !rc; i++)
		rc = start_one(hl, i, cpus, nr_cpus, err, err_len);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		adapt_hostload_stop(hl);
		return rc;
	}
	*out = hl;
	return 0;
}

void adapt_hostload_stop(struct adapt_hostload *hl)
{
	int i;

	if (!hl)
		return;
	atomic_store(&hl->stop, true);
	for (i = 0; i < hl->nr; i++) {
		if (hl->t[i].started)
			pthread_join(hl->t[i].th, NULL);
		free(hl->t[i].buf);
	}
	free(hl);
}

unsigned long long adapt_hostload_work(const struct adapt_hostload *hl)
{
	unsigned long long sum = 0;
	int i;

	for (i = 0; hl && i < hl->nr; i++)
		sum += atomic_load_explicit(&hl->t[i].work, memory_order_relaxed);
	return sum;
}
