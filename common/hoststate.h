/*
 * Host-state journal: every host setting avmm changes (a powercap limit, a
 * thread's CPU affinity) is recorded with its original value in a state file
 * before it changes, so that what a killed avmm left can be put back.
 *
 * One file per process: <run_dir>/state/<pid>.state (run_dir: $AVMM_RUN_DIR
 * or /run/avmm), folder 0700, file 0600, rewritten whole (temp + rename) on
 * each new record, removed when the process has put everything back.
 * util_state_repair() (run by `avmm restore` and at the start of every avmm
 * run) restores the records of processes that are gone and removes their
 * files; live processes are left alone.
 *
 * Threading: a journal may be used from several threads (it takes a lock).
 * Errors: 0 or a negative errno; messages name the file and the fix.
 */
#ifndef AVMM_COMMON_HOSTSTATE_H
#define AVMM_COMMON_HOSTSTATE_H

#include <sched.h>
#include <stddef.h>
#include <sys/types.h>

struct util_state;

/* Where sockets and state files live: $AVMM_RUN_DIR, else /run/avmm. */
const char *util_run_dir(void);

int util_state_open(const char *run_dir, const char *vm_name, struct util_state **out);
/* Before avmm first writes root+path (once per path; later calls for the same
 * path keep the first original). orig is the file's text, digits only. */
int util_state_save_file(struct util_state *st, const char *root, const char *path,
			 const char *orig);
/* Before avmm first changes thread tid's affinity. */
int util_state_save_affinity(struct util_state *st, pid_t tid, const cpu_set_t *orig);
/* Everything was put back: drop the records and the file. */
int util_state_clear(struct util_state *st);
/* Closes; the file stays if records remain (a later repair restores them). */
void util_state_close(struct util_state *st);
const char *util_state_path(const struct util_state *st);

/* Restores what processes that are gone left in run_dir/state; appends one
 * line per action to report (may be NULL). Returns how many state files were
 * repaired, or -errno (the first error; the file then stays). */
int util_state_repair(const char *run_dir, char *report, size_t report_len);

/* When process pid (tid 0) or its thread tid started, in clock ticks since
 * boot (field 22 of /proc/PID[/task/TID]/stat); 0 when it is gone. With the
 * pid it names one process across pid reuse. */
unsigned long long util_state_start_time(pid_t pid, pid_t tid);

/* The pure part: is this a file avmm may restore (a powercap constraint's
 * power_limit_uw / time_window_us or a zone's enabled, under any root, no
 * ".." component) and is the value plain digits? */
int util_state_valid_file_record(const char *path, const char *value);

#endif
