/* The simulator's validation input: the per-phase rows of an experiment's
 * summary CSV (real or simulated), read the same way by bench/sim_validate
 * and tests/sim. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/sim.h"

int adapt_sim_read_summary(const char *path, struct adapt_sim_row *rows, int max)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && n < max) {
		char *save = NULL, *tok;
		int col = 0;

		if (!strncmp(line, "experiment,", 11))
			continue;
		for (tok = strtok_r(line, ",", &save); tok; tok = strtok_r(NULL, ",", &save), col++) {
			if (col == 1)
				snprintf(rows[n].profile, sizeof(rows[n].profile), "%s", tok);
			else if (col == 2)
				snprintf(rows[n].phase, sizeof(rows[n].phase), "%s", tok);
			else if (col == 7)
				rows[n].cpu = atof(tok);
		}
		if (col > 7 && strcmp(rows[n].phase, "all"))
			n++;
	}
	fclose(f);
	return n;
}
