/* One tick: read every source into a struct tel_sample. */
#include "telemetry/tel_int.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <string.h>

#include "common/util.h"

static const char *const vcpu_stats[] = {
	"exits", "io_exits", "mmio_exits", "halt_exits", "pf_taken", "pf_fixed",
	"pf_emulate", "tlb_flush", "invlpg",
};
static const char *const vm_stats[] = {
	"mmu_pte_write", "mmu_shadow_zapped", "remote_tlb_flush", "pages_4k",
	"pages_2m", "pages_1g",
};

void tel_set_down(struct tel_source_status *st, const char *fmt, ...)
{
	va_list ap;

	st->up = false;
	va_start(ap, fmt);
	vsnprintf(st->why, sizeof(st->why), fmt, ap);
	va_end(ap);
}

UTIL_HOT static void set_up(struct tel_source_status *st)
{
	st->up = true;
	st->why[0] = 0;
}

static void lookup(struct tel_kvmstats *s, const char *const *names, int n, int *idx,
		   const char *what)
{
	char missing[256] = "";

	for (int i = 0; i < n; i++) {
		idx[i] = tel_kvmstats_find(s, names[i]);
		if (idx[i] < 0 && strlen(missing) + strlen(names[i]) + 2 < sizeof(missing)) {
			strcat(missing, " ");
			strcat(missing, names[i]);
		}
	}
	if (missing[0])
		util_debug("KVM %s statistics without:%s (left at 0)", what, missing);
	tel_kvmstats_select(s, idx, n);   /* read only the span of these */
}

int tel_open_vm_stats(struct tel *t)
{
	char why[160];
	bool stats = t->tg.vm_stats_fd != NULL;
	int fd = stats ? t->tg.vm_stats_fd(t->tg.arg) : t->tg.vm_fd ? t->tg.vm_fd(t->tg.arg) : -1;
	int err;

	if (fd < 0 && !t->tg.vm_stats_fd && !t->tg.vm_fd && t->tg.vcpu_stats_fd) {
		t->vm_level_na = true; /* the node agent: per-vCPU statistics only */
		return 0;
	}
	if (fd < 0) {
		tel_set_down(&t->src[TEL_SRC_KVM_STATS], "no KVM VM file descriptor");
		return -EBADF;
	}
	err = tel_kvmstats_open(fd, stats, &t->vmstats, why, sizeof(why));
	if (err) {
		tel_set_down(&t->src[TEL_SRC_KVM_STATS], "VM: %s", why);
		return err;
	}
	lookup(&t->vmstats, vm_stats, (int)UTIL_ARRAY_SIZE(vm_stats), t->vm_idx, "VM");
	t->vm_ok = true;
	set_up(&t->src[TEL_SRC_KVM_STATS]);
	return 0;
}

int tel_vcpu_stats_span(int stats_fd, uint64_t *off_bytes, size_t *len_bytes)
{
	int idx[UTIL_ARRAY_SIZE(vcpu_stats)], err;
	struct tel_kvmstats s;
	char why[160];

	err = tel_kvmstats_open(stats_fd, true, &s, why, sizeof(why));   /* on its own copy */
	if (err)
		return err;
	lookup(&s, vcpu_stats, (int)UTIL_ARRAY_SIZE(vcpu_stats), idx, "vCPU");
	*off_bytes = (uint64_t)s.data_off + s.rd_off;
	*len_bytes = s.rd_len;
	tel_kvmstats_close(&s);
	return 0;
}

