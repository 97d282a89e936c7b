/* Per-thread CPU time, run delay (schedstat) and last CPU (stat field 39). */
#include "telemetry/tel_int.h"

#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

/* One unsigned decimal after optional blanks; false if none or too large. */
static bool parse_u64(const char **p, unsigned long long *v)
{
	const char *s = *p;
	unsigned long long x = 0;

	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (x > (ULLONG_MAX - (unsigned)(*s - '0')) / 10)
			return false;
		x = x * 10 + (unsigned)(*s - '0');
	}
	*p = s;
	*v = x;
	return true;
}

/* "<cpu_time_ns> <run_delay_ns> <timeslices>\n", by hand: sscanf took
 * 0.58 us here, this 0.16 us, of a schedstat read of about 2.6 us */
int tel_parse_schedstat(const char *buf, uint64_t *cpu_ns, uint64_t *delay_ns)
{
	unsigned long long a, b, c;
	const char *p = buf;

	if (!parse_u64(&p, &a) || !parse_u64(&p, &b) || !parse_u64(&p, &c))
		return -EINVAL;
	for (; *p; p++)
		if (*p != '\n' && *p != ' ')
			return -EINVAL;
	*cpu_ns = a;
	*delay_ns = b;
	return 0;
}

/* Field 39 (processor) of /proc/.../stat; comm (field 2) may hold spaces and
 * parentheses, so fields are counted from the last ')'. */
int tel_parse_stat_cpu(const char *buf, int *cpu)
{
	const char *p = strrchr(buf, ')');
	int field = 2;
	char *end;
	long v;

	if (!p)
		return -EINVAL;
	p++;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			break;
		field++;
		if (field == 39) {
			v = strtol(p, &end, 10);
			if (end == p || v < 0 || v > 1 << 20)
				return -EINVAL;
			*cpu = (int)v;
			return 0;
		}
		while (*p && *p != ' ' && *p != '\n')
			p++;
	}
	return -EINVAL;
}

static int open_task_file(const char *root, pid_t pid, pid_t tid, const char *name, int *fd,
			  char *why, size_t wlen)
{
	char rel[96], path[4096];
	int err;

	if (pid > 0)
		snprintf(rel, sizeof(rel), "/proc/%d/task/%d/%s", (int)pid, (int)tid, name);
	else
		snprintf(rel, sizeof(rel), "/proc/self/task/%d/%s", (int)tid, name);
	err = util_path(path, sizeof(path), root, rel);
	if (err)
		return err;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		err = -errno;
		snprintf(why, wlen, "%s: %s%s", path, strerror(errno),
			 err == -ENOENT && !strcmp(name, "schedstat") ?
			 " (kernel without CONFIG_SCHED_INFO, or the thread ended)" : "");
		return err;
	}
	return 0;
}

/* The kernel's CPU clock id of a thread of this process (posix-cpu-timers:
 * MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED) = (~tid << 3) | PERTHREAD 4 | SCHED 2):
 * its sum_exec_runtime, the first schedstat field, without procfs. Only for the
 * real /proc: a fake tree's threads are not ours. */
static bool open_cpu_clock(const char *root, pid_t tid, clockid_t *clk)
{
	struct timespec ts;

	if (root && *root && strcmp(root, "/"))
		return false;
	*clk = (clockid_t)(((unsigned)~tid << 3) | 4 | 2);
	return clock_gettime(*clk, &ts) == 0;
}

int tel_thread_open(const char *root, pid_t tid, struct tel_thread *th,
		    char *why, size_t wlen)
{
	return tel_thread_open_pid(root, 0, tid, th, why, wlen);
}

int tel_thread_open_pid(const char *root, pid_t pid, pid_t tid, struct tel_thread *th,
			char *why, size_t wlen)
{
	int err;

	th->own = pid <= 0 || pid == getpid();
	th->pid = th->own ? getpid() : pid;
	th->tid = tid;
	th->sched_fd = th->stat_fd = th->mem_fd = -1;
	err = open_task_file(root, pid, tid, "schedstat", &th->sched_fd, why, wlen);
	if (err)
		return err;
	err = open_task_file(root, pid, tid, "stat", &th->stat_fd, why, wlen);
	if (err) {
		close(th->sched_fd);
		th->sched_fd = -1;
		return err;
	}
	th->has_clock = th->own && open_cpu_clock(root, tid, &th->clock);
	return 0;
}

UTIL_HOT int tel_thread_cpu(struct tel_thread *th, uint64_t *cpu_ns)
{
	struct timespec ts;
	uint64_t delay;

	if (!th->has_clock)
		return tel_thread_read(th, cpu_ns, &delay);
	if (clock_gettime(th->clock, &ts))
		return -ESRCH;    /* the thread ended */
	*cpu_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return 0;
}

static int pread_text(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	if (n < 0)
		return -errno;
	buf[n] = 0;
	return n ? 0 : -ESRCH;
}

int tel_thread_read(struct tel_thread *th, uint64_t *cpu_ns, uint64_t *delay_ns)
{
	char buf[128];
	int err;

	err = pread_text(th->sched_fd, buf, sizeof(buf));
	return err ? err : tel_parse_schedstat(buf, cpu_ns, delay_ns);
}

int tel_thread_pcpu(struct tel_thread *th)
{
	char buf[1024];
	int cpu = -1;

	if (!pread_text(th->stat_fd, buf, sizeof(buf)))
		tel_parse_stat_cpu(buf, &cpu);
	return cpu;
}

void tel_thread_close(struct tel_thread *th)
{
	if (th->sched_fd >= 0)
		close(th->sched_fd);
	if (th->stat_fd >= 0)
		close(th->stat_fd);
	if (th->mem_fd >= 0)
		close(th->mem_fd);
	th->sched_fd = th->stat_fd = th->mem_fd = -1;
}

int tel_thread_mem_read(const char *root, struct tel_thread *th, uint64_t addr, void *buf,
			size_t len, char *why, size_t wlen)
{
	ssize_t n;
	int err;

	if (th->mem_fd < 0) {
		err = open_task_file(root, th->own ? 0 : th->pid, th->tid, "mem", &th->mem_fd, why,
				     wlen);
		if (err)
			return err;
	}
	n = pread(th->mem_fd, buf, len, (off_t)addr);
	if (n == (ssize_t)len)
		return 0;
	err = n < 0 ? -errno : -EIO;
	snprintf(why, wlen, "thread %d's memory at 0x%llx: %s", (int)th->tid,
		 (unsigned long long)addr, n < 0 ? strerror(errno) : "short read");
	return err;
}
