/*
 * cli: the avmm program. main() and the subcommand table, and the commands
 * that compose several modules (run, restore). This folder is the one place
 * that includes every module's header; no module includes it.
 */
#ifndef AVMM_CLI_H
#define AVMM_CLI_H

int cli_run(int argc, char **argv);      /* avmm run */
int cli_restore(int argc, char **argv);  /* avmm restore */

#endif
