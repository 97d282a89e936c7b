/* Test helper: `promtool check metrics` (Debian's prometheus package) on an
 * exposition text, beside the home-made checker (tests/telemetry/promcheck). */
#ifndef AVMM_TESTS_PROMTOOL_H
#define AVMM_TESTS_PROMTOOL_H

#include <stddef.h>

#define PROMTOOL "/usr/bin/promtool"

/* 0: promtool accepts text (format and lint); 1: it refuses it, its words in
 * out; -ENOENT: no promtool here (out says which package has it); another
 * -errno when it cannot be run. */
int promtool_check(const char *text, char *out, size_t len);

#endif