/* Opens what can be opened for vCPU i; each source once per thread id. */
UTIL_HOT static void attach_vcpu(struct tel *t, int i)
{
	struct tel_vcpu_src *v = &t->vs[i];
	char why[160];
	pid_t tid;
	int fd;

	if (!v->kvm_tried && (t->tg.vcpu_stats_fd || t->tg.vcpu_fd)) {
		bool stats = t->tg.vcpu_stats_fd != NULL;

		fd = stats ? t->tg.vcpu_stats_fd(t->tg.arg, i) : t->tg.vcpu_fd(t->tg.arg, i);
		if (fd >= 0) {
			v->kvm_tried = true;
			if (tel_kvmstats_open(fd, stats, &v->kvm, why, sizeof(why)))
				tel_set_down(&t->src[TEL_SRC_KVM_STATS], "vcpu%d: %s", i, why);
			else {
				lookup(&v->kvm, vcpu_stats, (int)UTIL_ARRAY_SIZE(vcpu_stats),
				       v->kvm_idx, "vCPU");
				tel_kvmstats_place(&v->kvm, v->kvm_span, sizeof(v->kvm_span));
				v->kvm_ok = true;
				t->kb_stale = true;
			}
		}
	}
	tid = t->tg.vcpu_tid ? t->tg.vcpu_tid(t->tg.arg, i) : 0;
	if (tid <= 0 || tid == v->tid)
		return;
	if (v->th_ok)
		tel_thread_close(&v->th);
	v->tid = tid;
	v->steal = t->tg.vcpu_steal ? t->tg.vcpu_steal(t->tg.arg, i) : NULL;
	v->probe_steal_t_ns = 0;
	v->probe_steal_hva = 0;
	v->guest_area_unreadable = false;
	v->last_pcpu = -1;
	v->last_cpu_ns = 0;
	v->delay_t_ns = 0;
	v->delay_offset_ns = 0;
	v->th_ok = !tel_thread_open_pid(t->fsroot, t->tg.vcpu_pid ? t->tg.vcpu_pid(t->tg.arg, i) : 0,
					tid, &v->th, why, sizeof(why));
	if (!v->th_ok)
		tel_set_down(&t->src[TEL_SRC_THREAD], "vcpu%d: %s", i, why);
	v->hw_ok = false;
	if (t->hw) {
		v->hw_ok = !t->hw_ops->attach(t->hw, i, tid, why, sizeof(why));
		if (!v->hw_ok)
			tel_set_down(&t->src[t->hw_src], "%s", why);
	}
}

/* True on vCPU i's turn among every n samples (0, 1: each): the slow reads
 * are spread over the samples so that each sample costs the same. */
UTIL_HOT static bool turn(const struct tel *t, int i, int n)
{
	return n <= 1 || (t->nr_samples + (uint64_t)i) % (uint64_t)n == 0;
}

/* The run delay into v->last_delay_ns: from the vCPU's steal-time area where
 * it is in use and the CPU time comes from the clock (a memory read), else
 * from schedstat, which gives the CPU time too (*cpu_ns). The
 * area counts from when avmm set it up, schedstat from the thread's start:
 * where the source changes, the value goes on from the last one read
 * (delay_offset_ns), so that no rate spans two sources. */
UTIL_HOT static int read_delay(struct tel_vcpu_src *v, uint64_t *cpu_ns)
{
	bool area = v->th.has_clock && util_steal_read(v->steal, &v->delay_raw_ns);
	int err;

	if (!area) {
		err = tel_thread_read(&v->th, cpu_ns, &v->delay_raw_ns);
		if (err)
			return err;
	}
	if (v->delay_t_ns && area != v->delay_from_area)
		v->delay_offset_ns = v->last_delay_ns - v->delay_raw_ns;   /* modulo 2^64 */
	v->delay_from_area = area;
	v->last_delay_ns = v->delay_raw_ns + v->delay_offset_ns;
	return 0;
}

/* Thread CPU time every sample (one clock_gettime); the run delay (read_delay)
 * on the vCPU's turn (every delay_every samples), and at once on the sample
 * where the thread's CPU share moved TEL_DELAY_SHARE_JUMP_PCT points or more
 * and on the next TEL_DELAY_BURST - 1 samples (so a vCPU that starts to wait
 * shows it at once, over a fresh interval), and on a new thread's first
 * TEL_DELAY_BURST samples (a vCPU that waits from its start), and once it is
 * TEL_DELAY_MAX_AGE_NS old (a slow loop); the last CPU on the vCPU's turn
 * and in a burst, and only if the thread ran: from the target without a system call
 * (the thread's rseq area: a cache and TLB miss, ~0.4 us here), else from
 * stat (the costliest read). Values not re-read are carried with the time
 * they were read (run_delay_t_ns), so rates stay exact. The last CPU is read
 * after every vCPU's system calls (read_pcpus): *pcpu_due says it is due. */
