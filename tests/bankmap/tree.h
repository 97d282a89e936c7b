/* Fake NUMA node trees and topologies for the bankmap tests. */
#ifndef AVMM_TESTS_BANKMAP_TREE_H
#define AVMM_TESTS_BANKMAP_TREE_H

#include <stdint.h>

#include "bankmap/bankmap.h"

/* <root>/sys/devices/system/node/{online,nodeN/meminfo,nodeN/distance}:
 * nr nodes, node i with total_mib[i] / free_mib[i], distance 10 local and
 * 21 (or 31 across halves of a 4-node tree) remote. Returns a mkdtemp root. */
char *tree_make(int nr, const uint64_t *total_mib, const uint64_t *free_mib);
void tree_cleanup(char *root);
/* bankmap_topo of a tree plus an hwloc synthetic/XML topology; asserts. */
void tree_topo(const char *root, const char *hwloc_src, struct bankmap_topo *t);

#endif
