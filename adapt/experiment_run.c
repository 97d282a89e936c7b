/*
 * adapt: `avmm experiment [--check] [--dry-run] [--quiet] FILE`.
 *
 * Runs an experiment file (policies/pol.h) once per profile (the compare
 * list or the single profile) and per repeat: a session (adapt/session.h)
 * per run, a timeline on the calling thread that applies each phase at its
 * time (profile switch, host load start/stop) and adds the telemetry of
 * each profile period to the phase it falls in, then a summary of the goal
 * metrics per phase, profiles side by side. SIGINT/SIGTERM are taken with
 * sigtimedwait while they are blocked: the run is stopped, host loads are
 * stopped, and what was measured so far is printed.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adapt/adapt.h"
#include "adapt/experiment_int.h"
#include "adapt/session.h"
#include "common/util.h"

#define EXP_ROWS (POL_EXP_MAX_PHASES + 1)  /* row 0: before the first phase */
#define EXP_LISTED 24                      /* decisions listed per profile */
#define EXP_POLL_NS 20000000ull            /* timeline wake-up */
#define EXP_PROGRESS_NS 250000000ull

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

struct exp_ctx {
	struct pol_experiment x;
	bool quiet, dry_run, tty;
	const char *dirs[POL_MAX_DIRS];
	char dir_storage[POL_MAX_DIRS][POL_PATH_MAX];
	int nr_dirs;
	int nr_runs;
	char run_spec[POL_EXP_MAX_COMPARE][POL_PATH_MAX];
	struct pol_profile phase_prof[POL_EXP_MAX_PHASES];
	struct exp_result res[POL_EXP_MAX_COMPARE];
	sigset_t sigs;
	int signo;
	char interrupted[160];
};

/*
 * One run's moving parts. The collector thread reads the newest sample
 * every EXP_POLL_NS (tel_latest can block while a sample is taken, e.g. the
 * first one, which opens the energy source) so the timeline stays on time;
 * lock guards cur, row_start and the result's rows.
 */
struct exp_run {
	struct exp_ctx *c;
	struct exp_result *r;
	struct adapt_session *s;
	struct adapt_hostload *load;
	pthread_mutex_t lock;
	pthread_t collector;
	atomic_bool stop_collect;
	int rep, cur;                      /* current row */
	uint64_t t0, row_start[EXP_ROWS], last_seq, prev_uj, last_progress;
	bool have_seq, have_uj;
};

/* ---- progress ----------------------------------------------------------- */

static void progress(const struct exp_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const struct exp_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->quiet)
		return;
	if (c->tty)
		fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void describe_phase(const struct pol_exp_phase *ph, char *out, size_t len)
{
	char cpus[96] = "";
	size_t used = 0;
	int i, n;

	out[0] = 0;
	if (ph->profile[0])
		used += (size_t)snprintf(out, len, "profile -> %s", ph->profile);
	if (used >= len)
		return;
	if (ph->load == POL_LOAD_STOP)
		snprintf(out + used, len - used, "%shost load stop", used ? "; " : "");
	if (ph->load != POL_LOAD_START)
		return;
	for (i = 0, n = 0; i < ph->nr_load_cpus && (size_t)n < sizeof(cpus); i++)
		n += snprintf(cpus + n, sizeof(cpus) - (size_t)n, "%s%d", i ? "," : "", ph->load_cpus[i]);
	snprintf(out + used, len - used, "%shost load start: %s x%d %s%s", used ? "; " : "",
		 ph->load_kind == POL_LOADK_MEMORY ? "memory" : "cpu", ph->load_threads,
		 ph->nr_load_cpus ? "on CPU " : "unpinned", cpus);
}

/* ---- metrics ------------------------------------------------------------ */

static int row_of(const struct exp_run *run, uint64_t t_ns)
{
	int r = run->cur;

	while (r > 0 && t_ns < run->row_start[r])
		r--;
	return r;
}

