/* Live migration in a session: the control socket's "migrate" command (the
 * source: the client passes the connected socket along, peer->fd) and
 * `avmm run --incoming ADDR` (the target: wait for one source, load its VM
 * before the vCPUs start). The migration itself: vmm-core/migrate*.c. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adapt/session_int.h"
#include "common/util.h"

static char *answer(json_t *o, int *err)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (!s)
		*err = ENOMEM;
	return s;
}

/* {"cmd":"migrate"[, "downtime_ms":N, "max_rounds":N, "min_rounds":N,
 * "answer_timeout_ms":N]} with the socket; the profile's [migration] gives
 * the defaults (downtime_ms 0: pre-copy until nothing is left to send or
 * max_rounds). */
static char *ctl_migrate(const char *req, const struct vmm_ctl_peer *peer, void *arg, int *err)
{
	struct adapt_session *s = arg;
	struct vmm_migrate_opts o = { s->profile.migration.downtime_ns / 1000000,
				      (unsigned)s->profile.migration.max_rounds, 1,
				      s->profile.migration.answer_timeout_ns / 1000000 };
	struct vmm_migrate_stats st;
	json_t *r = json_loads(req, 0, NULL);
	char why[256], msg[400];
	int rc;

	if (r && json_is_integer(json_object_get(r, "downtime_ms")) &&
	    json_integer_value(json_object_get(r, "downtime_ms")) >= 0)
		o.downtime_ms = (uint64_t)json_integer_value(json_object_get(r, "downtime_ms"));
	if (r && json_integer_value(json_object_get(r, "max_rounds")) > 0)
		o.max_rounds = (unsigned)json_integer_value(json_object_get(r, "max_rounds"));
	if (r && json_integer_value(json_object_get(r, "min_rounds")) > 0)
		o.min_rounds = (unsigned)json_integer_value(json_object_get(r, "min_rounds"));
	if (r && json_integer_value(json_object_get(r, "answer_timeout_ms")) > 0)
		o.answer_ms = (uint64_t)json_integer_value(json_object_get(r, "answer_timeout_ms"));
	json_decref(r);
	if (!s->vm || s->migrated)
		return answer(json_pack("{s:b, s:s}", "ok", 0, "error", s->vm ? "already migrated"
					: "this avmm runs no VM"), err);
	if (!peer || peer->fd < 0)
		return answer(json_pack("{s:b, s:s}", "ok", 0, "error", "no connected socket came "
					"with the request: use `avmm ctl migrate ADDR`"), err);
	util_info("migrating the VM (downtime budget %llu ms, at most %u rounds)",
		  (unsigned long long)o.downtime_ms, o.max_rounds);
	rc = vmm_migrate_send(s->vm, peer->fd, &o, &st, why, sizeof(why));
	if (rc == -EINPROGRESS) {
		snprintf(msg, sizeof(msg), "migration unconfirmed, the VM is paused here: %s", why);
		util_warn("%s", msg);
		return answer(json_pack("{s:b, s:b, s:s}", "ok", 0, "paused", 1, "error", msg), err);
	}
	if (rc) {
		snprintf(msg, sizeof(msg), "migration failed, the VM runs on here: %s", why);
		util_warn("%s", msg);
		return answer(json_pack("{s:b, s:s}", "ok", 0, "error", msg), err);
	}
	snprintf(s->migrate_summary, sizeof(s->migrate_summary),
		 "migrated: %u rounds, %llu pages (%llu in the stop and copy), %llu bytes, total "
		 "%.3f s, downtime %.3f s", st.rounds, (unsigned long long)st.pages,
		 (unsigned long long)st.last_pages, (unsigned long long)st.bytes,
		 (double)st.total_ns / 1e9, (double)st.downtime_ns / 1e9);
	fprintf(stderr, "avmm: VM %s %s\n", s->run_id, s->migrate_summary);
	s->migrated = true;
	shutdown(peer->fd, SHUT_RDWR);
	vmm_request_stop(s->vm);   /* the target runs the guest now */
	return answer(json_pack("{s:b, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I}", "ok", 1,
				"summary", s->migrate_summary, "rounds", (int)st.rounds, "pages",
				(json_int_t)st.pages, "last_pages", (json_int_t)st.last_pages,
				"bytes", (json_int_t)st.bytes, "total_ns", (json_int_t)st.total_ns,
				"downtime_ns", (json_int_t)st.downtime_ns, "precopy_pause_ns",
				(json_int_t)st.precopy_pause_ns), err);
}

int adapt_session_migrate_ctl(struct adapt_session *s)
{
	if (!s->ctl || !s->vm)
		return 0;
	return vmm_ctl_register(s->ctl, "migrate", ctl_migrate, s);
}

int adapt_session_incoming(struct adapt_session *s)
{
	const char *addr = s->cfg.incoming;
	uint64_t bytes = 0, t0;
	char why[256];
	int lfd = vmm_migrate_listen(addr, why, sizeof(why)), fd = -1, rc;

	if (lfd < 0) {
		util_err("--incoming: %s", why);
		rc = lfd;
		goto out;
	}
	util_info("waiting for a VM on %s", addr);
	do
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	t0 = util_now_ns();
	if (fd < 0) {
		rc = -errno;
		util_err("--incoming %s: accept: %s", addr, strerror(errno));
	} else if ((rc = vmm_migrate_receive(s->vm, fd,
					     s->profile.migration.answer_timeout_ns / 1000000, &bytes,
					     why, sizeof(why)))) {
		util_err("--incoming %s: refused: %s", addr, why);
	} else {
		util_info("received the VM from %s: %llu bytes in %.3f s", addr,
			  (unsigned long long)bytes, (double)(util_now_ns() - t0) / 1e9);
	}
	if (fd >= 0)
		close(fd);
	close(lfd);
	if (!strncmp(addr, "unix:", 5))
		unlink(addr + 5);
out:
	if (rc) {   /* nothing half-restored ever runs */
		vmm_destroy(s->vm);
		s->vm = NULL;
	}
	return rc;
}
