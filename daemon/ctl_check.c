/* arbiterctl check: validate a configuration file with the daemon's own loader. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ctl.h"

int ctl_check(int argc, char **argv)
{
	if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fprintf(argc == 2 ? stdout : stderr,
			"Usage: arbiterctl check CONFIG\n\n"
			"Validates CONFIG and everything it names, prints every error as\n"
			"file:line:col: key: message, and exits 0 when valid, 1 otherwise.\n");
		return argc == 2 ? 0 : 2;
	}
	struct config_errors errs = {0};
	struct config *cfg = NULL;
	int rc = config_load(argv[1], &cfg, &errs);
	if (rc < 0) {
		config_errors_print(&errs, stderr);
		fprintf(stderr, "%s: %zu error(s)\n", argv[1], errs.n);
	} else {
		printf("%s: ok\n", argv[1]);
	}
	config_errors_clear(&errs);
	config_free(cfg);
	return rc < 0 ? 1 : 0;
}
