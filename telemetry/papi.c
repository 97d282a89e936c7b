/* PAPI counter backend (--counters papi). PAPI has no guest/host split:
 * its counts (all modes together) go into the guest fields, hw_host_valid
 * stays false, and multiplex_ratio is 1. */
#include "telemetry/tel_int.h"

#include <errno.h>
#include <papi.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

struct tel_hw {
	int n;
	char names[TEL_SAMPLE_MAX_EVENTS][64];
	enum tel_hw_role role[TEL_SAMPLE_MAX_EVENTS];
	int es[TEL_MAX_VCPUS];
};

static const char *const papi_defaults[] = {
	"PAPI_TOT_CYC", "PAPI_TOT_INS", "PAPI_L3_TCM", "PAPI_TLB_DM",
};

static pthread_mutex_t papi_lock = PTHREAD_MUTEX_INITIALIZER;

/* libpapi is loaded on first use (it is ~0.5 MiB resident once relocated). */
static struct {
	__typeof__(&PAPI_is_initialized) is_initialized;
	__typeof__(&PAPI_library_init) library_init;
	__typeof__(&PAPI_strerror) strerror;
	__typeof__(&PAPI_get_component_info) get_component_info;
	__typeof__(&PAPI_event_name_to_code) event_name_to_code;
	__typeof__(&PAPI_create_eventset) create_eventset;
	__typeof__(&PAPI_assign_eventset_component) assign_eventset_component;
	__typeof__(&PAPI_add_named_event) add_named_event;
	__typeof__(&PAPI_attach) attach;
	__typeof__(&PAPI_start) start;
	__typeof__(&PAPI_cleanup_eventset) cleanup_eventset;
	__typeof__(&PAPI_destroy_eventset) destroy_eventset;
	__typeof__(&PAPI_read) read;
	__typeof__(&PAPI_stop) stop;
} papi;
static const struct util_dl_sym papi_syms[] = {
	{ "PAPI_is_initialized", (void **)&papi.is_initialized },
	{ "PAPI_library_init", (void **)&papi.library_init },
	{ "PAPI_strerror", (void **)&papi.strerror },
	{ "PAPI_get_component_info", (void **)&papi.get_component_info },
	{ "PAPI_event_name_to_code", (void **)&papi.event_name_to_code },
	{ "PAPI_create_eventset", (void **)&papi.create_eventset },
	{ "PAPI_assign_eventset_component", (void **)&papi.assign_eventset_component },
	{ "PAPI_add_named_event", (void **)&papi.add_named_event },
	{ "PAPI_attach", (void **)&papi.attach },
	{ "PAPI_start", (void **)&papi.start },
	{ "PAPI_cleanup_eventset", (void **)&papi.cleanup_eventset },
	{ "PAPI_destroy_eventset", (void **)&papi.destroy_eventset },
	{ "PAPI_read", (void **)&papi.read },
	{ "PAPI_stop", (void **)&papi.stop },
};
static struct util_dl_lib papi_lib = {
	.soname = "libpapi.so.7.0", .package = "libpapi7.0",
	.syms = papi_syms, .nr_syms = UTIL_ARRAY_SIZE(papi_syms),
};

static int papi_init(char *why, size_t wlen)
{
	const PAPI_component_info_t *ci;
	int r = PAPI_VER_CURRENT;

	if (util_dl_load(&papi_lib, why, wlen))
		return -ENODEV;
	pthread_mutex_lock(&papi_lock);
	if (!papi.is_initialized())
		r = papi.library_init(PAPI_VER_CURRENT);
	pthread_mutex_unlock(&papi_lock);
	if (r != PAPI_VER_CURRENT) {
		snprintf(why, wlen, "PAPI_library_init failed: %s", papi.strerror(r));
		return -ENODEV;
	}
	ci = papi.get_component_info(0);
	if (!ci || ci->disabled) {
		snprintf(why, wlen, "PAPI %s component disabled: %s",
			 ci ? ci->name : "cpu", ci ? ci->disabled_reason : "none found");
		return -ENODEV;
	}
	return 0;
}

static int papi_setup(const char *const *events, int n, const char *root,
		      struct tel_hw **out, char *why, size_t wlen)
{
	struct tel_hw *h;
	int code, err;

	(void)root;
	err = papi_init(why, wlen);
	if (err)
		return err;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	if (!events || n <= 0) {
		events = papi_defaults;
		n = (int)UTIL_ARRAY_SIZE(papi_defaults);
	}
	for (int i = 0; i < n && i < TEL_SAMPLE_MAX_EVENTS; i++) {
		if (papi.event_name_to_code(events[i], &code) != PAPI_OK) {
			snprintf(why, wlen, "PAPI does not know event '%s' (see papi_avail)",
				 events[i]);
			free(h);
			return -EINVAL;
		}
		snprintf(h->names[h->n], sizeof(h->names[0]), "%s", events[i]);
		h->role[h->n++] = tel_hw_role_of(events[i]);
	}
	for (int v = 0; v < TEL_MAX_VCPUS; v++)
		h->es[v] = PAPI_NULL;
	*out = h;
	return 0;
}

static int papi_attach(struct tel_hw *h, int vcpu, pid_t tid, char *why, size_t wlen)
{
	int es = PAPI_NULL, r;

	r = papi.create_eventset(&es);
	if (r == PAPI_OK)
		r = papi.assign_eventset_component(es, 0);
	for (int i = 0; i < h->n && r == PAPI_OK; i++)
		r = papi.add_named_event(es, h->names[i]);
	if (r == PAPI_OK)
		r = papi.attach(es, (unsigned long)tid);
	if (r == PAPI_OK)
		r = papi.start(es);
	if (r != PAPI_OK) {
		snprintf(why, wlen, "PAPI cannot count on thread %d: %s", (int)tid,
			 papi.strerror(r));
		if (es != PAPI_NULL) {
			papi.cleanup_eventset(es);
			papi.destroy_eventset(&es);
		}
		return r == PAPI_EPERM ? -EACCES : -ENODEV;
	}
	h->es[vcpu] = es;
	return 0;
}

static int papi_read(struct tel_hw *h, int vcpu, struct tel_vcpu_sample *v)
{
	long long vals[TEL_SAMPLE_MAX_EVENTS];

	v->hw_valid = v->hw_host_valid = false;
	if (h->es[vcpu] == PAPI_NULL || papi.read(h->es[vcpu], vals) != PAPI_OK)
		return -EIO;
	for (int i = 0; i < h->n; i++) {
		v->ev_guest[i] = (uint64_t)vals[i];
		tel_hw_store(v, h->role[i], false, (uint64_t)vals[i]);
	}
	v->multiplex_ratio = 1.0;
	v->hw_valid = true;
	return 0;
}

static int papi_names(const struct tel_hw *h, const char **out, int max)
{
	int i;

	for (i = 0; i < h->n && i < max; i++)
		out[i] = h->names[i];
	return i;
}

static void papi_close(struct tel_hw *h)
{
	long long vals[TEL_SAMPLE_MAX_EVENTS];

	if (!h)
		return;
	for (int v = 0; v < TEL_MAX_VCPUS; v++)
		if (h->es[v] != PAPI_NULL) {
			papi.stop(h->es[v], vals);
			papi.cleanup_eventset(h->es[v]);
			papi.destroy_eventset(&h->es[v]);
		}
	free(h);
}

const struct tel_hw_ops tel_papi_ops = {
	.name = "papi", .setup = papi_setup, .attach = papi_attach,
	.read = papi_read, .names = papi_names, .close = papi_close,
};
