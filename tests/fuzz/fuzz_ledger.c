/* libFuzzer target: the audit ledger as arbiterctl report reads it. The input is a sequence of
 * messages; each is fed to the verifier (ledger_verify_feed, decoded into an arena as the
 * report does), counted in a report and a data set, and the report is written in every format
 * at the end. So that the fuzzer reaches past "altered", a message may ask to be rehashed and
 * linked after the previous one (see struct frame), which makes chains with gaps, forks,
 * duplicates and reordering out of valid records.
 *
 * A message: one control byte, a 16-bit little-endian length, that many bytes (fewer at the
 * end of the input). Control bits: 0-1 the partition; 2 rehash (decode it as an AuditRecord,
 * give it a chain if it has none, and set its hash); 3 link (with rehash: prev_hash and
 * sequence after the last rehashed record, the sequence moved by bits 5-7 minus 2);
 * 4 feed the previous message again instead (a duplicate). The report (slow: its tables are
 * large) is made only when bit 7 of the first control byte is set. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "ledger.h"
#include "report.h"
#include "report_csv.h"
#include "report_dataset.h"
#include "report_html.h"
#include "report_santaclara.h"

#define FUZZ_FROM_MS 1767225600000LL /* 2026-01-01, 31 days */
#define FUZZ_TO_MS (FUZZ_FROM_MS + 31LL * 86400000)

static FILE *devnull;

struct last {
	bool has;
	uint64_t sequence;
	uint8_t hash[LEDGER_HASH_LEN];
};

/* The message as a rehashed (and maybe linked) AuditRecord, malloc'd into *OUT; false when
 * it is no AuditRecord or one the ledger cannot hash. */