static void account(struct exp_run *run, const struct tel_sample *s)
{
	struct exp_row *row = &run->r->row[row_of(run, s->t_ns)];
	double w = (double)s->dt_ns / 1e9, cpu = 0, delay = 0, exits = 0, ipc = 0;
	int i, nr_ipc = 0;

	/* seq 0 is taken before the vCPU threads exist and seq 1 attaches to
	 * them: rates over the tick start with seq 2; both serve as baselines */
	if (s->seq < 2) {
		run->prev_uj = s->energy.energy_uj;
		run->have_uj = s->energy.up;
		return;
	}
	if (s->energy.up) {
		if (run->have_uj && s->energy.energy_uj >= run->prev_uj)
			row->energy_j += (double)(s->energy.energy_uj - run->prev_uj) / 1e6;
		run->prev_uj = s->energy.energy_uj;
		run->have_uj = true;
		row->energy_up = true;
		row->energy_est |= s->energy.estimated;
	}
	if (!s->dt_ns || s->nr_vcpus <= 0)
		return;
	for (i = 0; i < s->nr_vcpus && i < TEL_MAX_VCPUS; i++) {
		const struct tel_vcpu_sample *v = &s->vcpu[i];

		/* e.g. a sample taken as the vCPU threads went away */
		if (!(v->cpu_pct >= 0 && v->cpu_pct <= 110 && v->run_delay_pct >= 0 &&
		      v->run_delay_pct <= 110 && v->exits_per_s >= 0 && isfinite(v->exits_per_s))) {
			run->r->dropped++;
			return;
		}
	}
	for (i = 0; i < s->nr_vcpus && i < TEL_MAX_VCPUS; i++) {
		cpu += s->vcpu[i].cpu_pct;
		delay += s->vcpu[i].run_delay_pct;
		exits += s->vcpu[i].exits_per_s;
		if (s->vcpu[i].hw_valid && isfinite(s->vcpu[i].ipc)) {
			ipc += s->vcpu[i].ipc;
			nr_ipc++;
		}
	}
	row->samples++;
	row->w_s += w;
	row->cpu += cpu / s->nr_vcpus * w;
	row->delay += delay / s->nr_vcpus * w;
	row->exits += exits * w;
	if (nr_ipc) {
		row->ipc += ipc / nr_ipc * w;
		row->ipc_w += w;
	}
	if (s->energy.up && isfinite(s->energy.power_w)) {
		row->power += s->energy.power_w * w;
		row->power_w += w;
	}
}

static void poll_sample(struct exp_run *run)
{
	struct tel *t = adapt_session_tel(run->s);
	struct tel_sample *s = malloc(sizeof(*s));

	if (s && t && !tel_latest(t, s)) {
		pthread_mutex_lock(&run->lock);
		if (!run->have_seq || s->seq != run->last_seq) {
			run->have_seq = true;
			run->last_seq = s->seq;
			account(run, s);
		}
		pthread_mutex_unlock(&run->lock);
	}
	free(s);
}

static void *collect_main(void *arg)
{
	struct exp_run *run = arg;

	while (!atomic_load(&run->stop_collect)) {
		poll_sample(run);
		util_sleep_ns(EXP_POLL_NS);
	}
	return NULL;
}

static void collect_decisions(struct exp_run *run)
{
	struct adapt_driver *d = adapt_session_driver(run->s);
	struct tel_decision *log;
	struct exp_result *r = run->r;
	int i, n;

	if (!d || !(log = calloc(ADAPT_LOG_SIZE, sizeof(*log))))
		return;
	n = adapt_driver_log(d, log, ADAPT_LOG_SIZE);
	for (i = 0; i < n; i++) {
		if (!strcmp(log[i].kind, "profile"))
			continue;
		r->row[row_of(run, log[i].t_ns)].decisions++;
		if (r->nr_listed < EXP_LISTED) {
			struct exp_listed *l = &r->listed[r->nr_listed++];

			l->rep = run->rep;
			l->t_s = log[i].t_ns > run->t0 ? (double)(log[i].t_ns - run->t0) / 1e9 : 0;
			l->d = log[i];
		}
	}
	free(log);
}

/* The guest's result line: "AVMM-RESULT guest=X key=value ... ok=1". */
static void read_throughput(struct exp_run *run, const char *console)
{
	static const char *const keys[] = { "ops_per_s", "mbps", "mbps_avg" };
	struct exp_result *r = run->r;
	char *line = NULL, *last = NULL, *tok, *save = NULL;
	size_t cap = 0, k;
	FILE *f = fopen(console, "r");

	if (!f) {
		snprintf(r->tput_note, sizeof(r->tput_note), "no console output (%s)", strerror(errno));
		return;
	}
	while (getline(&line, &cap, f) > 0)
		if (strstr(line, "AVMM-RESULT ")) {
			free(last);
			last = strdup(strstr(line, "AVMM-RESULT "));
		}
	fclose(f);
	free(line);
	if (!last) {
		snprintf(r->tput_note, sizeof(r->tput_note),
			 "the guest printed no AVMM-RESULT line (stopped before it finished? give it a shorter cmdline than duration_s)");
		return;
	}
	last[strcspn(last, "\r\n")] = 0;
	for (k = 0; k < UTIL_ARRAY_SIZE(keys); k++) {
		size_t kl = strlen(keys[k]);
		char *copy = strdup(last);

		for (tok = copy ? strtok_r(copy, " ", &save) : NULL; tok; tok = strtok_r(NULL, " ", &save)) {
			char *end;
			double v;

			if (strncmp(tok, keys[k], kl) || tok[kl] != '=')
				continue;
			v = strtod(tok + kl + 1, &end);
			if (end != tok + kl + 1 && !*end && isfinite(v)) {
				snprintf(r->tput_key, sizeof(r->tput_key), "%s", keys[k]);
				r->tput_sum += v;
				r->tput_n++;
				free(copy);
				free(last);
				return;
			}
		}
		free(copy);
	}
	snprintf(r->tput_note, sizeof(r->tput_note), "no ops_per_s or mbps in: %.80s", last);
	free(last);
}

