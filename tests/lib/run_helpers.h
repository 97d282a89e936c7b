/* Helpers for the vmm-core integration tests: run the avmm binary. */
#ifndef AVMM_TEST_RUN_HELPERS_H
#define AVMM_TEST_RUN_HELPERS_H

#include <stdbool.h>
#include <stddef.h>

/* $AVMM_BUILD (default "build") + "/" + rel. */
const char *build_path(const char *rel);
/* Runs build/avmm with args (NULL-terminated), stdout+stderr into out.
 * Returns the exit status, or -1 if it did not exit normally. */
int run_avmm(char *out, size_t len, const char *const args[]);
/* Skips the test when /dev/kvm cannot be opened. */
void require_kvm(void);
/* Whether this KVM lets avmm see guest writes of MSRs, which its run-delay
 * page (vmm-core/steal.c) needs. */
bool kvm_has_msr_filter(void);
/* Value of key in the first "AVMM-RESULT" line containing guest=name. */
int result_value(const char *out, const char *guest, const char *key, char *val, size_t len);

#endif
