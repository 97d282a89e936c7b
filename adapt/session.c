/* One guest with telemetry, energy, control socket and the control loop. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adapt/adapt.h"
#include "adapt/session.h"
#include "common/util.h"
#include "coremap/coremap.h"
#include "energy/energy.h"

struct adapt_session {
	struct adapt_session_cfg cfg;
	struct pol_profile profile;
	const char *dirs[POL_MAX_DIRS];
	char dir_storage[POL_MAX_DIRS][POL_PATH_MAX];
	int nr_dirs;
	char run_id[48], socket[108];
	struct vmm *vm;
	enum energy_backend energy_backend;
	bool energy_tried;
	struct energy_src *energy;
	struct energy_cap cap;
	bool cap_open;
	char cap_why[256];
	struct tel *tel;
	struct vmm_ctl *ctl;
	struct coremap_topo *topo;
	struct adapt_driver *driver;
	struct adapt_cpu_load cpu_load;
	cpu_set_t start_cpus;   /* the process's CPUs at open: what unpinning restores */
	double pu_busy_pct[ADAPT_CPU_LOAD_MAX]; /* read by adapt_step through env */
	int started;          /* steps brought up */
	bool running;
};

static int step_profile(struct adapt_session *s)
{
	char err[512];
	int rc;

	s->nr_dirs = pol_default_dirs(s->dirs, s->dir_storage);
	rc = pol_load_machine(s->cfg.profile, s->cfg.profile_file, s->dirs, s->nr_dirs,
			      &s->profile, err, sizeof(err));
	if (rc)
		util_err("%s", err);
	return rc;
}

static int step_vm(struct adapt_session *s)
{
	return vmm_create(&s->cfg.vm, &s->vm);
}

static void exit_vm(struct adapt_session *s)
{
	vmm_destroy(s->vm);
	s->vm = NULL;
}

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
		if (energy_cap_open(&s->cap, s->cfg.fsroot, NULL, s->cap_why, sizeof(s->cap_why)) == 0)
			s->cap_open = true;
		else
			util_warn("power capping unavailable, the loop will not cap: %s", s->cap_why);
	}
	return 0;
}

static int step_energy(struct adapt_session *s)
{
	if (s->cfg.energy_backend && energy_backend_parse(s->cfg.energy_backend, &s->energy_backend)) {
		util_err("--energy '%s': expected auto, powercap, perf, papi, estimate or none",
			 s->cfg.energy_backend);
		return -EINVAL;
	}
	return 0;
}

static void exit_energy(struct adapt_session *s)
{
	char msg[256];

	if (s->cap_open && energy_cap_restore(&s->cap, msg, sizeof(msg)))
		util_err("restoring power limits: %s", msg);
	s->cap_open = false;
	if (s->energy)
		energy_close(s->energy);
	s->energy = NULL;
}

static int energy_sample(void *arg, uint64_t now_ns, double busy_cores,
			 struct tel_energy_sample *out)
{
	struct adapt_session *s = arg;
	struct tel_source_status st;
	struct energy_reading r;
	int rc;

	(void)busy_cores; /* the model takes the host's busy CPUs from /proc/stat */
	if (!s->energy_tried && (rc = open_energy(s)))
		return rc;
	if (!s->energy)
		return -ENODEV;
	rc = energy_read(s->energy, now_ns, -1.0, &r);
	if (rc)
		return rc;
	energy_fill_tel(&r, s->cap_open ? s->cap.cap_w : 0, out, &st);
	return 0;
}

static int step_tel(struct adapt_session *s)
{
	struct tel_config c = {
		.metrics_addr = s->cfg.metrics_addr,
		.nr_traces = s->cfg.nr_traces,
		.counters = s->cfg.counters,
		.run_id = s->run_id,
		.profile_name = s->profile.name,
		.vm_name = s->cfg.name ? s->cfg.name : "avmm",
		.period_ns = s->profile.period_ns,
		.fsroot = s->cfg.fsroot,
		.exporters_optional = true, /* a bad --trace or --metrics does not stop the VM */
	};
	int rc;

	memcpy(c.trace_paths, s->cfg.traces, sizeof(c.trace_paths));
	rc = tel_open(&c, s->vm, &s->tel);
	if (!rc)
		tel_set_energy_fn(s->tel, energy_sample, s);
	return rc;
}

static void exit_tel(struct adapt_session *s)
{
	tel_close(s->tel);
	s->tel = NULL;
}

