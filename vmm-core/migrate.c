/*
 * Live migration, the source side (vmm.h: vmm_migrate_send). The stream is a
 * snapshot (snapshot.h) written front to back on a connected socket:
 *   header  -> the target answers one byte: 'Y' go on, or 'N' and a reason;
 *   round 1: RAM sections of every page that is not all zero (the VM runs);
 *   rounds 2..n: the pages the guest wrote since the previous round (the
 *            slots' dirty log, enabled here on the live slots), until what is
 *            left fits the downtime budget at the last round's rate and
 *            another round would not halve it (vmm_migrate_stop), or the
 *            round limit;
 *   pause:   the last written pages, then the state (irqchip, PIT, clock,
 *            devices, serial, every vCPU) and END with the CRC;
 *   -> the target answers 'K' once it has restored everything ('N' and a
 *      reason otherwise);
 *   handover: 'G' tells the target that the source stopped for good and it
 *      may run the guest; the target answers 'R' once it runs it, and only
 *      then is the source done. The target runs nothing without 'G'.
 * A later RAM section for a page replaces the earlier one. Any failure up
 * to a 'G' sent leaves (or puts) the source VM running, with the reason in
 * why; after it, without 'R', the guest may run at the target, so it stays
 * paused here (-EINPROGRESS): never on both sides.
 *
 * Threads: this runs on the control thread, which may not issue KVM ioctls
 * (its seccomp filter); enabling the dirty log and reading it run on vCPU 0's
 * thread while the VM is paused for a moment (vmm_vcpu_run_parked).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "vmm-core/snapshot_int.h"

#define PAGE 4096u
#define RUN_MAX_PAGES 256u     /* pages per RAM section */

struct dirty_job {
	uint64_t *set, *tap, *sink, bits;
	int rc;
};

static void set_tap(struct vmm *vm, uint64_t *t, uint64_t bits)
{
	pthread_mutex_lock(&vm->dirty.lock);
	vm->dirty.tap = t;
	vm->dirty.tap_bits = t ? bits : 0;
	pthread_mutex_unlock(&vm->dirty.lock);
}

/* On vCPU 0's parked thread. The first time: installs the tap, and turns
 * the dirty log on for every slot when tracking is off (the bitmap: the ring
 * cannot be added once vCPUs exist). Later: harvests (into the tap, with
 * what the loop's harvests put there) and moves the tap into set. */
static void dirty_on_vcpu(struct vmm_vcpu *v0, void *arg)
{
	struct dirty_job *j = arg;
	struct vmm *vm = v0->vm;
	struct vmm_dirty *d = &vm->dirty;

	if (d->tap && d->mode != VMM_DIRTY_OFF) {
		j->rc = vmm_dirty_harvest(vm, -1, j->sink, j->bits, NULL);
		pthread_mutex_lock(&d->lock);
		for (uint64_t w = 0; !j->rc && w < (j->bits + 63) / 64; w++)
			j->set[w] |= d->tap[w], d->tap[w] = 0;
		pthread_mutex_unlock(&d->lock);
		return;
	}
	set_tap(vm, j->tap, j->bits);
	if (d->mode != VMM_DIRTY_OFF) {   /* on already: what it holds is old */
		j->rc = vmm_dirty_harvest(vm, -1, j->sink, j->bits, NULL);
		return;
	}
	for (int i = 0; i < vm->mem.nr; i++) {
		struct kvm_userspace_memory_region r = {
			.slot = (uint32_t)i, .flags = KVM_MEM_LOG_DIRTY_PAGES,
			.guest_phys_addr = vm->mem.r[i].gpa, .memory_size = vm->mem.r[i].bytes,
			.userspace_addr = (uintptr_t)vm->mem.r[i].hva,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
			j->rc = -errno;
			return;
		}
	}
	vm->dirty.pfn_bits = j->bits;
	vm->dirty.mode = VMM_DIRTY_BITMAP;
	j->rc = 0;
}

