/* `avmm paging --name VM`: asks the running VM ({"cmd":"paging"}) how its
 * guest RAM is backed, what the promotion worker does and what the cost
 * model estimates, and shows it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/util.h"
#include "vmm-core/vmm.h"

static double num(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static const char *str(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

static void print_ram(json_t *ram, FILE *f)
{
	double mib = 1024.0 * 1024.0;

	if (!json_is_true(json_object_get(ram, "valid"))) {
		fprintf(f, "backing    unavailable: %s\n", str(ram, "why", "no reason given"));
		return;
	}
	fprintf(f, "guest RAM  %.1f MiB, %.1f MiB resident\n", num(ram, "bytes") / mib,
		num(ram, "rss_bytes") / mib);
	fprintf(f, "backing    4 KiB %5.1f%% (%.1f MiB)   2 MiB %5.1f%% (%.1f MiB)   "
		"1 GiB %5.1f%% (%.1f MiB)   of resident RAM\n",
		100 * num(ram, "share_4k"), num(ram, "bytes_4k") / mib,
		100 * num(ram, "share_2m"), num(ram, "bytes_2m") / mib,
		100 * num(ram, "share_1g"), num(ram, "bytes_1g") / mib);
}

static void print_worker(json_t *w, FILE *f)
{
	json_t *e = json_object_get(w, "errors");
	const char *last = str(w, "last_error", "");
	char quota[32] = "none";

	if (!w)
		return;
	if (num(w, "quota_mib_per_s") > 0)
		snprintf(quota, sizeof(quota), "%.0f MiB/s", num(w, "quota_mib_per_s"));
	fprintf(f, "worker     target %s, %s, %.0f/%.0f ranges of 2 MiB done, %.0f collapsed, "
		"quota %s\n", str(w, "target", "?"),
		json_is_true(json_object_get(w, "busy")) ? "busy" : "idle", num(w, "ranges_done"),
		num(w, "ranges_total"), num(w, "collapse_ok"), quota);
	fprintf(f, "           errors: einval %.0f, eagain %.0f, enomem %.0f, other %.0f%s%s\n",
		num(e, "einval"), num(e, "eagain"), num(e, "enomem"), num(e, "other"),
		*last ? "; last: " : "", last);
}

static void print_estimate(json_t *est, FILE *f)
{
	static const char *const parts[] = { "shadow", "walk", "now", "alt_2m", "alt_4k",
					     "alt_mode" };
	static const char *const label[] = { "time in paging exits", "time in TLB-miss walks",
					     "overhead now", "with 2 MiB backing",
					     "with 4 KiB backing", "other host mode, next run" };
	json_t *p = json_object_get(est, "parts");

	if (!est || json_is_null(est)) {
		fprintf(f, "estimate   none yet (the model has not run a tick on this VM)\n");
		return;
	}
	fprintf(f, "estimate   (%% of the vCPUs' time)\n");
	for (size_t i = 0; i < UTIL_ARRAY_SIZE(parts); i++) {
		json_t *x = json_object_get(p, parts[i]);

		if (!x)
			continue;
		if (json_is_true(json_object_get(x, "valid")))
			fprintf(f, "  %-9s %-26s %6.1f%%  %s\n", parts[i], label[i], num(x, "pct"),
				str(x, "why", ""));
		else
			fprintf(f, "  %-9s %-26s %7s  %s\n", parts[i], label[i], "n/a",
				str(x, "why", "no reason given"));
	}
	fprintf(f, "model asks backing %s now; mode %s for the next run\n", str(est, "want", "?"),
		str(est, "want_mode", "?"));
	if (*str(est, "reason", ""))
		fprintf(f, "  because: %s\n", str(est, "reason", ""));
	if (*str(est, "recommend", ""))
		fprintf(f, "  recommendation: %s\n", str(est, "recommend", ""));
}

int cli_paging_render_vm(const char *answer, FILE *f)
{
	json_error_t jerr;
	json_t *o = json_loads(answer, 0, &jerr);

	if (!json_is_object(o)) {
		json_decref(o);
		return -EINVAL;
	}
	fprintf(f, "VM %s (pid %.0f)\n", str(o, "vm", "?"), num(o, "pid"));
	print_ram(json_object_get(o, "ram"), f);
	print_worker(json_object_get(o, "worker"), f);
	print_estimate(json_object_get(o, "estimate"), f);
	json_decref(o);
	return 0;
}

int cli_paging_vm(const char *name, const char *sock, bool as_json)
{
	char path[256], *answer = NULL;
	json_t *o;
	int rc;

	if (!sock && vmm_ctl_default_path(name, path, sizeof(path))) {
		util_err("paging --name '%s': use 1-64 letters, digits, '.', '_' or '-', not "
			 "starting with '.' or '-'", name);
		return 2;
	}
	if (sock)
		snprintf(path, sizeof(path), "%s", sock);
	rc = vmm_ctl_call(path, "{\"cmd\":\"paging\"}", &answer);
	if (rc) {
		util_err("paging: no answer on %s: %s (is the VM running? start it with `avmm run "
			 "--name %s ...`)", path, strerror(-rc), name ? name : "VM");
		return 1;
	}
	o = json_loads(answer, 0, NULL);
	if (!json_is_object(o) || !json_is_true(json_object_get(o, "ok"))) {
		util_err("paging: %s answered: %s", path,
			 json_is_object(o) ? str(o, "error", answer) : answer);
		json_decref(o);
		free(answer);
		return 1;
	}
	if (as_json) {
		char *s = json_dumps(o, JSON_INDENT(2));

		printf("%s\n", s ? s : answer);
		free(s);
	} else {
		cli_paging_render_vm(answer, stdout);
	}
	json_decref(o);
	free(answer);
	return 0;
}
