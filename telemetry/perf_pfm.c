/* Hardware counter events for perf_event_open: which to count and their
 * perf_event_attr, encoded by libpfm4. libpfm4 is loaded on first use,
 * and not at all for the default events on a host without a hardware PMU
 * (they are generic perf events; relocating and initialising libpfm's
 * event tables costs ~2.5 MiB of resident memory). */
#include "telemetry/tel_int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <perfmon/pfmlib_perf_event.h>
#include <string.h>

#include "common/util.h"

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

	if (util_path(path, sizeof(path), root, TEL_PERF_PMU_DIR))
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

static int add_event(struct tel_perf_events *h, const char *name, int generic, char *why,
		     size_t wlen)
{
	int r;

	if (h->n >= TEL_SAMPLE_MAX_EVENTS) {
		snprintf(why, wlen, "too many counter events (at most %d)", TEL_SAMPLE_MAX_EVENTS);
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

int tel_perf_events(const char *const *events, int n, const char *root,
		    struct tel_perf_events *h, char *why, size_t wlen)
{
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
	memset(h, 0, sizeof(*h));
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
	return err;
}
