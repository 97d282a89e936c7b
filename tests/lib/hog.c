/* A host CPU hog pinned to one CPU (see hog.h). */
#include <sched.h>

#include "tests/lib/hog.h"

static void *spin(void *arg)
{
	struct hog *h = arg;
	volatile unsigned long x = 0;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(h->cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	while (!atomic_load(&h->stop))
		x++;
	return NULL;
}

int hog_start(struct hog *h, int cpu)
{
	h->cpu = cpu;
	atomic_store(&h->stop, false);
	return pthread_create(&h->th, NULL, spin, h);
}

void hog_stop(struct hog *h)
{
	atomic_store(&h->stop, true);
	pthread_join(h->th, NULL);
}
