/*
 * The KVM statistics of a telemetry object's vCPUs in one BPF call per
 * sample, instead of one pread of each vCPU's stats file (bpf/kvmbatch.bpf.c
 * says how). One BPF object per process, loaded before the sandbox
 * (tel_kvm_batch_init); each telemetry object takes a range of its slots.
 * Where it cannot be loaded (no CAP_BPF and CAP_PERFMON, a kernel without
 * BTF or older than 6.1), telemetry reads each vCPU's file, and says why.
 */
#include "telemetry/tel_int.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/sandbox.h"
#include "common/util.h"

extern const unsigned char bpf_kvmbatch[];     /* the program, built by clang (Makefile) */
extern const unsigned int bpf_kvmbatch_len;

static struct {
	pthread_mutex_t lock;
	bool tried;
	int err;
	char why[200];
	struct bpf_object *obj;
	struct bpf_link *iter;
	int fd_slot, vcpu_of, prog;
	const struct kb_rec *rec;      /* the out map, read-only */
	bool used[KB_SLOTS];
} kb = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd_slot = -1, .vcpu_of = -1, .prog = -1 };

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	n = (size_t)vsnprintf(line, sizeof(line), fmt, ap);
	if (n > 0 && n < sizeof(line) && line[n - 1] == '\n')
		line[n - 1] = 0;
	util_debug("libbpf: %s", line);
	return 0;
}

static int fail(int err, const char *what)
{
	snprintf(kb.why, sizeof(kb.why), "%s: %s%s", what, strerror(err < 0 ? -err : err),
		 err == -EPERM || err == -EACCES ? " (needs CAP_BPF and CAP_PERFMON: run as root)" : "");
	return err < 0 ? err : -err;
}

static int map_fd(const char *name)
{
	return bpf_map__fd(bpf_object__find_map_by_name(kb.obj, name));
}

static int load(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "avmm_kvmbatch");
	LIBBPF_OPTS(bpf_iter_attach_opts, io);
	union bpf_iter_link_info li = { .task.pid = (__u32)getpid() };
	void *rec;
	int err;

	libbpf_set_print(libbpf_log);
	kb.obj = bpf_object__open_mem(bpf_kvmbatch, bpf_kvmbatch_len, &oo);
	if (!kb.obj)
		return fail(-errno, "opening the embedded BPF object");
	err = bpf_object__load(kb.obj);
	if (err)
		return fail(err, "loading the BPF program (a kernel with BTF, CONFIG_DEBUG_INFO_BTF)");
	io.link_info = &li;
	io.link_info_len = sizeof(li);
	kb.iter = bpf_program__attach_iter(bpf_object__find_program_by_name(kb.obj, "find_vcpus"),
					   &io);
	if (!kb.iter)
		return fail(-errno, "a task_file iterator over this process (Linux 6.1 or later)");
	kb.fd_slot = map_fd("fd_slot");
	kb.vcpu_of = map_fd("vcpu_of");
	kb.prog = bpf_program__fd(bpf_object__find_program_by_name(kb.obj, "read_stats"));
	rec = mmap(NULL, KB_SLOTS * sizeof(struct kb_rec), PROT_READ, MAP_SHARED, map_fd("out"), 0);
	if (rec == MAP_FAILED)
		return fail(-errno, "mapping the BPF program's records");
	kb.rec = rec;
	return 0;
}

int tel_kvm_batch_init(char *why, size_t wlen)
{
	int err;

	pthread_mutex_lock(&kb.lock);
	if (!kb.tried) {
		kb.tried = true;
		kb.err = load();
		if (kb.err) {     /* what did load is of no use: let it go */
			bpf_link__destroy(kb.iter);
			bpf_object__close(kb.obj);
			kb.iter = NULL;
			kb.obj = NULL;
		}
		util_debug("telemetry: BPF batch of KVM statistics: %s", kb.err ? kb.why : "loaded");
	}
	err = kb.err;
	if (why && wlen)
		snprintf(why, wlen, "%s", kb.why);
	pthread_mutex_unlock(&kb.lock);
	return err;
}

static int set_slot(int slot, uint64_t vcpu)
{
	uint32_t k = (uint32_t)slot;

	return bpf_map_update_elem(kb.vcpu_of, &k, &vcpu, BPF_ANY) ? -errno : 0;
}

/* Runs find_vcpus over this process's files: the vCPUs of fd[0..nr) into
 * slots base.. (lock held). */
static int find_vcpus(int base, const int *fd, int nr)
{
	char buf[64];
	int it, err = 0;

	for (int i = 0; i < nr && !err; i++) {
		uint32_t k = (uint32_t)fd[i], slot = (uint32_t)(base + i);

		err = set_slot(base + i, 0);
		if (!err && fd[i] >= 0 && bpf_map_update_elem(kb.fd_slot, &k, &slot, BPF_ANY))
			err = -errno;
	}
	it = err ? -1 : bpf_iter_create(bpf_link__fd(kb.iter));
	if (!err && it < 0)
		err = -errno;
	while (it >= 0 && read(it, buf, sizeof(buf)) > 0)
		;
	if (it >= 0)
		close(it);
	for (int i = 0; i < nr; i++) {
		uint32_t k = (uint32_t)fd[i];

		if (fd[i] >= 0)
			bpf_map_delete_elem(kb.fd_slot, &k);
	}
	return err;
}

