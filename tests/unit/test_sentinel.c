/* Unit tests for sentinel.c's readers: what a sentinel and a server say about the master. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "sentinel.h"
#include "unit.h"

/* A reply of TYPE with string S (NULL: none). */
static redisReply str_reply(int type, const char *s)
{
	return (redisReply){.type = type, .str = (char *)s, .len = s ? strlen(s) : 0};
}

START_TEST(master_address_from_a_sentinel)
{
	char addr[SENTINEL_ADDR_MAX], why[128];
	redisReply host = str_reply(REDIS_REPLY_STRING, "10.1.2.3"),
		   port = str_reply(REDIS_REPLY_STRING, "6380");
	redisReply *el[2] = {&host, &port};
	redisReply r = {.type = REDIS_REPLY_ARRAY, .elements = 2, .element = el};
	ck_assert_int_eq(sentinel_master_reply(&r, addr, why, sizeof(why)), 0);
	ck_assert_str_eq(addr, "10.1.2.3:6380");
	/* An IPv6 host is bracketed as redis.address spells it. */
	host = str_reply(REDIS_REPLY_STRING, "fd00::7");
	ck_assert_int_eq(sentinel_master_reply(&r, addr, why, sizeof(why)), 0);
	ck_assert_str_eq(addr, "[fd00::7]:6380");

	/* A name the sentinel does not monitor. */
	redisReply nil = {.type = REDIS_REPLY_NIL};
	ck_assert_int_eq(sentinel_master_reply(&nil, addr, why, sizeof(why)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(why, "no master of that name"));
	redisReply err = str_reply(REDIS_REPLY_ERROR, "NOAUTH Authentication required.");
	ck_assert_int_eq(sentinel_master_reply(&err, addr, why, sizeof(why)), -EPROTO);
	ck_assert_str_eq(why, "NOAUTH Authentication required.");
	ck_assert_int_eq(sentinel_master_reply(NULL, addr, why, sizeof(why)), -EPROTO);

	/* Hostile or broken answers: never an address. */
	static const char *const bad_ports[] = {"0", "65536", "63a", "", "-1", "999999"};
	host = str_reply(REDIS_REPLY_STRING, "10.1.2.3");
	for (size_t i = 0; i < sizeof(bad_ports) / sizeof(bad_ports[0]); i++) {
		port = str_reply(REDIS_REPLY_STRING, bad_ports[i]);
		ck_assert_int_eq(sentinel_master_reply(&r, addr, why, sizeof(why)), -EPROTO);
	}
	port = str_reply(REDIS_REPLY_STRING, "6380");
	static const char *const bad_hosts[] = {"", "a b", "/tmp/sock", "[::1]", "a\nb"};
	for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++) {
		host = str_reply(REDIS_REPLY_STRING, bad_hosts[i]);
		ck_assert_int_eq(sentinel_master_reply(&r, addr, why, sizeof(why)), -EPROTO);
	}
	char longhost[CONFIG_HOST_MAX + 10];
	memset(longhost, 'h', sizeof(longhost) - 1);
	longhost[sizeof(longhost) - 1] = '\0';
	host = str_reply(REDIS_REPLY_STRING, longhost);
	ck_assert_int_eq(sentinel_master_reply(&r, addr, why, sizeof(why)), -EPROTO);
	host = str_reply(REDIS_REPLY_INTEGER, NULL);
	ck_assert_int_eq(sentinel_master_reply(&r, addr, why, sizeof(why)), -EPROTO);
	r.elements = 1;
	ck_assert_int_eq(sentinel_master_reply(&r, addr, why, sizeof(why)), -EPROTO);
}
END_TEST

START_TEST(role_says_master_or_not)
{
	char role[40];
	redisReply name = str_reply(REDIS_REPLY_STRING, "master");
	redisReply *el[1] = {&name};
	redisReply r = {.type = REDIS_REPLY_ARRAY, .elements = 1, .element = el};
	ck_assert_int_eq(sentinel_role_reply(&r, role, sizeof(role)), 1);
	name = str_reply(REDIS_REPLY_STRING, "slave");
	ck_assert_int_eq(sentinel_role_reply(&r, role, sizeof(role)), 0);
	ck_assert_str_eq(role, "slave");
	name = str_reply(REDIS_REPLY_STRING, "masterful");
	ck_assert_int_eq(sentinel_role_reply(&r, role, sizeof(role)), 0);
	r.elements = 0;
	ck_assert_int_eq(sentinel_role_reply(&r, role, sizeof(role)), -EPROTO);
	redisReply err = str_reply(REDIS_REPLY_ERROR, "ERR unknown command");
	ck_assert_int_eq(sentinel_role_reply(&err, role, sizeof(role)), -EPROTO);
	ck_assert_int_eq(sentinel_role_reply(NULL, role, sizeof(role)), -EPROTO);
}
END_TEST

/* A pubsub message on CHANNEL with PAYLOAD, read for master NAME. */
static int switch_reply(const char *kind, const char *channel, const char *payload,
			const char *name, char addr[SENTINEL_ADDR_MAX])
{
	redisReply k = str_reply(REDIS_REPLY_STRING, kind),
		   c = str_reply(REDIS_REPLY_STRING, channel),
		   p = str_reply(REDIS_REPLY_STRING, payload);
	redisReply *el[3] = {&k, &c, &p};
	redisReply r = {.type = REDIS_REPLY_ARRAY, .elements = 3, .element = el};
	return sentinel_switch_reply(&r, name, addr);
}

START_TEST(switch_master_names_the_new_address)
{
	char addr[SENTINEL_ADDR_MAX];
	ck_assert_int_eq(switch_reply("message", "+switch-master",
				      "main 127.0.0.1 6379 127.0.0.1 6380", "main", addr),
			 1);
	ck_assert_str_eq(addr, "127.0.0.1:6380");
	/* Another master's, another channel, the subscription's own confirmation, junk. */
	ck_assert_int_eq(switch_reply("message", "+switch-master",
				      "other 127.0.0.1 6379 127.0.0.1 6380", "main", addr),
			 0);
	ck_assert_int_eq(switch_reply("message", "+switch-master",
				      "mainly 127.0.0.1 6379 127.0.0.1 6380", "main", addr),
			 0);
	ck_assert_int_eq(
		switch_reply("message", "+sdown", "master main 127.0.0.1 6379", "main", addr), 0);
	ck_assert_int_eq(switch_reply("subscribe", "+switch-master", "1", "main", addr), 0);
	ck_assert_int_eq(switch_reply("message", "+switch-master", "main 1 2 3", "main", addr), 0);
	ck_assert_int_eq(switch_reply("message", "+switch-master",
				      "main 127.0.0.1 6379 127.0.0.1 6380 extra", "main", addr),
			 0);
	ck_assert_int_eq(switch_reply("message", "+switch-master",
				      "main 127.0.0.1 6379 127.0.0.1 0", "main", addr),
			 0);
	redisReply subscribed = {.type = REDIS_REPLY_ARRAY};
	ck_assert_int_eq(sentinel_switch_reply(&subscribed, "main", addr), 0);
	ck_assert_int_eq(sentinel_switch_reply(NULL, "main", addr), 0);
}
END_TEST

static Suite *sentinel_suite(void)
{
	Suite *s = suite_create("sentinel");
	TCase *tc = tcase_create("replies");
	tcase_add_test(tc, master_address_from_a_sentinel);
	tcase_add_test(tc, role_says_master_or_not);
	tcase_add_test(tc, switch_master_names_the_new_address);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(sentinel_suite());
}
