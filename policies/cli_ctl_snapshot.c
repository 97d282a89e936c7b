/* policies: `avmm ctl [--socket PATH] [--name VM] snapshot FILE`, the client
 * side of a snapshot: it creates FILE (mode 0600, with the caller's rights),
 * passes it to the running avmm with the request (SCM_RIGHTS), and fsyncs it
 * once the answer says it is written; on failure FILE is removed. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policies/pol_int.h"
#include "vmm-core/vmm.h"

int pol_cli_ctl_snapshot(const char *socket_path, const char *file)
{
	char *answer = NULL;
	json_t *a = NULL;
	int fd, rc = 1;

	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "avmm: error: snapshot %s: %s; nothing was sent\n", file,
			strerror(errno));
		return 1;
	}
	if (vmm_ctl_call_fd(socket_path, "{\"cmd\":\"snapshot\"}", fd, &answer)) {
		fprintf(stderr, "avmm: error: cannot reach %s; is avmm running with its control "
			"socket there (--socket)?\n", socket_path);
		goto out;
	}
	a = json_loads(answer, 0, NULL);
	if (!a || !json_is_true(json_object_get(a, "ok"))) {
		fprintf(stderr, "avmm: error: %s refused the snapshot: %s\n", socket_path,
			a ? json_string_value(json_object_get(a, "error")) : answer);
		goto out;
	}
	if (fsync(fd)) {
		fprintf(stderr, "avmm: error: snapshot %s: fsync: %s\n", file, strerror(errno));
		goto out;
	}
	printf("%s\n", answer);
	rc = 0;
out:
	close(fd);
	if (rc)
		unlink(file);
	json_decref(a);
	free(answer);
	return rc;
}
