/*
 * adapt: the timeline of one `avmm experiment` run, on the calling thread.
 *
 * Applies each phase at its time (profile switch through the driver, host
 * load start/stop), stops at the guest's end or at duration_s, and takes
 * SIGINT/SIGTERM with sigtimedwait while they are blocked, so a signal
 * ends the run cleanly and what was measured so far is kept.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "adapt/adapt.h"
#include "adapt/experiment_int.h"
#include "adapt/session.h"
#include "common/util.h"

void adapt_exp_describe_phase(const struct pol_exp_phase *ph, char *out, size_t len)
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

const char *adapt_exp_signal_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGHUP ? "SIGHUP" : sig == SIGQUIT ? "SIGQUIT" : "SIGTERM";
}

/* ---- signals ------------------------------------------------------------ */

void adapt_exp_signals_block(struct exp_ctx *c, sigset_t *old)
{
	sigemptyset(&c->sigs);
	sigaddset(&c->sigs, SIGINT);
	sigaddset(&c->sigs, SIGTERM);
	sigaddset(&c->sigs, SIGHUP);
	sigaddset(&c->sigs, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &c->sigs, old);
}

int adapt_exp_signal_pending(const struct exp_ctx *c)
{
	struct timespec zero = { 0, 0 };
	int sig = sigtimedwait(&c->sigs, NULL, &zero);

	return sig > 0 ? sig : 0;
}

void adapt_exp_signals_restore(const struct exp_ctx *c, const sigset_t *old)
{
	/* take any signal still pending before unblocking */
	while (adapt_exp_signal_pending(c))
		;
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* ---- phases ------------------------------------------------------------- */

static int apply_phase(struct exp_run *run, int i, uint64_t now)
{
	struct exp_ctx *c = run->c;
	const struct pol_exp_phase *ph = &c->x.phase[i];
	struct adapt_driver *d = adapt_session_driver(run->s);
	char what[256], err[256];
	int rc;

	adapt_exp_describe_phase(ph, what, sizeof(what));
	adapt_exp_progress(c, "  %7.2f s  [phase.%d] %s", (double)(now - run->t0) / 1e9, ph->index, what);
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

/* The next wake-up: the poll interval, or sooner for a phase or the end. */
static uint64_t next_wait(const struct pol_experiment *x, int next, uint64_t el)
{
	uint64_t wait = EXP_POLL_NS;

	if (next < x->nr_phases && x->phase[next].at_ns - el < wait)
		wait = x->phase[next].at_ns - el;
	if (x->duration_ns - el < wait)
		wait = x->duration_ns - el;
	return wait;
}

int adapt_exp_timeline(struct exp_run *run)
{
	struct exp_ctx *c = run->c;
	const struct pol_experiment *x = &c->x;
	struct vmm *vm = adapt_session_vmm(run->s);
	int next = 0, rc, sig;

	for (;;) {
		uint64_t now = util_now_ns(), el = now - run->t0;
		struct timespec ts = { 0, 0 };

		while (next < x->nr_phases && x->phase[next].at_ns <= el) {
			rc = apply_phase(run, next++, now);
			if (rc)
				return rc;
		}
		now = util_now_ns();
		el = now - run->t0;
		if (vmm_ended(vm)) {
			adapt_exp_progress(c, "  %7.2f s  the guest ended", (double)el / 1e9);
			return 0;
		}
		if (el >= x->duration_ns) {
			adapt_exp_progress(c, "  %7.2f s  duration reached: stopping the guest", (double)el / 1e9);
			return 0;
		}
		if (c->tty && !c->quiet && now - run->last_progress >= EXP_PROGRESS_NS) {
			fprintf(stderr, "\r\033[K  %7.2f / %.2f s", (double)el / 1e9, (double)x->duration_ns / 1e9);
			run->last_progress = now;
		}
		ts.tv_nsec = (long)next_wait(x, next, el);
		sig = sigtimedwait(&c->sigs, NULL, &ts);
		if (sig > 0) {
			c->signo = sig;
			snprintf(c->interrupted, sizeof(c->interrupted),
				 "interrupted by %s at %.2f s of the %s run %d: figures up to then",
				 adapt_exp_signal_name(sig), (double)el / 1e9, run->r->profile, run->rep + 1);
			adapt_exp_progress(c, "  %7.2f s  %s: stopping", (double)el / 1e9, adapt_exp_signal_name(sig));
			return 1;
		}
	}
}
