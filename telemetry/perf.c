/* Hardware counters per vCPU thread: perf_event_open, one guest-only and
 * one host-only group per thread, read as groups and scaled for
 * multiplexing. The events and their encoding: perf_pfm.c. */
#include "telemetry/tel_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"

#define PERF_MAX_EV TEL_SAMPLE_MAX_EVENTS

struct perf_group {
	int fd[PERF_MAX_EV];   /* fd[i] for event i, -1 if that event failed */
	int idx[PERF_MAX_EV];  /* position of event i in the group read */
	int n;                 /* events in the group */
	int leader;
};

struct tel_hw {
	struct tel_perf_events ev;
	struct perf_group g[TEL_MAX_VCPUS][2]; /* [0] guest, [1] host */
};

void tel_hw_store(struct tel_vcpu_sample *v, enum tel_hw_role r, bool host, uint64_t x)
{
	uint64_t *g[] = { &v->cycles, &v->instructions, &v->llc_misses, &v->dtlb_misses,
			  &v->walk_cycles };
	uint64_t *h[] = { &v->host_cycles, &v->host_instructions, &v->host_llc_misses,
			  &v->host_dtlb_misses, &v->host_walk_cycles };

	if (r < TEL_HW_OTHER)
		*(host ? h : g)[r] = x;
}

void tel_perf_explain(int err, const char *root, char *why, size_t wlen)
{
	char buf[32] = "";
	long lvl = -99;

	if (util_read_file(root, "/proc/sys/kernel/perf_event_paranoid", buf, sizeof(buf)) > 0)
		lvl = strtol(buf, NULL, 10);
	switch (err) {
	case -ENOENT:
	case -ENODEV:
	case -EOPNOTSUPP:
		snprintf(why, wlen, "no hardware PMU (%s)", strerror(-err));
		break;
	case -EACCES:
	case -EPERM:
		snprintf(why, wlen, "permission denied (%s): perf_event_paranoid is %ld; "
			 "run as root, grant CAP_PERFMON or set it to 1 or lower",
			 strerror(-err), lvl);
		break;
	default:
		snprintf(why, wlen, "perf_event_open failed: %s", strerror(-err));
	}
}

static int perf_setup(const char *const *events, int n, const char *root,
		      struct tel_hw **out, char *why, size_t wlen)
{
	struct tel_hw *h;
	int err;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	err = tel_perf_events(events, n, root, &h->ev, why, wlen);
	if (err) {
		free(h);
		return err;
	}
	for (int v = 0; v < TEL_MAX_VCPUS; v++)
		for (int m = 0; m < 2; m++) {
			h->g[v][m].leader = -1;
			for (int i = 0; i < PERF_MAX_EV; i++)
				h->g[v][m].fd[i] = -1;
		}
	*out = h;
	return 0;
}

static void close_group(struct perf_group *g)
{
	for (int i = 0; i < PERF_MAX_EV; i++) {
		if (g->fd[i] >= 0)
			close(g->fd[i]);
		g->fd[i] = -1;
	}
	g->leader = -1;
	g->n = 0;
}

/* Opens every event for one mode; the first that opens leads the group. */
static int open_group(struct tel_hw *h, struct perf_group *g, pid_t tid, bool host)
{
	int first_err = 0;

	for (int i = 0; i < h->ev.n; i++) {
		struct perf_event_attr a = h->ev.attr[i];
		int fd;

		a.size = sizeof(a);
		a.read_format = PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED |
				PERF_FORMAT_TOTAL_TIME_RUNNING;
		a.exclude_host = !host;
		a.exclude_guest = host;
		a.inherit = 0;
		fd = (int)syscall(SYS_perf_event_open, &a, tid, -1, g->leader, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			if (!first_err)
				first_err = -errno;
			continue;
		}
		g->fd[i] = fd;
		g->idx[i] = g->n++;
		if (g->leader < 0)
			g->leader = fd;
	}
	return g->leader >= 0 ? 0 : first_err;
}

static int perf_attach(struct tel_hw *h, int vcpu, pid_t tid, char *why, size_t wlen)
{
	int eg, eh;

	eg = open_group(h, &h->g[vcpu][0], tid, false);
	eh = open_group(h, &h->g[vcpu][1], tid, true);
	if (eg && eh) {
		tel_perf_explain(eg, NULL, why, wlen);
		if (h->ev.no_pmu && (eg == -ENOENT || eg == -ENODEV || eg == -EOPNOTSUPP) &&
		    strlen(why) > 1 && why[strlen(why) - 1] == ')')
			snprintf(why + strlen(why) - 1, wlen - (strlen(why) - 1),
				 "; %s has no cpu PMU)", TEL_PERF_PMU_DIR);
		return eg;
	}
	return 0;
}

static int read_group(struct tel_hw *h, struct perf_group *g, struct tel_vcpu_sample *v,
		      bool host)
{
	uint64_t buf[3 + PERF_MAX_EV];
	double scale = 1.0;
	ssize_t n;

	if (g->leader < 0)
		return -ENODEV;
	n = read(g->leader, buf, sizeof(buf));
	if (n < (ssize_t)(3 + g->n) * 8)
		return n < 0 ? -errno : -EIO;
	if (buf[2] && buf[2] < buf[1])
		scale = (double)buf[1] / (double)buf[2];
	if (!host || v->multiplex_ratio == 0)
		v->multiplex_ratio = buf[1] ? (double)buf[2] / (double)buf[1] : 1.0;
	for (int i = 0; i < h->ev.n; i++) {
		uint64_t x;

		if (g->fd[i] < 0)
			continue;
		x = (uint64_t)((double)buf[3 + g->idx[i]] * scale);
		(host ? v->ev_host : v->ev_guest)[i] = x;
		tel_hw_store(v, h->ev.role[i], host, x);
	}
	return 0;
}

static int perf_read(struct tel_hw *h, int vcpu, struct tel_vcpu_sample *v)
{
	int eg = read_group(h, &h->g[vcpu][0], v, false);
	int eh = read_group(h, &h->g[vcpu][1], v, true);

	v->hw_valid = !eg;
	v->hw_host_valid = !eh;
	return eg && eh ? eg : 0;
}

static void perf_close(struct tel_hw *h)
{
	if (!h)
		return;
	for (int v = 0; v < TEL_MAX_VCPUS; v++) {
		close_group(&h->g[v][0]);
		close_group(&h->g[v][1]);
	}
	free(h);
}

static int perf_names(const struct tel_hw *h, const char **out, int max)
{
	int i;

	for (i = 0; i < h->ev.n && i < max; i++)
		out[i] = h->ev.names[i];
	return i;
}

const struct tel_hw_ops tel_perf_ops = {
	.name = "perf", .setup = perf_setup, .attach = perf_attach,
	.read = perf_read, .names = perf_names, .close = perf_close,
};