/* Pauses the VM a moment to run dirty_on_vcpu. */
static int dirty_step(struct vmm *vm, struct dirty_job *jp, uint64_t *paused_ns)
{
	struct dirty_job j = *jp;
	uint64_t t0 = util_now_ns();
	int rc = vmm_vm_pause(vm, NULL);

	if (rc)
		return rc;
	rc = vmm_vcpu_run_parked(&vm->vcpu[0], dirty_on_vcpu, &j);
	vmm_vm_resume(vm, NULL);
	*paused_ns += util_now_ns() - t0;
	return rc ? rc : j.rc;
}

static bool zero_page(const uint8_t *p)
{
	static const uint8_t z[PAGE];

	return !memcmp(p, z, PAGE);
}

/* Sends the pages of set (all non-zero pages when set is NULL) in runs;
 * clears set. *pages: how many were sent. paused: the guest cannot write
 * them meanwhile, so they go out from guest RAM without the bounce copy
 * (the stop and copy: the downtime). */
static int send_pages(struct vmm *vm, struct vmm_snap_writer *w, uint64_t *set, bool paused,
		      uint64_t *pages)
{
	static uint8_t bounce[RUN_MAX_PAGES * PAGE];   /* one migration at a time */
	void *hva;
	uint64_t gpa, bytes;

	*pages = 0;
	for (int i = 0; !vmm_ram_region(vm, i, &hva, &gpa, &bytes); i++) {
		const uint8_t *p = hva;
		uint64_t n = bytes / PAGE, base = gpa / PAGE;

		for (uint64_t k = 0; k < n;) {
			uint64_t e, head = gpa + k * PAGE;
			int rc;

#define WANT(x) (set ? (set[(base + (x)) / 64] >> ((base + (x)) % 64)) & 1 \
		     : !zero_page(p + (x) * PAGE))
			if (!WANT(k)) {
				k++;
				continue;
			}
			for (e = k + 1; e < n && e - k < RUN_MAX_PAGES && WANT(e); e++)
				;
#undef WANT
			/* a copy while the guest runs: it may write the page while it
			 * is sent, and the CRC must cover what was sent */
			if (!paused)
				memcpy(bounce, p + k * PAGE, (e - k) * PAGE);
			rc = vmm_snap_write_parts(w, VMM_SNAP_RAM, (uint32_t)i, &head, 8,
						  paused ? p + k * PAGE : bounce, (e - k) * PAGE);
			if (rc)
				return rc;
			*pages += e - k;
			k = e;
		}
	}
	if (set)
		memset(set, 0, (size_t)((vm->dirty.pfn_bits + 63) / 64) * 8);
	return 0;
}

static uint64_t count_bits(const uint64_t *set, uint64_t bits)
{
	uint64_t n = 0;

	for (uint64_t w = 0; w < (bits + 63) / 64; w++)
		n += (uint64_t)__builtin_popcountll(set[w]);
	return n;
}

int vmm_migrate_answer(int fd, const char *peer, char want, const char *stage, uint64_t wait_ms,
		       char *why, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t end_ns;
	char buf[200];
	ssize_t n;
	int r;

	if (!wait_ms)
		wait_ms = VMM_MIGRATE_ANSWER_MS_DEFAULT;
	end_ns = util_now_ns() + wait_ms * 1000000ull;
	do {     /* a signal does not restart the whole wait */
		uint64_t now = util_now_ns();

		r = now >= end_ns ? 0 : poll(&p, 1, (int)((end_ns - now + 999999) / 1000000));
	} while (r < 0 && errno == EINTR);
	if (r <= 0) {
		snprintf(why, len, "%s did not answer %s within %.3g s (the profile's [migration] "
			 "answer_timeout_ms)", peer, stage, (double)wait_ms / 1e3);
		return -ETIMEDOUT;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0) {
		snprintf(why, len, "%s went away %s (%s)", peer, stage,
			 n ? strerror(errno) : "connection closed");
		return -EPIPE;
	}
	buf[n] = '\0';
	if (buf[0] == want)
		return 0;
	snprintf(why, len, "%s refused %s: %s", peer, stage, buf[0] == 'N' ? buf + 1 : buf);
	return -EPROTO;
}

