/* A strict checker of the Prometheus text exposition format 0.0.4 (used when
 * promtool is absent), plus the lint rules promtool applies (HELP and TYPE
 * present, counters named *_total). */
#ifndef AVMM_TESTS_PROMCHECK_H
#define AVMM_TESTS_PROMCHECK_H

#include <stddef.h>

/* 0 if valid; else -1 with "line N: what" in err. */
int promcheck(const char *text, char *err, size_t err_len);
/* Number of samples of metric `name` in valid text (for tests). */
int promcheck_count(const char *text, const char *name);

#endif
