/* The host-state journal: originals of what avmm changes, in a state file,
 * and the repair of what a killed avmm left. */
#include "common/hoststate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

#define STATE_MAX_RECORDS 128
#define STATE_PATH_MAX 512

struct state_rec {
	bool is_file;
	char path[STATE_PATH_MAX];  /* file records */
	char value[32];
	pid_t tid;                  /* affinity records */
	unsigned long long tid_start;
	char cpus[1024];
};

struct util_state {
	pthread_mutex_t lock;
	char dir[PATH_MAX], file[PATH_MAX], name[72];
	pid_t pid;
	unsigned long long start;
	int nr;
	struct state_rec rec[STATE_MAX_RECORDS];
};

unsigned long long util_state_start_time(pid_t pid, pid_t tid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	int field;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (util_read_file(NULL, path, buf, sizeof(buf)) <= 0)
		return 0;
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p)
		return 0;
	for (field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		v = strtoull(p + 1, NULL, 10);
	return v;
}

static int ensure_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		util_err("state folder %s must be a folder of uid %u that only it can write; "
			 "remove it and let avmm create it", dir, (unsigned)geteuid());
		return -EPERM;
	}
	return 0;
}

static int write_out(struct util_state *st)
{
	char tmp[PATH_MAX + 8];
	FILE *f;
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", st->file);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		util_err("state file %s: %s", tmp, strerror(-rc));
		return rc;
	}
	fprintf(f, "avmm-state 1\npid %d %llu\nname %s\n", (int)st->pid, st->start, st->name);
	for (int i = 0; i < st->nr; i++) {
		const struct state_rec *r = &st->rec[i];

		if (r->is_file)
			fprintf(f, "file %s %s\n", r->path, r->value);
		else
			fprintf(f, "affinity %d %llu %s\n", (int)r->tid, r->tid_start, r->cpus);
	}
	if (fflush(f) || fsync(fileno(f)))
		rc = -errno;
	if (fclose(f) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, st->file) < 0)
		rc = -errno;
	if (rc) {
		util_err("state file %s: %s; what avmm changes could not be put back after a "
			 "crash", st->file, strerror(-rc));
		unlink(tmp);
	}
	return rc;
}

const char *util_run_dir(void)
{
	const char *dir = getenv("AVMM_RUN_DIR");

	return dir && *dir ? dir : "/run/avmm";
}

int util_state_open(const char *run_dir, const char *vm_name, struct util_state **out)
{
	struct util_state *st = calloc(1, sizeof(*st));
	int rc;

	if (!st)
		return -ENOMEM;
	pthread_mutex_init(&st->lock, NULL);
	st->pid = getpid();
	st->start = util_state_start_time(st->pid, 0);
	snprintf(st->name, sizeof(st->name), "%s", vm_name && *vm_name ? vm_name : "avmm");
	mkdir(run_dir, 0755);
	rc = util_fmt(st->dir, sizeof(st->dir), "%s/state", run_dir);
	if (!rc)
		rc = util_fmt(st->file, sizeof(st->file), "%s/%d.state", st->dir, (int)st->pid);
	if (!rc)
		rc = ensure_dir(st->dir);
	if (rc) {
		free(st);
		return rc;
	}
	*out = st;
	return 0;
}

static int add(struct util_state *st, const struct state_rec *r)
{
	int rc;

	pthread_mutex_lock(&st->lock);
	for (int i = 0; i < st->nr; i++) {
		const struct state_rec *o = &st->rec[i];

		if (o->is_file == r->is_file &&
		    (r->is_file ? !strcmp(o->path, r->path) : o->tid == r->tid)) {
			pthread_mutex_unlock(&st->lock);
			return 0; /* the first original stays */
		}
	}
	if (st->nr == STATE_MAX_RECORDS) {
		pthread_mutex_unlock(&st->lock);
		util_err("state file %s is full (%d records)", st->file, STATE_MAX_RECORDS);
		return -ENOSPC;
	}
	st->rec[st->nr++] = *r;
	rc = write_out(st);
	if (rc)
		st->nr--;
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int util_state_save_file(struct util_state *st, const char *root, const char *path,
			 const char *orig)
{
	struct state_rec r = { .is_file = true };
	int rc;

	if (!st)
		return 0;
	rc = util_path(r.path, sizeof(r.path), root, path);
	if (!rc)
		rc = util_fmt(r.value, sizeof(r.value), "%.*s", (int)strcspn(orig, "\n"), orig);
	if (!rc && util_state_valid_file_record(r.path, r.value))
		rc = -EINVAL;
	if (rc) {
		util_err("state file: cannot record %s = '%s' (%s)", path, orig, strerror(-rc));
		return rc;
	}
	return add(st, &r);
}

int util_state_save_affinity(struct util_state *st, pid_t tid, const cpu_set_t *orig)
{
	struct state_rec r = { .tid = tid };
	size_t used = 0;

	if (!st)
		return 0;
	r.tid_start = util_state_start_time(st->pid, tid);
	for (int c = 0; c < CPU_SETSIZE && used + 8 < sizeof(r.cpus); c++)
		if (CPU_ISSET(c, orig))
			used += (size_t)snprintf(r.cpus + used, sizeof(r.cpus) - used, "%s%d",
						 used ? "," : "", c);
	if (!used)
		return -EINVAL;
	return add(st, &r);
}

int util_state_clear(struct util_state *st)
{
	if (!st)
		return 0;
	pthread_mutex_lock(&st->lock);
	st->nr = 0;
	if (unlink(st->file) < 0 && errno != ENOENT)
		util_warn("state file %s: %s", st->file, strerror(errno));
	pthread_mutex_unlock(&st->lock);
	return 0;
}

void util_state_close(struct util_state *st)
{
	if (!st)
		return;
	if (!st->nr)
		unlink(st->file);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

const char *util_state_path(const struct util_state *st)
{
	return st ? st->file : "";
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

int util_state_valid_file_record(const char *path, const char *value)
{
	const char *base = strrchr(path, '/'), *p;
	int n = 0, len = 0;

	if (path[0] != '/' || strstr(path, "/../") || ends_with(path, "/..") ||
	    !strstr(path, "/sys/class/powercap/") || !base)
		return -EINVAL;
	base++;
	if (strcmp(base, "enabled") &&
	    !(sscanf(base, "constraint_%d_%n", &n, &len) == 1 && len &&
	      (!strcmp(base + len, "power_limit_uw") || !strcmp(base + len, "time_window_us"))))
		return -EINVAL;
	if (!*value || strlen(value) > 20)
		return -EINVAL;
	for (p = value; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	return 0;
}
