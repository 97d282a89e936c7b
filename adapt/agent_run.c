/* The node agent's main thread: takes registered VMs' pidfds and KVM stats
 * fds, drops VMs that end, and rebuilds telemetry and the loop over the
 * composite of every registered vCPU (one index per vCPU of every VM). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "adapt/place.h"
#include "adapt/session_int.h"
#include "common/util.h"

#define AGENT_SETTLE_MS 250   /* registrations closer than this share a rebuild */

/* ---- the composite target: slot i is one vCPU of one registered VM ---- */

static int slot_stats_fd(void *arg, int i)
{
	return ((struct adapt_agent *)arg)->slot[i].stats_fd;
}

static const struct util_steal_area *slot_steal(void *arg, int i)
{
	return ((struct adapt_agent *)arg)->slot[i].steal;
}

static pid_t slot_tid(void *arg, int i)
{
	return ((struct adapt_agent *)arg)->slot[i].tid;
}

static pid_t slot_pid(void *arg, int i)
{
	return ((struct adapt_agent *)arg)->slot[i].pid;
}

static const char *slot_vm(void *arg, int i)
{
	return ((struct adapt_agent *)arg)->slot[i].vm;
}

static const char *slot_job(void *arg, int i)
{
	return ((struct adapt_agent *)arg)->slot[i].job_id;
}

static int slot_index(void *arg, int i)
{
	return ((struct adapt_agent *)arg)->slot[i].vcpu;
}

/* The VM's run-delay page (common/steal.h), mapped read-only: the quiet
 * ticks look at each vCPU's run delay there instead of in schedstat. */
static void map_steal(struct agent_vm *v)
{
	int fd = v->remote_steal_fd < 0 ? -1 :
		(int)syscall(SYS_pidfd_getfd, v->pidfd, v->remote_steal_fd, 0);
	void *p = fd < 0 ? MAP_FAILED :
		mmap(NULL, UTIL_STEAL_PAGE_BYTES, PROT_READ, MAP_SHARED, fd, 0);

	if (fd >= 0)
		close(fd);
	if (p != MAP_FAILED)
		v->steal = p;
	else if (v->remote_steal_fd >= 0)
		util_debug("agent: VM %s: its run-delay page is out of reach (%s): quiet ticks "
			   "read schedstat", v->name, strerror(errno));
}

/* On the main thread: a pidfd for the VM, copies of its KVM stats fds. */
static void attach(struct agent_vm *v)
{
	v->attached = true;
	v->pidfd = (int)syscall(SYS_pidfd_open, v->pid, 0);
	if (v->pidfd < 0) {
		util_warn("agent: VM %s (pid %d): pidfd_open: %s: its end will be noticed only "
			  "when it unregisters", v->name, (int)v->pid, strerror(errno));
		return;
	}
	for (int k = 0; k < v->nr_vcpus; k++) {
		if (v->remote_fd[k] < 0)
			continue;
		v->stats_fd[k] = (int)syscall(SYS_pidfd_getfd, v->pidfd, v->remote_fd[k], 0);
		if (v->stats_fd[k] < 0 && k == 0)
			util_warn("agent: VM %s: its KVM statistics are out of reach (pidfd_getfd: "
				  "%s); thread figures still come from /proc", v->name,
				  strerror(errno));
	}
	map_steal(v);
}