bool vmm_migrate_converged(uint64_t pages, uint64_t rate_bps, uint64_t budget_ms)
{
	if (!rate_bps)
		return false;
	return pages * PAGE * 1000 <= budget_ms * rate_bps;   /* no rounding down */
}

bool vmm_migrate_stop(const struct vmm_migrate_opts *o, unsigned rounds, uint64_t sent_pages,
		      uint64_t pending_pages, uint64_t rate_bps)
{
	if (rounds >= o->max_rounds)
		return true;
	if (rounds < o->min_rounds || !vmm_migrate_converged(pending_pages, rate_bps, o->downtime_ms))
		return false;
	/* within budget; one more round while it pays: the guest wrote fewer
	 * than half the pages this round sent (the next stop and copy is at
	 * least halved) and more than a floor worth a round */
	return !(pending_pages > VMM_MIGRATE_FLOOR_PAGES && pending_pages * 2 < sent_pages);
}

static int precopy(struct vmm *vm, struct vmm_snap_writer *w, struct dirty_job *dj,
		   const struct vmm_migrate_opts *o, struct vmm_migrate_stats *st, char *why,
		   size_t len)
{
	uint64_t pages, t0, rate = 0, pending;
	int rc;

	for (st->rounds = 1;; st->rounds++) {
		t0 = util_now_ns();
		rc = send_pages(vm, w, st->rounds == 1 ? NULL : dj->set, false, &pages);
		if (rc) {
			snprintf(why, len, "sending round %u: %s", st->rounds, strerror(-rc));
			return rc;
		}
		st->pages += pages;
		/* the last round big enough to time gives the rate */
		if (pages * PAGE >= (1u << 20))
			rate = pages * PAGE * 1000000000ull / UTIL_MAX(util_now_ns() - t0, 1ull);
		if ((rc = dirty_step(vm, dj, &st->precopy_pause_ns))) {
			snprintf(why, len, "reading the dirty log: %s", strerror(-rc));
			return rc;
		}
		pending = count_bits(dj->set, dj->bits);
		if (vmm_migrate_stop(o, st->rounds, pages, pending, rate ? rate : (100ull << 20)))
			return 0;
	}
}

int vmm_migrate_send(struct vmm *vm, int fd, const struct vmm_migrate_opts *o,
		     struct vmm_migrate_stats *st, char *why, size_t len)
{
	struct vmm_snap_header h = { .nr_vcpus = (uint32_t)vm->nr_vcpus,
				     .created_unix_s = (uint64_t)time(NULL) };
	struct vmm_snap_writer w;
	struct dirty_job dj = { 0 };
	uint64_t bits = 0, pages, t0 = util_now_ns(), tp = 0, lost0 = vm->dirty.lost;
	bool paused = false;
	int rc;

