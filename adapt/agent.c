/* The node agent (`avmm agent`): the VM table and the commands on the agent
 * socket (register, unregister, hello, list, profile, stat). VMs register
 * with their vCPU thread ids and KVM stats fds; agent_run.c turns them into
 * one plan. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapt/session_int.h"
#include "common/hoststate.h"
#include "common/util.h"

void adapt_agent_socket_path(const struct adapt_session_cfg *cfg, char *out, size_t len)
{
	if (cfg->agent_socket && *cfg->agent_socket)
		snprintf(out, len, "%s", cfg->agent_socket);
	else
		snprintf(out, len, "%s/agent.sock", util_run_dir());
}

void adapt_agent_wake(struct adapt_agent *a)
{
	uint64_t one = 1;

	if (write(a->wake_fd, &one, sizeof(one)) < 0)
		util_debug("agent: wake: %s", strerror(errno));
}

static char *dump(json_t *o, int *err)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (!s)
		*err = ENOMEM;
	return s;
}

static char *refuse(const char *msg, int *err)
{
	return dump(json_pack("{s:b,s:s}", "ok", 0, "error", msg), err);
}

static int find_vm(const struct adapt_agent *a, pid_t pid)
{
	for (int i = 0; i < a->nr_vms; i++)
		if (a->vm[i].pid == pid)
			return i;
	return -1;
}

void adapt_agent_drop_vm(struct adapt_session *s, int i)
{
	struct adapt_agent *a = s->agent;
	struct agent_vm *v = &a->vm[i];

	/* the loop reads the VM's stats fds and run-delay page: it stops before
	 * they go (the main thread's rebuild starts it again, without them) */
	if (s->driver)
		adapt_driver_stop(s->driver);

	for (int k = 0; k < v->nr_vcpus; k++)
		if (v->stats_fd[k] >= 0)
			close(v->stats_fd[k]);
	if (v->steal)
		munmap((void *)v->steal, UTIL_STEAL_PAGE_BYTES);
	if (v->pidfd >= 0)
		close(v->pidfd);
	a->vm[i] = a->vm[--a->nr_vms];
	a->generation++;
}

/* The registering VM's batch job id ("job_id"): kept when it is a plain
 * word (letters, digits, '.', '_', '-'), else dropped. */
static void job_id_of(json_t *o, char *out, size_t len)
{
	const char *j = json_string_value(json_object_get(o, "job_id"));

	out[0] = 0;
	if (!j || strlen(j) >= len)
		return;
	for (const char *c = j; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("._-", *c))
			return;
	snprintf(out, len, "%s", j);
}

/* The VM's control socket ("ctl"), kept when it is a socket of the
 * registering user (the health watch migrates the VM through it). */
static void ctl_of(json_t *o, uid_t uid, char *out, size_t len)
{
	const char *c = json_string_value(json_object_get(o, "ctl"));
	struct stat st;

	out[0] = 0;
	if (!c || c[0] != '/' || strlen(c) >= len)
		return;
	if (lstat(c, &st) || !S_ISSOCK(st.st_mode) || st.st_uid != uid) {
		util_warn("agent: register: %s is not a control socket of uid %d: the health "
			  "watch cannot migrate this VM", c, (int)uid);
		return;
	}
	snprintf(out, len, "%s", c);
}

/* The profile in force (lock held): the loop's, which a switch changes at
 * once, else the machine's. */
static void profile_now(struct adapt_session *s, char *out, size_t len)
{
	struct pol_profile *cur = s->driver ? malloc(sizeof(*cur)) : NULL;

	if (cur)
		adapt_driver_get_profile(s->driver, cur);
	snprintf(out, len, "%s", cur ? cur->name : s->profile.name);
	free(cur);
}

/* {"cmd":"register","name":N,"pid":P,"vcpus":[{"tid":T,"stats_fd":F},...],
 *  "steal_fd":S}
 * from the VM's own process (the peer's pid must be P). */
