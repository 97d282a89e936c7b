/* The control socket's "paging" (guest RAM backing, the page-size worker,
 * the cost model's estimate) and "backing" (the operator's request: through
 * the loop when one runs, else to the worker) commands. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapt/adapt_drv.h"
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

static char *refuse(const char *msg, int *err)
{
	return answer(json_pack("{s:b, s:s}", "ok", 0, "error", msg), err);
}

static double share(uint64_t part, uint64_t rss)
{
	return rss ? (double)part / (double)rss : 0.0;
}

static json_t *ram_json(struct adapt_session *s, struct adapt_paging *pg)
{
	struct pgmode_backing b;

	memset(&b, 0, sizeof(b));
	if (pgmode_read_backing(s->cfg.fsroot, 0, (uint64_t)(uintptr_t)pg->hva, pg->bytes, &b) &&
	    !b.why[0])
		snprintf(b.why, sizeof(b.why), "smaps of this process not readable");
	char hva[32];

	snprintf(hva, sizeof(hva), "0x%llx", (unsigned long long)(uintptr_t)pg->hva);
	return json_pack("{s:b, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f}", "valid", b.valid,
			 "why", b.valid ? "" : b.why, "hva", hva, "bytes", (json_int_t)pg->bytes,
			 "rss_bytes", (json_int_t)b.rss, "bytes_4k", (json_int_t)b.bytes_4k,
			 "bytes_2m", (json_int_t)b.bytes_2m, "bytes_1g", (json_int_t)b.bytes_1g,
			 "share_4k", share(b.bytes_4k, b.rss), "share_2m", share(b.bytes_2m, b.rss),
			 "share_1g", share(b.bytes_1g, b.rss));
}

static json_t *worker_json(struct adapt_session *s, struct adapt_paging *pg)
{
	struct pgmode_worker_stats st;

	memset(&st, 0, sizeof(st));
	if (pg->w)
		pgmode_worker_stats(pg->w, &st);
	else
		snprintf(st.last_error, sizeof(st.last_error), "%s", pg->why);
	return json_pack("{s:b, s:s, s:b, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:s, s:f, "
			 "s:I}", "available", pg->w != NULL, "target", pgmode_page_name(st.target),
			 "busy", st.busy, "ranges_total", (json_int_t)st.ranges_total,
			 "ranges_done", (json_int_t)st.ranges_done,
			 "bytes_done", (json_int_t)st.bytes_done,
			 "collapse_ok", (json_int_t)st.collapse_ok,
			 "errors", "einval", (json_int_t)st.err_einval,
			 "eagain", (json_int_t)st.err_eagain, "enomem", (json_int_t)st.err_enomem,
			 "other", (json_int_t)st.err_other, "last_error", st.last_error,
			 "quota_mib_per_s", pg->w ? s->profile.paging.promote_quota_mib_per_s : 0.0,
			 "longest_step_ns", (json_int_t)st.longest_step_ns);
}

char *adapt_ctl_paging(const char *req, const struct vmm_ctl_peer *peer, void *arg, int *err)
{
	struct adapt_session *s = arg;
	struct adapt_paging *pg = s->paging;
	struct tel_paging_estimate e;
	json_t *est;

	if (!pg)
		return refuse("this avmm runs no VM: ask the VM's own socket (avmm ctl --name VM)",
			      err);
	est = s->tel && !tel_latest_paging(s->tel, &e) ? tel_paging_estimate_json(&e) : json_null();
	return answer(json_pack("{s:b, s:s, s:i, s:o, s:o, s:o}", "ok", 1, "vm",
				s->cfg.name ? s->cfg.name : "avmm", "pid", (int)getpid(),
				"ram", ram_json(s, pg), "worker", worker_json(s, pg),
				"estimate", est ? est : json_null()), err);
}

/* Whether the loop takes the request, and if not why (the worker then). */
static bool through_loop(struct adapt_session *s, enum pgmode_page b, char *msg, size_t len,
			 bool *already)
{
	struct adapt_driver *d = s->driver;
	struct adapt_paging *pg = s->paging;
	const struct adapt_change *cur;
	enum pgmode_page now;
	double dwell_s = 0;
	bool ok;

	*already = false;
	if (!d) {
		snprintf(msg, len, "no control loop (--no-adapt): the worker %s guest RAM to %s",
			 b == PGMODE_PAGE_2M ? "promotes" : "demotes", pgmode_page_name(b));
		return false;
	}
	pthread_mutex_lock(&d->lock);
	ok = d->running && d->profile.enabled[POL_AD_PAGING];
	if (!d->running)
		snprintf(msg, len, "this VM's loop is idle (a node agent drives it): the worker "
			 "takes the request directly");
	else if (!ok)
		snprintf(msg, len, "paging-mode is disabled in profile %.64s: the worker takes the "
			 "request directly, not through the loop", d->profile.name);
	cur = &d->state.cur[ADAPT_PAGING];
	now = d->state.have_cur[ADAPT_PAGING] && cur->u.paging.backing ?
		(enum pgmode_page)cur->u.paging.backing : pg->initial;
	if (d->state.changed[ADAPT_PAGING] && util_now_ns() < d->state.last_change_ns[ADAPT_PAGING] +
	    d->profile.min_dwell_ns)
		dwell_s = (double)(d->state.last_change_ns[ADAPT_PAGING] + d->profile.min_dwell_ns -
				   util_now_ns()) / 1e9;
	if (ok && now == b) {
		*already = true;
		snprintf(msg, len, "guest RAM is already backed by %s pages (the loop's current "
			 "backing): nothing to do", pgmode_page_name(b));
	} else if (ok) {
		snprintf(msg, len, "the control loop applies it after %d confirming tick(s)%s%s; "
			 "watch it with `avmm paging --name %s`", d->profile.confirm_ticks,
			 dwell_s > 0 ? " and the paging-mode dwell" : "",
			 d->cfg.dry_run ? " (dry run: logged, not carried out)" : "",
			 s->cfg.name ? s->cfg.name : "avmm");
		if (dwell_s > 0)
			snprintf(msg + strlen(msg), len - strlen(msg), " (%.1f s left)", dwell_s);
	}
	pthread_mutex_unlock(&d->lock);
	return ok;
}

