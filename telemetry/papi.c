/* PAPI counter backend (--counters papi). PAPI has no guest/host split:
 * its counts (all modes together) go into the guest fields, hw_host_valid
 * stays false, and multiplex_ratio is 1. */
#include "telemetry/tel_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/papi.h"
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

static int papi_init(char *why, size_t wlen)
{
	const PAPI_component_info_t *ci;

	if (util_papi_init(why, wlen))
		return -ENODEV;
	ci = util_papi.get_component_info(0);
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
		if (util_papi.event_name_to_code(events[i], &code) != PAPI_OK) {
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

	r = util_papi.create_eventset(&es);
	if (r == PAPI_OK)
		r = util_papi.assign_eventset_component(es, 0);
	for (int i = 0; i < h->n && r == PAPI_OK; i++)
		r = util_papi.add_named_event(es, h->names[i]);
	if (r == PAPI_OK)
		r = util_papi.attach(es, (unsigned long)tid);
	if (r == PAPI_OK)
		r = util_papi.start(es);
	if (r != PAPI_OK) {
		snprintf(why, wlen, "PAPI cannot count on thread %d: %s", (int)tid,
			 util_papi.strerror(r));
		if (es != PAPI_NULL) {
			util_papi.cleanup_eventset(es);
			util_papi.destroy_eventset(&es);
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
	if (h->es[vcpu] == PAPI_NULL || util_papi.read(h->es[vcpu], vals) != PAPI_OK)
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
			util_papi.stop(h->es[v], vals);
			util_papi.cleanup_eventset(h->es[v]);
			util_papi.destroy_eventset(&h->es[v]);
		}
	free(h);
}

const struct tel_hw_ops tel_papi_ops = {
	.name = "papi", .setup = papi_setup, .attach = papi_attach,
	.read = papi_read, .names = papi_names, .close = papi_close,
};