static char *cmd_register(const char *req, const struct vmm_ctl_peer *peer, void *arg, int *err)
{
	struct adapt_session *s = arg;
	struct adapt_agent *a = s->agent;
	json_t *o = json_loads(req, 0, NULL), *vcpus, *e;
	struct agent_vm v = { .pidfd = -1, .remote_steal_fd = -1 };
	const char *name;
	char path[64], msg[160], pname[POL_NAME_MAX];
	size_t k;
	int i;

	name = json_string_value(json_object_get(o, "name"));
	v.pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
	vcpus = json_object_get(o, "vcpus");
	if (!name || !vmm_ctl_valid_name(name) || v.pid <= 0 || !json_is_array(vcpus) ||
	    !json_array_size(vcpus) || json_array_size(vcpus) > VMM_MAX_VCPUS) {
		json_decref(o);
		return refuse("register: expected name, pid and 1-64 vcpus", err);
	}
	if (peer && peer->pid != v.pid) {
		json_decref(o);
		snprintf(msg, sizeof(msg), "register: pid %d is not the caller (pid %d): a VM "
			 "registers itself", (int)v.pid, peer ? (int)peer->pid : 0);
		return refuse(msg, err);
	}
	snprintf(v.name, sizeof(v.name), "%s", name);
	v.uid = peer ? peer->uid : 0;
	job_id_of(o, v.job_id, sizeof(v.job_id));
	ctl_of(o, v.uid, v.ctl, sizeof(v.ctl));
	v.paused = json_is_true(json_object_get(o, "paused"));
	if (json_is_integer(json_object_get(o, "steal_fd")))
		v.remote_steal_fd = (int)json_integer_value(json_object_get(o, "steal_fd"));
	json_array_foreach(vcpus, k, e) {
		v.tid[k] = (pid_t)json_integer_value(json_object_get(e, "tid"));
		v.remote_fd[k] = json_is_integer(json_object_get(e, "stats_fd")) ?
			(int)json_integer_value(json_object_get(e, "stats_fd")) : -1;
		v.stats_fd[k] = -1;
		snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)v.pid, (int)v.tid[k]);
		if (v.tid[k] <= 0 || access(path, F_OK)) {
			json_decref(o);
			snprintf(msg, sizeof(msg), "register: thread %d is not a thread of pid %d",
				 (int)v.tid[k], (int)v.pid);
			return refuse(msg, err);
		}
	}
	v.nr_vcpus = (int)json_array_size(vcpus);
	json_decref(o);
	pthread_mutex_lock(&a->lock);
	i = find_vm(a, v.pid);
	if (i >= 0)
		adapt_agent_drop_vm(s, i); /* registered again (e.g. after an agent restart): replace */
	for (i = 0; i < a->nr_vms; i++)
		if (!strcmp(a->vm[i].name, v.name)) {
			/* two VMs of one name: the metrics need them apart */
			char base[49];

			snprintf(base, sizeof(base), "%.48s", v.name);
			snprintf(v.name, sizeof(v.name), "%s-%d", base, (int)v.pid);
			break;
		}
	if (a->nr_vms == AGENT_MAX_VMS) {
		pthread_mutex_unlock(&a->lock);
		return refuse("register: the agent drives 32 VMs already", err);
	}
	a->vm[a->nr_vms++] = v;
	a->generation++;
	profile_now(s, pname, sizeof(pname));
	pthread_mutex_unlock(&a->lock);
	adapt_agent_wake(a);
	util_info("agent: VM %s (pid %d, %d vCPU%s%s) registered", v.name, (int)v.pid, v.nr_vcpus,
		  v.nr_vcpus > 1 ? "s" : "", v.paused ? ", paused" : "");
	return dump(json_pack("{s:b,s:s}", "ok", 1, "profile", pname), err);
}

