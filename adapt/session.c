/* One guest with telemetry, energy, control socket and the control loop:
 * the lifecycle table and the parts that need no file of their own. */
#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adapt/place.h"
#include "adapt/session_int.h"
#include "common/hoststate.h"
#include "common/util.h"

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
	if (s->cfg.agent)
		return 0;
	adapt_session_bankmap_track(s);   /* written pages: the dirty ring */
	int rc = vmm_create(&s->cfg.vm, &s->vm);

	if (!rc && s->cfg.incoming)
		return adapt_session_incoming(s);
	return rc || !s->cfg.restore_path ? rc : adapt_session_restore(s);
}

static void exit_vm(struct adapt_session *s)
{
	vmm_destroy(s->vm);
	s->vm = NULL;
}

/* Guest RAM is one host mapping (vmm-core/memory.c): from the first region's
 * start to the end of the last. */
int adapt_session_guest_ram(const struct vmm *vm, void **hva, uint64_t *bytes)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	uint64_t gpa, n;
	void *p;

	for (int i = 0; vmm_ram_region(vm, i, &p, &gpa, &n) == 0; i++) {
		if ((uintptr_t)p < lo)
			lo = (uintptr_t)p;
		if ((uintptr_t)p + n > hi)
			hi = (uintptr_t)p + n;
	}
	if (hi <= lo)
		return -ENOENT;
	*hva = (void *)lo;
	*bytes = hi - lo;
	return 0;
}

int adapt_session_tel_open(struct adapt_session *s, const struct tel_target *tg,
			   struct tel_http *http)
{
	struct tel_config c = {
		.metrics_addr = s->cfg.metrics_addr,
		.http = http,
		.nr_traces = s->cfg.nr_traces,
		.counters = s->cfg.counters,
		.run_id = s->run_id,
		.profile_name = s->profile.name,
		.vm_name = s->cfg.name ? s->cfg.name : s->cfg.agent ? "agent" : "avmm",
		.period_ns = s->profile.period_ns,
		.fsroot = s->cfg.fsroot,
		/* a bad --trace or --metrics stops `avmm run` before the guest starts,
		 * unless asked for best effort; the agent serves its VMs regardless */
		.exporters_optional = s->cfg.best_effort || s->cfg.agent,
	};
	int rc;

	memcpy(c.trace_paths, s->cfg.traces, sizeof(c.trace_paths));
	adapt_agent_health_config(s, &c);
	rc = tg ? tel_open_target(&c, tg, &s->tel) : tel_open(&c, s->vm, &s->tel);
	if (!rc)
		tel_set_energy_fn(s->tel, adapt_session_energy_sample, s);
	return rc;
}

void adapt_session_tel_close(struct adapt_session *s)
{
	tel_close(s->tel);
	s->tel = NULL;
}

/* The agent opens telemetry when VMs register (agent.c). */
static int step_tel(struct adapt_session *s)
{
	return s->cfg.agent ? 0 : adapt_session_tel_open(s, NULL, NULL);
}

/* The loop, then the paging and lifecycle commands (which read the driver
 * it made). */
static int step_loop(struct adapt_session *s)
{
	int rc = s->cfg.agent ? 0 : adapt_session_loop_init(s);

	if (!rc)
		rc = adapt_session_paging_ctl(s);
	return rc ? rc : adapt_session_lifecycle_ctl(s);
}

static int step_ctl(struct adapt_session *s)
{
	gid_t group = (gid_t)-1;
	int rc;

	if (s->cfg.socket_path && !*s->cfg.socket_path)
		return 0;
	if (s->cfg.socket_group) {
		struct group *g = getgrnam(s->cfg.socket_group);

		if (!g) {
			util_err("--socket-group %s: no such group", s->cfg.socket_group);
			return -EINVAL;
		}
		group = g->gr_gid;
	}
	if (s->cfg.socket_path)
		snprintf(s->socket, sizeof(s->socket), "%s", s->cfg.socket_path);
	else if (s->cfg.agent)
		adapt_agent_socket_path(&s->cfg, s->socket, sizeof(s->socket));
	else if ((rc = vmm_ctl_default_path(s->cfg.name, s->socket, sizeof(s->socket)))) {
		util_err("--name '%s': %s", s->cfg.name, rc == -EINVAL ? "use 1-64 letters, digits, "
			 "'.', '_' or '-', not starting with '.' or '-'" : "too long");
		return rc;
	}
	rc = vmm_ctl_open(s->socket, group, &s->ctl);
	if (rc == -EADDRINUSE && !s->cfg.socket_path && !s->cfg.name) {
		/* another unnamed avmm has the default: take a per-process name */
		char name[32];

		snprintf(name, sizeof(name), "avmm-%d", (int)getpid());
		if (vmm_ctl_default_path(name, s->socket, sizeof(s->socket)))
			return -ENAMETOOLONG;
		util_warn("this avmm's control socket is %s (give --name to choose one)", s->socket);
		rc = vmm_ctl_open(s->socket, group, &s->ctl);
	}
	if (rc == -EADDRINUSE)
		util_err("control socket %s is in use by a running avmm: give this VM another "
			 "--name or --socket", s->socket);
	if (rc == -EACCES || rc == -EPERM || rc == -ENOENT || rc == -EROFS) {
		util_warn("running without a control socket (avmm stat and avmm ctl cannot "
			  "attach): give a writable --socket PATH or set AVMM_RUN_DIR");
		return 0;
	}
	if (!rc && s->tel)
		rc = tel_register_ctl(s->tel, s->ctl);
	return rc;
}