/* Telemetry and the loop anew over every registered vCPU (lock held). */
static int rebuild(struct adapt_session *s)
{
	struct adapt_agent *a = s->agent;
	struct tel_target tg = { .vcpu_stats_fd = slot_stats_fd, .vcpu_tid = slot_tid,
				 .vcpu_steal = slot_steal,
				 .vcpu_pid = slot_pid, .vcpu_vm = slot_vm,
				 .vcpu_index = slot_index, .vcpu_job = slot_job, .arg = a };
	struct tel_http *http;
	int n = 0, nr_paused = 0, rc;

	if (s->driver) {
		adapt_driver_get_profile(s->driver, &s->profile); /* a switch stays */
		adapt_driver_stop(s->driver);
	}
	adapt_session_loop_exit(s);
	/* the metrics server goes on: a scrape meanwhile waits for the new object */
	http = s->tel ? tel_detach_http(s->tel) : NULL;
	adapt_session_tel_close(s);
	for (int i = 0; i < a->nr_vms; i++)
		for (int k = 0; k < a->vm[i].nr_vcpus && n < TEL_MAX_VCPUS && !a->vm[i].paused; k++)
		{
			a->slot[n] = (struct agent_slot){ a->vm[i].pid, a->vm[i].tid[k], k,
							  a->vm[i].stats_fd[k],
							  a->vm[i].steal ? a->vm[i].steal + k : NULL,
							  "", "" };
			snprintf(a->slot[n].job_id, sizeof(a->slot[0].job_id), "%s", a->vm[i].job_id);
			snprintf(a->slot[n++].vm, sizeof(a->slot[0].vm), "%s", a->vm[i].name);
		}
	a->nr_slots = n;
	for (int i = 0; i < a->nr_vms; i++)
		nr_paused += a->vm[i].paused;
	tg.nr_vcpus = n;
	/* with no vCPU to plan, telemetry still serves /metrics (the node's
	 * health, the agent itself): a scrape of an idle node answers */
	rc = adapt_session_tel_open(s, &tg, http);
	if (!rc && !n) {
		if (nr_paused)
			util_info("agent: %d VM(s) registered, all paused: nothing to plan", nr_paused);
		else
			util_info("agent: no VM registered; waiting");
		return 0;
	}
	if (!rc)
		rc = adapt_session_loop_init(s);
	/* a fixed strategy (pack, spread, explicit) places at once, not by ticks */
	if (!rc && adapt_place_is_fixed(&s->profile))
		adapt_driver_place(s->driver, n, util_now_ns(), "placement of the registered VMs");
	if (!rc)
		rc = adapt_driver_start(s->driver);
	if (rc)
		util_err("agent: cannot drive the %d vCPU(s) registered: %s", n, strerror(-rc));
	else
		util_info("agent: planning %d vCPU(s) of %d VM(s) jointly under profile %s%s", n,
			  a->nr_vms - nr_paused, s->profile.name, nr_paused ?
			  " (paused VMs left out)" : "");
	return rc;
}

int adapt_agent_run(struct adapt_session *s)
{
	struct adapt_agent *a = s->agent;
	uint64_t built = UINT64_MAX, junk;   /* the first pass opens telemetry */
	int rc = 0;

	util_info("agent: listening on %s", s->socket);
	for (;;) {
		struct pollfd p[AGENT_MAX_VMS + 1] = { { a->wake_fd, POLLIN, 0 } };
		pid_t ended[AGENT_MAX_VMS];
		int n = 1, nr_ended = 0, wait_ms;

		pthread_mutex_lock(&a->lock);
		for (int i = 0; i < a->nr_vms; i++)
			p[n++] = (struct pollfd){ a->vm[i].pidfd, POLLIN, 0 };
		pthread_mutex_unlock(&a->lock);
		wait_ms = adapt_agent_health_tick(s);   /* the node's health, when due */
		if (poll(p, (nfds_t)n, UTIL_MIN(wait_ms, 1000)) < 0 && errno != EINTR)
			return -errno;
		if (read(a->wake_fd, &junk, sizeof(junk)) > 0) {
			/* VMs started together register together: one plan for them,
			 * not one per registration (each rebuild starts the loop anew) */
			struct pollfd more = { a->wake_fd, POLLIN, 0 };

			while (poll(&more, 1, AGENT_SETTLE_MS) > 0 &&
			       read(a->wake_fd, &junk, sizeof(junk)) > 0)
				;
		}
		for (int i = 1; i < n; i++)
			if (p[i].fd >= 0 && (p[i].revents & (POLLIN | POLLHUP)))
				ended[nr_ended++] = (pid_t)p[i].fd;
		pthread_mutex_lock(&a->lock);
		if (a->stop) {
			pthread_mutex_unlock(&a->lock);
			break;
		}
		for (int e = 0; e < nr_ended; e++)
			for (int i = 0; i < a->nr_vms; i++)
				if (a->vm[i].pidfd == (int)ended[e]) {
					util_info("agent: VM %s (pid %d) ended: dropped from the plan",
						  a->vm[i].name, (int)a->vm[i].pid);
					adapt_agent_drop_vm(s, i);
					break;
				}
		for (int i = 0; i < a->nr_vms; i++)
			if (!a->vm[i].attached)
				attach(&a->vm[i]);
		if (a->generation != built) {
			built = a->generation;
			rc = rebuild(s);
		}
		pthread_mutex_unlock(&a->lock);
	}
	pthread_mutex_lock(&a->lock);
	if (s->driver)
		adapt_driver_stop(s->driver);
	adapt_session_loop_exit(s);
	adapt_session_tel_close(s);
	pthread_mutex_unlock(&a->lock);
	return rc;
}

void adapt_agent_stop(struct adapt_session *s)
{
	pthread_mutex_lock(&s->agent->lock);
	s->agent->stop = true;
	pthread_mutex_unlock(&s->agent->lock);
	adapt_agent_wake(s->agent);
}
