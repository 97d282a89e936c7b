/*
 * adapt: internals of `avmm experiment` (not public).
 *
 * The runner is split by job, each file reading on its own:
 *   experiment_run.c       the CLI entry (adapt_cli_experiment) and the
 *                          driver: every profile x repeat as one session
 *   experiment_load.c      loading and checking the file, the --check plan
 *   experiment_timeline.c  a run's timeline on the calling thread: phases
 *                          (profile switch, host load start/stop) at their
 *                          time, stop at duration, SIGINT/SIGTERM
 *   experiment_metrics.c   per-phase sums from tel_latest samples (collector
 *                          thread), the decision log, the guest's AVMM-RESULT
 *   experiment_report.c    the summary: side-by-side table or CSV
 *   experiment_series.c    each run's time series and decisions (for the
 *                          report's charts)
 *   experiment_html.c      the HTML report: where it goes, the page with
 *                          uPlot and experiment_report.js/.css inlined
 *   experiment_json.c      the report's data as JSON
 *   hostload.c             host loads
 *
 * Rows: row 0 is the time before the first phase, row i + 1 the time from
 * phase i on. A run's lock guards cur, row_start and the result's rows
 * (the timeline moves cur, the collector adds samples to the rows).
 *
 * Host loads: N threads that either spin on the CPU or stream through a
 * private buffer (memory bandwidth), each pinned with sched_setaffinity to
 * cpus[i % nr_cpus] (nr_cpus 0: not pinned). They run until
 * adapt_hostload_stop(), which joins them and frees everything (NULL is a
 * no-op). Every signal is blocked in the load threads.
 * Errors: 0 or a negative errno with a message in err (host loads) or
 * logged with util_err naming the file (the runner).
 */
#ifndef AVMM_ADAPT_EXPERIMENT_INT_H
#define AVMM_ADAPT_EXPERIMENT_INT_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policies/pol.h"
#include "telemetry/sample.h"

#define ADAPT_HOSTLOAD_MEM_BYTES (64u << 20) /* per memory-load thread */

struct adapt_hostload;
struct adapt_session;

/* Every CPU listed must be one this process may run on. */
int adapt_hostload_check_cpus(const int *cpus, int nr_cpus, char *err, size_t err_len);
int adapt_hostload_start(enum pol_load_kind kind, int threads, const int *cpus, int nr_cpus,
			 struct adapt_hostload **out, char *err, size_t err_len);
void adapt_hostload_stop(struct adapt_hostload *hl);
/* Loop iterations done by all threads so far (shows the threads ran). */
unsigned long long adapt_hostload_work(const struct adapt_hostload *hl);

/* ---- the experiment runner ---------------------------------------------- */

#define EXP_ROWS (POL_EXP_MAX_PHASES + 1)  /* row 0: before the first phase */
#define EXP_LISTED 24                      /* decisions listed per profile */
#define EXP_POLL_NS 20000000ull            /* timeline and collector wake-up */
#define EXP_PROGRESS_NS 250000000ull

/* One phase row of one profile, summed over its repeats. */
struct exp_row {
	double dur_s, w_s;                 /* wall time; time covered by samples */
	double cpu, delay, exits;          /* time-weighted sums */
	double ipc, ipc_w, power, power_w;
	double energy_j;
	bool energy_up, energy_est;
	int samples, decisions, reps;
};

struct exp_listed {
	int rep;
	double t_s;
	struct tel_decision d;
};

/* Everything measured under one profile. */
struct exp_result {
	char profile[POL_NAME_MAX];
	struct exp_row row[EXP_ROWS];
	int reps_done;
	double tput_sum;
	int tput_n;
	char tput_key[32], tput_note[128], end[128];
	bool failed;
	int nr_listed, dropped;
	struct exp_listed listed[EXP_LISTED];
};

/* One run's time series (seconds from the guest's start; NaN: unknown),
 * at most EXP_SERIES_MAX points: when full, every other point goes and
 * only every stride-th sample is kept from then on. */
#define EXP_SERIES_MAX 1024
#define EXP_SERIES_DECISIONS 64
enum exp_col {
	EXP_T_S, EXP_CPU_S, EXP_CPU_PCT, EXP_DELAY_PCT, EXP_EXITS_PER_S, EXP_IPC, EXP_POWER_W, EXP_ENERGY_J,
	EXP_COLS
};
struct exp_series {
	struct exp_series *next;
	int result, rep;                   /* c->res[result], repeat (0-based) */
	char trace[POL_PATH_MAX + POL_NAME_MAX + 16];   /* "" none */
	int64_t start_unix_ms;             /* wall clock at the guest's start */
	int n, stride, seen;
	float (*p)[EXP_COLS];              /* EXP_SERIES_MAX rows */
	bool have_e0, hw_up, energy_up, energy_est;
	uint64_t e0_uj;
	char hw_why[160], energy_why[160]; /* the sources' reasons when down */
	int nr_dec, dec_total;
	struct exp_listed dec[EXP_SERIES_DECISIONS];
};

struct exp_ctx {
	struct pol_experiment x;
	bool quiet, dry_run, tty;
	bool simulate;                     /* --simulate: the guest file need not exist */
	char simulated[160];               /* "simulated on MODEL, seed N" ("" a real run):
					    * the report and traces say so */
	const char *dirs[POL_MAX_DIRS];
	char dir_storage[POL_MAX_DIRS][POL_PATH_MAX];
	int nr_dirs;
	int nr_runs;
	char run_spec[POL_EXP_MAX_COMPARE][POL_PATH_MAX];
	struct pol_profile phase_prof[POL_EXP_MAX_PHASES];
	struct exp_result res[POL_EXP_MAX_COMPARE];
	sigset_t sigs;                     /* SIGINT, SIGTERM: blocked while running */
	int signo;                         /* the one that stopped us, or 0 */
	char interrupted[160];
	struct exp_series *series, **series_tail;   /* every run, in order */
	int64_t start_unix_ms;
};

