/* energy: the power-limit actuator (powercap constraint_N_* files). */
#include "energy/energy.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/hoststate.h"
#include "common/util.h"

static int cap_read(struct energy_cap *c, const char *dir, const char *file, uint64_t *v)
{
	char path[PATH_MAX], buf[64];
	int rc;

	util_fmt(path, sizeof(path), "%s/%s/%s", ENERGY_POWERCAP_DIR, dir, file);
	rc = c->ops->read_file(c->ops->ctx, c->fsroot, path, buf, sizeof(buf));
	return rc < 0 ? rc : energy_parse_uj(buf, v);
}

static int cap_write(struct energy_cap *c, const char *dir, const char *file, uint64_t v,
		     char *msg, size_t msglen)
{
	char path[PATH_MAX], val[32];
	int rc;

	util_fmt(path, sizeof(path), "%s/%s/%s", ENERGY_POWERCAP_DIR, dir, file);
	util_fmt(val, sizeof(val), "%llu", (unsigned long long)v);
	rc = c->ops->write_file(c->ops->ctx, c->fsroot, path, val);
	if (rc && msg) {
		char why[ENERGY_WHY_LEN];

		energy_explain(rc, path, NULL, true, why, sizeof(why));
		util_fmt(msg, msglen, "writing %s: %s", val, why);
	}
	return rc;
}

/* Saves constraint_0.. of one zone; marks long_term (else 0) as the target. */
static int add_zone(struct energy_cap *c, const char *dir, char *msg, size_t msglen)
{
	int first = c->nr, target = -1, rc;
	char file[64];

	for (int n = 0; c->nr < ENERGY_MAX_CONSTRAINTS; n++) {
		struct energy_constraint *k = &c->c[c->nr];
		char path[PATH_MAX], buf[64] = "";

		memset(k, 0, sizeof(*k));
		util_fmt(file, sizeof(file), "constraint_%d_power_limit_uw", n);
		rc = cap_read(c, dir, file, &k->orig_limit_uw);
		if (rc == -ENOENT)
			break;
		if (rc) {
			util_fmt(path, sizeof(path), "%s/%s/%s", ENERGY_POWERCAP_DIR, dir, file);
			energy_explain(rc, path, NULL, false, msg, msglen);
			return rc;
		}
		util_fmt(k->dir, sizeof(k->dir), "%s", dir);
		k->n = n;
		k->orig_enabled = -1;
		util_fmt(path, sizeof(path), "%s/%s/constraint_%d_name", ENERGY_POWERCAP_DIR, dir, n);
		if (c->ops->read_file(c->ops->ctx, c->fsroot, path, buf, sizeof(buf)) > 0)
			util_fmt(k->name, sizeof(k->name), "%.*s", (int)strcspn(buf, "\n"), buf);
		util_fmt(file, sizeof(file), "constraint_%d_time_window_us", n);
		k->has_window = !cap_read(c, dir, file, &k->orig_window_us);
		util_fmt(file, sizeof(file), "constraint_%d_max_power_uw", n);
		cap_read(c, dir, file, &k->max_uw);
		util_fmt(file, sizeof(file), "constraint_%d_min_power_uw", n);
		cap_read(c, dir, file, &k->min_uw);
		util_fmt(file, sizeof(file), "constraint_%d_max_time_window_us", n);
		cap_read(c, dir, file, &k->max_window_us);
		util_fmt(file, sizeof(file), "constraint_%d_min_time_window_us", n);
		cap_read(c, dir, file, &k->min_window_us);
		if (!strcmp(k->name, "long_term") && target < 0)
			target = c->nr;
		c->nr++;
	}
	if (c->nr == first)
		return 0;
	if (target < 0)
		target = first;
	c->c[target].target = true;
	{
		uint64_t en;

		if (!cap_read(c, dir, "enabled", &en))
			c->c[target].orig_enabled = (int)en;
	}
	c->nr_targets++;
	return 0;
}

static int name_is(struct energy_cap *c, const char *dir, const char *prefix)
{
	char path[PATH_MAX], buf[64];

	util_fmt(path, sizeof(path), "%s/%s/name", ENERGY_POWERCAP_DIR, dir);
	if (c->ops->read_file(c->ops->ctx, c->fsroot, path, buf, sizeof(buf)) <= 0)
		return 0;
	return !strncmp(buf, prefix, strlen(prefix));
}

