/* policies: `avmm ctl [--socket PATH] [--name VM] migrate unix:PATH|tcp:HOST:PORT`,
 * the client side of a live migration: it connects to the target (`avmm run
 * --incoming ADDR`) with its own rights and passes the connected socket to
 * the running avmm with the request (SCM_RIGHTS), whose control thread may
 * not connect. It prints the one-line summary, or the reason it failed (the
 * VM then runs on where it was, or, when the target did not confirm that it
 * runs the guest, stays paused there). */
#include <stdio.h>
#include <stdlib.h>

#include "policies/pol_int.h"
#include "vmm-core/vmm.h"

int pol_cli_ctl_migrate(const char *socket_path, const char *addr, bool as_json)
{
	enum vmm_migrate_stage stage;
	char why[512], *answer = NULL;
	int rc = vmm_migrate_request(socket_path, addr, &answer, &stage, why, sizeof(why));

	if (!rc && as_json)
		printf("%s\n", answer);
	else if (!rc)
		printf("%s: %s\n", socket_path, why);
	else if (stage == VMM_MIGRATE_CONNECT)
		fprintf(stderr, "avmm: error: migrate: %s; is `avmm run --incoming %s` waiting "
			"there? The VM runs on where it is\n", why, addr);
	else if (stage == VMM_MIGRATE_UNSURE)
		fprintf(stderr, "avmm: error: migration to %s unconfirmed (%s): %s\n", addr,
			socket_path, why);
	else if (stage == VMM_MIGRATE_CTL)
		fprintf(stderr, "avmm: error: cannot reach %s; is avmm running with its control "
			"socket there (--socket)?\n", socket_path);
	else
		fprintf(stderr, "avmm: error: migration to %s failed, the VM runs on in %s: %s\n",
			addr, socket_path, why);
	free(answer);
	return rc ? 1 : 0;
}
