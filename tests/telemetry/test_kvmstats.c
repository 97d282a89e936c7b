/* KVM binary statistics: parsing by name against a real tiny VM. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "telemetry/tel_int.h"
#include "tinyvm.h"

static struct tvm vm;

static void need_kvm(void)
{
	int err = tvm_create(&vm, 1);

	if (err)
		cr_skip_test("no usable /dev/kvm (%s)", strerror(-err));
}

Test(kvmstats, vcpu_stats_by_name_follow_real_exits, .fini = NULL)
{
	struct tel_kvmstats s;
	char why[160] = "";
	int ix, iio, ih;
	uint64_t e0, io0, h0;

	need_kvm();
	cr_assert_eq(tel_kvmstats_open(vm.vcpu[0], false, &s, why, sizeof(why)), 0, "%s", why);
	ix = tel_kvmstats_find(&s, "exits");
	iio = tel_kvmstats_find(&s, "io_exits");
	ih = tel_kvmstats_find(&s, "halt_exits");
	cr_assert(ix >= 0 && iio >= 0 && ih >= 0);
	cr_assert_eq(tel_kvmstats_find(&s, "no_such_stat"), -ENOENT);
	cr_assert_eq(tel_kvmstats_read(&s), 0);
	e0 = tel_kvmstats_value(&s, ix);
	io0 = tel_kvmstats_value(&s, iio);
	h0 = tel_kvmstats_value(&s, ih);
	cr_assert_eq(tvm_run(&vm, 0, 20), 20);
	cr_assert_eq(tel_kvmstats_read(&s), 0);
	cr_assert_geq(tel_kvmstats_value(&s, ix) - e0, 20);
	/* io_exits is not asserted: on hosts that run the guest through KVM's
	 * emulator the OUT is counted as insn_emulation instead */
	cr_assert_geq(tel_kvmstats_value(&s, iio), io0);
	cr_assert_geq(tel_kvmstats_value(&s, ih) - h0, 9);
	tel_kvmstats_close(&s);
	tvm_destroy(&vm);
}

/* tel_kvmstats_place: the selected span's reads land in the caller's buffer
 * (not in the stats' own data block), and the values come from there; a
 * buffer smaller than the span is refused. Checked against a second reader
 * of the same vCPU that keeps the default. */