/* ---- one run ------------------------------------------------------------ */

static int apply_phase(struct exp_run *run, int i, uint64_t now)
{
	struct exp_ctx *c = run->c;
	const struct pol_exp_phase *ph = &c->x.phase[i];
	struct adapt_driver *d = adapt_session_driver(run->s);
	char what[256], err[256];
	int rc;

	describe_phase(ph, what, sizeof(what));
	progress(c, "  %7.2f s  [phase.%d] %s", (double)(now - run->t0) / 1e9, ph->index, what);
	pthread_mutex_lock(&run->lock);
	run->cur = i + 1;
	run->row_start[run->cur] = now;
	pthread_mutex_unlock(&run->lock);
	if (ph->profile[0] && d) {
		rc = adapt_driver_set_profile(d, &c->phase_prof[i]);
		if (rc)
			util_err("%s: [phase.%d] profile = %s: the loop refused it (%s)", c->x.path,
				 ph->index, ph->profile, strerror(-rc));
	}
	if (ph->load == POL_LOAD_STOP) {
		adapt_hostload_stop(run->load);
		run->load = NULL;
	}
	if (ph->load == POL_LOAD_START && !run->load) {
		rc = adapt_hostload_start(ph->load_kind, ph->load_threads, ph->load_cpus,
					  ph->nr_load_cpus, &run->load, err, sizeof(err));
		if (rc) {
			util_err("%s: [phase.%d] %s", c->x.path, ph->index, err);
			return rc;
		}
	}
	return 0;
}

/* Returns 0 at the end of the run, 1 when a signal came, <0 on error. */
static int timeline(struct exp_run *run)
{
	struct exp_ctx *c = run->c;
	const struct pol_experiment *x = &c->x;
	struct vmm *vm = adapt_session_vmm(run->s);
	int next = 0, rc, sig;

	for (;;) {
		uint64_t now = util_now_ns(), el = now - run->t0, wait = EXP_POLL_NS;
		struct timespec ts;

		while (next < x->nr_phases && x->phase[next].at_ns <= el) {
			rc = apply_phase(run, next++, now);
			if (rc)
				return rc;
		}
		now = util_now_ns();
		el = now - run->t0;
		if (vmm_ended(vm)) {
			progress(c, "  %7.2f s  the guest ended", (double)el / 1e9);
			return 0;
		}
		if (el >= x->duration_ns) {
			progress(c, "  %7.2f s  duration reached: stopping the guest", (double)el / 1e9);
			return 0;
		}
		if (c->tty && !c->quiet && now - run->last_progress >= EXP_PROGRESS_NS) {
			fprintf(stderr, "\r\033[K  %7.2f / %.2f s", (double)el / 1e9, (double)x->duration_ns / 1e9);
			run->last_progress = now;
		}
		if (next < x->nr_phases && x->phase[next].at_ns - el < wait)
			wait = x->phase[next].at_ns - el;
		if (x->duration_ns - el < wait)
			wait = x->duration_ns - el;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)wait;
		sig = sigtimedwait(&c->sigs, NULL, &ts);
		if (sig > 0) {
			c->signo = sig;
			snprintf(c->interrupted, sizeof(c->interrupted),
				 "interrupted by %s at %.2f s of the %s run %d: figures up to then",
				 sig == SIGINT ? "SIGINT" : "SIGTERM", (double)el / 1e9,
				 run->r->profile, run->rep + 1);
			progress(c, "  %7.2f s  %s: stopping", (double)el / 1e9, sig == SIGINT ? "SIGINT" : "SIGTERM");
			return 1;
		}
	}
}

static void trace_path(const struct exp_ctx *c, const char *profile, int rep, char *out, size_t len)
{
	const char *t = c->x.trace, *slash = strrchr(t, '/'), *dot = strrchr(t, '.');
	char suffix[POL_NAME_MAX + 16];

	if (!dot || (slash && dot < slash))
		dot = t + strlen(t);
	if (c->x.repeat > 1)
		snprintf(suffix, sizeof(suffix), "-%s-r%d", profile, rep + 1);
	else
		snprintf(suffix, sizeof(suffix), "-%s", profile);
	snprintf(out, len, "%.*s%s%s", (int)(dot - t), t, suffix, dot);
}

