/* Hash banks in rule files: the banks: section loaded with the ruleset, `media in bank NAME`
 * conditions checked against it, and an event's media hashes looked up. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rules_impl.h"

/* PDQ hashes of 256 bits differ in about 128 bits at random; past 64 a match says little. */
#define RULES_BANK_MAX_DISTANCE 64

/* PATH as the rule file RULE_FILE names it: relative paths start from its directory. */
static char *rules_bank_path(const char *rule_file, const char *path)
{
	const char *slash = path[0] == '/' ? NULL : strrchr(rule_file, '/');
	size_t dl = slash ? (size_t)(slash - rule_file) + 1 : 0;
	char *out = malloc(dl + strlen(path) + 1);
	if (out) {
		memcpy(out, rule_file, dl);
		strcpy(out + dl, path);
	}
	return out;
}

/* algorithm:, file: and min_quality: of bank V; false when one is wrong (said). */
static bool rules_bank_fields(const struct ydoc_node *v, struct ydoc_pos kp, const char *file,
			      const char *key, struct diag_list *errs, enum hashbank_algo *algo,
			      const char **path, struct ydoc_pos *path_pos, unsigned *min_quality)
{
	char buf[96];
	bool ok = true;
	const struct ydoc_node *n = ydoc_get(v, "algorithm");
	const char *a = n ? ydoc_scalar(n) : NULL;
	if (!a || hashbank_algo_parse(a, algo) < 0) {
		struct ydoc_pos p = ydoc_pos_of(n, kp);
		diag_error(errs, file, p.line, p.col, key,
			   "expected algorithm: pdq, md5 or sha256, got %s",
			   n ? ydoc_describe(n, buf, sizeof(buf)) : "none");
		ok = false;
	}
	n = ydoc_get(v, "file");
	*path = n ? ydoc_scalar(n) : NULL;
	*path_pos = ydoc_pos_of(n, kp);
	if (!*path || !**path) {
		diag_error(errs, file, path_pos->line, path_pos->col, key,
			   "expected file: the path of the bank file, got %s",
			   n ? ydoc_describe(n, buf, sizeof(buf)) : "none");
		ok = false;
	}
	*min_quality = 0;
	if ((n = ydoc_get(v, "min_quality"))) {
		const char *q = ydoc_scalar(n);
		char *end = NULL;
		long l = q ? strtol(q, &end, 10) : -1;
		struct ydoc_pos p = ydoc_pos_of(n, kp);
		if (!q || !*q || *end || l < 0 || l > 100) {
			diag_error(errs, file, p.line, p.col, key,
				   "expected min_quality: a PDQ quality from 0 to 100, got %s",
				   ydoc_describe(n, buf, sizeof(buf)));
			ok = false;
		} else if (a && *algo != HASHBANK_PDQ) {
			diag_error(errs, file, p.line, p.col, key,
				   "min_quality applies to PDQ banks only (this one is %s)",
				   hashbank_algo_name(*algo));
			ok = false;
		}
		*min_quality = (unsigned)(l < 0 ? 0 : l);
	}
	return ok;
}

