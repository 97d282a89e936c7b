/* adapt: the control socket's "profile" command. */
#include "adapt/adapt_drv.h"
#include "vmm-core/vmm.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static char *answer(json_t *o, int *err)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (!s)
		*err = ENOMEM;
	return s;
}

char *adapt_ctl_profile(const char *request_json, void *arg, int *err)
{
	struct adapt_driver *d = arg;
	struct pol_profile *p;
	json_t *req, *o;
	const char *name;
	char msg[1024];

	req = json_loads(request_json, 0, NULL);
	name = req ? json_string_value(json_object_get(req, "name")) : NULL;
	p = malloc(sizeof(*p));
	if (!p) {
		json_decref(req);
		*err = ENOMEM;
		return NULL;
	}
	if (!name) {
		/* no name: report the profile in force */
		adapt_driver_get_profile(d, p);
		o = json_pack("{s:b, s:s, s:s, s:s, s:b}", "ok", 1, "profile", p->name, "path", p->path,
			      "objective", pol_objective_name(p->objective), "dry_run", d->cfg.dry_run);
	} else if (pol_load(name, d->cfg.profile_dirs, d->cfg.nr_profile_dirs, p, msg, sizeof(msg))) {
		o = json_pack("{s:b, s:s}", "ok", 0, "error", msg);
	} else {
		adapt_driver_set_profile(d, p);
		o = json_pack("{s:b, s:s, s:s, s:s}", "ok", 1, "profile", p->name, "path", p->path,
			      "objective", pol_objective_name(p->objective));
	}
	free(p);
	json_decref(req);
	return answer(o, err);
}

int adapt_driver_ctl_register(struct adapt_driver *d, struct vmm_ctl *ctl)
{
	return vmm_ctl_register(ctl, "profile", adapt_ctl_profile, d);
}
