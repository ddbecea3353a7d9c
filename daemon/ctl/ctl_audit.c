/* arbiterctl audit verify and export: check the ledger's hash chains, write DSA statements of
 * reasons. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/v1/audit_record.pb-c.h"
#include "ctl.h"
#include "dsa.h"
#include "ledger.h"
#include "strmap.h"

#define CTL_AUDIT_TOPIC "moderation.audit"

static void ctl_audit_usage(FILE *out, const char *name)
{
	fprintf(out,
		"Usage: arbiterctl audit verify [--config CONFIG] [--brokers B] [--topic T]\n"
		"       arbiterctl audit export --dsa [--config CONFIG] [--brokers B] [--topic T]\n"
		"                               [--from DATE] [--to DATE]\n"
		"\n"
		"verify reads every partition of T (default: kafka.topics.audit of CONFIG, else\n" CTL_AUDIT_TOPIC
		") from its start to its current end, committed records\n"
		"only, and checks each hash chain: one line per chain, either\n"
		"'CHAIN: N records, OK' with its head (sequence and hash, to compare with a\n"
		"head published earlier) or the first break (altered, missing, inserted,\n"
		"reordered, undecodable) with its partition and offset; then a summary.\n"
		"Exact duplicates (a record rewritten after a crash) and fenced records (a\n"
		"previous owner's, written after another took its chain over: a lower\n"
		"chain_epoch) are counted, not breaks, and are not in the chain.\n"
		"Exit 0 when every chain is intact, 1 on any break or read error.\n"
		"\n"
		"export --dsa writes the statements of reasons of the records, as the DSA\n"
		"Transparency Database API takes them: JSON lines, each a batch\n"
		"{\"statements\": [...]} of at most %d, for POST /api/v1/statements. Records\n"
		"without a statement (NONE, RESTORE, appeals filed) and exact duplicates are\n"
		"left out; so is a statement the API would refuse, said on stderr (exit 1).\n"
		"\n"
		"  -c, --config CONFIG  the daemon's config: its brokers, kafka.properties\n"
		"                       (security, SASL, TLS; {file: PATH} secrets), client id\n"
		"                       and audit topic, as arbiterd uses them\n"
		"  -b, --brokers B      bootstrap servers (default: kafka.brokers of CONFIG)\n"
		"  -t, --topic T        the audit topic\n"
		"      --dsa            the DSA Transparency Database format (the only one)\n"
		"      --from DATE      only statements applied on or after DATE (YYYY-MM-DD)\n"
		"      --to DATE        only statements applied on or before DATE (YYYY-MM-DD)\n",
		DSA_BATCH_MAX);
}

/* --- verify ------------------------------------------------------------------- */

static int ctl_audit_verify_msg(void *opaque, const rd_kafka_message_t *m)
{
	return ledger_verify_add(opaque, m->partition, m->offset, m->payload, m->len);
}

static int ctl_audit_verify(rd_kafka_conf_t *conf, const char *topic)
{
	struct ledger_verifier *v = ledger_verifier_new();
	if (!v) {
		fprintf(stderr, "arbiterctl audit verify: out of memory\n");
		rd_kafka_conf_destroy(conf);
		return 1;
	}
	int rc = ctl_read_topic(conf, topic, ctl_audit_verify_msg, v);
	if (rc == -ENOMEM)
		fprintf(stderr, "arbiterctl audit verify: out of memory\n");
	const struct ledger_chain_report *reps;
	size_t n = ledger_verify_reports(v, &reps);
	uint64_t records = 0, duplicates = 0, fenced = 0;
	size_t broken = 0;
	for (size_t i = 0; i < n; i++) {
		const struct ledger_chain_report *r = &reps[i];
		records += r->records;
		duplicates += r->duplicates;
		fenced += r->fenced;
		printf("%s: %" PRIu64 " records, ", r->chain, r->records);
		if (r->first == LEDGER_OK) {
			printf("OK");
		} else {
			broken++;
			printf("%s at partition %" PRId32 " offset %" PRId64 ": %s",
			       ledger_break_name(r->first), r->at.partition, r->at.offset,
			       r->detail);
			if (r->breaks > 1)
				printf(" (%" PRIu64 " breaks in all)", r->breaks);
		}
		if (r->duplicates)
			printf("; %" PRIu64 " exact duplicate(s)", r->duplicates);
		if (r->fenced)
			printf("; %" PRIu64 " fenced (a previous owner's, after the takeover)",
			       r->fenced);
		if (r->has_head) {
			printf("; head %" PRIu64 " ", r->head_sequence);
			for (size_t k = 0; k < LEDGER_HASH_LEN; k++)
				printf("%02x", r->head_hash[k]);
		}
		printf("\n");
	}
	printf("%zu chain(s), %" PRIu64 " record(s), %" PRIu64 " exact duplicate(s), %" PRIu64
	       " fenced: %s\n",
	       n, records, duplicates, fenced,
	       rc     ? "could not read the whole topic" :
	       broken ? "BROKEN" :
			"intact");
	if (broken)
		printf("%zu chain(s) broken\n", broken);
	ledger_verifier_free(v);
	return rc || broken ? 1 : 0;
}

/* --- export --------------------------------------------------------------------- */

struct ctl_export {
	const char *from, *to; /* YYYY-MM-DD or NULL */
	json_t *batch;
	struct strmap seen; /* puids written */
	long statements, batches, refused, undecodable;
};