static void finish_rows(struct exp_run *run, uint64_t t_end)
{
	int r;

	for (r = 0; r <= run->cur; r++) {
		uint64_t end = r < run->cur ? run->row_start[r + 1] : t_end;

		run->r->row[r].dur_s += (double)(end - run->row_start[r]) / 1e9;
		run->r->row[r].reps++;
	}
}

static void note_end(struct exp_result *r, const struct vmm_result *res, const char *stopped_why)
{
	if (res->end == VMM_END_STOPPED)
		snprintf(r->end, sizeof(r->end), "%s", stopped_why);
	else if (res->end == VMM_END_DEBUG_EXIT && res->exit_status == 1)
		snprintf(r->end, sizeof(r->end), "ok");
	else {
		snprintf(r->end, sizeof(r->end), "%s, status %d: %.80s", vmm_end_name(res->end),
			 res->exit_status, res->why);
		if (res->end == VMM_END_ERROR || res->end == VMM_END_SHUTDOWN ||
		    res->end == VMM_END_DEBUG_EXIT)
			r->failed = true;
	}
}

/* 0, 1 when interrupted, <0 when the run could not be done. */
static int run_one(struct exp_ctx *c, int ri, int rep)
{
	struct exp_run run = { .c = c, .r = &c->res[ri], .rep = rep, .lock = PTHREAD_MUTEX_INITIALIZER };
	const struct pol_experiment *x = &c->x;
	struct adapt_session_cfg cfg = { 0 };
	struct vmm_result res = { 0 };
	char console[POL_PATH_MAX], trace[POL_PATH_MAX + POL_NAME_MAX + 16], run_id[POL_NAME_MAX * 2 + 40];
	const char *tmp = getenv("TMPDIR");
	bool collecting = false;
	int fd, rc, trc;

	snprintf(console, sizeof(console), "%s/avmm-exp-console-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(console);
	if (fd < 0) {
		util_err("cannot create a console file %s: %s; set TMPDIR to a writable folder", console, strerror(errno));
		return -errno;
	}
	close(fd);
	snprintf(run_id, sizeof(run_id), "%s-%s-r%d-%d", x->name, run.r->profile, rep + 1, (int)getpid());
	cfg.vm.vcpus = x->vcpus;
	cfg.vm.mem_bytes = x->mem_bytes;
	cfg.vm.console_path = console;
	cfg.vm.guest_path = x->guest;
	cfg.vm.cmdline = x->cmdline[0] ? x->cmdline : NULL;
	cfg.profile = c->run_spec[ri];
	cfg.name = x->name;
	cfg.socket_path = "";
	cfg.run_id = run_id;
	cfg.dry_run = c->dry_run;
	if (x->trace[0]) {
		trace_path(c, run.r->profile, rep, trace, sizeof(trace));
		cfg.traces[cfg.nr_traces++] = trace;
	}
	progress(c, "%s: profile %s, run %d/%d", x->name, run.r->profile, rep + 1, x->repeat);
	if (x->trace[0])
		progress(c, "  trace %s", trace);
	rc = adapt_session_open(&cfg, &run.s);
	if (rc) {
		util_err("%s: the %s run could not start (%s); see the messages above", x->path,
			 run.r->profile, strerror(-rc));
		snprintf(run.r->end, sizeof(run.r->end), "did not start: %s", strerror(-rc));
		run.r->failed = true;
		unlink(console);
		return rc;
	}
	/* One sample before the vCPUs run: telemetry opens each vCPU's KVM
	 * stats fd on its first sample, and that ioctl waits for the vCPU to
	 * leave KVM_RUN, which a compute guest hardly ever does. */
	tel_sample(adapt_session_tel(run.s), NULL);
	rc = adapt_session_start(run.s);
	run.t0 = util_now_ns();
	run.row_start[0] = run.t0;
	if (rc) {
		util_err("%s: the %s run could not start the guest (%s)", x->path, run.r->profile, strerror(-rc));
		adapt_session_stop(run.s);
		trc = rc;
	} else {
		atomic_init(&run.stop_collect, false);
		collecting = !pthread_create(&run.collector, NULL, collect_main, &run);
		if (!collecting)
			util_warn("no collector thread: the summary will have no samples for this run");
		trc = timeline(&run);
		if (trc || !vmm_ended(adapt_session_vmm(run.s)))
			adapt_session_stop(run.s);
	}
	adapt_session_wait(run.s, &res);
	adapt_hostload_stop(run.load);
	run.load = NULL;
	if (collecting) {
		atomic_store(&run.stop_collect, true);
		pthread_join(run.collector, NULL);
	}
	poll_sample(&run);
	finish_rows(&run, util_now_ns());
	collect_decisions(&run);
	adapt_session_close(run.s);
	note_end(run.r, &res, trc == 1 ? (c->signo == SIGINT ? "stopped by SIGINT" : "stopped by SIGTERM")
				       : rc || trc ? "stopped after an error" : "stopped at duration");
	if (rc)
		run.r->failed = true;
	read_throughput(&run, console);
	unlink(console);
	run.r->reps_done++;
	return trc;
}

/* ---- summary ------------------------------------------------------------ */

static double ratio(double sum, double w) { return w > 0 ? sum / w : NAN; }

static void row_total(const struct exp_ctx *c, const struct exp_result *r, struct exp_row *t)
{
	int i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i <= c->x.nr_phases; i++) {
		const struct exp_row *w = &r->row[i];

		t->dur_s += w->dur_s;
		t->w_s += w->w_s;
		t->cpu += w->cpu;
		t->delay += w->delay;
		t->exits += w->exits;
		t->ipc += w->ipc;
		t->ipc_w += w->ipc_w;
		t->power += w->power;
		t->power_w += w->power_w;
		t->energy_j += w->energy_j;
		t->energy_up |= w->energy_up;
		t->energy_est |= w->energy_est;
		t->samples += w->samples;
		t->decisions += w->decisions;
	}
	t->reps = r->reps_done;
}

