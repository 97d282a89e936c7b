/* KVM binary statistics: KVM_GET_STATS_FD layout parsing and reads by name. */
#include "telemetry/tel_int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/util.h"

int tel_kvmstats_parse(const void *buf, size_t len, struct tel_kvmstats *s)
{
	const struct kvm_stats_header *h = buf;
	const unsigned char *p = buf;
	size_t dsz, i;
	uint64_t end = 0;

	if (len < sizeof(*h))
		return -EINVAL;
	if (h->name_size == 0 || h->name_size > 4096 || h->num_desc > 100000)
		return -EINVAL;
	dsz = sizeof(struct kvm_stats_desc) + h->name_size;
	if (h->desc_offset < sizeof(*h) || h->desc_offset > len ||
	    (uint64_t)h->num_desc * dsz > len - h->desc_offset)
		return -EINVAL;
	s->desc = calloc(h->num_desc ? h->num_desc : 1, sizeof(*s->desc));
	if (!s->desc)
		return -ENOMEM;
	for (i = 0; i < h->num_desc; i++) {
		/* copied out: desc_offset and name_size need not keep it aligned */
		const unsigned char *at = p + h->desc_offset + i * dsz;
		const char *name = (const char *)at + sizeof(struct kvm_stats_desc);
		struct tel_kvm_desc *o = &s->desc[i];
		size_t n = strnlen(name, h->name_size);
		struct kvm_stats_desc d;

		memcpy(&d, at, sizeof(d));
		if (n == 0 || n >= sizeof(o->name) || d.offset % 8)
			goto bad;
		memcpy(o->name, name, n);
		o->name[n] = 0;
		o->flags = d.flags;
		o->offset = d.offset;
		o->size = d.size;
		if ((uint64_t)d.offset + 8ull * d.size > end)
			end = (uint64_t)d.offset + 8ull * d.size;
	}
	if (end > (1u << 24))
		goto bad;
	s->nr = (int)h->num_desc;
	s->data_off = h->data_offset;
	s->data_len = end;
	return 0;
bad:
	free(s->desc);
	s->desc = NULL;
	return -EINVAL;
}

int tel_kvmstats_open(int kvm_fd, bool is_stats_fd, struct tel_kvmstats *s, char *why,
		      size_t wlen)
{
	struct kvm_stats_header h;
	unsigned char *buf = NULL;
	size_t len;
	int fd, err;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	fd = is_stats_fd ? fcntl(kvm_fd, F_DUPFD_CLOEXEC, 0) : ioctl(kvm_fd, KVM_GET_STATS_FD, NULL);
	if (fd < 0) {
		err = -errno;
		snprintf(why, wlen, "KVM_GET_STATS_FD failed: %s (kernel older than 5.14?)",
			 strerror(errno));
		return err;
	}
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		err = -EIO;
		snprintf(why, wlen, "KVM stats fd: short header read");
		goto fail;
	}
	len = (size_t)h.desc_offset + (size_t)h.num_desc *
		(sizeof(struct kvm_stats_desc) + h.name_size);
	err = -EINVAL;
	if (len > (64u << 20)) {
		snprintf(why, wlen, "KVM stats fd: implausible layout (%zu bytes)", len);
		goto fail;
	}
	buf = malloc(len);
	err = -ENOMEM;
	if (!buf)
		goto fail;
	err = -EIO;
	if (pread(fd, buf, len, 0) != (ssize_t)len) {
		snprintf(why, wlen, "KVM stats fd: short descriptor read");
		goto fail;
	}
	err = tel_kvmstats_parse(buf, len, s);
	if (err) {
		snprintf(why, wlen, "KVM stats fd: malformed descriptors");
		goto fail;
	}
	err = -ENOMEM;
	s->data = calloc(1, s->data_len ? s->data_len : 8);
	if (!s->data)
		goto fail;
	s->fd = fd;
	s->rd_len = s->data_len;     /* every stat until tel_kvmstats_select() */
	s->rd_buf = s->data;
	free(buf);
	return 0;
fail:
	free(buf);
	free(s->desc);
	s->desc = NULL;
	close(fd);
	return err;
}

int tel_kvmstats_find(const struct tel_kvmstats *s, const char *name)
{
	for (int i = 0; i < s->nr; i++)
		if (!strcmp(s->desc[i].name, name))
			return i;
	return -ENOENT;
}

void tel_kvmstats_select(struct tel_kvmstats *s, const int *idx, int n)
{
	uint32_t lo = UINT32_MAX, hi = 0;

	for (int i = 0; i < n; i++) {
		const struct tel_kvm_desc *d;

		if (idx[i] < 0 || idx[i] >= s->nr)
			continue;
		d = &s->desc[idx[i]];
		if (d->offset < lo)
			lo = d->offset;
		if (d->offset + 8u * d->size > hi)
			hi = d->offset + 8u * d->size;
	}
	s->rd_off = hi ? lo : 0;
	s->rd_len = hi ? hi - lo : 0;
	s->rd_buf = s->data + s->rd_off / 8;
	s->nr_sel = 0;
	for (int i = 0; i < n && i < TEL_KVM_MAX_SEL; i++) {
		bool one = idx[i] >= 0 && idx[i] < s->nr && s->desc[idx[i]].size == 1;

		s->sel_word[i] = one ? (int)(s->desc[idx[i]].offset / 8) : -1;
		s->sel_idx[i] = idx[i];
		s->nr_sel = i + 1;
	}
}

bool tel_kvmstats_place(struct tel_kvmstats *s, uint64_t *buf, size_t bytes)
{
	if (s->rd_len > bytes)
		return false;
	s->rd_buf = buf;
	return true;
}

/* Word w of the data block: from where the reads land when in the span. */
UTIL_HOT static uint64_t word(const struct tel_kvmstats *s, uint32_t w)
{
	uint32_t lo = s->rd_off / 8;

	return w >= lo && w - lo < s->rd_len / 8 ? s->rd_buf[w - lo] : s->data[w];
}

UTIL_HOT void tel_kvmstats_values(const struct tel_kvmstats *s, uint64_t *const *out)
{
	for (int i = 0; i < s->nr_sel; i++)
		*out[i] = s->sel_word[i] >= 0 ? word(s, (uint32_t)s->sel_word[i]) :
			tel_kvmstats_value(s, s->sel_idx[i]);
}

UTIL_HOT int tel_kvmstats_read(struct tel_kvmstats *s)
{
	ssize_t n;

	if (s->fd < 0)
		return -EBADF;
	if (!s->rd_len)
		return 0;
	n = pread(s->fd, s->rd_buf, s->rd_len, s->data_off + s->rd_off);
	if (n < 0)
		return -errno;
	if ((size_t)n != s->rd_len)
		return -EIO;
	return 0;
}

/* Cumulative, instant and peak stats are one u64; histograms are summed. */
UTIL_HOT uint64_t tel_kvmstats_value(const struct tel_kvmstats *s, int idx)
{
	const struct tel_kvm_desc *d;
	uint64_t v = 0;

	if (idx < 0 || idx >= s->nr)
		return 0;
	d = &s->desc[idx];
	for (unsigned i = 0; i < d->size; i++)
		v += word(s, d->offset / 8 + i);
	return v;
}

void tel_kvmstats_close(struct tel_kvmstats *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->desc);
	free(s->data);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}