Test(kvmstats, placed_reads_land_in_the_callers_buffer)
{
	static const char *const names[] = { "exits", "halt_exits" };
	struct tel_kvmstats s, ref;
	uint64_t buf[64], tiny[1], e = 0, h = 0, re = 0, rh = 0;
	uint64_t *out[] = { &e, &h }, *rout[] = { &re, &rh };
	char why[160] = "";
	int idx[2], ridx[2];

	need_kvm();
	cr_assert_eq(tel_kvmstats_open(vm.vcpu[0], false, &s, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(tel_kvmstats_open(vm.vcpu[0], false, &ref, why, sizeof(why)), 0, "%s", why);
	for (int i = 0; i < 2; i++) {
		idx[i] = tel_kvmstats_find(&s, names[i]);
		ridx[i] = tel_kvmstats_find(&ref, names[i]);
		cr_assert(idx[i] >= 0 && ridx[i] >= 0, "no %s", names[i]);
	}
	tel_kvmstats_select(&s, idx, 2);
	tel_kvmstats_select(&ref, ridx, 2);
	cr_assert(s.rd_len > sizeof(tiny));
	cr_assert(!tel_kvmstats_place(&s, tiny, sizeof(tiny)), "a buffer of 8 bytes for %zu", s.rd_len);
	cr_assert(s.rd_len <= sizeof(buf), "span of %zu bytes", s.rd_len);
	memset(buf, 0, sizeof(buf));
	cr_assert(tel_kvmstats_place(&s, buf, sizeof(buf)));
	cr_assert_eq(tvm_run(&vm, 0, 20), 20);
	cr_assert_eq(tel_kvmstats_read(&s), 0);
	cr_assert_eq(tel_kvmstats_read(&ref), 0);
	tel_kvmstats_values(&s, out);
	tel_kvmstats_values(&ref, rout);
	cr_assert_geq(e, 20);
	cr_assert_eq(e, re, "exits %llu placed, %llu not", (unsigned long long)e,
		     (unsigned long long)re);
	cr_assert_eq(h, rh);
	cr_assert_eq(tel_kvmstats_value(&s, idx[0]), e);
	cr_assert_eq(buf[s.desc[idx[0]].offset / 8 - s.rd_off / 8], e);
	cr_assert_eq(s.data[s.desc[idx[0]].offset / 8], 0, "the data block was written");
	tel_kvmstats_close(&s);
	tel_kvmstats_close(&ref);
	tvm_destroy(&vm);
}

/* The lowest free descriptor: the one the next open would get. */
static int lowest_free_fd(int any_fd)
{
	int fd = dup(any_fd);

	close(fd);
	return fd;
}

/* The span a sample reads (the benchmarks' floor), found without leaving a
 * descriptor open: one pread there gives the exits a full read of the
 * statistics gives. */
Test(kvmstats, the_sample_span_holds_the_exits)
{
	struct tel_kvmstats ref;
	uint64_t buf[512], off, exits;
	size_t len;
	char why[160] = "";
	int fd, ix, free_fd;

	need_kvm();
	fd = ioctl(vm.vcpu[0], KVM_GET_STATS_FD, NULL);
	cr_assert_geq(fd, 0);
	free_fd = lowest_free_fd(fd);
	cr_assert_eq(tel_vcpu_stats_span(fd, &off, &len), 0);
	cr_assert_eq(lowest_free_fd(fd), free_fd, "the span's look left a descriptor open");
	cr_assert(len >= 9 * 8 && len <= sizeof(buf), "a span of %zu bytes", len);
	cr_assert_eq(tvm_run(&vm, 0, 20), 20);
	cr_assert_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	cr_assert_eq(tel_kvmstats_open(fd, true, &ref, why, sizeof(why)), 0, "%s", why);
	ix = tel_kvmstats_find(&ref, "exits");
	cr_assert_geq(ix, 0);
	cr_assert_eq(tel_kvmstats_read(&ref), 0);
	exits = tel_kvmstats_value(&ref, ix);
	cr_assert_geq(exits, 20);
	cr_assert(ref.data_off + ref.desc[ix].offset >= off &&
		  ref.data_off + ref.desc[ix].offset + 8 <= off + len, "exits outside the span");
	cr_assert_eq(buf[(ref.data_off + ref.desc[ix].offset - off) / 8], exits);
	tel_kvmstats_close(&ref);
	tvm_destroy(&vm);
}

Test(kvmstats, vm_stats_have_paging_names)
{
	struct tel_kvmstats s;
	char why[160] = "";

	need_kvm();
	cr_assert_eq(tel_kvmstats_open(vm.vm, false, &s, why, sizeof(why)), 0, "%s", why);
	cr_assert_geq(tel_kvmstats_find(&s, "pages_4k"), 0);
	cr_assert_geq(tel_kvmstats_find(&s, "remote_tlb_flush"), 0);
	cr_assert_eq(tel_kvmstats_read(&s), 0);
	tel_kvmstats_close(&s);
	tvm_destroy(&vm);
}

Test(kvmstats, not_a_kvm_fd_gives_reason)
{
	struct tel_kvmstats s;
	char why[160] = "";

	cr_assert_lt(tel_kvmstats_open(0, false, &s, why, sizeof(why)), 0);
	cr_assert(strstr(why, "KVM_GET_STATS_FD"), "%s", why);
}

/* A synthetic stats file: header, two descriptors (name_size 16). */
static size_t fake_layout(unsigned char *buf, size_t len, uint32_t bad_off)
{
	struct kvm_stats_header *h = (void *)buf;
	size_t dsz = sizeof(struct kvm_stats_desc) + 16;
	struct kvm_stats_desc *d;

	memset(buf, 0, len);
	h->name_size = 16;
	h->num_desc = 2;
	h->desc_offset = sizeof(*h);
	h->data_offset = (uint32_t)(sizeof(*h) + 2 * dsz);
	d = (void *)(buf + h->desc_offset);
	d->size = 1;
	d->offset = 0;
	strcpy(d->name, "exits");
	d = (void *)(buf + h->desc_offset + dsz);
	d->size = 4;                /* a histogram */
	d->offset = bad_off;
	strcpy(d->name, "halt_hist");
	return h->data_offset;
}

Test(kvmstats, parse_synthetic_layout_and_reject_malformed)
{
	unsigned char buf[512];
	struct tel_kvmstats s = { 0 };
	size_t n = fake_layout(buf, sizeof(buf), 8);

	cr_assert_eq(tel_kvmstats_parse(buf, n, &s), 0);
	cr_assert_eq(s.nr, 2);
	cr_assert_eq(tel_kvmstats_find(&s, "halt_hist"), 1);
	cr_assert_eq(s.data_len, 40);   /* 8 + 4 * 8 */
	s.data = (uint64_t[5]){ 7, 1, 2, 3, 4 };
	cr_assert_eq(tel_kvmstats_value(&s, 0), 7);
	cr_assert_eq(tel_kvmstats_value(&s, 1), 10);
	cr_assert_eq(tel_kvmstats_value(&s, 5), 0);
	free(s.desc);
	/* misaligned offset, truncated buffer, absurd name size */
	n = fake_layout(buf, sizeof(buf), 3);
	cr_assert_eq(tel_kvmstats_parse(buf, n, &s), -EINVAL);
	n = fake_layout(buf, sizeof(buf), 8);
	cr_assert_eq(tel_kvmstats_parse(buf, n - 1, &s), -EINVAL);
	cr_assert_eq(tel_kvmstats_parse(buf, 4, &s), -EINVAL);
	((struct kvm_stats_header *)buf)->name_size = 0;
	cr_assert_eq(tel_kvmstats_parse(buf, n, &s), -EINVAL);
}