/* {"cmd":"unregister","pid":P} and {"cmd":"hello","pid":P[,"paused":B]}: is
 * P known? A hello with "paused" from the VM itself tells whether the
 * operator paused it: a paused VM leaves the plan until it resumes. */
static char *cmd_hello(const char *req, const struct vmm_ctl_peer *peer, void *arg, int *err)
{
	struct adapt_session *s = arg;
	struct adapt_agent *a = s->agent;
	json_t *o = json_loads(req, 0, NULL);
	pid_t pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
	bool bye = !strcmp(json_string_value(json_object_get(o, "cmd")) ?: "", "unregister");
	json_t *pz = json_object_get(o, "paused");
	int paused = json_is_boolean(pz) && (!peer || peer->pid == pid) ? json_is_true(pz) : -1;
	bool changed = false;
	char pname[POL_NAME_MAX];
	int i;

	json_decref(o);
	if (bye && peer && peer->pid != pid && peer->uid != 0)
		return refuse("unregister: only the VM itself or root", err);
	pthread_mutex_lock(&a->lock);
	i = find_vm(a, pid);
	if (bye && i >= 0)
		adapt_agent_drop_vm(s, i);
	else if (i >= 0 && paused >= 0 && a->vm[i].paused != (paused == 1)) {
		a->vm[i].paused = paused == 1;
		a->generation++;
		changed = true;
		util_info("agent: VM %s (pid %d) %s", a->vm[i].name, (int)pid, paused ?
			  "paused: out of the plan until it resumes (a paused VM is not slow)" :
			  "resumed: planned again");
	}
	profile_now(s, pname, sizeof(pname));
	pthread_mutex_unlock(&a->lock);
	if ((bye && i >= 0) || changed)
		adapt_agent_wake(a);
	return dump(json_pack("{s:b,s:b,s:s}", "ok", 1, "known", i >= 0 && !bye, "profile",
			      pname), err);
}

/* The CPU a thread is on (its procfs stat), -1 when unknown. */
static int thread_cpu(pid_t pid, pid_t tid)
{
	char path[64], buf[1024];
	int cpu = -1;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	if (util_read_file(NULL, path, buf, sizeof(buf)) <= 0 || tel_parse_stat_cpu(buf, &cpu))
		return -1;
	return cpu;
}

/* {"cmd":"list"}: the machine's VMs, where each vCPU runs, the loop. */
static char *cmd_list(const char *req, const struct vmm_ctl_peer *peer, void *arg, int *err)
{
	struct adapt_session *s = arg;
	struct adapt_agent *a = s->agent;
	json_t *o = json_object(), *vms = json_array();
	char pname[POL_NAME_MAX];

	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->nr_vms; i++) {
		const struct agent_vm *v = &a->vm[i];
		json_t *vc = json_array();

		for (int k = 0; k < v->nr_vcpus; k++)
			json_array_append_new(vc, json_pack("{s:i,s:i,s:i}", "vcpu", k, "tid",
							    (int)v->tid[k], "cpu",
							    thread_cpu(v->pid, v->tid[k])));
		json_array_append_new(vms, json_pack("{s:s,s:i,s:i,s:s,s:b,s:o}", "name", v->name,
						     "pid", (int)v->pid, "uid", (int)v->uid, "state",
						     v->paused ? "paused" : "running", "planned",
						     !v->paused, "vcpus", vc));
	}
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "loop", json_string("agent"));
	profile_now(s, pname, sizeof(pname));
	json_object_set_new(o, "profile", json_string(pname));
	pthread_mutex_unlock(&a->lock);
	json_object_set_new(o, "vms", vms);
	return dump(o, err);
}

/* "profile" while no VM is registered (lock held): reports or sets the
 * profile the loop starts under when one registers (a batch job's prolog
 * switches before its VMs start). Names from the profile folders only. */
