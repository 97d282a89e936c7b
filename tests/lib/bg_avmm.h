/* Helpers for the host-hardening tests: a real avmm in the background with
 * its own run folder and a fake powercap tree, and raw control clients. */
#ifndef AVMM_TESTS_LIB_BG_AVMM_H
#define AVMM_TESTS_LIB_BG_AVMM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct bg_avmm {
	pid_t pid;
	char dir[64];        /* temp folder: run/, fk/ (fake sysfs), out.txt */
	char run_dir[96], sock[128], fsroot[96], out[128];
};

/* Makes the temp folder with a fake package zone at 200 W (constraint_0
 * long_term, 0..400 W). */
void bg_prepare(struct bg_avmm *b);
/* Starts `avmm run [extra...] compute.elf --cmdline secs=N` with
 * AVMM_RUN_DIR=run_dir, --socket sock, output to out; umask applied in the
 * child when >= 0. Waits for the socket. */
void bg_start(struct bg_avmm *b, int secs, int umask_val, const char *const extra[]);
/* Waits up to ms for the process to end; returns the exit status, 128+sig
 * when killed by sig, or -1 when it is still running. */
int bg_wait(struct bg_avmm *b, int ms);
void bg_cleanup(struct bg_avmm *b);
bool bg_alive(const struct bg_avmm *b);
/* Starts build/avmm with args (NULL-terminated, argv[1] on) in AVMM_RUN_DIR =
 * b's run folder, stdout+stderr into log, pinned to cpu when cpu >= 0. */
pid_t bg_spawn(const struct bg_avmm *b, const char *log, int cpu, const char *const args[]);
/* SIGKILLs and reaps every pid above 0 of pids[n], leaving them 0. */
void bg_reap(pid_t *pids, int n);

uint64_t fake_limit_uw(const struct bg_avmm *b);
/* Waits up to ms for the limit to leave 200 W (the loop capping). */
bool wait_capped(const struct bg_avmm *b, int ms);

/* A raw client connected to the socket (fd), or -errno. */
int client_connect(const char *sock);
/* Reads one line into buf within ms; returns its length or -errno. */
int client_line(int fd, char *buf, size_t len, int ms);
char *file_text(const char *path); /* malloc'd, or NULL */

#endif
