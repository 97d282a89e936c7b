/* libFuzzer harness: the experiment-file parser on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "policies/pol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *dirs[] = { "policies/profiles" };
	static struct pol_experiment x;
	char err[2048];

	pol_exp_parse_buffer((const char *)data, size, "fuzz.ini", dirs, 1, &x, err, sizeof(err));
	return 0;
}