	memset(st, 0, sizeof(*st));
	why[0] = '\0';
	if (vmm_vm_paused(vm, NULL)) {
		snprintf(why, len, "the VM is paused: resume it before migrating it");
		return -EBUSY;
	}
	if (vm->dirty.tap) {
		snprintf(why, len, "a migration is under way already");
		return -EBUSY;
	}
	for (int i = 0; i < vm->mem.nr; i++) {
		h.mem_bytes += vm->mem.r[i].bytes;
		bits = UTIL_MAX(bits, (vm->mem.r[i].gpa + vm->mem.r[i].bytes) / PAGE);
	}
	dj.bits = bits = UTIL_MAX(bits, vm->dirty.pfn_bits);
	dj.set = calloc((size_t)(bits + 63) / 64, 8);
	dj.tap = calloc((size_t)(bits + 63) / 64, 8);
	dj.sink = calloc((size_t)(bits + 63) / 64, 8);
	if (!dj.set || !dj.tap || !dj.sink) {
		rc = -ENOMEM;
		goto out;
	}
	vmm_snap_host_cpu(&h.cpu);
	h.flags = VMM_SNAP_FLAG_HANDOVER;
	/* No Nagle: the state after the last pages is ~20 small sections, and
	 * each one held back until the previous one's (delayed, up to 40 ms)
	 * ACK put 40 ms into every downtime. Not TCP (a Unix socket): nothing
	 * to do. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	rc = vmm_snap_write_header(&w, fd, &h);
	if (rc)
		snprintf(why, len, "sending the header: %s", strerror(-rc));
	else
		rc = vmm_migrate_answer(fd, "the target", 'Y', "the header", o->answer_ms, why, len);
	if (!rc && (rc = dirty_step(vm, &dj, &st->precopy_pause_ns)))
		snprintf(why, len, "turning on the dirty log (KVM_MEM_LOG_DIRTY_PAGES): %s",
			 strerror(-rc));
	if (!rc)
		rc = precopy(vm, &w, &dj, o, st, why, len);
	if (!rc) {   /* stop and copy */
		tp = util_now_ns();
		rc = vmm_vm_pause(vm, NULL);
		paused = !rc;
		if (rc)
			snprintf(why, len, "the VM has ended");
	}
	if (!rc) {
		struct dirty_job j = dj;

		rc = vmm_vcpu_run_parked(&vm->vcpu[0], dirty_on_vcpu, &j);
		rc = rc ? rc : j.rc;
		if (rc)
			snprintf(why, len, "reading the last dirty log: %s", strerror(-rc));
	}
	if (!rc && vm->dirty.lost != lost0) {
		/* kvm_pvm's emulator can overrun a dirty ring (dirty.c): pages
		 * written then are in no set, and the target would run with them
		 * stale. */
		snprintf(why, len, "the dirty ring overflowed during the migration (a host KVM bug; "
			 "%llu written pages unaccounted): run the VM with the slots' bitmap "
			 "([bankmap] written_sets = no) to migrate it",
			 (unsigned long long)(vm->dirty.lost - lost0));
		rc = -EIO;
	}
	if (!rc && !(rc = send_pages(vm, &w, dj.set, true, &pages)))
		st->pages += pages, st->last_pages = pages;
	else if (rc && !why[0])
		snprintf(why, len, "sending the last pages: %s", strerror(-rc));
	if (!rc)
		rc = vmm_snapshot_save_rest(vm, &w, why, len);
	if (!rc)
		rc = vmm_migrate_answer(fd, "the target", 'K', "the VM's state", o->answer_ms, why,
					len);
	if (!rc && send(fd, "G", 1, MSG_NOSIGNAL) != 1) {
		snprintf(why, len, "the target holds the VM's state but could not be told to run "
			 "it (%s)", strerror(errno));
		rc = -EPIPE;
	}
	st->downtime_ns = tp ? util_now_ns() - tp : 0;   /* the target may run from here */
	if (!rc && vmm_migrate_answer(fd, "the target", 'R', "that it runs the guest", o->answer_ms,
				   why, len)) {
		snprintf(why + strlen(why), len - strlen(why), ": it may, so the guest stays paused "
			 "here; resume it here (avmm ctl resume) only if the target does not run it");
		rc = -EINPROGRESS;
	}
	st->bytes = w.bytes;
	st->total_ns = util_now_ns() - t0;
	if (rc && rc != -EINPROGRESS && paused)
		vmm_vm_resume(vm, NULL);   /* the source carries on */
out:
	if (vm->dirty.tap == dj.tap)
		set_tap(vm, NULL, 0);
	if (rc && !why[0])
		snprintf(why, len, "%s", strerror(-rc));
	free(dj.set);
	free(dj.tap);
	free(dj.sink);
	return rc;
}