/*
 * One run's moving parts. The collector thread reads the newest sample
 * every EXP_POLL_NS (tel_latest can block while a sample is taken, e.g. the
 * first one, which opens the energy source) so the timeline stays on time.
 */
struct exp_run {
	struct exp_ctx *c;
	struct exp_result *r;
	struct adapt_session *s;
	struct adapt_hostload *load;
	struct exp_series *series;         /* NULL: not recorded (no memory) */
	pthread_mutex_t lock;
	pthread_t collector;
	atomic_bool stop_collect;
	int rep, cur;                      /* current row */
	uint64_t t0, row_start[EXP_ROWS], last_seq, prev_uj, last_progress;
	bool have_seq, have_uj;
};

/* experiment_run.c: a progress line on stderr unless quiet; the trace
 * file of a profile's run (the [output] trace with -PROFILE[-rN] before
 * its extension); the list of files written (summary, report, traces). */
void adapt_exp_progress(const struct exp_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void adapt_exp_trace_path(const struct exp_ctx *c, const char *profile, int rep, char *out, size_t len);
void adapt_exp_print_files(const struct exp_ctx *c, const char *report);

/* experiment_load.c */
int adapt_exp_load(struct exp_ctx *c, const char *file);   /* 0, -ENOMEM, -EINVAL... */
void adapt_exp_print_plan(FILE *f, const struct exp_ctx *c);

/* experiment_timeline.c */
void adapt_exp_describe_phase(const struct pol_exp_phase *ph, char *out, size_t len);
const char *adapt_exp_signal_name(int sig);
/* Phases until the guest ends or the duration is reached (0), a signal
 * comes (1, c->signo and c->interrupted set) or a phase fails (<0). */
int adapt_exp_timeline(struct exp_run *run);
/* Block SIGINT/SIGTERM into c->sigs (old mask in *old); take one that is
 * pending (its number, or 0); drain them all and restore *old. */
void adapt_exp_signals_block(struct exp_ctx *c, sigset_t *old);
int adapt_exp_signal_pending(const struct exp_ctx *c);
void adapt_exp_signals_restore(const struct exp_ctx *c, const sigset_t *old);

/* experiment_metrics.c: start the collector thread (false: none, the run
 * then gets only the final sample); end it, take the last sample, close
 * the rows at now and count the driver's decisions. */
bool adapt_exp_collect_start(struct exp_run *run);
void adapt_exp_collect_end(struct exp_run *run, bool collecting);
void adapt_exp_read_throughput(struct exp_result *r, const char *console);
/* The parts the simulator (sim_exp.c) reuses: one sample into its row, the
 * rows closed at t_end, the driver's decisions counted per row. */
struct adapt_driver;
void adapt_exp_account(struct exp_run *run, const struct tel_sample *s);
void adapt_exp_finish_rows(struct exp_run *run, uint64_t t_end);
void adapt_exp_count_decisions(struct exp_run *run, struct adapt_driver *d);

/* false for a sample taken as the vCPU threads went away */
bool adapt_exp_sample_sane(const struct tel_sample *s);

/* experiment_series.c: a series for one run (NULL: out of memory); add a
 * sample (collector thread, under the run's lock; no allocation); add a
 * decision (t_s from the guest's start); hand it to c's list; free them. */
struct exp_series *adapt_exp_series_new(int result, int rep);
void adapt_exp_series_add(struct exp_series *se, uint64_t t0_ns, const struct tel_sample *s);
void adapt_exp_series_decision(struct exp_series *se, const struct exp_listed *l);
void adapt_exp_series_keep(struct exp_ctx *c, struct exp_series *se);
void adapt_exp_series_free(struct exp_ctx *c);
int64_t adapt_exp_wall_ms(void);   /* CLOCK_REALTIME in ms since the epoch */

/* experiment_report.c: to c->x.summary (stdout for "-"); -EIO on failure. */
int adapt_exp_write_summary(const struct exp_ctx *c);
/* The summary's figures, for the report. Rows 0..nr_phases as above and
 * nr_phases + 1: the whole run; metrics 0..EXP_METRICS-1 (NaN: unknown). */
#define EXP_METRICS 9
const char *adapt_exp_metric_key(int m);       /* CSV column, e.g. "guest_cpu_pct" */
const char *adapt_exp_metric_label(int m);     /* e.g. "guest CPU %" */
double adapt_exp_metric(const struct exp_ctx *c, const struct exp_result *r, int row, int m);
bool adapt_exp_row_shown(const struct exp_ctx *c, int row);
void adapt_exp_row_span(const struct pol_experiment *x, int row, double *from_s, double *to_s);
void adapt_exp_row_label(const struct exp_ctx *c, int row, char *out, size_t len);
double adapt_exp_throughput(const struct exp_result *r);   /* NaN: unknown */
int adapt_exp_nr_results(const struct exp_ctx *c);         /* profiles that ran */
void adapt_exp_print_table(FILE *f, const struct exp_ctx *c);

/* experiment_html.c: where the report goes ("" none); write it (0, or
 * -errno with the reason logged). */
void adapt_exp_report_path(const struct exp_ctx *c, char *out, size_t len);
int adapt_exp_write_report(const struct exp_ctx *c, const char *path);
/* experiment_json.c: the report's data (malloc'd JSON with every '<' as
 * \u003c, safe inside a script element; NULL: out of memory). table: the
 * CLI's summary text (may be NULL). */
char *adapt_exp_report_json(const struct exp_ctx *c, const char *report_path, const char *table);

#endif
