/* adapt: decisions: names, comparison, the exported form. */
#include "adapt/adapt_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *adapt_kind_name(enum adapt_kind k)
{
	static const char *const names[] = { "coremap", "bankmap", "paging-mode", "energy" };

	return (unsigned)k < ADAPT_KIND_COUNT ? names[k] : "?";
}

bool adapt_change_same(const struct adapt_change *a, const struct adapt_change *b)
{
	int i;

	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case ADAPT_COREMAP:
		if (a->u.coremap.nr != b->u.coremap.nr)
			return false;
		for (i = 0; i < a->u.coremap.nr && i < ADAPT_MAX_VCPUS; i++)
			if (a->u.coremap.pcpu[i] != b->u.coremap.pcpu[i])
				return false;
		return true;
	case ADAPT_BANKMAP:
		return a->u.bankmap.policy == b->u.bankmap.policy && a->u.bankmap.node == b->u.bankmap.node;
	case ADAPT_PAGING:
		return a->u.paging.mode == b->u.paging.mode && a->u.paging.backing == b->u.paging.backing;
	case ADAPT_ENERGY:
		return fabs(a->u.energy.cap_w - b->u.energy.cap_w) < 0.5;
	default:
		return false;
	}
}

void adapt_decision_to_tel(const struct adapt_decision *d, const struct adapt_effect *effect,
			   bool dry_run, struct tel_decision *out)
{
	memset(out, 0, sizeof(*out));
	out->t_ns = d->t_ns;
	snprintf(out->kind, sizeof(out->kind), "%s", adapt_kind_name(d->change.kind));
	snprintf(out->what, sizeof(out->what), "#%llu %s%.90s", (unsigned long long)d->id,
		 dry_run ? "[dry-run] " : "", d->what);
	snprintf(out->why, sizeof(out->why), "%s", d->why);
	if (effect)
		snprintf(out->effect, sizeof(out->effect), "%s", effect->text);
	out->dry_run = dry_run;
}

void adapt_why_join(char *out, size_t len, const char *a, const char *b, const char *c)
{
	static const char more[] = " ...";
	char *cut;
	int n;

	if (!len)
		return;
	n = snprintf(out, len, "%s%s%s", a, b, c);
	if (n < 0 || (size_t)n < len || len <= sizeof(more))
		return;
	/* too long: keep the clauses that fit whole, and room for " ..." */
	out[len - sizeof(more)] = '\0';
	cut = strrchr(out, ';');
	if (cut)
		*cut = '\0';
	strcat(out, more);
}
