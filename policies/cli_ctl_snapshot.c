/* policies: `avmm ctl [--socket PATH] [--name VM] snapshot FILE`, the client
 * side of a snapshot: it creates FILE (mode 0600, with the caller's rights),
 * passes it to the running avmm with the request (SCM_RIGHTS), and fsyncs it
 * once the answer says it is written; on failure FILE is removed. The
 * answer is printed as a line, or as it is with --json. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policies/pol_int.h"
#include "vmm-core/vmm.h"

int pol_cli_ctl_snapshot(const char *socket_path, const char *file, bool as_json)
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
	if (as_json)
		printf("%s\n", answer);
	else
		printf("%s: snapshot written to %s (%lld bytes; the guest stood %.3f s)\n",
		       socket_path, file, (long long)json_integer_value(json_object_get(a, "bytes")),
		       (double)json_integer_value(json_object_get(a, "paused_ns")) / 1e9);
	rc = 0;
out:
	close(fd);
	if (rc)
		unlink(file);
	json_decref(a);
	free(answer);
	return rc;
}
