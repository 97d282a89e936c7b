/* Fake sysfs trees and a fake energy_ops for the energy tests. */
#ifndef AVMM_TESTS_ENERGY_FAKE_H
#define AVMM_TESTS_ENERGY_FAKE_H

#include <stdint.h>

#include "energy/energy.h"

char *fake_root(void);                     /* mkdtemp; free with fake_cleanup */
void fake_cleanup(char *root);

/* The fixture the source tests share: the fake tree, the source opened on
 * it and its last reading; .fini = fake_teardown closes and removes them. */
extern char *root;
extern struct energy_src *src;
extern struct energy_reading rd;
void fake_teardown(void);
void fake_write(const char *root, const char *rel, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* <root>/sys/class/powercap/<id>/{name,energy_uj,max_energy_range_uj} */
void fake_zone(const char *root, const char *id, const char *name, uint64_t energy_uj,
	       uint64_t range_uj);
void fake_set_energy(const char *root, const char *id, uint64_t energy_uj);
/* constraint_N_* of a zone; max/min 0 = file absent */
void fake_constraint(const char *root, const char *id, int n, const char *name,
		     uint64_t limit_uw, uint64_t window_us, uint64_t min_uw, uint64_t max_uw);
uint64_t fake_read_u64(const char *root, const char *rel);

#define FAKE_MAX_FDS 16
struct fake_ctx {
	const char *deny;          /* read_file fails with deny_err for paths containing it */
	int deny_err;
	const char *deny_write;    /* write_file fails with EACCES for paths containing it */
	int perf_open_err;         /* perf_open fails with this (negative) when set */
	int nfds;
	uint64_t count[FAKE_MAX_FDS];
	uint64_t step;             /* added to every count per sleep_ns call */
	int sleeps;
};
/* Real file I/O under the root, plus the fake's denials and perf counters. */
struct energy_ops fake_ops(struct fake_ctx *ctx);

#endif