static int ctl_export_flush(struct ctl_export *x)
{
	if (!json_array_size(x->batch))
		return 0;
	json_t *body = json_pack("{s:O}", "statements", x->batch);
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!s)
		return -ENOMEM;
	puts(s);
	free(s);
	x->batches++;
	json_array_clear(x->batch);
	return 0;
}

static int ctl_export_msg(void *opaque, const rd_kafka_message_t *m)
{
	struct ctl_export *x = opaque;
	Arbiter__V1__AuditRecord *r = arbiter__v1__audit_record__unpack(NULL, m->len, m->payload);
	if (!r) {
		fprintf(stderr,
			"arbiterctl audit export: partition %" PRId32 " offset %" PRId64
			": not an AuditRecord; left out\n",
			m->partition, m->offset);
		x->undecodable++;
		return 0;
	}
	int rc = 0;
	const char *date = r->application_date;
	if (!dsa_has_statement(r) || (x->from && strcmp(date, x->from) < 0) ||
	    (x->to && strcmp(date, x->to) > 0))
		goto done;
	/* A record rewritten after a crash has the same puid: the API would
	 * refuse the whole batch for the second one. */
	rc = strmap_put(&x->seen, r->puid, strlen(r->puid), 0, NULL);
	if (rc <= 0)
		goto done;
	rc = 0;
	json_t *st = dsa_statement_json(r);
	char why[256];
	if (!st) {
		rc = -ENOMEM;
	} else if (dsa_validate(st, why, sizeof(why))) {
		fprintf(stderr,
			"arbiterctl audit export: partition %" PRId32 " offset %" PRId64
			" (record %s): the API would refuse its statement: %s; left out\n",
			m->partition, m->offset, r->record_id, why);
		x->refused++;
		json_decref(st);
	} else {
		json_array_append_new(x->batch, st);
		x->statements++;
		if (json_array_size(x->batch) == DSA_BATCH_MAX)
			rc = ctl_export_flush(x);
	}
done:
	arbiter__v1__audit_record__free_unpacked(r, NULL);
	return rc;
}

static int ctl_audit_export(rd_kafka_conf_t *conf, const char *topic, const char *from,
			    const char *to)
{
	struct ctl_export x = {.from = from, .to = to, .batch = json_array()};
	int rc = -ENOMEM;
	if (x.batch)
		rc = ctl_read_topic(conf, topic, ctl_export_msg, &x);
	else
		rd_kafka_conf_destroy(conf);
	if (!rc)
		rc = ctl_export_flush(&x);
	if (rc == -ENOMEM)
		fprintf(stderr, "arbiterctl audit export: out of memory\n");
	fflush(stdout);
	fprintf(stderr,
		"arbiterctl audit export: %ld statement(s) in %ld batch(es); %ld refused, %ld "
		"undecodable record(s)\n",
		x.statements, x.batches, x.refused, x.undecodable);
	json_decref(x.batch);
	strmap_free(&x.seen);
	return rc || x.refused || x.undecodable ? 1 : 0;
}

int ctl_audit(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		ctl_audit_usage(stdout, NULL);
		return 0;
	}
	if (argc < 2 || (strcmp(argv[1], "verify") && strcmp(argv[1], "export"))) {
		static const char *const subs[] = {"verify", "export", NULL};
		if (argc >= 2)
			ctl_unknown("arbiterctl audit", "subcommand", argv[1], subs);
		ctl_audit_usage(stderr, NULL);
		return 2;
	}
	bool verify = !strcmp(argv[1], "verify");
	const char *brokers = NULL, *config = NULL, *topic = NULL, *from = NULL, *to = NULL;
	bool dsa = false;
	const struct ctl_opt opts[] = {
		CTL_CONFIG(&config, CTL_OPTIONAL),
		CTL_BROKERS(&brokers, CTL_OPTIONAL),
		CTL_TOPIC(&topic, CTL_OPTIONAL),
		CTL_FLAG("dsa", 0, &dsa),
		CTL_VALUE("from", 0, &from, CTL_OPTIONAL),
		CTL_VALUE("to", 0, &to, CTL_OPTIONAL),
		{0},
	};
	int first;
	int rc = ctl_options(argc - 1, argv + 1, opts, ctl_audit_usage, &first);
	if (rc != CTL_RUN)
		return rc;
	const char *bad = first < argc - 1              ? "unexpected argument" :
			  !brokers && !config           ? "--brokers or --config is required" :
			  verify && (dsa || from || to) ? "--dsa, --from and --to are for export" :
			  !verify && !dsa               ? "export needs a format: --dsa" :
			  (from && !dsa_is_date(from)) || (to && !dsa_is_date(to)) ?
					    "--from and --to take a date YYYY-MM-DD" :
			  from && to && strcmp(from, to) > 0 ? "--from is after --to" :
							       NULL;
	if (bad) {
		fprintf(stderr, "arbiterctl audit %s: %s\n\n", argv[1], bad);
		ctl_audit_usage(stderr, NULL);
		return 2;
	}
	char cmd[16];
	snprintf(cmd, sizeof(cmd), "audit %s", argv[1]);
	struct config *cfg = config ? ctl_config_load(cmd, config) : NULL;
	if (config && !cfg)
		return 1;
	if (!topic)
		topic = cfg ? cfg->kafka.topics.audit.name : CTL_AUDIT_TOPIC;
	rd_kafka_conf_t *conf = ctl_kafka_conf_for(cmd, brokers, cfg);
	rc = !conf  ? 1 :
	     verify ? ctl_audit_verify(conf, topic) :
		      ctl_audit_export(conf, topic, from, to);
	config_free(cfg);
	return rc;
}
