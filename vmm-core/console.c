/* The serial console's output: a file opened safely (util_open_output) or
 * stdout, written with write(2) a line (or a full buffer) at a time; a total
 * size cap and a rate cap (token bucket) drop the bytes beyond them; write
 * errors lose the bytes they hit. Each kind of loss is counted, warned about
 * once, and summed up at close. Called under the serial port's lock. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "vmm-core/vmm_internal.h"

#define CONSOLE_BURST_MIN (4ull << 10)

bool vmm_bucket_take(struct vmm_bucket *b, uint64_t now_ns, uint64_t n)
{
	if (!b->rate)
		return true;
	if (!b->started) {
		b->tokens = (double)b->burst;
		b->started = true;
	} else if (now_ns > b->last_ns) {
		b->tokens += (double)(now_ns - b->last_ns) * (double)b->rate / 1e9;
		if (b->tokens > (double)b->burst)
			b->tokens = (double)b->burst;
	}
	b->last_ns = now_ns;
	if (b->tokens < (double)n)
		return false;
	b->tokens -= (double)n;
	return true;
}

static uint64_t limit_of(uint64_t configured, uint64_t def)
{
	if (configured == VMM_CONSOLE_UNLIMITED)
		return 0;
	return configured ? configured : def;
}

int vmm_console_open(struct vmm_console *c, const char *path, uint64_t max_bytes,
		     uint64_t rate_bps)
{
	char why[512];

	memset(c, 0, sizeof(*c));
	c->fd = STDOUT_FILENO;
	c->max_bytes = limit_of(max_bytes, VMM_CONSOLE_MAX_DEFAULT);
	c->bucket.rate = limit_of(rate_bps, VMM_CONSOLE_RATE_DEFAULT);
	c->bucket.burst = UTIL_MAX(c->bucket.rate, CONSOLE_BURST_MIN);
	snprintf(c->name, sizeof(c->name), "stdout");
	if (!path || !strcmp(path, "stdio"))
		return 0;
	c->fd = util_open_output(path, why, sizeof(why));
	if (c->fd < 0) {
		int err = c->fd;

		util_err("--console %s", why);
		c->fd = -1;
		return err;
	}
	c->owned = true;
	snprintf(c->name, sizeof(c->name), "%s", path);
	return 0;
}

static void write_failed(struct vmm_console *c, int err, size_t lost)
{
	atomic_fetch_add(&c->lost_bytes, lost);
	atomic_fetch_add(&c->write_errors, 1);
	if (c->warned_error)
		return;
	c->warned_error = true;
	util_warn("--console %s: write failed: %s; guest console output is being lost "
		  "(bytes counted, summed up at exit): free space or give another --console",
		  c->name, strerror(err));
}

void vmm_console_flush(struct vmm_console *c)
{
	size_t off = 0;

	while (c->fd >= 0 && off < c->len) {
		ssize_t n = write(c->fd, c->buf + off, c->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			write_failed(c, n < 0 ? errno : EIO, c->len - off);
			break;
		}
		atomic_fetch_add(&c->written_bytes, (uint64_t)n);
		off += (size_t)n;
	}
	c->len = 0;
}

static void dropped(struct vmm_console *c, bool size_cap)
{
	if (size_cap) {
		atomic_fetch_add(&c->dropped_size_bytes, 1);
		if (!c->warned_size)
			util_warn("--console %s: the guest has written %llu bytes, the --console-max "
				  "cap: further console output is dropped and counted (give a larger "
				  "--console-max, or 0 for no cap)", c->name,
				  (unsigned long long)c->max_bytes);
		c->warned_size = true;
		return;
	}
	atomic_fetch_add(&c->dropped_rate_bytes, 1);
	if (!c->warned_rate)
		util_warn("--console %s: the guest writes faster than --console-rate %llu bytes/s "
			  "(bursts of %llu): what exceeds it is dropped and counted (give a higher "
			  "--console-rate, or 0 for no limit)", c->name,
			  (unsigned long long)c->bucket.rate, (unsigned long long)c->bucket.burst);
	c->warned_rate = true;
}

void vmm_console_putc(struct vmm_console *c, uint8_t ch)
{
	if (c->fd < 0)
		return;
	if (c->max_bytes && c->accepted >= c->max_bytes) {
		dropped(c, true);
		return;
	}
	if (c->bucket.rate && !vmm_bucket_take(&c->bucket, util_now_ns(), 1)) {
		dropped(c, false);
		return;
	}
	c->accepted++;
	c->buf[c->len++] = ch;
	if (ch == '\n' || c->len == sizeof(c->buf))
		vmm_console_flush(c);
}

void vmm_console_close(struct vmm_console *c)
{
	struct vmm_console_counters k;

	vmm_console_flush(c);
	vmm_console_read(c, &k);
	if (k.dropped_size_bytes || k.dropped_rate_bytes || k.lost_bytes)
		util_warn("--console %s: %llu bytes written; %llu dropped over --console-max, "
			  "%llu dropped over --console-rate, %llu lost to %llu write errors", c->name,
			  (unsigned long long)k.written_bytes,
			  (unsigned long long)k.dropped_size_bytes,
			  (unsigned long long)k.dropped_rate_bytes, (unsigned long long)k.lost_bytes,
			  (unsigned long long)k.write_errors);
	if (c->owned && c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->owned = false;
}

void vmm_console_read(const struct vmm_console *c, struct vmm_console_counters *out)
{
	out->written_bytes = atomic_load(&c->written_bytes);
	out->dropped_size_bytes = atomic_load(&c->dropped_size_bytes);
	out->dropped_rate_bytes = atomic_load(&c->dropped_rate_bytes);
	out->lost_bytes = atomic_load(&c->lost_bytes);
	out->write_errors = atomic_load(&c->write_errors);
}
