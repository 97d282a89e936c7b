/* Hardware counters per vCPU thread: perf_event_open, events encoded by
 * libpfm4, one guest-only and one host-only group per thread. libpfm4 is
 * loaded on first use, and not at all for the default events on a host
 * without a hardware PMU (they are generic perf events; relocating and
 * initialising libpfm's event tables costs ~2.5 MiB of resident memory). */
#include "telemetry/tel_int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <perfmon/pfmlib_perf_event.h>
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
	int n;
	char names[PERF_MAX_EV][64];
	struct perf_event_attr attr[PERF_MAX_EV];
	enum tel_hw_role role[PERF_MAX_EV];
	bool no_pmu;                           /* no core PMU under the fsroot */
	struct perf_group g[TEL_MAX_VCPUS][2]; /* [0] guest, [1] host */
};

static struct {
	__typeof__(&pfm_initialize) initialize;
	__typeof__(&pfm_strerror) strerr;
	__typeof__(&pfm_get_os_event_encoding) encode;
} pfm;
static const struct util_dl_sym pfm_syms[] = {
	{ "pfm_initialize", (void **)&pfm.initialize },
	{ "pfm_strerror", (void **)&pfm.strerr },
	{ "pfm_get_os_event_encoding", (void **)&pfm.encode },
};
static struct util_dl_lib pfm_lib = {
	.soname = "libpfm.so.4", .package = "libpfm4",
	.syms = pfm_syms, .nr_syms = UTIL_ARRAY_SIZE(pfm_syms),
};

enum tel_hw_role tel_hw_role_of(const char *e)
{
	if (strstr(e, "WALK_DURATION") || strstr(e, "WALK_ACTIVE") || strstr(e, "WALK_PENDING"))
		return TEL_HW_WALK;
	if (!strcmp(e, "cycles") || strstr(e, "CPU_CYCLES") || !strcmp(e, "PAPI_TOT_CYC") ||
	    strstr(e, "CPU_CLK_UNHALTED"))
		return TEL_HW_CYCLES;
	if (!strcmp(e, "instructions") || strstr(e, "HW_INSTRUCTIONS") ||
	    !strcmp(e, "PAPI_TOT_INS") || strstr(e, "INST_RETIRED"))
		return TEL_HW_INSTR;
	if (strstr(e, "CACHE_MISSES") || strstr(e, "CACHE_LL:") || strstr(e, "LLC") ||
	    !strcmp(e, "PAPI_L3_TCM") || strstr(e, "LONGEST_LAT_CACHE:MISS"))
		return TEL_HW_LLC;
	if ((strstr(e, "DTLB") && strstr(e, "MISS")) || !strcmp(e, "PAPI_TLB_DM"))
		return TEL_HW_DTLB;
	return TEL_HW_OTHER;
}

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

/* The defaults are generic perf events: their encoding is the one libpfm4's
 * "perf" PMU gives, so it is used as is where libpfm4 is not loaded. */
