/* The host-state journal's repair: put back what processes that are gone
 * recorded in <run_dir>/state/<pid>.state. */
#include "common/hoststate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

#define STATE_FILE_MAX (256u << 10)

struct report {
	char *buf;
	size_t len, used;
};

static void say(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct report *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!r->buf || r->used + 1 >= r->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->buf + r->used, r->len - r->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->used = UTIL_MIN(r->len - 1, r->used + (size_t)n);
}

static int read_state(const char *path, char **out)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc = 0;
	struct stat st;
	char *buf;
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022) || (size_t)st.st_size > STATE_FILE_MAX) {
		close(fd);
		return -EPERM;
	}
	buf = malloc((size_t)st.st_size + 1);
	n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
	if (n < 0)
		rc = buf ? -errno : -ENOMEM;
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

static int restore_affinity(struct report *r, pid_t pid, pid_t tid, unsigned long long start,
			    char *cpus)
{
	char *tok, *save = NULL;
	cpu_set_t set;

	if (!start || util_state_start_time(pid, tid) != start) {
		say(r, "  thread %d: gone, nothing to put back\n", (int)tid);
		return 0;
	}
	CPU_ZERO(&set);
	for (tok = strtok_r(cpus, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long c = strtol(tok, NULL, 10);

		if (c >= 0 && c < CPU_SETSIZE)
			CPU_SET((int)c, &set);
	}
	if (sched_setaffinity(tid, sizeof(set), &set) < 0) {
		int err = -errno;

		say(r, "  thread %d: cannot restore its CPUs: %s\n", (int)tid, strerror(-err));
		return err;
	}
	say(r, "  thread %d: CPUs restored\n", (int)tid);
	return 0;
}

/* One state file: 1 repaired, 0 left alone (its process runs), -errno. */
static int repair_one(const char *path, struct report *r)
{
	char *buf = NULL, *line, *save = NULL, name[72] = "?";
	unsigned long long start = 0;
	int pid = 0, rc, first = 0, ver = 0;

	rc = read_state(path, &buf);
	if (rc) {
		say(r, "%s: not read (%s; a state file must be a regular file of uid %u, mode "
		    "0600)\n", path, strerror(-rc), (unsigned)geteuid());
		return rc;
	}
	if (sscanf(buf, "avmm-state %d\npid %d %llu\nname %71s", &ver, &pid, &start, name) != 4 ||
	    ver != 1 || pid <= 0) {
		say(r, "%s: not an avmm state file (version 1); left as it is\n", path);
		free(buf);
		return -EINVAL;
	}
	if (start && util_state_start_time(pid, 0) == start) {
		say(r, "%s: avmm %s (pid %d) is running; left alone\n", path, name, pid);
		free(buf);
		return 0;
	}
	say(r, "%s: avmm %s (pid %d) is gone; putting back what it changed\n", path, name, pid);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char fpath[512], value[32], cpus[1024];
		unsigned long long tstart;
		int tid;

		rc = 0;
		if (sscanf(line, "file %511s %31s", fpath, value) == 2) {
			if (util_state_valid_file_record(fpath, value)) {
				say(r, "  %s: not a file avmm restores; skipped\n", fpath);
				rc = -EINVAL;
			} else if ((rc = util_write_file(NULL, fpath, value))) {
				say(r, "  %s: cannot write %s: %s\n", fpath, value, strerror(-rc));
			} else {
				say(r, "  %s = %s\n", fpath, value);
			}
		} else if (sscanf(line, "affinity %d %llu %1023s", &tid, &tstart, cpus) == 3) {
			rc = restore_affinity(r, pid, tid, tstart, cpus);
		}
		if (rc && !first)
			first = rc;
	}
	free(buf);
	if (first)
		return first;
	if (unlink(path) < 0)
		return -errno;
	return 1;
}

int util_state_repair(const char *run_dir, char *report, size_t report_len)
{
	struct report r = { report, report_len, 0 };
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	int repaired = 0, first = 0, rc;
	DIR *d;

	if (report && report_len)
		report[0] = '\0';
	if (util_fmt(dir, sizeof(dir), "%s/state", run_dir))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n < 7 || strcmp(de->d_name + n - 6, ".state") ||
		    util_fmt(path, sizeof(path), "%s/%s", dir, de->d_name))
			continue;
		rc = repair_one(path, &r);
		if (rc > 0)
			repaired++;
		else if (rc < 0 && !first)
			first = rc;
	}
	closedir(d);
	return first ? first : repaired;
}