int energy_cap_open(struct energy_cap *c, const char *fsroot, const struct energy_ops *ops,
		    char *msg, size_t msglen)
{
	char path[PATH_MAX], dirs[16][32];
	struct dirent *de;
	int nd = 0, rc = 0;
	DIR *d;

	memset(c, 0, sizeof(*c));
	util_fmt(c->fsroot, sizeof(c->fsroot), "%s", fsroot ? fsroot : "/");
	c->ops = ops ? ops : &energy_real_ops;
	util_path(path, sizeof(path), c->fsroot, ENERGY_POWERCAP_DIR);
	d = opendir(path);
	if (!d) {
		rc = -errno;
		if (rc == -ENOENT)
			util_fmt(msg, msglen, "no %s: RAPL power capping is not available on "
				 "this machine", ENERGY_POWERCAP_DIR);
		else
			energy_explain(rc, ENERGY_POWERCAP_DIR, NULL, false, msg, msglen);
		return rc == -ENOENT ? -ENODEV : rc;
	}
	while ((de = readdir(d)) && nd < 16) {
		int n, len = 0;

		if (sscanf(de->d_name, "intel-rapl:%d%n", &n, &len) == 1 && !de->d_name[len])
			util_fmt(dirs[nd++], sizeof(dirs[0]), "%s", de->d_name);
	}
	closedir(d);
	qsort(dirs, (size_t)nd, sizeof(dirs[0]), (int (*)(const void *, const void *))strcmp);
	for (int pass = 0; pass < 2 && !c->nr_targets && !rc; pass++)
		for (int i = 0; i < nd && !rc; i++)
			if (name_is(c, dirs[i], pass ? "psys" : "package"))
				rc = add_zone(c, dirs[i], msg, msglen);
	if (!rc && !c->nr_targets) {
		util_fmt(msg, msglen, "%s has no package or psys zone with constraints",
			 ENERGY_POWERCAP_DIR);
		rc = -ENODEV;
	}
	return rc;
}

static uint64_t clamp_u64(uint64_t v, uint64_t lo, uint64_t hi, bool *clamped)
{
	if (lo && v < lo) {
		*clamped = true;
		return lo;
	}
	if (hi && v > hi) {
		*clamped = true;
		return hi;
	}
	return v;
}

/* Saves what restore writes back in the host-state journal, before the
 * first write, so that a killed avmm can be repaired. */
static int journal(struct energy_cap *c, const struct energy_constraint *k)
{
	char path[PATH_MAX], val[32];
	int rc;

	util_fmt(path, sizeof(path), "%s/%s/constraint_%d_power_limit_uw", ENERGY_POWERCAP_DIR,
		 k->dir, k->n);
	util_fmt(val, sizeof(val), "%llu", (unsigned long long)k->orig_limit_uw);
	rc = util_state_save_file(c->state, c->fsroot, path, val);
	if (!rc && k->has_window) {
		util_fmt(path, sizeof(path), "%s/%s/constraint_%d_time_window_us",
			 ENERGY_POWERCAP_DIR, k->dir, k->n);
		util_fmt(val, sizeof(val), "%llu", (unsigned long long)k->orig_window_us);
		rc = util_state_save_file(c->state, c->fsroot, path, val);
	}
	if (!rc && k->orig_enabled >= 0) {
		util_fmt(path, sizeof(path), "%s/%s/enabled", ENERGY_POWERCAP_DIR, k->dir);
		util_fmt(val, sizeof(val), "%d", k->orig_enabled);
		rc = util_state_save_file(c->state, c->fsroot, path, val);
	}
	return rc;
}

