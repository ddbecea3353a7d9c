/* process_* as Prometheus client libraries export them, from getrusage, getrlimit and /proc/self
 * (the systemd unit's ProcSubset=pid hides the rest of /proc: the start time is the clock read at
 * start, not /proc/stat's boot time). */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "metrics_impl.h"

static double process_cpu_seconds(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Virtual and resident size in bytes, from /proc/self/statm (in pages). */
static int process_memory(double *virt, double *rss)
{
	FILE *f = fopen("/proc/self/statm", "re");
	if (!f)
		return -1;
	unsigned long long size = 0, resident = 0;
	int n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	if (n != 2)
		return -1;
	long page = sysconf(_SC_PAGESIZE);
	*virt = (double)size * (double)page;
	*rss = (double)resident * (double)page;
	return 0;
}

static double process_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	double n = 0;
	const struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

static double process_max_fds(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return -1;
	return (double)rl.rlim_cur;
}

void metrics_process_render(struct metrics_buf *b, const struct metrics_family *f)
{
	double v = -1, virt = -1, rss = -1;
	if (!strcmp(f->name, "process_cpu_seconds_total")) {
		v = process_cpu_seconds();
	} else if (!strcmp(f->name, "process_resident_memory_bytes")) {
		if (process_memory(&virt, &rss) == 0)
			v = rss;
	} else if (!strcmp(f->name, "process_virtual_memory_bytes")) {
		if (process_memory(&virt, &rss) == 0)
			v = virt;
	} else if (!strcmp(f->name, "process_open_fds")) {
		v = process_open_fds();
	} else if (!strcmp(f->name, "process_max_fds")) {
		v = process_max_fds();
	} else if (!strcmp(f->name, "process_start_time_seconds")) {
		v = metrics.start_time > 0 ? metrics.start_time : -1;
	}
	/* What cannot be read is left out rather than made up. */
	if (v < 0)
		return;
	metrics_printf(b, "%s ", f->name);
	metrics_value(b, v);
	metrics_printf(b, "\n");
}
