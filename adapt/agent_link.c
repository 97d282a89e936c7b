/* The VM side of the node agent: `avmm run` registers its vCPUs with the
 * agent when the agent socket answers, keeps its own loop idle, and watches
 * the agent once a second: re-registers after an agent restart, and runs its
 * own loop while no agent answers (saying so in the log). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adapt/session_int.h"
#include "common/util.h"

#define LINK_PERIOD_NS 1000000000ull

static int call(const struct adapt_link *l, json_t *req, json_t **ans)
{
	char *text = json_dumps(req, JSON_COMPACT), *answer = NULL;
	int rc;

	json_decref(req);
	if (!text)
		return -ENOMEM;
	rc = vmm_ctl_call(l->path, text, &answer);
	free(text);
	if (rc)
		return rc;
	*ans = json_loads(answer, 0, NULL);
	free(answer);
	if (!*ans)
		return -EPROTO;
	if (!json_is_true(json_object_get(*ans, "ok"))) {
		util_warn("node agent %s refused this VM: %s", l->path,
			  json_string_value(json_object_get(*ans, "error")) ?: "(no reason)");
		json_decref(*ans);
		return -EPERM;
	}
	return 0;
}

static int do_register(struct adapt_session *s)
{
	json_t *vcpus = json_array(), *ans = NULL;
	int rc;

	for (int i = 0; i < vmm_nr_vcpus(s->vm); i++)
		json_array_append_new(vcpus, json_pack("{s:i,s:i}", "tid",
						       (int)vmm_vcpu_tid(s->vm, i), "stats_fd",
						       vmm_vcpu_stats_fd(s->vm, i)));
	const char *job = getenv("AVMM_JOB_ID");

	if (!job || !*job)
		job = getenv("SLURM_JOB_ID");
	rc = call(&s->link, json_pack("{s:s,s:s,s:i,s:o,s:s,s:s,s:b,s:i}", "cmd", "register",
				      "name", s->cfg.name ? s->cfg.name : "avmm", "pid",
				      (int)getpid(), "vcpus", vcpus, "job_id", job ? job : "",
				      "ctl", s->ctl ? s->socket : "", "paused",
				      vmm_vm_paused(s->vm, NULL), "steal_fd", vmm_steal_fd(s->vm)),
		  &ans);
	if (!rc) {
		util_info("registered with the node agent at %s (profile %s): it drives this VM's "
			  "vCPUs; --no-agent runs this VM's own loop", s->link.path,
			  json_string_value(json_object_get(ans, "profile")) ?: "?");
		json_decref(ans);
	}
	return rc;
}

/* 1: the agent knows us, 0: it answers but does not (restarted), <0: gone.
 * It also tells the agent whether the operator paused this VM. */
static int hello(struct adapt_session *s)
{
	json_t *ans = NULL;
	int rc = call(&s->link, json_pack("{s:s,s:i,s:b}", "cmd", "hello", "pid", (int)getpid(),
					  "paused", vmm_vm_paused(s->vm, NULL)), &ans);

	if (rc)
		return rc;
	rc = json_is_true(json_object_get(ans, "known"));
	json_decref(ans);
	return rc;
}

static void own_loop(struct adapt_session *s, bool on)
{
	if (on) {
		tel_stop(s->tel);
		if (adapt_driver_start(s->driver))
			tel_start(s->tel);
	} else {
		adapt_driver_stop(s->driver);
		tel_start(s->tel);
	}
	s->link.own_loop = on;
}

static void *watcher(void *arg)
{
	struct adapt_session *s = arg;
	struct adapt_link *l = &s->link;
	uint64_t next = util_now_ns();

	/* No filter of its own beyond main's deny-list: it starts this VM's own
	 * loop (driver, sampler), whose threads would inherit a narrower one. */
	pthread_setname_np(pthread_self(), "avmm-agentlink");
	pthread_mutex_lock(&l->lock);
	while (!l->stop) {
		int known;

		next += LINK_PERIOD_NS;
		while (!l->stop && !l->kick && !util_cond_wait_until_ns(&l->cond, &l->lock, next))
			;
		if (l->stop)
			break;
		if (l->kick)
			next = util_now_ns();   /* the next hello a period from now */
		l->kick = false;
		pthread_mutex_unlock(&l->lock);
		known = hello(s);
		if (known < 0 && !l->own_loop) {
			util_warn("the node agent at %s is gone: this VM runs its own loop until an "
				  "agent answers again", l->path);
			own_loop(s, true);
		} else if (known == 0 && !do_register(s)) {
			if (l->own_loop)
				own_loop(s, false);
		}
		pthread_mutex_lock(&l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

int adapt_link_start(struct adapt_session *s)
{
	struct adapt_link *l = &s->link;
	int rc;

	if (s->cfg.no_agent || s->cfg.agent || !s->driver)
		return -ENOENT;
	adapt_agent_socket_path(&s->cfg, l->path, sizeof(l->path));
	if (vmm_ctl_call(l->path, NULL, NULL))
		return -ENOENT; /* no agent: the embedded default, this VM's own loop */
	rc = do_register(s);
	if (rc) {
		util_warn("this VM runs its own loop");
		return rc;
	}
	l->registered = true;
	pthread_mutex_init(&l->lock, NULL);
	util_cond_init_mono(&l->cond);
	rc = -pthread_create(&l->watcher, NULL, watcher, s);
	l->watching = !rc;
	return 0;
}

void adapt_link_stop(struct adapt_session *s)
{
	struct adapt_link *l = &s->link;
	json_t *ans = NULL;

	if (!l->registered)
		return;
	if (l->watching) {
		pthread_mutex_lock(&l->lock);
		l->stop = true;
		pthread_cond_signal(&l->cond);
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->watcher, NULL);
		l->watching = false;
	}
	if (!l->own_loop && !call(l, json_pack("{s:s,s:i}", "cmd", "unregister", "pid",
					       (int)getpid()), &ans))
		json_decref(ans);
	l->registered = false;
}

void adapt_link_kick(struct adapt_session *s)
{
	struct adapt_link *l = &s->link;

	if (!l->watching)
		return;
	pthread_mutex_lock(&l->lock);
	l->kick = true;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
}