static bool rehash(const uint8_t *p, size_t len, uint8_t ctl, struct last *last, uint8_t **out,
		   size_t *out_len)
{
	Arbiter__V1__AuditRecord *r = arbiter__v1__audit_record__unpack(NULL, len, p);
	if (!r)
		return false;
	char *chain = r->chain;
	if (!chain || !chain[0])
		r->chain = "audit-0";
	uint8_t zero[LEDGER_HASH_LEN] = {0};
	ProtobufCBinaryData prev = r->prev_hash, hash = r->hash;
	if ((ctl & 8) && last->has) {
		r->prev_hash = (ProtobufCBinaryData){LEDGER_HASH_LEN, last->hash};
		r->sequence = last->sequence + ((ctl >> 5) & 7) - 2;
	}
	r->hash = (ProtobufCBinaryData){LEDGER_HASH_LEN, zero};
	size_t n = arbiter__v1__audit_record__get_packed_size(r);
	uint8_t *b = malloc(n ? n : 1);
	if (!b)
		abort();
	arbiter__v1__audit_record__pack(r, b);
	/* protobuf-c 1.4.1 keeps an unknown field whose tag is 0 when the tag is spelt in more
	 * than one byte (\x82\x00: its check reads only the first) and packs it back as field
	 * 0, which the ledger refuses to hash, as it should: not a record then, fed as it came. */
	uint8_t h[LEDGER_HASH_LEN];
	bool hashed = ledger_hash(b, n, h) == 0;
	if (hashed) {
		/* The canonical encoding leaves the hash out: packed again with it, it is the
		 * same. */
		r->hash = (ProtobufCBinaryData){LEDGER_HASH_LEN, h};
		if (arbiter__v1__audit_record__get_packed_size(r) != n)
			abort();
		arbiter__v1__audit_record__pack(r, b);
		last->has = true;
		last->sequence = r->sequence;
		memcpy(last->hash, h, LEDGER_HASH_LEN);
		*out = b;
		*out_len = n;
	} else {
		free(b);
	}
	r->chain = chain;
	r->prev_hash = prev;
	r->hash = hash;
	arbiter__v1__audit_record__free_unpacked(r, NULL);
	return hashed;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup();
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ledger_verifier *v = ledger_verifier_new();
	struct report *rep = NULL;
	struct report_meta meta = {
		.provider = "fuzz", .service = "fuzz", .generated_ms = FUZZ_TO_MS};
	struct report_dataset *ds = NULL;
	bool report = size && (data[0] & 0x80);
	if (!v || (report && (report_new(FUZZ_FROM_MS, FUZZ_TO_MS, &meta, &rep) != 0 ||
			      report_dataset_new(devnull, "key", &(struct report_dataset_filter){0},
						 &ds) != 0)))
		abort();
	struct report_arena arena;
	report_arena_init(&arena);
	struct last last = {0};
	int64_t offsets[4] = {0};
	uint64_t messages = 0;
	const uint8_t *prev = NULL;
	size_t prev_len = 0;
	uint8_t *owned_prev = NULL;
	for (size_t at = 0; at < size;) {
		uint8_t ctl = data[at++];
		size_t len = 0;
		if (at + 2 <= size) {
			len = (size_t)data[at] | (size_t)data[at + 1] << 8;
			at += 2;
		}
		if (len > size - at)
			len = size - at;
		const uint8_t *msg = data + at;
		at += len;
		uint8_t *owned = NULL;
		if ((ctl & 16) && prev) {
			msg = prev;
			len = prev_len;
		} else if ((ctl & 4) && rehash(msg, len, ctl, &last, &owned, &len)) {
			msg = owned;
		}
		int32_t part = ctl & 3;
		(void)ledger_hash(msg, len, (uint8_t[LEDGER_HASH_LEN]){0});
		report_arena_reset(&arena);
		struct ledger_fed fed;
		if (ledger_verify_feed(v, part, offsets[part]++, msg, len, &arena.base, &fed) != 0)
			abort(); /* only a negative partition or no memory */
		messages++;
		if (!fed.record) {
			if (rep)
				report_add_undecodable(rep);
		} else {
			if (rep && !fed.duplicate) {
				(void)report_add_audit(rep, fed.record, fed.brk != LEDGER_OK);
				if (report_in_period(rep, fed.record))
					(void)report_dataset_add(ds, fed.record,
								 report_appeal_of(rep, fed.record),
								 part, offsets[part] - 1);
			}
			arbiter__v1__audit_record__free_unpacked(fed.record, &arena.base);
		}
		/* The message stays alive as PREV until the next one replaces it. */
		if (owned || !(ctl & 16)) {
			free(owned_prev);
			owned_prev = owned;
			prev = msg;
			prev_len = len;
		}
	}
	const struct ledger_chain_report *reps;
	size_t n = ledger_verify_reports(v, &reps);
	uint64_t counted = 0;
	for (size_t i = 0; i < n; i++) {
		const struct ledger_chain_report *r = &reps[i];
		counted += r->records + r->duplicates;
		if ((r->breaks == 0) != (r->first == LEDGER_OK) || !r->chain ||
		    (r->has_head && !r->records)) {
			fprintf(stderr, "chain %s: records %llu, breaks %llu, first %s, head %d\n",
				r->chain ? r->chain : "(null)", (unsigned long long)r->records,
				(unsigned long long)r->breaks, ledger_break_name(r->first),
				r->has_head);
			abort(); /* the report contradicts itself */
		}
	}
	if (counted > messages)
		abort();
	if (rep && report_set_verification(rep, reps, n) == 0) {
		const struct report_figures *f = report_finish(rep);
		for (int p = 1; p <= REPORT_CSV_PARTS; p++)
			(void)report_csv_part(f, p, devnull);
		(void)report_santaclara_write_json(f, devnull);
		(void)report_santaclara_write_csv(f, devnull);
		(void)report_html_write(f, devnull);
	}
	free(owned_prev);
	report_arena_deinit(&arena);
	report_dataset_free(ds);
	report_free(rep);
	ledger_verifier_free(v);
	return 0;
}
