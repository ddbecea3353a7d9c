/* arbiterctl check: validate a configuration file with the daemon's own loader. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "policy.h"

int ctl_check(int argc, char **argv)
{
	const char *base_dir = NULL, *path = NULL;
	bool help = false, bad = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			help = true;
		else if (!strcmp(argv[i], "--base-dir") && i + 1 < argc)
			base_dir = argv[++i];
		else if (!strcmp(argv[i], "--config") && i + 1 < argc && !path)
			path = argv[++i];
		else if (argv[i][0] != '-' && !path)
			path = argv[i];
		else
			bad = true;
	}
	if (help || bad || !path) {
		fprintf(help ? stdout : stderr,
			"Usage: arbiterctl check [--base-dir DIR] [--config] CONFIG\n\n"
			"Validates CONFIG and everything it names with arbiterd's own loader, prints\n"
			"every error as file:line:col: key: message, and exits 0 when valid, 1\n"
			"otherwise. --base-dir DIR resolves the config's relative paths against DIR\n"
			"(for a config read from /dev/stdin).\n");
		return help ? 0 : 2;
	}
	return policy_check(path, base_dir, stdout, stderr);
}