/* A contiguous range of nr free slots, marked used; -1: none (lock held). */
static int take_slots(int nr)
{
	for (int base = 0; base + nr <= KB_SLOTS; base++) {
		int n = 0;

		while (n < nr && !kb.used[base + n])
			n++;
		if (n == nr) {
			memset(&kb.used[base], 1, (size_t)nr);
			return base;
		}
		base += n;
	}
	return -1;
}

static void put_slots(int base, int nr)
{
	for (int i = 0; i < nr; i++)
		set_slot(base + i, 0);
	memset(&kb.used[base], 0, (size_t)nr);
}

/* The first read against each vCPU's own file, read before and after it:
 * every selected statistic is cumulative, so the batch's value lies between
 * the two (a wrong layout reads something else). */
static int check(struct tel_kvm_batch *b, const int *fd, const struct tel_kvmstats *layout,
		 char *why, size_t wlen)
{
	uint64_t (*before)[KB_REC_WORDS] = calloc(2 * (size_t)b->nr, sizeof(*before));
	uint64_t (*after)[KB_REC_WORDS] = before + b->nr;
	off_t at = (off_t)(layout->data_off + layout->rd_off);
	int err = before ? 0 : -ENOMEM;

	for (int i = 0; i < b->nr && !err; i++)
		if (fd[i] >= 0 && pread(fd[i], before[i], b->len, at) != (ssize_t)b->len)
			err = -EIO;
	if (!err)
		err = tel_kvm_batch_read(b);
	for (int i = 0; i < b->nr && !err; i++)
		if (fd[i] >= 0 && pread(fd[i], after[i], b->len, at) != (ssize_t)b->len)
			err = -EIO;
	if (err)
		snprintf(why, wlen, "the first batched read failed: %s", strerror(-err));
	for (int i = 0; i < b->nr && !err; i++)
		for (int k = 0; fd[i] >= 0 && k < layout->nr_sel; k++) {
			int w = layout->sel_word[k] - (int)(layout->rd_off / 8);
			uint64_t got = tel_kvm_batch_span(b, i)[w];

			if (layout->sel_word[k] < 0 || w < 0 || (uint32_t)w >= b->len / 8 ||
			    (before[i][w] <= got && got <= after[i][w]))
				continue;
			snprintf(why, wlen, "vcpu%d: the batch read %llu where its stats file "
				 "read %llu then %llu (kernel layout not understood)", i,
				 (unsigned long long)got, (unsigned long long)before[i][w],
				 (unsigned long long)after[i][w]);
			err = -EPROTO;
			break;
		}
	free(before);
	return err;
}

int tel_kvm_batch_open(struct tel_kvm_batch *b, const int *fd, int nr,
		       const struct tel_kvmstats *layout, char *why, size_t wlen)
{
	int err;

	memset(b, 0, sizeof(*b));
	b->base = -1;
	if (!kb.tried && util_sandbox_active()) {
		snprintf(why, wlen, "the BPF program was not loaded before this thread's sandbox");
		return -EPERM;
	}
	err = tel_kvm_batch_init(why, wlen);
	if (err)
		return err;
	if (nr <= 0 || nr > TEL_MAX_VCPUS || layout->rd_len > KB_SPAN_MAX_BYTES ||
	    layout->rd_off % 8) {
		snprintf(why, wlen, "a span of %zu bytes of KVM statistics (up to %d fit)",
			 layout->rd_len, KB_SPAN_MAX_BYTES);
		return -E2BIG;
	}
	b->nr = nr;
	b->off = layout->rd_off;
	b->len = layout->rd_len;
	for (int i = 0; i < nr; i++)
		b->nr_files += fd[i] >= 0;
	pthread_mutex_lock(&kb.lock);
	b->base = take_slots(nr);
	err = b->base < 0 ? -ENOSPC : find_vcpus(b->base, fd, nr);
	pthread_mutex_unlock(&kb.lock);
	if (err) {
		snprintf(why, wlen, "%s: %s", b->base < 0 ? "no free slots" : "finding the vCPUs",
			 strerror(-err));
	} else {
		err = check(b, fd, layout, why, wlen);
		b->on = !err;
	}
	if (err)
		tel_kvm_batch_close(b);
	return err;
}

UTIL_HOT int tel_kvm_batch_read(struct tel_kvm_batch *b)
{
	struct kb_args a = { (unsigned)b->base, (unsigned)b->nr, b->off, b->len, ++b->seq };
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &a, .ctx_size_in = sizeof(a));

	if (b->base < 0)
		return -EBADF;
	if (bpf_prog_test_run_opts(kb.prog, &o))
		return -errno;
	return (int)o.retval == b->nr_files ? 0 : -EIO;   /* a vCPU it could not read */
}

const uint64_t *tel_kvm_batch_span(const struct tel_kvm_batch *b, int i)
{
	return (const uint64_t *)kb.rec[b->base + i].data;
}

void tel_kvm_batch_close(struct tel_kvm_batch *b)
{
	if (b->base >= 0 && b->nr > 0) {
		pthread_mutex_lock(&kb.lock);
		put_slots(b->base, b->nr);
		pthread_mutex_unlock(&kb.lock);
	}
	b->base = -1;
	b->on = false;
}
