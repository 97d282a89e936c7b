/* Test helper: the dashboard page checked in headless Chromium. */
#ifndef AVMM_TEST_DASHBOARD_H
#define AVMM_TEST_DASHBOARD_H

#include <stddef.h>

#define CHROMIUM "/usr/bin/chromium"

/* $AVMM_BUILD/test-output, created. */
void dashboard_out_dir(char *dir, size_t len);
/* Loads http://127.0.0.1:port/ in Chromium (DOM after 5 s of virtual time,
 * then a screenshot dir/dashboard.png) and asserts: no page or console
 * error, >= 3 samples, every chart with points (IPC: points or the reason),
 * several wall-clock labels on the x axes and the unit on every y label,
 * nr_vcpus rows in the vCPU->pCPU map, >= min_decisions on the timeline and
 * (when min_decisions > 0) decision markers on the charts. */
void dashboard_check(int port, const char *dir, int nr_vcpus, int min_decisions);
/* The dashboard's DOM after 3 s of virtual time (saved to dom_path;
 * malloc'd). */
char *dashboard_dump(int port, const char *dom_path);

#endif
