/* The control socket's "pause", "resume", "vmstate" and "snapshot" commands, and
 * `avmm run --restore`: the
 * operator's pause of the whole VM (vmm_vm_pause/resume), with the KVM clock
 * saved and put back, and what the control loop did meanwhile (ticks it
 * skipped because the VM was paused: no decision, no measurement). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
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

static json_t *loop_json(struct adapt_session *s)
{
	struct adapt_driver_stats st;
	json_int_t held = 0;

	if (!s->driver)
		return json_pack("{s:b}", "running", 0);
	adapt_driver_stats(s->driver, &st);
	for (int k = 0; k < ADAPT_KIND_COUNT; k++)
		for (int h = 1; h < ADAPT_HOLD_COUNT; h++)
			held += (json_int_t)st.held[k][h];
	return json_pack("{s:b, s:I, s:I, s:I, s:I}", "running", 1, "ticks", (json_int_t)st.ticks,
			 "paused_ticks", (json_int_t)st.paused_ticks, "decisions",
			 (json_int_t)st.decisions, "held_ticks", held);
}

static json_t *state_json(struct adapt_session *s, const struct vmm_vm_pause_info *pi)
{
	uint64_t now = util_now_ns();

	return json_pack("{s:b, s:s, s:i, s:I, s:I, s:I, s:b, s:I, s:i, s:b, s:o}", "ok", 1,
			 "state", pi->paused ? "paused" : "running", "vcpus", vmm_nr_vcpus(s->vm),
			 "transitions", (json_int_t)pi->transitions, "paused_ns",
			 (json_int_t)(pi->paused ? now - pi->paused_since_ns : 0),
			 "paused_total_ns", (json_int_t)pi->paused_total_ns,
			 "clock_saved", pi->clock_saved, "clock_ns", (json_int_t)pi->clock_ns,
			 "clock_flags", (int)pi->clock_flags, "clock_tsc_stable",
			 pi->clock_tsc_stable, "loop", loop_json(s));
}

static char *refuse(const char *msg, int *err)
{
	return answer(json_pack("{s:b, s:s}", "ok", 0, "error", msg), err);
}

static char *do_pause(struct adapt_session *s, bool pause, int *err)
{
	struct vmm_vm_pause_info pi;
	json_t *o;
	int rc;

	if (!s->vm)
		return refuse("this avmm runs no VM", err);
	rc = pause ? vmm_vm_pause(s->vm, &pi) : vmm_vm_resume(s->vm, &pi);
	if (rc == -EALREADY)
		return refuse(pause ? "the VM is already paused (resume it with `avmm ctl resume`)"
			      : "the VM is not paused", err);
	if (rc)
		return refuse("the VM has ended", err);
	adapt_link_kick(s);   /* the node agent leaves a paused VM out of its plan */
	o = state_json(s, &pi);
	if (o && !pause)
		json_object_set_new(o, "clock_after_ns", json_integer((json_int_t)pi.clock_after_ns));
	return answer(o, err);
}

static char *ctl_pause(const char *req, const struct vmm_ctl_peer *peer, void *arg, int *err)
{
	return do_pause(arg, true, err);
}

static char *ctl_resume(const char *req, const struct vmm_ctl_peer *peer, void *arg, int *err)
{
	return do_pause(arg, false, err);
}

static char *ctl_vmstate(const char *req, const struct vmm_ctl_peer *peer, void *arg, int *err)
{
	struct adapt_session *s = arg;
	struct vmm_vm_pause_info pi;

	if (!s->vm)
		return refuse("this avmm runs no VM", err);
	vmm_vm_pause_info(s->vm, &pi);
	return answer(state_json(s, &pi), err);
}

/* {"cmd":"snapshot"} with the file passed along (peer->fd): pauses the VM
 * unless it is paused already, writes the snapshot, resumes it if it paused
 * it. The answer gives the bytes written and how long the guest stood. The
 * client fsyncs the file (this thread's seccomp filter has no fsync). */
static char *ctl_snapshot(const char *req, const struct vmm_ctl_peer *peer, void *arg, int *err)
{
	struct adapt_session *s = arg;
	char why[256], msg[320];
	uint64_t bytes = 0, t0 = util_now_ns(), stood;
	bool was_paused;
	int rc;

	if (!s->vm)
		return refuse("this avmm runs no VM", err);
	if (!peer || peer->fd < 0)
		return refuse("no file came with the request: use `avmm ctl snapshot FILE`, which "
			      "opens FILE and passes it", err);
	was_paused = vmm_vm_paused(s->vm, NULL);
	if (!was_paused && (rc = vmm_vm_pause(s->vm, NULL)))
		return refuse("the VM has ended", err);
	rc = vmm_snapshot_save(s->vm, peer->fd, &bytes, why, sizeof(why));
	if (!was_paused)
		vmm_vm_resume(s->vm, NULL);
	stood = util_now_ns() - t0;
	if (rc) {
		snprintf(msg, sizeof(msg), "snapshot failed (the VM %s): %s",
			 was_paused ? "stays paused" : "runs on", why);
		util_warn("%s", msg);
		return refuse(msg, err);
	}
	util_info("snapshot written: %llu bytes, the guest stood %.3f s",
		  (unsigned long long)bytes, (double)stood / 1e9);
	return answer(json_pack("{s:b, s:I, s:I, s:s}", "ok", 1, "bytes", (json_int_t)bytes,
				"paused_ns", (json_int_t)(was_paused ? 0 : stood), "state",
				was_paused ? "paused" : "running"), err);
}

int adapt_session_restore(struct adapt_session *s)
{
	const char *path = s->cfg.restore_path;
	char why[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0) {
		rc = -errno;
		util_err("--restore %s: %s", path, strerror(errno));
	} else {
		rc = vmm_snapshot_restore(s->vm, fd, why, sizeof(why));
		close(fd);
		if (rc)
			util_err("--restore %s: refused: %s", path, why);
		else
			util_info("restored the VM from %s", path);
	}
	if (rc) {   /* nothing half-restored ever runs */
		vmm_destroy(s->vm);
		s->vm = NULL;
	}
	return rc;
}

int adapt_session_lifecycle_ctl(struct adapt_session *s)
{
	int rc;

	if (!s->ctl || !s->vm)
		return 0;
	rc = vmm_ctl_register(s->ctl, "pause", ctl_pause, s);
	if (!rc)
		rc = vmm_ctl_register(s->ctl, "resume", ctl_resume, s);
	if (!rc)
		rc = vmm_ctl_register(s->ctl, "snapshot", ctl_snapshot, s);
	if (!rc)
		rc = adapt_session_migrate_ctl(s);
	return rc ? rc : vmm_ctl_register(s->ctl, "vmstate", ctl_vmstate, s);
}
