/* The "stat" control command: the newest sample as JSON. */
#include "telemetry/tel_int.h"
#include "vmm-core/vmm.h"

#include <errno.h>

char *tel_ctl_stat(const char *req, const struct vmm_ctl_peer *peer, void *arg, int *err)
{
	struct tel *t = arg;
	uint64_t since;
	char *out = NULL;

	(void)req;
	pthread_mutex_lock(&t->lock);
	since = t->nr_samples ? t->nr_samples - 1 : 0;
	pthread_mutex_unlock(&t->lock);
	*err = tel_samples_json(t, since, &out);
	return out;
}

int tel_register_ctl(struct tel *t, struct vmm_ctl *ctl)
{
	return vmm_ctl_register(ctl, "stat", tel_ctl_stat, t);
}
