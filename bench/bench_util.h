/* Shared helpers for the benchmark programs (header-only, static). */
#ifndef AVMM_BENCH_UTIL_H
#define AVMM_BENCH_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static inline double bench_median(double *v, int n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

static inline const char *bench_build(void)
{
	const char *b = getenv("AVMM_BUILD");

	return b && *b ? b : "build";
}

/* Runs argv with stdout+stderr captured (the first len - 1 bytes; the rest is
 * read and dropped); returns exit status or -1. */
static inline int bench_exec(char *const argv[], char *out, size_t len)
{
	int fd[2], status;
	size_t have = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(fd))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fd[1], 1);
		dup2(fd[1], 2);
		close(fd[0]);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd[1]);
	while (have + 1 < len && (n = read(fd[0], out + have, len - have - 1)) > 0)
		have += n;
	out[have] = '\0';
	while (read(fd[0], &(char){ 0 }, 1) > 0)   /* the rest, so the child never blocks */
		;
	close(fd[0]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Numeric value of " key=" on the AVMM-RESULT line, or -1. */
static inline double bench_result(const char *out, const char *key)
{
	const char *line = strstr(out, "AVMM-RESULT");
	char k[64];
	const char *p;

	if (!line)
		return -1;
	snprintf(k, sizeof(k), " %s=", key);
	p = strstr(line, k);
	return p ? strtod(p + strlen(k), NULL) : -1;
}

/* The floor of a steady loop: a thread that only wakes every period_ns
 * over a window, and its CPU time per wake-up. Created before the window (a
 * thread's creation faults in its stack, which a measured process may count
 * as its guest touching memory), it starts when until_ns is set (or at
 * once when it is set before). pthread_create(..., bench_wake_at, w). */
struct bench_waker {
	uint64_t period_ns, until_ns;   /* until_ns: 0 until the window starts */
	double ns_per_wake;             /* -1: no wake-up in the window */
};

static inline void *bench_wake_at(void *arg)
{
	struct bench_waker *w = arg;
	uint64_t c0, n = 0, until;

	while (!(until = __atomic_load_n(&w->until_ns, __ATOMIC_ACQUIRE)))
		util_sleep_ns(10000000);
	c0 = util_thread_cpu_ns();
	while (util_now_ns() + w->period_ns <= until) {
		util_sleep_ns(w->period_ns);
		n++;
	}
	w->ns_per_wake = n ? (double)(util_thread_cpu_ns() - c0) / (double)n : -1;
	return NULL;
}

#endif
