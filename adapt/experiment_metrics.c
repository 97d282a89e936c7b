/*
 * adapt: what one `avmm experiment` run measured, per phase row.
 *
 * A collector thread reads the session's newest telemetry sample every
 * EXP_POLL_NS and adds it, weighted by the time it covers, to the row its
 * time falls in; at the end the driver's decisions are counted per row (the
 * first EXP_LISTED kept for the listing) and the guest's throughput is
 * read from its AVMM-RESULT console line.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/adapt.h"
#include "adapt/experiment_int.h"
#include "adapt/session.h"
#include "common/sandbox.h"
#include "common/util.h"

static int row_of(const struct exp_run *run, uint64_t t_ns)
{
	int r = run->cur;

	while (r > 0 && t_ns < run->row_start[r])
		r--;
	return r;
}

bool adapt_exp_sample_sane(const struct tel_sample *s)
{
	int i;

	for (i = 0; i < s->nr_vcpus && i < TEL_MAX_VCPUS; i++) {
		const struct tel_vcpu_sample *v = &s->vcpu[i];

		if (!(v->cpu_pct >= 0 && v->cpu_pct <= 110 && v->run_delay_pct >= 0 &&
		      v->run_delay_pct <= 110 && v->exits_per_s >= 0 && isfinite(v->exits_per_s)))
			return false;
	}
	return true;
}

void adapt_exp_account(struct exp_run *run, const struct tel_sample *s)
{
	struct exp_row *row = &run->r->row[row_of(run, s->t_ns)];
	double w = (double)s->dt_ns / 1e9, cpu = 0, delay = 0, exits = 0, ipc = 0;
	int i, nr_ipc = 0;

	adapt_exp_series_add(run->series, run->t0, s);
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
	if (!adapt_exp_sample_sane(s)) {
		run->r->dropped++;
		return;
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
			adapt_exp_account(run, s);
		}
		pthread_mutex_unlock(&run->lock);
	}
	free(s);
}

static void *collect_main(void *arg)
{
	struct exp_run *run = arg;

	pthread_setname_np(pthread_self(), "avmm-collect");
	util_sandbox_enter(UTIL_SANDBOX_COLLECTOR);    /* prints why when it fails */
	while (!atomic_load(&run->stop_collect)) {
		poll_sample(run);
		util_sleep_ns(EXP_POLL_NS);
	}
	return NULL;
}

static void collect_decisions(struct exp_run *run)
{
	adapt_exp_count_decisions(run, adapt_session_driver(run->s));
}

void adapt_exp_count_decisions(struct exp_run *run, struct adapt_driver *d)
{
	struct tel_decision *log;
	struct exp_result *r = run->r;
	int i, n;

	if (!d || !(log = calloc(ADAPT_LOG_SIZE, sizeof(*log))))
		return;
	n = adapt_driver_log(d, log, ADAPT_LOG_SIZE);
	for (i = 0; i < n; i++) {
		if (!strcmp(log[i].kind, "profile"))
			continue;
		struct exp_listed l = {
			.rep = run->rep,
			.t_s = log[i].t_ns > run->t0 ? (double)(log[i].t_ns - run->t0) / 1e9 : 0,
			.d = log[i],
		};

		r->row[row_of(run, log[i].t_ns)].decisions++;
		if (r->nr_listed < EXP_LISTED)
			r->listed[r->nr_listed++] = l;
		adapt_exp_series_decision(run->series, &l);
	}
	free(log);
}

void adapt_exp_finish_rows(struct exp_run *run, uint64_t t_end)
{
	int r;

	for (r = 0; r <= run->cur; r++) {
		uint64_t end = r < run->cur ? run->row_start[r + 1] : t_end;

		run->r->row[r].dur_s += (double)(end - run->row_start[r]) / 1e9;
		run->r->row[r].reps++;
	}
}

bool adapt_exp_collect_start(struct exp_run *run)
{
	atomic_init(&run->stop_collect, false);
	return !pthread_create(&run->collector, NULL, collect_main, run);
}

void adapt_exp_collect_end(struct exp_run *run, bool collecting)
{
	if (collecting) {
		atomic_store(&run->stop_collect, true);
		pthread_join(run->collector, NULL);
	}
	poll_sample(run);
	adapt_exp_finish_rows(run, util_now_ns());
	collect_decisions(run);
}

/* The first of keys with a number in the line ("key=value" tokens). */
static bool find_number(const char *line, const char *const *keys, size_t nr_keys, size_t *key, double *out)
{
	size_t k;

	for (k = 0; k < nr_keys; k++) {
		size_t kl = strlen(keys[k]);
		char *copy = strdup(line), *tok, *save = NULL;

		for (tok = copy ? strtok_r(copy, " ", &save) : NULL; tok; tok = strtok_r(NULL, " ", &save)) {
			char *end;
			double v;

			if (strncmp(tok, keys[k], kl) || tok[kl] != '=')
				continue;
			v = strtod(tok + kl + 1, &end);
			if (end != tok + kl + 1 && !*end && isfinite(v)) {
				*key = k;
				*out = v;
				free(copy);
				return true;
			}
		}
		free(copy);
	}
	return false;
}

/* The guest's result line: "AVMM-RESULT guest=X key=value ... ok=1". */
void adapt_exp_read_throughput(struct exp_result *r, const char *console)
{
	static const char *const keys[] = { "ops_per_s", "mbps", "mbps_avg" };
	char *line = NULL, *last = NULL;
	size_t cap = 0, k;
	double v;
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
	if (find_number(last, keys, UTIL_ARRAY_SIZE(keys), &k, &v)) {
		snprintf(r->tput_key, sizeof(r->tput_key), "%s", keys[k]);
		r->tput_sum += v;
		r->tput_n++;
	} else {
		snprintf(r->tput_note, sizeof(r->tput_note), "no ops_per_s or mbps in: %.80s", last);
	}
	free(last);
}