static char *profile_idle(struct adapt_session *s, const char *req, int *err)
{
	json_t *r = json_loads(req, 0, NULL);
	const char *name = r ? json_string_value(json_object_get(r, "name")) : NULL;
	struct pol_profile *p = name ? malloc(sizeof(*p)) : NULL;
	char msg[1024], *ans;

	if (name && !p) {
		*err = ENOMEM;
		ans = NULL;
	} else if (!name) {
		ans = dump(json_pack("{s:b,s:s,s:s,s:s}", "ok", 1, "profile", s->profile.name, "path",
				     s->profile.path, "objective",
				     pol_objective_name(s->profile.objective)), err);
	} else if (strchr(name, '/') ||
		   pol_load(name, s->dirs, s->nr_dirs, p, msg, sizeof(msg))) {
		if (strchr(name, '/'))
			snprintf(msg, sizeof(msg), "profile: with no VM registered the agent takes "
				 "a profile name from the profile folders, not a path (%.256s)", name);
		ans = refuse(msg, err);
	} else {
		s->profile = *p;
		util_info("agent: profile %s (no VM registered yet: the loop starts under it)",
			  p->name);
		ans = dump(json_pack("{s:b,s:s,s:s,s:s}", "ok", 1, "profile", p->name, "path",
				     p->path, "objective", pol_objective_name(p->objective)), err);
	}
	free(p);
	json_decref(r);
	return ans;
}

/* "profile" and "stat" reach the loop and telemetry of the moment. */
static char *cmd_profile(const char *req, const struct vmm_ctl_peer *peer, void *arg, int *err)
{
	struct adapt_session *s = arg;
	char *ans;

	pthread_mutex_lock(&s->agent->lock);
	if (s->driver)
		ans = adapt_ctl_profile(req, peer, s->driver, err);
	else
		ans = profile_idle(s, req, err);
	pthread_mutex_unlock(&s->agent->lock);
	return ans;
}

static char *cmd_stat(const char *req, const struct vmm_ctl_peer *peer, void *arg, int *err)
{
	struct adapt_session *s = arg;
	char *ans;

	pthread_mutex_lock(&s->agent->lock);
	ans = s->tel && s->agent->nr_slots ? tel_ctl_stat(req, peer, s->tel, err) :
		       refuse("stat: the agent drives no VM yet", err);
	pthread_mutex_unlock(&s->agent->lock);
	return ans;
}

int adapt_agent_init(struct adapt_session *s)
{
	static const struct { const char *name; vmm_ctl_fn fn; } cmds[] = {
		{ "register", cmd_register }, { "unregister", cmd_hello }, { "hello", cmd_hello },
		{ "list", cmd_list }, { "profile", cmd_profile }, { "stat", cmd_stat },
	};
	struct adapt_agent *a;
	int rc;

	if (!s->cfg.agent)
		return 0;
	if (!s->ctl) {
		util_err("agent: no agent socket: VMs could not register; give a writable "
			 "--socket PATH or set AVMM_RUN_DIR");
		return -ENOTCONN;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	pthread_mutex_init(&a->lock, NULL);
	a->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->agent = a;
	rc = a->wake_fd < 0 ? -errno : adapt_agent_health_init(s);
	for (size_t i = 0; i < UTIL_ARRAY_SIZE(cmds) && !rc; i++)
		rc = vmm_ctl_register(s->ctl, cmds[i].name, cmds[i].fn, s);
	if (rc)
		adapt_agent_exit(s);   /* a failed step is not exited by the session */
	return rc;
}

void adapt_agent_exit(struct adapt_session *s)
{
	struct adapt_agent *a = s->agent;

	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	while (a->nr_vms)
		adapt_agent_drop_vm(s, a->nr_vms - 1);
	pthread_mutex_unlock(&a->lock);
	adapt_agent_health_exit(s);
	if (a->wake_fd >= 0)
		close(a->wake_fd);
	free(a);
	s->agent = NULL;
}