enum metric { M_SECS, M_SAMPLES, M_CPU, M_DELAY, M_EXITS, M_IPC, M_POWER, M_ENERGY, M_DECISIONS, M_COUNT };
static const char *const metric_name[M_COUNT] = {
	"seconds", "samples", "guest CPU %", "run delay %", "exits/s", "IPC", "power W", "energy J", "decisions",
};
static const char *const metric_csv[M_COUNT] = {
	"secs", "samples", "guest_cpu_pct", "run_delay_pct", "exits_per_s", "ipc", "power_w", "energy_j", "decisions",
};

static double metric(const struct exp_row *w, enum metric m)
{
	int reps = w->reps > 0 ? w->reps : 1;

	switch (m) {
	case M_SECS: return w->reps ? w->dur_s / reps : NAN;
	case M_SAMPLES: return w->samples;
	case M_CPU: return ratio(w->cpu, w->w_s);
	case M_DELAY: return ratio(w->delay, w->w_s);
	case M_EXITS: return ratio(w->exits, w->w_s);
	case M_IPC: return ratio(w->ipc, w->ipc_w);
	case M_POWER: return ratio(w->power, w->power_w);
	case M_ENERGY: return w->energy_up ? w->energy_j / reps : NAN;
	case M_DECISIONS: return w->decisions;
	default: return NAN;
	}
}

static void fmt_metric(const struct exp_row *w, enum metric m, bool csv, char *out, size_t len)
{
	double v = metric(w, m);

	if (!isfinite(v))
		snprintf(out, len, "%s", csv ? "" : m == M_IPC ? "n/a" : "-");
	else if (m == M_SAMPLES || m == M_DECISIONS || m == M_EXITS)
		snprintf(out, len, "%.0f", v);
	else if (m == M_SECS || m == M_IPC)
		snprintf(out, len, "%.2f", v);
	else
		snprintf(out, len, "%.1f%s", v, !csv && (m == M_POWER || m == M_ENERGY) && w->energy_est ? "*" : "");
}

static void row_label(const struct exp_ctx *c, int r, char *out, size_t len)
{
	const struct pol_experiment *x = &c->x;
	double from = r ? (double)x->phase[r - 1].at_ns / 1e9 : 0;
	double to = r < x->nr_phases ? (double)x->phase[r].at_ns / 1e9 : (double)x->duration_ns / 1e9;
	char what[200];

	if (!r) {
		snprintf(out, len, "start %.2f-%.2f s", from, to);
		return;
	}
	describe_phase(&x->phase[r - 1], what, sizeof(what));
	snprintf(out, len, "phase.%d %.2f-%.2f s: %s", x->phase[r - 1].index, from, to, what);
}

static bool row_shown(const struct exp_ctx *c, int r)
{
	return r || !c->x.nr_phases || c->x.phase[0].at_ns > 0;
}

static double tput(const struct exp_result *r) { return r->tput_n ? r->tput_sum / r->tput_n : NAN; }

static void print_header(FILE *f, const struct exp_ctx *c)
{
	const struct pol_experiment *x = &c->x;

	fprintf(f, "experiment %s (%s): %s '%s', %d vCPU%s, %llu MiB, %.2f s x %d%s\n", x->name, x->path,
		x->guest, x->cmdline, x->vcpus, x->vcpus > 1 ? "s" : "",
		(unsigned long long)(x->mem_bytes >> 20), (double)x->duration_ns / 1e9, x->repeat,
		c->dry_run ? ", dry run (decisions logged, not applied)" : "");
	if (c->interrupted[0])
		fprintf(f, "INTERRUPTED: %s\n", c->interrupted);
}

