/* Prints the metrics catalogue (metrics.h): the family names, or docs/operations.md's table. */
#include <stdio.h>
#include <string.h>

#include "metrics.h"

static void print_markdown(void)
{
	printf("| metric | type | labels | meaning |\n| --- | --- | --- | --- |\n");
	for (size_t i = 0; i < metrics_family_count(); i++) {
		const struct metrics_family *f = metrics_family(i);
		printf("| `%s` | %s | %s | %s |\n", f->name, metrics_type_name(f->type),
		       f->labels[0] ? f->labels : "", f->help);
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--names")) {
		for (size_t i = 0; i < metrics_family_count(); i++)
			printf("%s %s\n", metrics_family(i)->name,
			       metrics_type_name(metrics_family(i)->type));
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--markdown")) {
		print_markdown();
		return 0;
	}
	fprintf(stderr,
		"usage: %s --names | --markdown\n"
		"  --names     every metric family: NAME TYPE, one a line\n"
		"  --markdown  the table of docs/operations.md's Monitoring section\n",
		argv[0]);
	return 2;
}
