/* The session's energy: the source, opened on the first sample, and the
 * power-cap actuator with its restore. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "adapt/session_int.h"
#include "common/hoststate.h"
#include "common/util.h"

/* Opened on the first sample, off the guest's start-up path (the perf
 * backend probes its counters for 30 ms). */
static int open_energy(struct adapt_session *s)
{
	struct energy_opts o = {
		.fsroot = s->cfg.fsroot,
		.backend = s->energy_backend,
		.fallback_estimate = s->profile.energy.estimate,
		.model = { s->profile.energy.estimate_idle_w,
			   s->profile.energy.estimate_w_per_busy_core },
	};
	int rc;

	s->energy_tried = true;
	rc = energy_open(&o, &s->energy);
	if (rc)
		return rc;
	if (s->profile.enabled[POL_AD_ENERGY] || s->profile.objective == POL_OBJ_POWER_CAP) {
		if (energy_cap_open(&s->cap, s->cfg.fsroot, NULL, s->cap_why, sizeof(s->cap_why)) == 0) {
			s->cap.state = s->state;
			s->cap_open = true;
		} else
			util_warn("power capping unavailable, the loop will not cap: %s", s->cap_why);
	}
	return 0;
}

int adapt_session_energy_init(struct adapt_session *s)
{
	if (s->cfg.energy_backend && energy_backend_parse(s->cfg.energy_backend, &s->energy_backend)) {
		util_err("--energy '%s': expected auto, powercap, perf, papi, estimate or none",
			 s->cfg.energy_backend);
		return -EINVAL;
	}
	return 0;
}

void adapt_session_energy_exit(struct adapt_session *s)
{
	char msg[256];

	if (s->cap_open && energy_cap_restore(&s->cap, msg, sizeof(msg))) {
		util_err("restoring power limits: %s; `avmm restore` retries from %s", msg,
			 util_state_path(s->state));
		s->restore_failed = true;
	}
	s->cap_open = false;
	if (s->energy)
		energy_close(s->energy);
	s->energy = NULL;
	adapt_cpu_load_close(&s->cpu_load);
}

/* The tick's read of /proc/stat, when the gate says so (loadgate.c): the
 * coremap proposal (same thread, right after the sample) reads pu_busy_pct,
 * the model busy_cores (until the first interval is known, -1 lets energy
 * read it itself) and the attribution host_busy_ns. A steady tick keeps the
 * last reading: the next one averages over the whole gap. */
static void host_load(struct adapt_session *s, const struct tel_sample *smp)
{
	uint64_t period = __atomic_load_n(&s->loop_period_ns, __ATOMIC_RELAXED);
	enum adapt_load_due due = adapt_load_due(&s->load_gate, smp, period, s->profile.period_ns,
						 s->profile.coremap.noisy_run_delay_pct);

	adapt_load_gate_note(&s->load_gate, smp, due);
	if (due == ADAPT_LOAD_KEEP)
		return;
	if (adapt_cpu_busy_pct(&s->cpu_load, s->cfg.fsroot, s->pu_busy_pct,
			       ADAPT_CPU_LOAD_MAX) < 0)
		memset(s->pu_busy_pct, 0, sizeof(s->pu_busy_pct));
}

int adapt_session_energy_sample(void *arg, const struct tel_sample *smp, double busy_cores,
				struct tel_energy_sample *out)
{
	struct adapt_session *s = arg;
	struct tel_source_status st;
	struct energy_reading r;
	uint64_t now_ns = smp->t_ns;
	int rc;

	(void)busy_cores; /* the model wants the whole host's busy CPUs, not the vCPUs' */
	host_load(s, smp);
	if (!s->energy_tried) {
		uint64_t c0 = util_thread_cpu_ns();

		rc = open_energy(s);
		adapt_session_oneoff(s, "energy source opened", util_thread_cpu_ns() - c0);
		if (rc)
			return rc;
	}
	if (!s->energy)
		return -ENODEV;
	rc = energy_read(s->energy, now_ns, s->cpu_load.busy_cores, &r);
	if (rc)
		return rc;
	energy_fill_tel(&r, s->cap_open ? s->cap.cap_w : 0, out, &st);
	out->host_busy_ns = s->cpu_load.busy_ns;
	return 0;
}

int adapt_session_apply_energy(void *ctx, const struct adapt_change *c, char *msg, size_t len)
{
	struct adapt_session *s = ctx;

	if (!s->cap_open) {
		snprintf(msg, len, "power capping unavailable: %s",
			 *s->cap_why ? s->cap_why : "no powercap zone");
		return -ENODEV;
	}
	if (c->u.energy.cap_w <= 0)
		return energy_cap_restore(&s->cap, msg, len);
	return energy_cap_set(&s->cap, c->u.energy.cap_w, 0, msg, len) < 0 ? -EIO : 0;
}
