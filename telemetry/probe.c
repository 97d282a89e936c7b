/* The quiet tick's probe: between two full samples, each vCPU's run delay
 * from its KVM steal-time area (common/steal.h: a memory read, no system
 * call; where the guest keeps its own area, that area in guest RAM: a read
 * of this process's memory, or in the node agent one pread of the VM
 * process's /proc/PID/task/TID/mem) as a share of the time since its
 * previous look, else its thread's CPU time (one system call per vCPU;
 * schedstat for another process's thread, which gives the run delay too)
 * as a share of the interval since the later of the previous probe and the
 * last full sample. It leaves the sample's own state alone, so the next
 * full sample's rates are exact. */
#include "telemetry/tel_int.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "common/util.h"

UTIL_HOT static double share_pct(uint64_t now, uint64_t then, uint64_t t_ns, uint64_t t0_ns)
{
	return t_ns > t0_ns && now >= then ? 100.0 * (double)(now - then) / (double)(t_ns - t0_ns)
					   : NAN;
}

/* The guest's own area at hva in the VM process: a read of this process's
 * memory, else one pread of the VM's (which KVM may be writing: an odd
 * version is no value). A VM process whose memory cannot be read is not
 * tried again for this thread. */
static bool read_guest_area(const struct tel *t, struct tel_vcpu_src *v, uint64_t hva,
			    uint64_t *steal_ns, struct tel_probe *o)
{
	struct util_steal_area a;
	char why[160];

	if (v->th.own)
		return util_steal_read_any((const volatile struct util_steal_area *)(uintptr_t)hva,
					   steal_ns);
	if (v->guest_area_unreadable)
		return false;
	if (tel_thread_mem_read(t->fsroot, &v->th, hva, &a, offsetof(struct util_steal_area, flags),
				why, sizeof(why))) {
		util_info("the quiet look reads schedstat for vCPU thread %d: its guest's steal-time "
			  "area is out of reach (%s)", (int)v->th.tid, why);
		v->guest_area_unreadable = true;
		return false;
	}
	o->nr_remote++;
	*steal_ns = a.steal_ns;
	return !(a.version & 1);
}

/* The run delay from the vCPU's steal-time area: avmm's, else the guest's
 * own (guest memory: the guest can write it, but a look only brings a full
 * sample), as a share of the time since the previous probe's read (its own
 * reference: full samples read avmm's area only on a vCPU's turn): NAN on
 * the first read, or after the area changed or was out of use. */
UTIL_HOT
static bool probe_steal(const struct tel *t, struct tel_vcpu_src *v, uint64_t now_ns,
			double *delay_pct, struct tel_probe *o)
{
	uint64_t steal_ns, hva = 0;
	bool ok = util_steal_read(v->steal, &steal_ns);

	if (!ok && (hva = util_steal_guest_hva(v->steal)))
		ok = read_guest_area(t, v, hva, &steal_ns, o);
	if (!ok || hva != v->probe_steal_hva) {
		v->probe_steal_t_ns = 0;
		v->probe_steal_hva = hva;
	}
	if (!ok)
		return false;
	if (v->probe_steal_t_ns)
		*delay_pct = share_pct(steal_ns, v->probe_steal_ns, now_ns, v->probe_steal_t_ns);
	v->probe_steal_t_ns = now_ns;
	v->probe_steal_ns = steal_ns;
	return true;
}

UTIL_HOT static void probe_vcpu(struct tel *t, int i, uint64_t now_ns, struct tel_probe *o)
{
	struct tel_vcpu_src *v = &t->vs[i];
	bool from_probe = v->probe_t_ns > v->cpu_t_ns, schedstat = !v->th.has_clock;
	uint64_t cpu_ns, delay_ns = 0;
	int err;

	o->cpu_pct[i] = o->run_delay_pct[i] = NAN;
	if (!v->th_ok || !v->cpu_t_ns) {
		o->stale = true;   /* the next full sample attaches it */
		return;
	}
	if (probe_steal(t, v, now_ns, &o->run_delay_pct[i], o)) {
		o->nr_from_memory++;
		return;            /* the CPU share waits for the full sample */
	}
	/* a thread that ended fails its read (a new one is attached by the
	 * next full sample) */
	err = schedstat ? tel_thread_read(&v->th, &cpu_ns, &delay_ns) : tel_thread_cpu(&v->th, &cpu_ns);
	if (err) {
		o->stale = true;
		return;
	}
	o->cpu_pct[i] = from_probe ? share_pct(cpu_ns, v->probe_cpu_ns, now_ns, v->probe_t_ns)
				   : share_pct(cpu_ns, v->last_cpu_ns, now_ns, v->cpu_t_ns);
	if (schedstat && from_probe)
		o->run_delay_pct[i] = share_pct(delay_ns, v->probe_delay_ns, now_ns, v->probe_t_ns);
	else if (schedstat && v->delay_t_ns)
		o->run_delay_pct[i] = share_pct(delay_ns, v->last_delay_ns, now_ns, v->delay_t_ns);
	v->probe_t_ns = now_ns;
	v->probe_cpu_ns = cpu_ns;
	v->probe_delay_ns = delay_ns;
}

/* On the sampling thread (the only one that touches t->vs), without the
 * lock: the exporters read only the count. */
UTIL_HOT int tel_probe(struct tel *t, uint64_t now_ns, struct tel_probe *out)
{
	if (!now_ns)
		now_ns = util_now_ns();

	out->t_ns = now_ns;
	out->nr_vcpus = t->nr_vcpus;
	out->nr_from_memory = out->nr_remote = 0;
	out->exports_read = __atomic_load_n(&t->exports_read, __ATOMIC_RELAXED);
	out->stale = !t->nr_samples;
	for (int i = 0; i < t->nr_vcpus; i++)
		probe_vcpu(t, i, now_ns, out);
	__atomic_add_fetch(&t->nr_probes, 1, __ATOMIC_RELAXED);
	return 0;
}