static int step_ctl(struct adapt_session *s)
{
	int rc;

	if (s->cfg.socket_path && !*s->cfg.socket_path)
		return 0;
	if (s->cfg.socket_path)
		snprintf(s->socket, sizeof(s->socket), "%s", s->cfg.socket_path);
	else if (vmm_ctl_default_path(s->cfg.name, s->socket, sizeof(s->socket)))
		return -ENAMETOOLONG;
	rc = vmm_ctl_open(s->socket, &s->ctl);
	if (rc == -EADDRINUSE && !s->cfg.socket_path && !s->cfg.name) {
		/* another unnamed avmm has the default: take a per-process name */
		char name[32];

		snprintf(name, sizeof(name), "avmm-%d", (int)getpid());
		if (vmm_ctl_default_path(name, s->socket, sizeof(s->socket)))
			return -ENAMETOOLONG;
		util_warn("this avmm's control socket is %s (give --name to choose one)", s->socket);
		rc = vmm_ctl_open(s->socket, &s->ctl);
	}
	if (rc == -EADDRINUSE)
		util_err("control socket %s is in use by a running avmm: give this VM another "
			 "--name or --socket", s->socket);
	if (rc == -EACCES || rc == -EPERM || rc == -ENOENT || rc == -EROFS) {
		util_warn("running without a control socket (avmm stat and avmm ctl cannot "
			  "attach): give a writable --socket PATH or set AVMM_RUN_DIR");
		return 0;
	}
	if (!rc)
		rc = tel_register_ctl(s->tel, s->ctl);
	return rc;
}

static void exit_ctl(struct adapt_session *s)
{
	vmm_ctl_close(s->ctl);
	s->ctl = NULL;
}

/* pcpu -1 unpins: the thread gets back the CPUs the process started with. */
static int unpin(struct adapt_session *s, pid_t tid, char *msg, size_t len)
{
	if (sched_setaffinity(tid, sizeof(s->start_cpus), &s->start_cpus) == 0)
		return 0;
	snprintf(msg, len, "unpinning thread %d: %s", tid, strerror(errno));
	return -errno;
}

static int apply_coremap(void *ctx, const struct adapt_change *c, char *msg, size_t len)
{
	struct adapt_session *s = ctx;
	struct coremap_apply_result r;
	pid_t tids[ADAPT_MAX_VCPUS];
	int cpus[ADAPT_MAX_VCPUS], i, n = 0, rc;

	for (i = 0; i < c->u.coremap.nr && i < vmm_nr_vcpus(s->vm); i++) {
		if (c->u.coremap.pcpu[i] >= 0) {
			tids[n] = vmm_vcpu_tid(s->vm, i);
			cpus[n++] = c->u.coremap.pcpu[i];
		} else if ((rc = unpin(s, vmm_vcpu_tid(s->vm, i), msg, len))) {
			return rc;
		}
	}
	rc = coremap_apply(&coremap_real_ops, tids, cpus, n, &r);
	if (rc)
		snprintf(msg, len, "%s", r.why);
	else
		snprintf(msg, len, "pinned %d vCPU thread(s) in %.1f us", r.nr_moved,
			 r.latency_ns / 1e3);
	return rc;
}

static int apply_energy(void *ctx, const struct adapt_change *c, char *msg, size_t len)
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

/* The loop's sample: telemetry, then the host load per CPU that the
 * coremap proposal reads through env.pu_busy_pct (same thread). */
static int session_sample(void *arg, struct tel_sample *out)
{
	struct adapt_session *s = arg;
	int rc = tel_sample(s->tel, out);

	if (!rc && adapt_cpu_busy_pct(&s->cpu_load, s->cfg.fsroot, s->pu_busy_pct,
				      ADAPT_CPU_LOAD_MAX) < 0)
		memset(s->pu_busy_pct, 0, sizeof(s->pu_busy_pct));
	return rc;
}

static void tel_publish_fn(void *arg, const struct tel_decision *d)
{
	tel_publish_decision(arg, d);
}

/* On the loop thread, one period after start: the host topology (hwloc
 * takes tens of ms) for the coremap proposals. */
static void warmup(void *arg, struct adapt_env *env)
{
	struct adapt_session *s = arg;

	if (coremap_topo_load(NULL, &s->topo))
		util_warn("no host topology: vCPU mapping stays as it is");
	env->topo = s->topo;
}

