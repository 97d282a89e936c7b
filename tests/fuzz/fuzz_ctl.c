/* libFuzzer: the control-socket protocol. The input arrives as a client's
 * reads (split where the fuzzer puts 0xff) and goes through the same
 * processing the poll loop uses; every answer must be one JSON object per
 * line and the buffers must stay bounded. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm-core/ctl_int.h"

static char *echo_cmd(const char *req, const struct vmm_ctl_peer *peer, void *arg, int *err)
{
	(void)peer;
	(void)arg;
	if (strstr(req, "\"fail\"")) {
		*err = 5;
		return NULL;
	}
	return strdup("{\"ok\":true}");
}

static void check_out(struct ctl_client *c)
{
	size_t start = c->out_off;

	while (start < c->out_len) {
		char *nl = memchr(c->out + start, '\n', c->out_len - start);
		json_t *o;

		if (!nl)
			abort(); /* every answer ends in a newline */
		*nl = '\0';
		o = json_loads(c->out + start, 0, NULL);
		if (!o || !json_is_object(o))
			abort();
		json_decref(o);
		start = (size_t)(nl - c->out) + 1;
	}
	c->out_off = c->out_len = 0; /* the client read everything */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vmm_ctl ctl;
	struct ctl_client c = { .fd = -1 };
	size_t pos = 0;

	if (!ctl.nr) {
		pthread_mutex_init(&ctl.lock, NULL);
		ctl.owner = 0;
		ctl.group = (gid_t)-1;
		vmm_ctl_register(&ctl, "echo", echo_cmd, NULL);
		vmm_ctl_register(&ctl, "stat", echo_cmd, NULL);
	}
	c.in = malloc(CTL_LINE_MAX);
	while (pos < size && !c.close_after_out) {
		const uint8_t *cut = memchr(data + pos, 0xff, size - pos);
		size_t n = cut ? (size_t)(cut - (data + pos)) : size - pos;

		n = n < CTL_LINE_MAX - c.in_len ? n : CTL_LINE_MAX - c.in_len;
		memcpy(c.in + c.in_len, data + pos, n);
		c.in_len += n;
		pos += n + (cut ? 1 : 0);
		ctl_client_process(&ctl, &c, pos);
		if (c.in_len > CTL_LINE_MAX || c.out_len > CTL_OUT_HIGH + CTL_LINE_MAX)
			abort();
		check_out(&c);
		ctl_client_process(&ctl, &c, pos); /* what waited behind the answers */
		check_out(&c);
	}
	free(c.in);
	free(c.out);
	return 0;
}
