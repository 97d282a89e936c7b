/* adapt: the loop's state and environment: their initial values, the
 * reset when the goal changes, and the undo of a decision that was not
 * carried out. */
#include "adapt/adapt_int.h"

#include <string.h>

void adapt_state_init(struct adapt_state *st)
{
	memset(st, 0, sizeof(*st));
	st->next_id = 1;
}

void adapt_env_init(struct adapt_env *env)
{
	memset(env, 0, sizeof(*env));
	env->paging_mode = ADAPT_PG_UNKNOWN;
}

void adapt_state_reset_goal(struct adapt_state *st)
{
	st->pending = false;
	memset(st->streak, 0, sizeof(st->streak));
	memset(st->banned, 0, sizeof(st->banned));
	st->hist_n = 0; /* scores under another goal do not compare */
	st->period_ns = 0; /* sample fast again */
	st->pg.have = false; /* the paging model's parameters may differ */
}

void adapt_state_not_applied(struct adapt_state *st, const struct adapt_decision *d)
{
	enum adapt_kind k = d->change.kind;

	if ((unsigned)k >= ADAPT_KIND_COUNT)
		return;
	if (d->revert) {
		st->have_cur[k] = false; /* unknown now */
		return;
	}
	if (st->pending && st->pending_d.id == d->id) {
		st->have_cur[k] = st->pending_had_prev;
		if (st->pending_had_prev)
			st->cur[k] = st->pending_prev;
		st->pending = false;
	} else {
		st->have_cur[k] = false;
	}
}
