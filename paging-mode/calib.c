/* paging-mode calibration: the measured cost of one paging exit on this host,
 * kept as a small key=value file <state>/paging/calibration, valid only for
 * the kernel release and KVM flavour it was measured on. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "paging-mode/pgmode.h"

#define CALIB_FILE "calibration"
#define FIX "run `avmm paging calibrate`"

void pgmode_state_dir(char *out, size_t len)
{
	const char *base = getenv("AVMM_STATE_DIR");

	if (!base || !*base)
		base = "/var/lib/avmm";
	snprintf(out, len, "%s/paging", base);
}

/* mkdir -p with mode 0755 for every component made. */
static int make_dirs(const char *dir)
{
	char p[512];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, dir, n + 1);
	for (char *s = p + 1; ; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, 0755) && errno != EEXIST)
			return -errno;
		*s = c;
		if (!c)
			return 0;
	}
}

static void host_id(char *kernel, size_t klen, const char **kvm)
{
	struct pgmode_host h;
	struct utsname u;

	snprintf(kernel, klen, "%s", uname(&u) ? "unknown" : u.release);
	pgmode_probe(NULL, PGMODE_PROBE_NO_SYSCALLS, &h);
	*kvm = pgmode_kvm_name(h.kvm);
}

int pgmode_calibration_save(const char *dir, double exit_cost_ns, const char *how)
{
	char path[600], tmp[620], why[256], kernel[128], date[40];
	const char *kvm;
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;
	int rc;

	if (!(exit_cost_ns > 0) || !isfinite(exit_cost_ns))
		return -EINVAL;
	rc = make_dirs(dir);
	if (rc) {
		util_err("calibration: cannot create %s: %s (run as root, or set AVMM_STATE_DIR "
			 "to a writable folder)", dir, strerror(-rc));
		return rc;
	}
	if (util_fmt(path, sizeof(path), "%s/" CALIB_FILE, dir) ||
	    util_fmt(tmp, sizeof(tmp), "%s.tmp", path))
		return -ENAMETOOLONG;
	host_id(kernel, sizeof(kernel), &kvm);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	f = util_fopen_output(tmp, why, sizeof(why));
	if (!f) {
		rc = -errno;
		util_err("calibration: %s", why);
		return rc;
	}
	fprintf(f, "# avmm paging calibration: the cost of one paging exit on this host\n"
		"exit_cost_ns=%.1f\nkernel=%s\nkvm=%s\ndate=%s\nhow=%s\n",
		exit_cost_ns, kernel, kvm, date, how ? how : "");
	if (fflush(f) || ferror(f)) {
		rc = -errno;
		fclose(f);
		unlink(tmp);
		util_err("calibration: writing %s: %s", tmp, strerror(-rc));
		return rc;
	}
	fclose(f);
	if (rename(tmp, path)) {
		rc = -errno;
		unlink(tmp);
		util_err("calibration: rename to %s: %s", path, strerror(-rc));
		return rc;
	}
	return 0;
}

int pgmode_calibration_load(const char *dir, double *exit_cost_ns, char *why, size_t len)
{
	char path[600], line[512], kernel[128] = "", kvm[16] = "", here[128];
	const char *here_kvm;
	double cost = -1;
	int lineno = 0;
	FILE *f;

	if (util_fmt(path, sizeof(path), "%s/" CALIB_FILE, dir))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f) {
		int err = errno;

		snprintf(why, len, "no paging-exit calibration at %s (%s): " FIX, path,
			 strerror(err));
		return -err;
	}
	while (fgets(line, sizeof(line), f)) {
		char *eq, *end;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq) {
			snprintf(why, len, "%s:%d: expected key=value: " FIX " again", path, lineno);
			fclose(f);
			return -EINVAL;
		}
		*eq++ = '\0';
		if (!strcmp(line, "exit_cost_ns")) {
			cost = strtod(eq, &end);
			if (end == eq || *end || !(cost > 0) || !isfinite(cost)) {
				snprintf(why, len, "%s:%d: exit_cost_ns '%.32s' is not a positive number: "
					 FIX " again", path, lineno, eq);
				fclose(f);
				return -EINVAL;
			}
		} else if (!strcmp(line, "kernel")) {
			snprintf(kernel, sizeof(kernel), "%s", eq);
		} else if (!strcmp(line, "kvm")) {
			snprintf(kvm, sizeof(kvm), "%s", eq);
		}
	}
	fclose(f);
	if (cost < 0 || !kernel[0] || !kvm[0]) {
		snprintf(why, len, "%s lacks exit_cost_ns, kernel or kvm: " FIX " again", path);
		return -EINVAL;
	}
	host_id(here, sizeof(here), &here_kvm);
	if (strcmp(kernel, here) || strcmp(kvm, here_kvm)) {
		snprintf(why, len, "%s was measured on kernel %s (kvm %s), this host runs %s (kvm %s): "
			 FIX " again", path, kernel, kvm, here, here_kvm);
		return -ESTALE;
	}
	*exit_cost_ns = cost;
	snprintf(why, len, "calibrated %.0f ns per paging exit (%s)", cost, path);
	return 0;
}