static void exit_ctl(struct adapt_session *s)
{
	vmm_ctl_close(s->ctl);
	s->ctl = NULL;
}

/* Puts back what killed avmm processes left, then opens this one's journal. */
static int step_state(struct adapt_session *s)
{
	char report[4096];
	int rc = util_state_repair(util_run_dir(), report, sizeof(report));

	if (rc > 0)
		util_warn("repaired what %d stopped avmm process(es) left:\n%s", rc, report);
	else if (rc < 0)
		util_warn("could not repair everything a stopped avmm left (run `avmm restore`):"
			  "\n%s", report);
	rc = util_state_open(util_run_dir(), s->cfg.name, &s->state);
	if (rc)
		util_warn("no host-state journal under %s (%s): a killed avmm's power limits "
			  "could not be repaired; run as root or set AVMM_RUN_DIR", util_run_dir(),
			  strerror(-rc));
	return 0;
}

static void exit_state(struct adapt_session *s)
{
	if (!s->restore_failed)
		util_state_clear(s->state);
	util_state_close(s->state);
	s->state = NULL;
}

static const struct {
	const char *name;
	int (*init)(struct adapt_session *s);
	void (*exit)(struct adapt_session *s);
} steps[] = {
	{ "profile", step_profile, NULL },
	{ "host state", step_state, exit_state },
	{ "vm", step_vm, exit_vm },
	{ "energy", adapt_session_energy_init, adapt_session_energy_exit },
	{ "telemetry", step_tel, adapt_session_tel_close },
	{ "paging-mode worker", adapt_session_paging_init, adapt_session_paging_exit },
	{ "bankmap", adapt_session_bankmap_init, adapt_session_bankmap_exit },
	{ "control socket", step_ctl, exit_ctl },
	{ "agent", adapt_agent_init, adapt_agent_exit },
	{ "control loop", step_loop, adapt_session_loop_exit },
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
	s->cpu_load.busy_cores = -1;
	s->memsig.mem_available_pct = -1;
	pthread_mutex_init(&s->cost_lock, NULL);
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
	int rc = adapt_session_paging_start(s); /* the profile's backing, if it sets one */

	if (!rc)
		rc = adapt_session_start_vm(s);   /* fixed placements before the first instruction */
	if (rc)
		return rc;
	s->running = true;
	/* under a node agent this VM's loop stays idle: the agent drives it */
	if (s->driver && !adapt_link_start(s))
		return tel_start(s->tel);
	if (s->driver)
		return adapt_driver_start(s->driver);
	return tel_start(s->tel);
}

int adapt_session_wait(struct adapt_session *s, struct vmm_result *res)
{
	int rc = vmm_wait(s->vm, res);

	if (!rc && s->migrated) {   /* the guest runs on at the target */
		res->exit_status = 0;
		snprintf(res->why, sizeof(res->why), "%s", s->migrate_summary);
	}

	adapt_link_stop(s);   /* unregisters; the watcher may have started our loop */
	if (s->driver)
		adapt_driver_stop(s->driver);
	tel_stop(s->tel);
	s->running = false;
	return rc;
}

void adapt_session_stop(struct adapt_session *s)
{
	if (s->agent)
		adapt_agent_stop(s);
	else
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
	pthread_mutex_destroy(&s->cost_lock);
	free(s);
}

struct vmm *adapt_session_vmm(struct adapt_session *s) { return s->vm; }
struct tel *adapt_session_tel(struct adapt_session *s) { return s->tel; }
struct adapt_driver *adapt_session_driver(struct adapt_session *s) { return s->driver; }
const char *adapt_session_profile_name(const struct adapt_session *s) { return s->profile.name; }
const char *adapt_session_socket(const struct adapt_session *s) { return s->ctl ? s->socket : NULL; }
