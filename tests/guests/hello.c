/* hello - smallest guest: greeting, the command line it got, one result line. */
#include "guest.h"

int main(const char *cmdline)
{
	gprintf("Hello from the avmm test guest (32-bit Multiboot v1)\n");
	gprintf("cmdline: \"%s\"\n", cmdline);
	gprintf("memory: top=0x%x%s\n", mem_top(), mem_top_known() ? "" : " (assumed, no meminfo)");
	gprintf("AVMM-RESULT guest=hello ok=1\n");
	return 0;
}