static const struct {
	const char *name;
	uint32_t type;
	uint64_t config;
} default_events[] = {
	{ "cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES },
	{ "instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS },
	{ "PERF_COUNT_HW_CACHE_MISSES", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES },
	{ "PERF_COUNT_HW_CACHE_DTLB:READ:MISS", PERF_TYPE_HW_CACHE,
	  PERF_COUNT_HW_CACHE_DTLB | PERF_COUNT_HW_CACHE_OP_READ << 8 |
	  PERF_COUNT_HW_CACHE_RESULT_MISS << 16 },
};
#define PMU_DIR "/sys/bus/event_source/devices"
static const char *const walk_candidates[] = {
	"DTLB_LOAD_MISSES:WALK_DURATION", "DTLB_LOAD_MISSES:WALK_ACTIVE",
	"DTLB_LOAD_MISSES:WALK_PENDING",
};

static int encode(const char *name, struct perf_event_attr *a)
{
	pfm_perf_encode_arg_t arg;

	memset(a, 0, sizeof(*a));
	memset(&arg, 0, sizeof(arg));
	arg.attr = a;
	arg.size = sizeof(arg);
	return pfm.encode(name, PFM_PLM0 | PFM_PLM3, PFM_OS_PERF_EVENT, &arg);
}

/* A core PMU that can count hardware events: x86 "cpu" (hybrid: cpu_core,
 * cpu_atom), s390 "cpum_cf", Arm "armv*". */
static bool core_pmu_present(const char *root)
{
	char path[PATH_MAX];
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (util_path(path, sizeof(path), root, PMU_DIR))
		return true;
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (de = readdir(d)))
		found = !strcmp(de->d_name, "cpu") || !strcmp(de->d_name, "cpu_core") ||
			!strcmp(de->d_name, "cpu_atom") || !strcmp(de->d_name, "cpum_cf") ||
			!strncmp(de->d_name, "armv", 4);
	closedir(d);
	return found;
}

static int add_event(struct tel_hw *h, const char *name, int generic, char *why,
		     size_t wlen)
{
	int r;

	if (h->n >= PERF_MAX_EV) {
		snprintf(why, wlen, "too many counter events (at most %d)", PERF_MAX_EV);
		return -E2BIG;
	}
	if (generic >= 0) {
		memset(&h->attr[h->n], 0, sizeof(h->attr[0]));
		h->attr[h->n].type = default_events[generic].type;
		h->attr[h->n].config = default_events[generic].config;
	} else if ((r = encode(name, &h->attr[h->n])) != PFM_SUCCESS) {
		snprintf(why, wlen, "libpfm4 cannot encode event '%s': %s (list them with "
			 "libpfm4's showevtinfo)", name, pfm.strerr(r));
		return -EINVAL;
	}
	snprintf(h->names[h->n], sizeof(h->names[0]), "%s", name);
	h->role[h->n] = tel_hw_role_of(name);
	h->n++;
	return 0;
}

static int perf_setup(const char *const *events, int n, const char *root,
		      struct tel_hw **out, char *why, size_t wlen)
{
	struct tel_hw *h;
	struct perf_event_attr tmp;
	int r, err = 0;

	bool custom = events && n > 0, no_pmu = !core_pmu_present(root);

	/* named events need libpfm4 to encode them; the defaults only where
	 * a PMU may have a page-walk event */
	if (custom || !no_pmu) {
		err = util_dl_load(&pfm_lib, why, wlen);
		if (err)
			return -ENODEV;
		r = pfm.initialize();
		if (r != PFM_SUCCESS) {
			snprintf(why, wlen, "libpfm4 initialisation failed: %s", pfm.strerr(r));
			return -ENODEV;
		}
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->no_pmu = no_pmu;
	if (custom) {
		for (int i = 0; i < n && !err; i++)
			err = add_event(h, events[i], -1, why, wlen);
	} else {
		for (size_t i = 0; i < UTIL_ARRAY_SIZE(default_events) && !err; i++)
			err = add_event(h, default_events[i].name, (int)i, why, wlen);
		/* page-walk cycles only where the PMU has such an event */
		for (size_t i = 0; i < UTIL_ARRAY_SIZE(walk_candidates) && !err && !no_pmu; i++)
			if (encode(walk_candidates[i], &tmp) == PFM_SUCCESS) {
				err = add_event(h, walk_candidates[i], -1, why, wlen);
				break;
			}
	}
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

	for (int i = 0; i < h->n; i++) {
		struct perf_event_attr a = h->attr[i];
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
		if (h->no_pmu && (eg == -ENOENT || eg == -ENODEV || eg == -EOPNOTSUPP) &&
		    strlen(why) > 1 && why[strlen(why) - 1] == ')')
			snprintf(why + strlen(why) - 1, wlen - (strlen(why) - 1),
				 "; %s has no cpu PMU)", PMU_DIR);
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
	for (int i = 0; i < h->n; i++) {
		uint64_t x;

		if (g->fd[i] < 0)
			continue;
		x = (uint64_t)((double)buf[3 + g->idx[i]] * scale);
		(host ? v->ev_host : v->ev_guest)[i] = x;
		tel_hw_store(v, h->role[i], host, x);
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

	for (i = 0; i < h->n && i < max; i++)
		out[i] = h->names[i];
	return i;
}

const struct tel_hw_ops tel_perf_ops = {
	.name = "perf", .setup = perf_setup, .attach = perf_attach,
	.read = perf_read, .names = perf_names, .close = perf_close,
};