static void print_table(FILE *f, const struct exp_ctx *c)
{
	char buf[256], v[32];
	struct exp_row tot;
	bool est = false;
	int i, r, m, nres = 0;

	for (i = 0; i < c->nr_runs; i++)
		if (c->res[i].reps_done)
			nres = i + 1;
	print_header(f, c);
	fprintf(f, "%-28s", "");
	for (i = 0; i < nres; i++)
		fprintf(f, " %14s", c->res[i].profile);
	fputc('\n', f);
	for (r = 0; r <= c->x.nr_phases + 1; r++) {
		if (r <= c->x.nr_phases && !row_shown(c, r))
			continue;
		if (r <= c->x.nr_phases)
			row_label(c, r, buf, sizeof(buf));
		fprintf(f, "%s\n", r <= c->x.nr_phases ? buf : "whole run");
		for (m = 0; m < M_COUNT; m++) {
			fprintf(f, "  %-26s", metric_name[m]);
			for (i = 0; i < nres; i++) {
				const struct exp_row *w = &c->res[i].row[r];

				if (r > c->x.nr_phases) {
					row_total(c, &c->res[i], &tot);
					w = &tot;
				}
				est |= w->energy_est;
				fmt_metric(w, m, false, v, sizeof(v));
				fprintf(f, " %14s", v);
			}
			fputc('\n', f);
		}
	}
	for (i = 0; i < nres; i++)
		if (c->res[i].tput_n) {
			snprintf(buf, sizeof(buf), "  throughput %s", c->res[i].tput_key);
			break;
		}
	if (i == nres)
		snprintf(buf, sizeof(buf), "  throughput");
	fprintf(f, "%-28s", buf);
	for (i = 0; i < nres; i++) {
		double t = tput(&c->res[i]);

		if (isfinite(t))
			snprintf(v, sizeof(v), "%.1f", t);
		else
			snprintf(v, sizeof(v), "-");
		fprintf(f, " %14s", v);
	}
	fputc('\n', f);
	if (nres > 1) {
		snprintf(buf, sizeof(buf), "  vs %s", c->res[0].profile);
		fprintf(f, "%-28s", buf);
		for (i = 0; i < nres; i++) {
			double t = tput(&c->res[i]) / tput(&c->res[0]);

			if (isfinite(t))
				snprintf(v, sizeof(v), "%.3f", t);
			else
				snprintf(v, sizeof(v), "-");
			fprintf(f, " %14s", v);
		}
		fputc('\n', f);
	}
	fprintf(f, "%-28s", "  guest end");
	for (i = 0; i < nres; i++)
		fprintf(f, " %14.14s", c->res[i].end);
	fputc('\n', f);
	for (i = 0; i < nres; i++) {
		if (c->res[i].tput_note[0] && !c->res[i].tput_n)
			fprintf(f, "%s: throughput unknown: %s\n", c->res[i].profile, c->res[i].tput_note);
		if (strcmp(c->res[i].end, "ok") && strcmp(c->res[i].end, "stopped at duration"))
			fprintf(f, "%s: guest end: %s\n", c->res[i].profile, c->res[i].end);
	}
	if (est)
		fprintf(f, "* estimated from a model (no RAPL energy counters on this host)\n");
	for (i = 0; i < nres; i++) {
		const struct exp_result *res = &c->res[i];

		fprintf(f, "decisions under %s:%s\n", res->profile, res->nr_listed ? "" : " none");
		for (r = 0; r < res->nr_listed; r++) {
			const struct exp_listed *l = &res->listed[r];

			fprintf(f, "  run %d %7.2f s  %-11s %s%s (%s)%s%s\n", l->rep + 1, l->t_s, l->d.kind,
				l->d.what, l->d.dry_run ? " [dry run]" : "", l->d.why,
				l->d.effect[0] ? " -> " : "", l->d.effect);
		}
	}
}

static void print_csv(FILE *f, const struct exp_ctx *c)
{
	const struct pol_experiment *x = &c->x;
	struct exp_row tot;
	char v[32], label[32];
	int i, r, m;

	fprintf(f, "experiment,profile,phase,start_s,end_s");
	for (m = 0; m < M_COUNT; m++)
		fprintf(f, ",%s", metric_csv[m]);
	fprintf(f, ",energy_estimated,throughput_key,throughput,throughput_vs_baseline,guest_end,interrupted\n");
	for (i = 0; i < c->nr_runs; i++) {
		const struct exp_result *res = &c->res[i];
		double t = tput(res), t0 = tput(&c->res[0]);

		if (!res->reps_done)
			continue;
		for (r = 0; r <= x->nr_phases + 1; r++) {
			const struct exp_row *w = &res->row[r];
			double from = r && r <= x->nr_phases ? (double)x->phase[r - 1].at_ns / 1e9 : 0;
			double to = r < x->nr_phases ? (double)x->phase[r].at_ns / 1e9 : (double)x->duration_ns / 1e9;

			if (r <= x->nr_phases && !row_shown(c, r))
				continue;
			if (r > x->nr_phases) {
				row_total(c, res, &tot);
				w = &tot;
				snprintf(label, sizeof(label), "all");
			} else if (r) {
				snprintf(label, sizeof(label), "phase.%d", x->phase[r - 1].index);
			} else {
				snprintf(label, sizeof(label), "start");
			}
			fprintf(f, "%s,%s,%s,%.3f,%.3f", x->name, res->profile, label, from, to);
			for (m = 0; m < M_COUNT; m++) {
				fmt_metric(w, m, true, v, sizeof(v));
				fprintf(f, ",%s", v);
			}
			fprintf(f, ",%s,%s,", w->energy_up ? (w->energy_est ? "yes" : "no") : "",
				res->tput_key);
			if (isfinite(t))
				fprintf(f, "%.3f", t);
			fputc(',', f);
			if (isfinite(t / t0))
				fprintf(f, "%.4f", t / t0);
			fprintf(f, ",\"%s\",%s\n", res->end, c->interrupted[0] ? "yes" : "no");
		}
	}
}