static int step_driver(struct adapt_session *s)
{
	struct adapt_driver_cfg c = {
		.profile = &s->profile,
		.sample = session_sample, .sample_arg = s,
		.publish = tel_publish_fn, .publish_arg = s->tel,
		.pause = adapt_vmm_pause, .resume = adapt_vmm_resume, .vm_arg = s->vm,
		.dry_run = s->cfg.dry_run,
		.profile_dirs = s->dirs, .nr_profile_dirs = s->nr_dirs,
	};
	struct adapt_actuator cm = { "coremap", ADAPT_COREMAP, false, apply_coremap, s };
	struct adapt_actuator en = { "energy", ADAPT_ENERGY, false, apply_energy, s };
	int rc;

	if (s->cfg.no_adapt)
		return 0;
	adapt_env_init(&c.env);
	c.env.pu_busy_pct = s->pu_busy_pct;
	c.env.nr_pu_busy = ADAPT_CPU_LOAD_MAX;
	c.warmup = warmup;
	c.warmup_arg = s;
	rc = adapt_driver_create(&c, &s->driver);
	if (rc)
		return rc;
	rc = adapt_driver_register(s->driver, &cm);
	if (!rc)
		rc = adapt_driver_register(s->driver, &en);
	if (!rc && s->ctl)
		rc = adapt_driver_ctl_register(s->driver, s->ctl);
	return rc;
}

static void exit_driver(struct adapt_session *s)
{
	if (s->driver) {
		adapt_driver_stop(s->driver);
		adapt_driver_destroy(s->driver);
	}
	coremap_topo_free(s->topo);
	s->driver = NULL;
	s->topo = NULL;
}

static const struct {
	const char *name;
	int (*init)(struct adapt_session *s);
	void (*exit)(struct adapt_session *s);
} steps[] = {
	{ "profile", step_profile, NULL },
	{ "vm", step_vm, exit_vm },
	{ "energy", step_energy, exit_energy },
	{ "telemetry", step_tel, exit_tel },
	{ "control socket", step_ctl, exit_ctl },
	{ "control loop", step_driver, exit_driver },
};

int adapt_session_open(const struct adapt_session_cfg *cfg, struct adapt_session **out)
{
	struct adapt_session *s = calloc(1, sizeof(*s));
	time_t now = time(NULL);
	struct tm tm;
	int rc = 0;

	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	if (sched_getaffinity(0, sizeof(s->start_cpus), &s->start_cpus))
		CPU_ZERO(&s->start_cpus);
	if (cfg->run_id) {
		snprintf(s->run_id, sizeof(s->run_id), "%s", cfg->run_id);
	} else {
		gmtime_r(&now, &tm);
		strftime(s->run_id, sizeof(s->run_id), "%Y%m%dT%H%M%SZ", &tm);
		snprintf(s->run_id + strlen(s->run_id), 12, "-%d", (int)getpid());
	}
	for (; s->started < (int)UTIL_ARRAY_SIZE(steps); s->started++) {
		rc = steps[s->started].init(s);
		if (rc) {
			util_debug("session: %s failed (%d)", steps[s->started].name, rc);
			adapt_session_close(s);
			return rc;
		}
	}
	*out = s;
	return 0;
}

int adapt_session_start(struct adapt_session *s)
{
	int rc = vmm_start(s->vm);

	if (rc)
		return rc;
	s->running = true;
	if (s->driver)
		return adapt_driver_start(s->driver);
	return tel_start(s->tel);
}

int adapt_session_wait(struct adapt_session *s, struct vmm_result *res)
{
	int rc = vmm_wait(s->vm, res);

	if (s->driver)
		adapt_driver_stop(s->driver);
	else
		tel_stop(s->tel);
	s->running = false;
	return rc;
}

void adapt_session_stop(struct adapt_session *s)
{
	vmm_request_stop(s->vm);
}

void adapt_session_close(struct adapt_session *s)
{
	if (!s)
		return;
	while (s->started > 0) {
		s->started--;
		if (steps[s->started].exit)
			steps[s->started].exit(s);
	}
	free(s);
}

struct vmm *adapt_session_vmm(struct adapt_session *s) { return s->vm; }
struct tel *adapt_session_tel(struct adapt_session *s) { return s->tel; }
struct adapt_driver *adapt_session_driver(struct adapt_session *s) { return s->driver; }
const char *adapt_session_profile_name(const struct adapt_session *s) { return s->profile.name; }
