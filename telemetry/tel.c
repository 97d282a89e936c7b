/* The tel object: open/close, the sources' names and the counters' events.
 * Taking a sample is in tel_sample.c; what the loop publishes (decisions,
 * estimates, held ticks, period, profile) in tel_publish.c. */
#include "telemetry/tel_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/sandbox.h"
#include "common/util.h"

static const char *const src_names[TEL_SRC_COUNT] = {
	[TEL_SRC_KVM_STATS] = "kvm", [TEL_SRC_THREAD] = "thread", [TEL_SRC_PERF] = "perf",
	[TEL_SRC_PAPI] = "papi", [TEL_SRC_ENERGY] = "energy",
};

const char *tel_source_name(enum tel_source s)
{
	return s < TEL_SRC_COUNT ? src_names[s] : "?";
}

static char *dup_or(const char *s, const char *dflt)
{
	return strdup(s && *s ? s : dflt);
}

/* The batch job that started the VM: AVMM_JOB_ID (set by the Slurm plugin
 * or the prolog), else Slurm's own SLURM_JOB_ID; NULL outside a job. */
static char *tel_job_id_dup(void)
{
	const char *j = getenv("AVMM_JOB_ID");

	if (!j || !*j)
		j = getenv("SLURM_JOB_ID");
	return j && *j ? strdup(j) : NULL;
}

static int copy_config(struct tel *t, const struct tel_config *c)
{
	t->cfg = *c;
	t->run_id = dup_or(c->run_id, "run");
	t->profile = dup_or(c->profile_name, "none");
	t->vm_name = dup_or(c->vm_name, "avmm");
	t->fsroot = c->fsroot ? strdup(c->fsroot) : NULL;
	t->job_id = tel_job_id_dup();
	if (!t->run_id || !t->profile || !t->vm_name || (c->fsroot && !t->fsroot))
		return -ENOMEM;
	t->cfg.run_id = t->run_id;
	t->cfg.profile_name = t->profile;
	t->cfg.vm_name = t->vm_name;
	t->cfg.fsroot = t->fsroot;
	t->cfg.metrics_addr = NULL;    /* not kept: only used at open */
	for (int i = 0; i < TEL_MAX_TRACES; i++)
		t->cfg.trace_paths[i] = NULL;
	t->cfg.events = NULL;
	t->cfg.counters = NULL;
	if (!t->cfg.period_ns)
		t->cfg.period_ns = 100000000ull;
	if (t->cfg.pcpu_every <= 0)
		t->cfg.pcpu_every = TEL_PCPU_EVERY_DEFAULT;
	if (t->cfg.delay_every <= 0)
		t->cfg.delay_every = TEL_DELAY_EVERY_DEFAULT;
	return 0;
}

static int setup_counters(struct tel *t, const struct tel_config *c)
{
	const char *b = c->counters && *c->counters ? c->counters : "perf";
	char why[160] = "";
	int err;

	tel_set_down(&t->src[TEL_SRC_PERF], "not selected (--counters %s)", b);
	tel_set_down(&t->src[TEL_SRC_PAPI], "not selected (--counters %s)", b);
	if (!strcmp(b, "none"))
		return 0;
	if (!strcmp(b, "perf")) {
		t->hw_ops = &tel_perf_ops;
		t->hw_src = TEL_SRC_PERF;
	} else if (!strcmp(b, "papi")) {
		t->hw_ops = &tel_papi_ops;
		t->hw_src = TEL_SRC_PAPI;
	} else {
		util_err("unknown counters backend '%s': use perf, papi or none", b);
		return -EINVAL;
	}
	if (c->nr_events > TEL_MAX_EVENTS) {
		util_err("%d counter events given, at most %d", c->nr_events, TEL_MAX_EVENTS);
		return -E2BIG;
	}
	err = t->hw_ops->setup(c->events, c->nr_events, t->fsroot, &t->hw, why, sizeof(why));
	if (err == -EINVAL || err == -E2BIG) {
		util_err("%s", why);
		return err;
	}
	if (err) {
		t->hw = NULL;
		tel_set_down(&t->src[t->hw_src], "%s", why);
		util_warn("%s counters unavailable: %s", t->hw_ops->name, why);
	} else {
		tel_set_down(&t->src[t->hw_src], "vCPU threads not started yet");
	}
	return 0;
}

int tel_open_target(const struct tel_config *c, const struct tel_target *tg,
		    struct tel **out)
{
	struct tel *t;
	int err = -EINVAL;

