/* The session's cheap signals that guest memory may have changed, so that
 * the costly readers of its layout (smaps for the page sizes, about 2.7 ms
 * here; the bankmap's move_pages pass on a one-node host, about 1 ms) run
 * when something moved instead of on a timer: the page faults of the
 * process's other threads (a vCPU touching new guest RAM faults it in,
 * KVM's faults counted too: getrusage) and the host's MemAvailable and
 * AnonHugePages (khugepaged or reclaim at work), from /proc/meminfo kept
 * open and re-read with pread. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "adapt/session_int.h"
#include "common/util.h"

int adapt_parse_meminfo(const char *buf, double *available_pct)
{
	const char *t = strstr(buf, "MemTotal:"), *a = strstr(buf, "MemAvailable:");
	unsigned long long total, avail;

	if (!t || !a || sscanf(t, "MemTotal: %llu", &total) != 1 ||
	    sscanf(a, "MemAvailable: %llu", &avail) != 1 || !total)
		return -EINVAL;
	*available_pct = (double)avail * 100.0 / (double)total;
	return 0;
}

bool adapt_mem_reread_due(uint64_t age_ns, bool moved)
{
	return age_ns >= ADAPT_MEM_MAX_AGE_NS || (moved && age_ns >= ADAPT_MEM_MIN_AGE_NS);
}

uint64_t adapt_meminfo_every_ns(double available_pct, double low_pct)
{
	return available_pct >= 0 && available_pct >= low_pct + ADAPT_MEMINFO_HEADROOM_PCT ?
	       ADAPT_MEMINFO_SLOW_NS : ADAPT_MEMINFO_FAST_NS;
}

/* The process's faults but the calling (sampling) thread's: the readers of
 * guest memory run there, and their own buffers and passes must not start
 * the next read. */
static uint64_t others_faults(void)
{
	struct rusage all, me;

	if (getrusage(RUSAGE_SELF, &all) || getrusage(RUSAGE_THREAD, &me))
		return 0;
	return (uint64_t)(all.ru_minflt + all.ru_majflt) - (uint64_t)(me.ru_minflt + me.ru_majflt);
}

uint64_t adapt_session_faults(struct adapt_session *s, uint64_t now_ns)
{
	struct adapt_memsig *m = &s->memsig;

	/* once per sample: the readers ask only every ADAPT_MEM_MIN_AGE_NS */
	if (!now_ns || m->faults_t_ns != now_ns) {
		m->faults = others_faults();
		m->faults_t_ns = now_ns;
	}
	return m->faults;
}

/* The real file stays open; a fake tree under fsroot is read anew. */
static ssize_t read_meminfo(struct adapt_memsig *m, const char *fsroot, char *buf, size_t len)
{
	char path[512];
	ssize_t n;
	int fd;

	if (fsroot && *fsroot && strcmp(fsroot, "/")) {
		snprintf(path, sizeof(path), "%s/proc/meminfo", fsroot);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		n = read(fd, buf, len - 1);
		close(fd);
	} else {
		if (!m->meminfo_open) {
			m->meminfo_fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
			if (m->meminfo_fd < 0)
				return -errno;
			m->meminfo_open = true;
		}
		n = pread(m->meminfo_fd, buf, len - 1, 0);
	}
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return n;
}

void adapt_session_meminfo(struct adapt_session *s, uint64_t now_ns)
{
	struct adapt_memsig *m = &s->memsig;
	char buf[4096];
	const char *h;
	double pct;

	if (m->meminfo_t_ns && now_ns - m->meminfo_t_ns <
	    adapt_meminfo_every_ns(m->mem_available_pct, s->profile.paging.mem_available_low_pct))
		return;
	m->meminfo_t_ns = now_ns;
	m->mem_available_pct = -1;
	if (read_meminfo(m, s->cfg.fsroot, buf, sizeof(buf)) <= 0)
		return;
	if (!adapt_parse_meminfo(buf, &pct))
		m->mem_available_pct = pct;
	h = strstr(buf, "AnonHugePages:");
	if (h)
		sscanf(h, "AnonHugePages: %llu", &m->anon_huge_kib);
}

void adapt_session_memsig_close(struct adapt_session *s)
{
	if (s->memsig.meminfo_open)
		close(s->memsig.meminfo_fd);
	s->memsig.meminfo_open = false;
}
