/* A telemetry object's batch of KVM statistics (kvmbatch.c): built over
 * the vCPUs whose stats files are open, read once per sample, and ended by
 * a failed read, each vCPU's span then read from its file (built again only
 * if another vCPU's file opens). */
#include "telemetry/tel_int.h"

#include <string.h>

#include "common/util.h"

/* Each vCPU's reads land in its own buffer again, then the slots go. */
void tel_kvm_batch_end(struct tel *t)
{
	for (int i = 0; i < t->nr_vcpus; i++) {
		struct tel_vcpu_src *v = &t->vs[i];

		if (v->kvm_batched)
			tel_kvmstats_place(&v->kvm, v->kvm_span, sizeof(v->kvm_span));
		v->kvm_batched = false;
	}
	tel_kvm_batch_close(&t->kb);
}

/* The batch anew over every vCPU whose stats file is open. */
static void rebuild(struct tel *t)
{
	const struct tel_kvmstats *layout = NULL;
	int fd[TEL_MAX_VCPUS], n = 0;

	t->kb_stale = false;
	tel_kvm_batch_end(t);
	for (int i = 0; i < t->nr_vcpus; i++) {
		fd[i] = t->vs[i].kvm_ok ? t->vs[i].kvm.fd : -1;
		if (fd[i] >= 0 && !n++)
			layout = &t->vs[i].kvm;
	}
	if (t->cfg.no_kvm_batch) {
		snprintf(t->kb_why, sizeof(t->kb_why), "turned off (no_kvm_batch)");
		return;
	}
	if (n < TEL_KVM_BATCH_MIN_VCPUS) {
		snprintf(t->kb_why, sizeof(t->kb_why), "%d vCPUs with KVM statistics (a batch "
			 "from %d)", n, TEL_KVM_BATCH_MIN_VCPUS);
		return;
	}
	if (tel_kvm_batch_open(&t->kb, fd, t->nr_vcpus, layout, t->kb_why, sizeof(t->kb_why))) {
		util_info("telemetry: KVM statistics: one read per vCPU (no batch: %s)", t->kb_why);
		return;
	}
	for (int i = 0; i < t->nr_vcpus; i++) {
		struct tel_vcpu_src *v = &t->vs[i];

		if (fd[i] < 0)
			continue;
		/* the records are read-only: no pread may land there (tel_kvm_batch_end first) */
		tel_kvmstats_place(&v->kvm, (uint64_t *)tel_kvm_batch_span(&t->kb, i),
				   KB_SPAN_MAX_BYTES);
		v->kvm_batched = true;
	}
	t->kb_why[0] = 0;
	util_info("telemetry: KVM statistics of %d vCPUs in one BPF call per sample", n);
}

UTIL_HOT void tel_kvm_batch_sample(struct tel *t)
{
	int err;

	if (t->kb_stale)
		rebuild(t);
	t->kb_fresh = false;
	if (!t->kb.on)
		return;
	err = tel_kvm_batch_read(&t->kb);
	if (!err) {
		t->kb_fresh = true;
		return;
	}
	snprintf(t->kb_why, sizeof(t->kb_why), "the batched read failed: %s", strerror(-err));
	util_warn("telemetry: %s; reading each vCPU's KVM statistics from now on", t->kb_why);
	tel_kvm_batch_end(t);
}

bool tel_kvm_batched(const struct tel *t, char *why, size_t wlen)
{
	if (!t->kb.on && why && wlen)
		snprintf(why, wlen, "%s", t->kb_why[0] ? t->kb_why : "not built yet");
	return t->kb.on;
}