	if (!c || !tg || tg->nr_vcpus < 0 || tg->nr_vcpus > TEL_MAX_VCPUS ||
	    c->nr_traces < 0 || c->nr_traces > TEL_MAX_TRACES) {
		util_err("telemetry: invalid configuration (vCPUs %d, traces %d)",
			 tg ? tg->nr_vcpus : -1, c ? c->nr_traces : -1);
		if (c && c->http)
			tel_http_stop(c->http);
		return -EINVAL;
	}
	/* the batch's program loads here where nothing is filtered yet (an
	 * experiment's main thread; `avmm run` and the agent load it earlier) */
	if (tg->nr_vcpus >= TEL_KVM_BATCH_MIN_VCPUS && !util_sandbox_active())
		tel_kvm_batch_init(NULL, 0);
	t = calloc(1, sizeof(*t));
	if (!t) {
		if (c->http)
			tel_http_stop(c->http);
		return -ENOMEM;
	}
	t->http = c->http;       /* stopped by tel_close if the open fails */
	pthread_mutex_init(&t->lock, NULL);
	t->tg = *tg;
	t->nr_vcpus = tg->nr_vcpus;
	t->vcpu_labels = tg->vcpu_vm && tg->vcpu_index;
	for (int i = 0; t->vcpu_labels && i < t->nr_vcpus; i++) {
		snprintf(t->vcpu_vm[i], sizeof(t->vcpu_vm[i]), "%s", tg->vcpu_vm(tg->arg, i));
		t->vcpu_vm_ptr[i] = t->vcpu_vm[i];
		t->vcpu_idx[i] = tg->vcpu_index(tg->arg, i);
		snprintf(t->vcpu_job[i], sizeof(t->vcpu_job[i]), "%s",
			 tg->vcpu_job ? tg->vcpu_job(tg->arg, i) : "");
		t->vcpu_job_ptr[i] = t->vcpu_job[i];
	}
	t->ring_len = c->ring_len >= 2 ? c->ring_len : TEL_RING_DEFAULT;
	err = copy_config(t, c);
	if (err)
		goto fail;
	err = -ENOMEM;
	/* slots sized for the vCPUs in use, touched now: no page fault on the
	 * sampling path, and a small VM's ring stays small */
	t->sample_bytes = offsetof(struct tel_sample, vcpu) +
		(size_t)t->nr_vcpus * sizeof(struct tel_vcpu_sample);
	t->slot_bytes = (t->sample_bytes + 63) & ~(size_t)63;
	t->ring = aligned_alloc(64, (size_t)t->ring_len * t->slot_bytes);
	if (!t->ring)
		goto fail;
	memset(t->ring, 0, (size_t)t->ring_len * t->slot_bytes);
	tel_set_down(&t->src[TEL_SRC_ENERGY], "no energy source connected");
	tel_set_down(&t->src[TEL_SRC_THREAD], "vCPU threads not started yet");
	err = setup_counters(t, c);
	if (err)
		goto fail;
	tel_open_vm_stats(t);
	for (int i = 0; i < c->nr_traces; i++) {
		err = tel_trace_open(c->trace_paths[i], &t->cfg, t->nr_vcpus,
				     &t->traces[t->nr_traces]);
		if (err && !c->exporters_optional)
			goto fail;
		if (err)
			util_err("continuing without the trace %s", c->trace_paths[i]);
		else
			t->nr_traces++;
	}
	if (t->http) {
		tel_http_attach(t->http, t);
	} else if (c->metrics_addr) {
		err = tel_http_start(t, c->metrics_addr, &t->http);
		if (err && !c->exporters_optional)
			goto fail;
		if (err)
			util_err("continuing without the metrics server (--metrics %s)",
				 c->metrics_addr);
	}
	*out = t;
	return 0;
fail:
	tel_close(t);
	return err;
}

void tel_source_status(struct tel *t, enum tel_source s, struct tel_source_status *out)
{
	pthread_mutex_lock(&t->lock);
	*out = t->src[s];
	pthread_mutex_unlock(&t->lock);
}

int tel_metrics_port(const struct tel *t)
{
	return t->http ? tel_http_port(t->http) : 0;
}

int tel_nr_events(const struct tel *t)
{
	const char *n[TEL_MAX_EVENTS];

	return t->hw ? t->hw_ops->names(t->hw, n, TEL_MAX_EVENTS) : 0;
}

const char *tel_event_name(const struct tel *t, int i)
{
	const char *n[TEL_MAX_EVENTS];
	int nr = t->hw ? t->hw_ops->names(t->hw, n, TEL_MAX_EVENTS) : 0;

	return i >= 0 && i < nr ? n[i] : NULL;
}

struct tel_http *tel_detach_http(struct tel *t)
{
	struct tel_http *h = t->http;

	if (h)
		tel_http_attach(h, NULL);
	t->http = NULL;
	return h;
}

void tel_close(struct tel *t)
{
	if (!t)
		return;
	tel_stop(t);
	if (t->http)
		tel_http_stop(t->http);
	for (int i = 0; i < t->nr_traces; i++)
		tel_trace_close(t->traces[i]);
	tel_kvm_batch_end(t);     /* its slots cleared before the files close */
	for (int i = 0; i < TEL_MAX_VCPUS; i++) {
		if (t->vs[i].kvm_ok)
			tel_kvmstats_close(&t->vs[i].kvm);
		if (t->vs[i].th_ok)
			tel_thread_close(&t->vs[i].th);
	}
	if (t->vm_ok)
		tel_kvmstats_close(&t->vmstats);
	if (t->hw)
		t->hw_ops->close(t->hw);
	pthread_mutex_destroy(&t->lock);
	free(t->ring);
	free(t->run_id);
	free(t->profile);
	free(t->vm_name);
	free(t->fsroot);
	free(t->job_id);
	free(t);
}
