/* Review queue gauges: what each declared queue holds per band, as the daemon last read it from
 * Redis; the set of queues follows the running config. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_impl.h"

struct queue_gauges {
	char *name;
	bool known; /* read at least once */
	struct queues_stats st;
};

/* Written on the loop, read by the HTTP thread, under the lock; bounded by the config's
 * queues. */
static pthread_mutex_t review_lock = PTHREAD_MUTEX_INITIALIZER;
static struct queue_gauges *queues;
static size_t n_queues;

static void review_free_queues(struct queue_gauges *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

void metrics_review_configure(const struct config *cfg)
{
	size_t n = cfg ? cfg->review.n_queues : 0;
	struct queue_gauges *v = n ? calloc(n, sizeof(*v)) : NULL;
	if (n && !v)
		n = 0; /* out of memory: no queue gauges until the next config */
	for (size_t i = 0; i < n; i++) {
		v[i].name = strdup(cfg->review.queues[i].name);
		if (!v[i].name) {
			review_free_queues(v, i);
			v = NULL;
			n = 0;
			break;
		}
	}
	pthread_mutex_lock(&review_lock);
	/* A queue still declared keeps what was last read of it. */
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n_queues; j++)
			if (!strcmp(v[i].name, queues[j].name)) {
				v[i].known = queues[j].known;
				v[i].st = queues[j].st;
			}
	struct queue_gauges *old = queues;
	size_t n_old = n_queues;
	queues = v;
	n_queues = n;
	pthread_mutex_unlock(&review_lock);
	review_free_queues(old, n_old);
}

void metrics_review_update(const char *queue, const struct queues_stats *st)
{
	pthread_mutex_lock(&review_lock);
	for (size_t i = 0; i < n_queues; i++)
		if (!strcmp(queues[i].name, queue)) {
			queues[i].st = *st;
			queues[i].known = true;
		}
	pthread_mutex_unlock(&review_lock);
}

enum review_field { RF_ENTRIES, RF_WAITING, RF_CLAIMED, RF_AGE, RF_OVERDUE };

static enum review_field review_field_of(const char *family)
{
	static const struct {
		const char *suffix;
		enum review_field f;
	} map[] = {{"_entries", RF_ENTRIES},
		   {"_waiting", RF_WAITING},
		   {"_claimed", RF_CLAIMED},
		   {"_oldest_age_seconds", RF_AGE},
		   {"_overdue", RF_OVERDUE}};
	size_t len = strlen(family);
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		size_t n = strlen(map[i].suffix);
		if (len > n && !strcmp(family + len - n, map[i].suffix))
			return map[i].f;
	}
	return RF_ENTRIES;
}

void metrics_review_render(struct metrics_buf *b, const struct metrics_family *f)
{
	enum review_field field = review_field_of(f->name);
	pthread_mutex_lock(&review_lock);
	for (size_t i = 0; i < n_queues; i++) {
		const struct queue_gauges *q = &queues[i];
		if (!q->known)
			continue;
		if (field == RF_OVERDUE) {
			metrics_printf(b, "%s{queue=\"", f->name);
			metrics_label(b, q->name);
			metrics_printf(b, "\"} %lld\n", (long long)q->st.overdue);
			continue;
		}
		for (int band = 0; band < CONFIG_BANDS; band++) {
			const struct queues_band_stats *s = &q->st.bands[band];
			metrics_printf(b, "%s{queue=\"", f->name);
			metrics_label(b, q->name);
			metrics_printf(b, "\",band=\"%s\"} ",
				       config_band_name((enum config_band)band));
			switch (field) {
			case RF_ENTRIES:
				metrics_printf(b, "%lld\n", (long long)s->entries);
				break;
			case RF_WAITING:
				metrics_printf(b, "%lld\n", (long long)s->waiting);
				break;
			case RF_CLAIMED:
				metrics_printf(b, "%lld\n", (long long)s->claimed);
				break;
			default:
				metrics_value(b, s->oldest_age_ms > 0 ?
							 (double)s->oldest_age_ms / 1000.0 :
							 0);
				metrics_printf(b, "\n");
				break;
			}
		}
	}
	pthread_mutex_unlock(&review_lock);
}

void metrics_review_reset(void)
{
	metrics_review_configure(NULL);
}
