/* A host CPU hog for the noise tests: a thread spinning on one CPU until
 * stopped. */
#ifndef AVMM_TESTS_LIB_HOG_H
#define AVMM_TESTS_LIB_HOG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct hog {
	pthread_t th;
	int cpu;
	atomic_bool stop;
};

/* 0, or the pthread_create error. */
int hog_start(struct hog *h, int cpu);
void hog_stop(struct hog *h);

#endif