int rules_bank_add(struct ruleset *rs, const char *rule_file, const char *name, struct ydoc_pos kp,
		   const struct ydoc_node *v, struct diag_list *errs,
		   void (*digest)(void *arg, const char *path, const char *text, size_t len),
		   void *arg)
{
	char key[300], buf[96];
	snprintf(key, sizeof(key), "banks.%s", name);
	uint32_t prev;
	if (strmap_get(&rs->bank_index, name, strlen(name), &prev)) {
		const struct rules_bank *o = &rs->banks[prev];
		diag_error(errs, rule_file, kp.line, kp.col, key,
			   "bank '%s' is already defined at %s:%d:%d", name, o->file, o->line,
			   o->col);
		return -EINVAL;
	}
	if (!ydoc_is_map(v)) {
		struct ydoc_pos p = ydoc_pos_of(v, kp);
		diag_error(
			errs, rule_file, p.line, p.col, key,
			"expected {algorithm: pdq|md5|sha256, file: PATH, min_quality: N}, got %s",
			ydoc_describe(v, buf, sizeof(buf)));
		return -EINVAL;
	}
	static const char *const keys[] = {"algorithm", "file", "min_quality", "description", NULL};
	size_t bad = ydoc_check_keys(v, keys, "a bank", rule_file, errs);
	enum hashbank_algo algo = HASHBANK_PDQ;
	const char *path;
	struct ydoc_pos pp;
	unsigned min_quality;
	if (!rules_bank_fields(v, kp, rule_file, key, errs, &algo, &path, &pp, &min_quality) || bad)
		return -EINVAL;
	char *resolved = rules_bank_path(rule_file, path);
	char **files = resolved ? realloc(rs->files, (rs->n_files + 1) * sizeof(*files)) : NULL;
	struct rules_bank *banks =
		files ? realloc(rs->banks, (rs->n_banks + 1) * sizeof(*banks)) : NULL;
	if (files)
		rs->files = files;
	if (banks)
		rs->banks = banks;
	if (!banks) {
		free(resolved);
		return -ENOMEM;
	}
	char *text = NULL;
	size_t len = 0;
	/* A device or a pipe would be read up to the bound before being refused. */
	struct stat st;
	int rc = stat(resolved, &st) < 0                                ? -errno :
		 S_ISDIR(st.st_mode)                                    ? -EISDIR :
		 !S_ISREG(st.st_mode)                                   ? -EINVAL :
		 (uint64_t)st.st_size > HASHBANK_DEFAULT_MAX_FILE_BYTES ? -EFBIG :
									  0;
	if (rc == 0)
		rc = ydoc_read_file(resolved, HASHBANK_DEFAULT_MAX_FILE_BYTES, &text, &len);
	if (rc < 0) {
		diag_error(errs, rule_file, pp.line, pp.col, key,
			   "cannot read bank file \"%s\": %s", resolved,
			   rc == -EFBIG  ? "larger than 256 MiB" :
			   rc == -EINVAL ? "not a regular file" :
					   strerror(-rc));
		free(resolved);
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	/* Every bank file is one of the ruleset's: in its version and watched for reloads. */
	digest(arg, resolved, text, len);
	files[rs->n_files++] = resolved;
	struct hashbank *hb = NULL;
	rc = hashbank_load(name, algo, resolved, text, len, NULL, errs, &hb);
	free(text);
	if (rc < 0)
		return rc == -ENOMEM ? rc : -EINVAL;
	struct rules_bank *b = &banks[rs->n_banks];
	*b = (struct rules_bank){.name = strdup(name),
				 .file = rule_file,
				 .line = kp.line,
				 .col = kp.col,
				 .min_quality = min_quality,
				 .bank = hb};
	if (!b->name ||
	    strmap_put(&rs->bank_index, name, strlen(name), (uint32_t)rs->n_banks, NULL) < 0) {
		free(b->name);
		hashbank_free(hb);
		return -ENOMEM;
	}
	rs->n_banks++;
	return 0;
}

int rules_bank_check(const struct ruleset *rs, struct rexpr *e, char *err, size_t errlen,
		     size_t *err_off)
{
	uint32_t bi;
	if (!strmap_get(&rs->bank_index, e->list, strlen(e->list), &bi)) {
		const char *best = NULL;
		int best_d = 3;
		for (size_t i = 0; i < rs->n_banks; i++) {
			int d = diag_edit_distance(e->list, strlen(e->list), rs->banks[i].name,
						   strlen(rs->banks[i].name));
			if (d < best_d) {
				best_d = d;
				best = rs->banks[i].name;
			}
		}
		*err_off = e->list_off;
		if (best)
			snprintf(err, errlen, "unknown bank '%s'; did you mean '%s'?", e->list,
				 best);
		else
			snprintf(err, errlen, "unknown bank '%s' (banks are declared under banks:)",
				 e->list);
		return -EINVAL;
	}
	const struct rules_bank *b = &rs->banks[bi];
	enum hashbank_algo algo = hashbank_algo(b->bank);
	if (algo == HASHBANK_PDQ && e->within < 0) {
		*err_off = e->list_off;
		snprintf(err, errlen,
			 "bank '%s' holds PDQ hashes, matched within a Hamming distance: write "
			 "media in bank %s within 31 (0 to %d bits)",
			 e->list, e->list, RULES_BANK_MAX_DISTANCE);
		return -EINVAL;
	}
	if (algo != HASHBANK_PDQ && e->within >= 0) {
		*err_off = e->within_off;
		snprintf(err, errlen,
			 "bank '%s' holds %s hashes, matched exactly: drop 'within %d'", e->list,
			 hashbank_algo_name(algo), e->within);
		return -EINVAL;
	}
	if (e->within > RULES_BANK_MAX_DISTANCE) {
		*err_off = e->within_off;
		snprintf(err, errlen,
			 "a distance of at most %d bits of PDQ's 256, got %d: unrelated images "
			 "differ in about 128",
			 RULES_BANK_MAX_DISTANCE, e->within);
		return -EINVAL;
	}
	e->atom = bi;
	return 0;
}

/* The hash of media M that bank B's algorithm reads, or NULL (quality too low for PDQ). */
static const char *rules_bank_hash(const struct rules_bank *b, enum hashbank_algo algo,
				   const Arbiter__V1__Media *m)
{
	switch (algo) {
	case HASHBANK_PDQ:
		return m->pdq_quality >= b->min_quality ? m->pdq : NULL;
	case HASHBANK_MD5:
		return m->md5;
	case HASHBANK_SHA256:
		return m->sha256;
	}
	return NULL;
}

bool rules_bank_match(const struct rules_bank *b, const Arbiter__V1__ContentEvent *ev, int within,
		      struct hashbank_hit *hit)
{
	enum hashbank_algo algo = hashbank_algo(b->bank);
	size_t want = 2 * hashbank_hash_bytes(algo);
	bool found = false;
	for (size_t i = 0; i < ev->n_media && !(found && hit->distance == 0); i++) {
		const char *h = ev->media[i] ? rules_bank_hash(b, algo, ev->media[i]) : NULL;
		uint8_t q[HASHBANK_MAX_HASH];
		struct hashbank_hit x;
		if (!h || strlen(h) != want || hashbank_parse_hex(algo, h, want, q) < 0)
			continue;
		if (hashbank_match(b->bank, q, within < 0 ? 0 : (unsigned)within, &x) == 1 &&
		    (!found || x.distance < hit->distance)) {
			*hit = x;
			found = true;
		}
	}
	return found;
}

void rules_banks_free(struct ruleset *rs)
{
	for (size_t i = 0; i < rs->n_banks; i++) {
		free(rs->banks[i].name);
		hashbank_free(rs->banks[i].bank);
	}
	free(rs->banks);
	strmap_free(&rs->bank_index);
	rs->banks = NULL;
	rs->n_banks = 0;
}

size_t rules_bank_count(const struct ruleset *rs)
{
	return rs->n_banks;
}

const struct hashbank *rules_bank(const struct ruleset *rs, size_t i, unsigned *min_quality)
{
	if (i >= rs->n_banks)
		return NULL;
	if (min_quality)
		*min_quality = rs->banks[i].min_quality;
	return rs->banks[i].bank;
}