/* Writes one target constraint; ret becomes 1 when something was clamped. */
static int set_one(struct energy_cap *c, struct energy_constraint *k, uint64_t want_uw,
		   uint64_t window_us, int *ret, uint64_t *lim, char *msg, size_t msglen)
{
	char file[64];
	bool cl = false;
	uint64_t win;
	int rc;

	*lim = clamp_u64(want_uw, k->min_uw, k->max_uw, &cl);
	if (cl) {
		*ret = 1;
		util_fmt(msg, msglen, "%s/%s/constraint_%d_power_limit_uw: %.3f W is outside "
			 "[%.3f, %.3f] W (constraint_%d_min/max_power_uw): clamped to %.3f W",
			 ENERGY_POWERCAP_DIR, k->dir, k->n, want_uw / 1e6, k->min_uw / 1e6,
			 k->max_uw / 1e6, k->n, *lim / 1e6);
		util_warn("%s", msg);
	}
	if (!k->changed) {
		rc = journal(c, k);
		if (rc) {
			util_fmt(msg, msglen, "not changing %s/%s: its original values could not be "
				 "saved to the state file (%s)", ENERGY_POWERCAP_DIR, k->dir,
				 strerror(-rc));
			return rc;
		}
	}
	k->changed = true;        /* restore even after a partial write */
	util_fmt(file, sizeof(file), "constraint_%d_power_limit_uw", k->n);
	rc = cap_write(c, k->dir, file, *lim, msg, msglen);
	if (rc)
		return rc;
	if (window_us && k->has_window) {
		cl = false;
		win = clamp_u64(window_us, k->min_window_us, k->max_window_us, &cl);
		if (cl) {
			*ret = 1;
			util_fmt(msg, msglen, "%s/%s/constraint_%d_time_window_us: %llu us is "
				 "outside [%llu, %llu] us: clamped to %llu us", ENERGY_POWERCAP_DIR,
				 k->dir, k->n, (unsigned long long)window_us,
				 (unsigned long long)k->min_window_us,
				 (unsigned long long)k->max_window_us, (unsigned long long)win);
			util_warn("%s", msg);
		}
		util_fmt(file, sizeof(file), "constraint_%d_time_window_us", k->n);
		rc = cap_write(c, k->dir, file, win, msg, msglen);
		if (rc)
			return rc;
	}
	if (k->orig_enabled == 0)
		rc = cap_write(c, k->dir, "enabled", 1, msg, msglen);
	return rc;
}

int energy_cap_set(struct energy_cap *c, double watts, uint64_t window_us,
		   char *msg, size_t msglen)
{
	double total = 0;
	int ret = 0, rc = 0;
	uint64_t want, lim;

	if (!isfinite(watts) || watts <= 0 || watts > 1e7 || !c->nr_targets) {
		util_fmt(msg, msglen, "power cap %g W: give a positive number of watts%s", watts,
			 c->nr_targets ? "" : " (and open the cap first)");
		return -EINVAL;
	}
	msg[0] = '\0';
	want = (uint64_t)llround(watts * 1e6 / c->nr_targets);
	for (int i = 0; i < c->nr && !rc; i++) {
		if (!c->c[i].target)
			continue;
		rc = set_one(c, &c->c[i], want, window_us, &ret, &lim, msg, msglen);
		total += lim / 1e6;
	}
	if (rc) {
		energy_cap_restore(c, NULL, 0);
		return rc;
	}
	c->cap_w = total;
	return ret;
}

int energy_cap_restore(struct energy_cap *c, char *msg, size_t msglen)
{
	int first = 0, rc;
	char file[64];

	for (int i = c->nr - 1; i >= 0; i--) {
		struct energy_constraint *k = &c->c[i];

		if (!k->changed)
			continue;
		util_fmt(file, sizeof(file), "constraint_%d_power_limit_uw", k->n);
		rc = cap_write(c, k->dir, file, k->orig_limit_uw, first ? NULL : msg, msglen);
		if (!rc && k->has_window) {
			util_fmt(file, sizeof(file), "constraint_%d_time_window_us", k->n);
			rc = cap_write(c, k->dir, file, k->orig_window_us, first ? NULL : msg,
				       msglen);
		}
		if (!rc && k->orig_enabled >= 0)
			rc = cap_write(c, k->dir, "enabled", (uint64_t)k->orig_enabled,
				       first ? NULL : msg, msglen);
		if (rc && !first)
			first = rc;
		if (!rc)
			k->changed = false;
	}
	if (!first)
		c->cap_w = 0;
	return first;
}
