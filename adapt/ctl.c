/* adapt: the control socket's "profile" command. */
#include "adapt/adapt_drv.h"
#include "vmm-core/vmm.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static char *answer(json_t *o, int *err)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (!s)
		*err = ENOMEM;
	return s;
}

static bool is_path(const char *name)
{
	size_t n = strlen(name);

	return strchr(name, '/') || (n > 4 && !strcmp(name + n - 4, ".ini"));
}

/* A profile from the profile folders by name, from anyone allowed on the
 * socket; a path only from root, only a regular file, and what a file that
 * is not a profile holds is never echoed back. */
static int load_for_peer(struct adapt_driver *d, const char *name,
			 const struct vmm_ctl_peer *peer, struct pol_profile *p,
			 char *msg, size_t len)
{
	struct stat st;

	if (!is_path(name))
		return pol_load(name, d->cfg.profile_dirs, d->cfg.nr_profile_dirs, p, msg, len);
	if (peer && peer->uid != 0) {
		snprintf(msg, len, "a profile path is taken only from root: name a profile from "
			 "the profile folders instead (avmm policy check NAME)");
		return -EPERM;
	}
	if (name[0] != '/' || stat(name, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(msg, len, "%.256s is not an absolute path to a regular file", name);
		return -EINVAL;
	}
	if (pol_load(name, d->cfg.profile_dirs, d->cfg.nr_profile_dirs, p, msg, len)) {
		snprintf(msg, len, "%.256s does not load as a goal profile: run `avmm policy check "
			 "%.256s` to see why", name, name);
		return -EINVAL;
	}
	return 0;
}

char *adapt_ctl_profile(const char *request_json, const struct vmm_ctl_peer *peer, void *arg,
			int *err)
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
	} else if (load_for_peer(d, name, peer, p, msg, sizeof(msg))) {
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