UTIL_HOT
static int read_thread(struct tel *t, int i, uint64_t now, struct tel_vcpu_sample *o,
		       bool *ran, bool *pcpu_due)
{
	struct tel_vcpu_src *v = &t->vs[i];
	bool first = !v->delay_t_ns, burst;
	double share = -1;
	uint64_t cpu_ns;
	int err;

	if (first) {    /* a new thread: its first rate comes from a read too */
		v->cpu_t_ns = 0;
		v->share_pct = -1;
		v->delay_burst = TEL_DELAY_BURST;
	}
	if (v->th.has_clock) {
		err = tel_thread_cpu(&v->th, &o->cpu_time_ns);
		if (err)
			return err;
		o->cpu_t_ns = util_now_ns();
		if (v->cpu_t_ns && now > v->cpu_t_ns && o->cpu_time_ns >= v->last_cpu_ns)
			share = 100.0 * (double)(o->cpu_time_ns - v->last_cpu_ns) /
				(double)(now - v->cpu_t_ns);
		if (share >= 0 && v->share_pct >= 0 &&
		    fabs(share - v->share_pct) >= TEL_DELAY_SHARE_JUMP_PCT)
			v->delay_burst = TEL_DELAY_BURST;
	}
	burst = v->delay_burst > 0;
	if (first || !v->th.has_clock || burst || turn(t, i, t->cfg.delay_every) ||
	    now - v->delay_t_ns >= TEL_DELAY_MAX_AGE_NS) {
		err = read_delay(v, &cpu_ns);
		if (err)
			return err;
		if (!v->th.has_clock) {    /* read_delay read schedstat */
			o->cpu_time_ns = cpu_ns;
			o->cpu_t_ns = util_now_ns();
		}
		v->delay_t_ns = now;
		if (v->delay_burst > 0)
			v->delay_burst--;
	}
	if (share >= 0)
		v->share_pct = share;
	v->cpu_t_ns = now;
	o->run_delay_ns = v->last_delay_ns;
	o->run_delay_t_ns = v->delay_t_ns;
	*ran = first || o->cpu_time_ns != v->last_cpu_ns;
	*pcpu_due = v->last_pcpu < 0 || (*ran && (burst || turn(t, i, t->cfg.pcpu_every)));
	o->pcpu = v->last_pcpu;
	v->last_cpu_ns = o->cpu_time_ns;
	return 0;
}

/* Fills s->vcpu[i]: every field of its first TEL_VCPU_HOT_BYTES (the
 * derived ones are tel_derive's), the hardware counters when there are any
 * (without a backend they stay 0 from the ring's start: the slot is not
 * cleared as a whole). */
UTIL_HOT
static void read_vcpu(struct tel *t, int i, uint64_t now, struct tel_vcpu_sample *o,
		      bool *th_up, bool *hw_up, bool *pcpu_due)
{
	struct tel_vcpu_src *v = &t->vs[i];
	uint64_t *f[] = { &o->exits, &o->io_exits, &o->mmio_exits, &o->halt_exits,
			  &o->pf_taken, &o->pf_fixed, &o->pf_emulate, &o->tlb_flush,
			  &o->invlpg };
	bool ran = true;
	int err;

	memset(o, 0, t->hw ? sizeof(*o) : TEL_VCPU_HOT_BYTES);
	o->tid = v->tid;
	o->pcpu = -1;
	if (v->th_ok) {
		err = read_thread(t, i, now, o, &ran, pcpu_due);
		if (err) {
			tel_set_down(&t->src[TEL_SRC_THREAD], "vcpu%d thread %d: %s", i,
				     (int)v->tid, strerror(-err));
			*th_up = false;
			ran = true;
		}
	} else {
		*th_up = false;
	}
	/* a vCPU's KVM statistics change only while its thread runs KVM_RUN: a
	 * thread that did not run keeps the last values read; in a batch, the
	 * sample's one BPF call read them (tel_kvm_batch_sample) */
	if (v->kvm_batched)
		v->kvm_read |= t->kb_fresh;
	else if (v->kvm_ok && (ran || !v->kvm_read || turn(t, i, 64)) &&
		 !tel_kvmstats_read(&v->kvm))
		v->kvm_read = true;
	if (v->kvm_read)
		tel_kvmstats_values(&v->kvm, f);
	if (v->hw_ok)
		*hw_up &= !t->hw_ops->read(t->hw, i, o);
	else
		*hw_up = false;
}