static int write_summary(const struct exp_ctx *c)
{
	const char *path = c->x.summary;
	bool to_stdout = !strcmp(path, "-");
	FILE *f = to_stdout ? stdout : fopen(path, "w");

	if (!f) {
		util_err("%s: summary = %s: cannot write it (%s); name a writable path or '-' for stdout",
			 c->x.path, path, strerror(errno));
		print_table(stdout, c);
		return -EIO;
	}
	if (c->x.format == POL_FMT_CSV)
		print_csv(f, c);
	else
		print_table(f, c);
	if (to_stdout) {
		fflush(f);
	} else {
		if (fclose(f)) {
			util_err("%s: summary = %s: write failed", c->x.path, path);
			return -EIO;
		}
		progress(c, "summary written to %s", path);
	}
	return 0;
}

/* ---- loading and the plan ----------------------------------------------- */

/* A goal profile given where an experiment file was expected. */
static bool is_profile(const char *file)
{
	bool exp = false, prof = false;
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen(file, "r");

	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		const char *p = line + strspn(line, " \t");

		exp |= !strncmp(p, "[experiment]", 12);
		prof |= !strncmp(p, "[main]", 6) || !strncmp(p, "[goal]", 6);
	}
	free(line);
	fclose(f);
	return prof && !exp;
}

