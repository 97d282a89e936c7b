/* The session's per-guest paging hints: the last run's recommendation for
 * this guest image, read at open (the start's backing when the profile sets
 * none), and the model's recommendation kept at exit for the next run. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "adapt/adapt_drv.h"
#include "adapt/session_int.h"
#include "common/util.h"

/* The last run's recommendation for this guest image, used at start when
 * the profile sets no backing of its own. */
void adapt_session_paging_hint_load(struct adapt_session *s, struct adapt_paging *pg)
{
	char dir[256];
	int rc;

	if (!pg->w || !s->cfg.vm.guest_path || s->profile.paging.backing != PGMODE_PAGE_KEEP ||
	    pgmode_image_hash(s->cfg.vm.guest_path, pg->image_hash))
		return;
	pgmode_state_dir(dir, sizeof(dir));
	rc = pgmode_hint_load(dir, pg->image_hash, &pg->hint);
	if (rc && rc != -ENOENT)
		util_warn("paging-mode: hint for %s not used: %s", s->cfg.vm.guest_path,
			  pg->hint.recommend);
	if (rc || pg->hint.backing == pg->initial)
		pg->hint.backing = PGMODE_PAGE_KEEP;
}

static enum pgmode_page current_backing(struct adapt_session *s, struct adapt_paging *pg)
{
	struct adapt_driver *d = s->driver;
	enum pgmode_page b = pg->initial;

	if (d) {
		pthread_mutex_lock(&d->lock);
		if (d->state.have_cur[ADAPT_PAGING] && d->state.cur[ADAPT_PAGING].u.paging.backing)
			b = (enum pgmode_page)d->state.cur[ADAPT_PAGING].u.paging.backing;
		pthread_mutex_unlock(&d->lock);
	}
	return b;
}

/* At exit: what the model recommends for this guest, for its next run. */
void adapt_session_paging_hint_save(struct adapt_session *s, struct adapt_paging *pg)
{
	struct tel_paging_estimate e;
	struct pgmode_hint h = { .mode = PGMODE_MODE_UNKNOWN };
	char dir[256];

	if (!pg->image_hash[0] || !s->tel || s->cfg.dry_run || tel_latest_paging(s->tel, &e) ||
	    !e.part[TEL_PG_NOW].valid || !e.recommend[0])
		return;   /* nothing measured: the last hint stays */
	memcpy(h.image_hash, pg->image_hash, sizeof(h.image_hash));
	/* the model's wish, else the backing it was content with */
	if (pgmode_page_parse(e.want, &h.backing) || h.backing == PGMODE_PAGE_KEEP)
		h.backing = current_backing(s, pg);
	h.mode = !strcmp(e.want_mode, "nested") ? PGMODE_MODE_NESTED
	       : !strcmp(e.want_mode, "shadow") ? PGMODE_MODE_SHADOW : PGMODE_MODE_UNKNOWN;
	snprintf(h.recommend, sizeof(h.recommend), "%s", e.recommend);
	pgmode_state_dir(dir, sizeof(dir));
	if (pgmode_hint_save(dir, &h))
		util_warn("paging-mode: the recommendation for the next run was not kept in %s", dir);
	else
		util_info("paging-mode: for the next run of this guest: %s", h.recommend);
}