char *adapt_ctl_backing(const char *req, const struct vmm_ctl_peer *peer, void *arg, int *err)
{
	struct adapt_session *s = arg;
	struct adapt_paging *pg = s->paging;
	enum pgmode_page b = PGMODE_PAGE_KEEP;
	char msg[320], why[PGMODE_WHY] = "";
	json_t *r = json_loads(req, 0, NULL);
	const char *v = r ? json_string_value(json_object_get(r, "backing")) : NULL;
	bool already, loop;
	int rc;

	if (!v || pgmode_page_parse(v, &b) || (b != PGMODE_PAGE_4K && b != PGMODE_PAGE_2M)) {
		snprintf(msg, sizeof(msg), "backing '%.32s': expected 2m (promote guest RAM to "
			 "2 MiB pages) or 4k (demote it to 4 KiB pages)", v ? v : "");
		json_decref(r);
		return refuse(msg, err);
	}
	json_decref(r);
	if (!pg || !pg->w) {
		snprintf(msg, sizeof(msg), "no live page-size change here: %s",
			 pg ? pg->why : "this avmm runs no VM");
		return refuse(msg, err);
	}
	loop = through_loop(s, b, msg, sizeof(msg), &already);
	if (loop && !already) {
		pthread_mutex_lock(&pg->lock);
		pg->op_req = b;
		pthread_mutex_unlock(&pg->lock);
		adapt_driver_want_full(s->driver);   /* a quiet loop sees it at its next tick */
	} else if (!loop && (rc = pgmode_worker_request(pg->w, b, why, sizeof(why)))) {
		snprintf(msg, sizeof(msg), "the worker refused %s: %s", pgmode_page_name(b),
			 why[0] ? why : strerror(-rc));
		return refuse(msg, err);
	}
	return answer(json_pack("{s:b, s:s, s:s, s:s}", "ok", 1, "backing", pgmode_page_name(b),
				"via", loop ? "loop" : "worker", "message", msg), err);
}

int adapt_session_paging_ctl(struct adapt_session *s)
{
	int rc;

	if (!s->ctl || !s->paging)
		return 0;
	rc = vmm_ctl_register(s->ctl, "paging", adapt_ctl_paging, s);
	return rc ? rc : vmm_ctl_register(s->ctl, "backing", adapt_ctl_backing, s);
}
