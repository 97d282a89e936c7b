/*
 * cli: the avmm program. main() and the subcommand table, and the commands
 * that compose several modules (run, restore). This folder is the one place
 * that includes every module's header; no module includes it.
 */
#ifndef AVMM_CLI_H
#define AVMM_CLI_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

int cli_run(int argc, char **argv);      /* avmm run */
int cli_restore(int argc, char **argv);  /* avmm restore */
int cli_agent(int argc, char **argv);    /* avmm agent */
int cli_list(int argc, char **argv);     /* avmm list */
int cli_paging(int argc, char **argv);   /* avmm paging [calibrate|host-mode] */
int cli_paging_calibrate(int argc, char **argv);
/* `avmm paging --name VM|--socket PATH`: 0, 1 (no answer or refused) or 2. */
int cli_paging_vm(const char *name, const char *sock, bool as_json);
/* The answer of {"cmd":"paging"} as the table `avmm paging --name` prints;
 * -EINVAL when it is not a JSON object. */
int cli_paging_render_vm(const char *answer, FILE *f);
int cli_banks(int argc, char **argv);    /* avmm banks */
/* avmm energy, with the machine profile's estimate model as `avmm run` */
int cli_energy(int argc, char **argv);
/* Before the sandbox: telemetry's BPF batch of KVM statistics (a VM of
 * TEL_KVM_BATCH_MIN_VCPUS or more, the agent); says at -v why not. */
void cli_load_kvm_batch(void);

/* SIGINT, SIGTERM, SIGHUP, SIGQUIT call stop(arg) on one thread; block them
 * before any thread starts; end returns the first stopping signal or 0. */
struct cli_signals {
	pthread_t thread;
	sigset_t set;
	void (*stop)(void *arg);
	void *arg;
	volatile int signo;
	volatile bool done;
	bool started;
};
void cli_signals_block(struct cli_signals *w);
int cli_signals_start(struct cli_signals *w, void (*stop)(void *arg), void *arg);
int cli_signals_end(struct cli_signals *w);

/* `avmm run`'s start-up line on stderr (VM, profile, control socket,
 * dashboard URL); nothing under -q (log level below warnings). */
struct adapt_session;
struct adapt_session_cfg;
void cli_start_line(struct adapt_session *s, const struct adapt_session_cfg *cfg);
/* The dashboard's URL for a --metrics address and the bound port. */
void cli_dashboard_url(const char *metrics_addr, int port, char *out, size_t len);

/* Shared options: 0, or 2 (the exit status) after saying what is wrong. */
int cli_opt_trace(struct adapt_session_cfg *c, const char *arg);

#endif
