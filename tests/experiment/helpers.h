/* Helpers for the experiment-runner tests. */
#ifndef AVMM_TESTS_EXPERIMENT_HELPERS_H
#define AVMM_TESTS_EXPERIMENT_HELPERS_H

#include <stdbool.h>
#include <stddef.h>

/* Skips the test unless /dev/kvm opens and $AVMM_BUILD/guests/compute.elf exists;
 * fills path with the guest. */
void exp_need_kvm_guest(char *path, size_t len);
/* A fresh temp folder (removed by exp_cleanup); profile search set to policies/profiles. */
const char *exp_tmpdir(void);
void exp_cleanup(void);
/* Writes text to dir/name; returns the path (static buffer per call slot). */
const char *exp_write(const char *name, const char *text);
/* Runs adapt_cli_experiment with the args (NULL-terminated); stderr goes to err. */
int exp_run(char *err, size_t err_len, const char *arg, ...);
/* Threads in this process now. */
int exp_nr_threads(void);
/* The first CPU this process may run on. */
int exp_first_cpu(void);
/* CSV: the field named col in the row whose "phase" (and "profile") match;
 * returns false if absent. */
bool exp_csv_field(const char *csv, const char *profile, const char *phase, const char *col,
		   char *out, size_t len);
/* Whole file into a malloc'd string (NULL if unreadable). */
char *exp_slurp(const char *path);

#endif
