/* libFuzzer target: the config loader on arbitrary bytes (config_load_text, the same path as
 * config_load without the file read), then what the daemon reads of a loaded config. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "fuzz_util.h"

static char *cfg_path;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *dir = fuzz_setup();
	/* Relative paths in the config ({file: ...} values) resolve here; one file exists. */
	cfg_path = fuzz_path(dir, "arbiter.yaml");
	char *secret = fuzz_path(dir, "secret");
	fuzz_write_file(secret, "s3cret\n", 7);
	free(secret);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag_list errs = {0};
	struct config *cfg = NULL;
	int rc = config_load_text(cfg_path, NULL, (const char *)data, size, &cfg, &errs);
	if (rc == 0) {
		if (cfg->redis.address && cfg->redis.address[0] != '/') {
			char host[CONFIG_HOST_MAX];
			int port = 0;
			config_redis_host_port(cfg->redis.address, host, &port);
		}
		for (size_t i = 0; i < cfg->review.n_queues; i++) {
			const struct config_queue *q = &cfg->review.queues[i];
			if (config_queue_find(cfg, q->name) != q)
				abort(); /* queue names are distinct */
			if (q->serves && !config_queue_find(cfg, q->serves))
				abort(); /* check_queues refuses an unknown served queue */
		}
		config_free(cfg);
	} else if (rc == -EINVAL && errs.n_errors == 0) {
		abort(); /* refused without saying why */
	}
	diag_clear(&errs);
	return 0;
}