static int load(struct exp_ctx *c, const char *file)
{
	struct pol_experiment *x = &c->x;
	struct pol_profile *p = malloc(sizeof(*p));
	char err[2048];
	int i, rc;

	if (!p)
		return -ENOMEM;
	c->nr_dirs = pol_default_dirs(c->dirs, c->dir_storage);
	rc = pol_exp_load(file, c->dirs, c->nr_dirs, x, err, sizeof(err));
	if (rc && is_profile(file)) {
		util_err("%s is a goal profile (it has [main] or [goal] and no [experiment]); experiments "
			 "name it in profile, compare or a phase; check it with 'avmm policy check %s'", file, file);
		goto out;
	}
	if (rc) {
		fprintf(stderr, "%s", err);
		if (*err && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		goto out;
	}
	rc = -EINVAL;
	if (access(x->guest, R_OK)) {
		util_err("%s: guest = %s: %s (relative paths resolve against the file's folder, then the "
			 "current folder); build the guests with 'make guests' or fix the path",
			 file, x->guest, strerror(errno));
		goto out;
	}
	c->nr_runs = x->nr_compare ? x->nr_compare : 1;
	for (i = 0; i < c->nr_runs; i++) {
		snprintf(c->run_spec[i], sizeof(c->run_spec[i]), "%s", x->nr_compare ? x->compare[i] : x->profile);
		if (pol_load(c->run_spec[i], c->dirs, c->nr_dirs, p, err, sizeof(err))) {
			util_err("%s: profile %s: %s", file, c->run_spec[i], err);
			goto out;
		}
		snprintf(c->res[i].profile, sizeof(c->res[i].profile), "%s", p->name);
	}
	for (i = 0; i < x->nr_phases; i++) {
		const struct pol_exp_phase *ph = &x->phase[i];

		if (ph->profile[0] && pol_load(ph->profile, c->dirs, c->nr_dirs, &c->phase_prof[i], err, sizeof(err))) {
			util_err("%s:%d: [phase.%d] profile = %s: %s", file, ph->line, ph->index, ph->profile, err);
			goto out;
		}
		if (ph->load == POL_LOAD_START &&
		    adapt_hostload_check_cpus(ph->load_cpus, ph->nr_load_cpus, err, sizeof(err))) {
			util_err("%s:%d: [phase.%d] %s", file, ph->line, ph->index, err);
			goto out;
		}
	}
	rc = 0;
out:
	free(p);
	return rc;
}

static void print_plan(FILE *f, const struct exp_ctx *c)
{
	const struct pol_experiment *x = &c->x;
	char what[256];
	int i;

	fprintf(f, "%s: valid\n", x->path);
	fprintf(f, "  name      %s\n  guest     %s '%s', %d vCPU%s, %llu MiB\n", x->name, x->guest,
		x->cmdline, x->vcpus, x->vcpus > 1 ? "s" : "", (unsigned long long)(x->mem_bytes >> 20));
	fprintf(f, "  runs     ");
	for (i = 0; i < c->nr_runs; i++)
		fprintf(f, "%s %s", i ? "," : "", c->res[i].profile);
	fprintf(f, " (x%d each), %.2f s each, about %.0f s in all\n", x->repeat,
		(double)x->duration_ns / 1e9, (double)x->duration_ns / 1e9 * c->nr_runs * x->repeat);
	fprintf(f, "  timeline  %7.2f s  start under the run's profile\n", 0.0);
	for (i = 0; i < x->nr_phases; i++) {
		describe_phase(&x->phase[i], what, sizeof(what));
		fprintf(f, "            %7.2f s  [phase.%d] %s\n", (double)x->phase[i].at_ns / 1e9,
			x->phase[i].index, what);
	}
	fprintf(f, "            %7.2f s  stop the guest if it still runs\n", (double)x->duration_ns / 1e9);
	fprintf(f, "  output    trace %s, summary %s (%s)\n", x->trace[0] ? x->trace : "none",
		strcmp(x->summary, "-") ? x->summary : "stdout", x->format == POL_FMT_CSV ? "csv" : "table");
}

static void usage(FILE *f)
{
	fprintf(f, "usage: avmm experiment [--check] [--dry-run] [--quiet] FILE\n\n"
		   "Runs what the experiment file describes (policies/experiments/ has examples)\n"
		   "once per profile in its compare list and per repeat, applies each phase at\n"
		   "its time, and prints the goal metrics per phase, profiles side by side.\n\n"
		   "  --check    validate the file (profiles, guest, host-load CPUs), print the plan\n"
		   "  --dry-run  the control loop decides and logs but changes nothing\n"
		   "  --quiet    no progress on stderr\n"
		   "  -h, --help this help\n\n"
		   "exit status: 0 done, 1 a run failed, 2 bad arguments or file,\n"
		   "130/143 stopped by SIGINT/SIGTERM (the summary shows what was measured).\n");
}

static int run_all(struct exp_ctx *c)
{
	sigset_t old;
	struct timespec zero = { 0, 0 };
	int i, rep, rc = 0, failed = 0, sig;

	sigemptyset(&c->sigs);
	sigaddset(&c->sigs, SIGINT);
	sigaddset(&c->sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &c->sigs, &old);
	for (i = 0; i < c->nr_runs && !c->signo; i++) {
		for (rep = 0; rep < c->x.repeat && !c->signo; rep++) {
			rc = run_one(c, i, rep);
			if (rc < 0)
				failed++;
			sig = sigtimedwait(&c->sigs, NULL, &zero);
			if (sig > 0 && !c->signo) {
				c->signo = sig;
				snprintf(c->interrupted, sizeof(c->interrupted), "interrupted by %s after the %s run %d",
					 sig == SIGINT ? "SIGINT" : "SIGTERM", c->res[i].profile, rep + 1);
			}
		}
	}
	/* take any signal still pending before unblocking */
	while (sigtimedwait(&c->sigs, NULL, &zero) > 0)
		;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (i = 0; i < c->nr_runs; i++)
		failed += c->res[i].failed;
	if (write_summary(c))
		failed++;
	if (c->signo)
		return 128 + c->signo;
	return failed ? 1 : 0;
}

int adapt_cli_experiment(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "check", no_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct exp_ctx *c;
	bool check = false;
	int o, rc;

	c = calloc(1, sizeof(*c));
	if (!c) {
		util_err("out of memory");
		return 1;
	}
	optind = 0; /* full rescan: the CLI may be called more than once (tests) */
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': check = true; break;
		case 'n': c->dry_run = true; break;
		case 'q': c->quiet = true; break;
		case 'h': usage(stdout); free(c); return 0;
		default: usage(stderr); free(c); return 2;
		}
	}
	if (optind != argc - 1) {
		util_err("experiment: expected one FILE, got %d", argc - optind);
		usage(stderr);
		free(c);
		return 2;
	}
	c->tty = isatty(STDERR_FILENO);
	rc = load(c, argv[optind]);
	if (rc) {
		free(c);
		return rc == -ENOMEM ? 1 : 2;
	}
	if (check) {
		print_plan(stdout, c);
		free(c);
		return 0;
	}
	rc = run_all(c);
	free(c);
	return rc;
}