/* The last CPU of the vCPUs whose turn it was, after every vCPU's system
 * calls: each is a load from a thread's rseq area, a line another core
 * wrote (a cache and TLB miss); one after the other with nothing between
 * them, the misses overlap instead of adding up. */
UTIL_HOT static void read_pcpus(struct tel *t, struct tel_sample *s, const int *due, int n)
{
	for (int k = 0; k < n; k++) {
		struct tel_vcpu_src *v = &t->vs[due[k]];
		int cpu = t->tg.vcpu_pcpu ? t->tg.vcpu_pcpu(t->tg.arg, due[k]) : -1;

		v->last_pcpu = cpu >= 0 ? cpu : tel_thread_pcpu(&v->th);
		s->vcpu[due[k]].pcpu = v->last_pcpu;
	}
}

/* The next vCPU's state and record, fetched while this one's system calls
 * run (what of them every sample touches). */
UTIL_HOT static void prefetch_vcpu(const struct tel *t, const struct tel_sample *s, int i)
{
	const char *v = (const char *)&t->vs[i], *o = (const char *)&s->vcpu[i];

	for (size_t k = 0; k < offsetof(struct tel_vcpu_src, kvm_idx); k += 64)
		__builtin_prefetch(v + k, 1);
	for (size_t k = 0; k < TEL_VCPU_HOT_BYTES + 63; k += 64)
		__builtin_prefetch(o + k, 1);
}

UTIL_HOT void tel_collect(struct tel *t, struct tel_sample *s)
{
	bool th_up = true, hw_up = t->hw != NULL, kvm_up = t->vm_ok || t->vm_level_na;
	uint64_t *f[] = { &s->vm.mmu_pte_write, &s->vm.mmu_shadow_zapped,
			  &s->vm.remote_tlb_flush, &s->vm.pages_4k, &s->vm.pages_2m,
			  &s->vm.pages_1g };
	int started = 0, due[TEL_MAX_VCPUS], nr_due = 0;

	s->nr_vcpus = t->nr_vcpus;
	tel_kvm_batch_sample(t);
	for (int i = 0; i < t->nr_vcpus; i++) {
		bool pcpu_due = false;

		if (i + 1 < t->nr_vcpus)
			prefetch_vcpu(t, s, i + 1);
		attach_vcpu(t, i);
		started += t->vs[i].tid > 0;
		kvm_up &= t->vs[i].kvm_ok;
		read_vcpu(t, i, s->t_ns, &s->vcpu[i], &th_up, &hw_up, &pcpu_due);
		if (pcpu_due)
			due[nr_due++] = i;
	}
	read_pcpus(t, s, due, nr_due);
	if (t->vm_ok && !tel_kvmstats_read(&t->vmstats))
		tel_kvmstats_values(&t->vmstats, f);
	s->vm.console_valid = t->tg.console != NULL;
	if (t->tg.console)
		t->tg.console(t->tg.arg, &s->vm.console_written_bytes,
			      &s->vm.console_dropped_bytes, &s->vm.console_lost_bytes);
	if (kvm_up)
		set_up(&t->src[TEL_SRC_KVM_STATS]);
	if (!started) {
		tel_set_down(&t->src[TEL_SRC_THREAD], "vCPU threads not started yet");
		if (t->hw)
			tel_set_down(&t->src[t->hw_src], "vCPU threads not started yet");
	} else {
		if (th_up)
			set_up(&t->src[TEL_SRC_THREAD]);
		if (hw_up)
			set_up(&t->src[t->hw_src]);
	}
}
