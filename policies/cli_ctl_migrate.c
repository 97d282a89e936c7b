/* policies: `avmm ctl [--socket PATH] [--name VM] migrate unix:PATH|tcp:HOST:PORT`,
 * the client side of a live migration: it connects to the target (`avmm run
 * --incoming ADDR`) with its own rights and passes the connected socket to
 * the running avmm with the request (SCM_RIGHTS), whose control thread may
 * not connect. It prints the one-line summary, or the reason it failed (the
 * VM then runs on where it was). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policies/pol_int.h"
#include "vmm-core/vmm.h"

int pol_cli_ctl_migrate(const char *socket_path, const char *addr, bool as_json)
{
	char why[256], *answer = NULL;
	json_t *a = NULL;
	int fd, rc = 1;

	fd = vmm_migrate_connect(addr, why, sizeof(why));
	if (fd < 0) {
		fprintf(stderr, "avmm: error: migrate: %s; is `avmm run --incoming %s` waiting "
			"there? The VM runs on where it is\n", why, addr);
		return 1;
	}
	if (vmm_ctl_call_fd(socket_path, "{\"cmd\":\"migrate\"}", fd, &answer)) {
		fprintf(stderr, "avmm: error: cannot reach %s; is avmm running with its control "
			"socket there (--socket)?\n", socket_path);
		goto out;
	}
	a = json_loads(answer, 0, NULL);
	if (!a || !json_is_true(json_object_get(a, "ok"))) {
		fprintf(stderr, "avmm: error: migration to %s failed, the VM runs on in %s: %s\n",
			addr, socket_path, a ? json_string_value(json_object_get(a, "error")) : answer);
		goto out;
	}
	if (as_json)
		printf("%s\n", answer);
	else
		printf("%s: %s\n", socket_path, json_string_value(json_object_get(a, "summary")));
	rc = 0;
out:
	close(fd);
	json_decref(a);
	free(answer);
	return rc;
}
