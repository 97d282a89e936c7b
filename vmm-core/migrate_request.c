/*
 * vmm-core: the client side of a live migration, shared by `avmm ctl
 * migrate` and the node agent: connect to the target (`avmm run --incoming
 * ADDR`) with the caller's rights, pass the connected socket to the running
 * avmm with the request (SCM_RIGHTS: its control thread may not connect),
 * and read its answer.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm-core/vmm.h"

int vmm_migrate_request(const char *ctl_path, const char *addr, char **answer,
			enum vmm_migrate_stage *stage, char *why, size_t len)
{
	const char *err;
	json_t *a;
	int fd, rc;

	*answer = NULL;
	*stage = VMM_MIGRATE_CONNECT;
	fd = vmm_migrate_connect(addr, why, len);
	if (fd < 0)
		return fd;
	*stage = VMM_MIGRATE_CTL;
	rc = vmm_ctl_call_fd(ctl_path, "{\"cmd\":\"migrate\"}", fd, answer);
	close(fd);
	if (rc) {
		snprintf(why, len, "%s: %s", ctl_path, strerror(-rc));
		return rc;
	}
	*stage = VMM_MIGRATE_REFUSED;
	a = json_loads(*answer, 0, NULL);
	if (a && json_is_true(json_object_get(a, "ok"))) {
		err = json_string_value(json_object_get(a, "summary"));
		snprintf(why, len, "%s", err ? err : "done");
		rc = 0;
	} else {
		err = a ? json_string_value(json_object_get(a, "error")) : NULL;
		snprintf(why, len, "%s", err ? err : *answer);
		rc = -EIO;
		if (a && json_is_true(json_object_get(a, "paused"))) {
			*stage = VMM_MIGRATE_UNSURE;
			rc = -EINPROGRESS;
		}
	}
	json_decref(a);
	return rc;
}
