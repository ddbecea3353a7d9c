/* arbiterctl check: validate a configuration file with the daemon's own loader. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "policy.h"

int ctl_check(int argc, char **argv)
{
	if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fprintf(argc == 2 ? stdout : stderr,
			"Usage: arbiterctl check CONFIG\n\n"
			"Validates CONFIG and everything it names, prints every error as\n"
			"file:line:col: key: message, and exits 0 when valid, 1 otherwise.\n");
		return argc == 2 ? 0 : 2;
	}
	return policy_check(argv[1], stdout, stderr);
}
