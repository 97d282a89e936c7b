/* Checks of the `avmm experiment` HTML report: as a file and in Chromium. */
#ifndef AVMM_TESTS_EXPERIMENT_REPORT_CHECK_H
#define AVMM_TESTS_EXPERIMENT_REPORT_CHECK_H

#include <jansson.h>

/* Asserts the page is self-contained: no src/href/url() to another place
 * (http:, https:, //, file:), one inlined uPlot, its CSS, the report script
 * and the data element; returns the data, parsed (json_decref it). */
json_t *report_static_check(const char *html);
/* Loads the file in headless Chromium (name resolution off) and asserts no
 * page or console error, no network attempt, at least min_charts charts
 * drawn (a canvas each, every one with points) and want_unavailable charts
 * that say why not; keeps DOM, console log and a full-page screenshot as
 * $AVMM_BUILD/test-output/<name>.{html,log,png}; returns the DOM
 * (malloc'd). Skips without Chromium. */
char *report_chromium_check(const char *path, const char *name, int min_charts, int want_unavailable);

#endif
