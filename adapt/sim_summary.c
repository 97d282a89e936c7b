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
		char *rest = line, *tok;
		int col = 0;

		if (!strncmp(line, "experiment,", 11))
			continue;
		/* strsep keeps empty fields (an unknown IPC is ""); the quoted
		 * free text comes after the columns read here */
		for (tok = strsep(&rest, ","); tok && col <= 13; tok = strsep(&rest, ","), col++) {
			if (col == 1)
				snprintf(rows[n].profile, sizeof(rows[n].profile), "%s", tok);
			else if (col == 2)
				snprintf(rows[n].phase, sizeof(rows[n].phase), "%s", tok);
			else if (col == 7)
				rows[n].cpu = atof(tok);
			else if (col == 13)
				rows[n].decisions = atoi(tok);
		}
		if (col > 13 && strcmp(rows[n].phase, "all"))
			n++;
	}
	fclose(f);
	return n;
}
