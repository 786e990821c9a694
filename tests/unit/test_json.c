// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "output/json.h"

/* Output captured through open_memstream; valid until the next capture. */
struct capture {
	FILE *f;
	char *buf;
	size_t len;
};

static void cap_open(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	assert_non_null(c->f);
}

/* Closes the stream and returns what was written; the caller frees it. */
static char *cap_close(struct capture *c)
{
	assert_int_equal(fclose(c->f), 0);
	return c->buf;
}

static void assert_str_json(const char *in, const char *want)
{
	struct capture c;
	char *out;

	cap_open(&c);
	json_write_str(c.f, in);
	out = cap_close(&c);
	assert_string_equal(out, want);
	free(out);
}

static void test_str_plain(void **state)
{
	(void)state;
	assert_str_json("hello world", "\"hello world\"");
	assert_str_json("", "\"\"");
}

static void test_str_quote_and_backslash(void **state)
{
	(void)state;
	assert_str_json("say \"hi\"", "\"say \\\"hi\\\"\"");
	assert_str_json("C:\\tmp", "\"C:\\\\tmp\"");
}

static void test_str_named_escapes(void **state)
{
	(void)state;
	assert_str_json("a\nb\rc\td", "\"a\\nb\\rc\\td\"");
}

static void test_str_other_controls(void **state)
{
	(void)state;
	assert_str_json("\x01", "\"\\u0001\"");
	assert_str_json("\b\f", "\"\\u0008\\u000c\"");
	assert_str_json("x\x1fy", "\"x\\u001fy\"");
	assert_str_json("\x1b[0m", "\"\\u001b[0m\"");
}

static void test_str_del(void **state)
{
	(void)state;
	assert_str_json("\x7f", "\"\\u007f\"");
}

static void test_str_utf8_passthrough(void **state)
{
	(void)state;
	/* "café ☕" as raw UTF-8 bytes, which JSON allows unescaped. */
	assert_str_json("caf\xc3\xa9 \xe2\x98\x95", "\"caf\xc3\xa9 \xe2\x98\x95\"");
}

static void test_str_slash_not_escaped(void **state)
{
	(void)state;
	assert_str_json("/usr/bin", "\"/usr/bin\"");
}

static void test_obj_empty(void **state)
{
	struct capture c;
	struct json_obj o;
	char *out;

	(void)state;
	cap_open(&c);
	json_begin(&o, c.f);
	json_end(&o);
	out = cap_close(&c);
	assert_string_equal(out, "{}");
	free(out);
}

static void test_obj_all_kinds(void **state)
{
	struct capture c;
	struct json_obj o;
	char *out;

	(void)state;
	cap_open(&c);
	json_begin(&o, c.f);
	json_str(&o, "a", "x");
	json_u64(&o, "b", 1);
	json_double(&o, "d", 1.5, 3);
	json_bool(&o, "e", true);
	json_null(&o, "f");
	json_end(&o);
	out = cap_close(&c);
	assert_string_equal(out,
			    "{\"a\":\"x\",\"b\":1,\"d\":1.500,\"e\":true,\"f\":null}");
	free(out);
}

static void test_obj_extremes(void **state)
{
	struct capture c;
	struct json_obj o;
	char *out;

	(void)state;
	cap_open(&c);
	json_begin(&o, c.f);
	json_u64(&o, "max", UINT64_MAX);
	json_bool(&o, "no", false);
	json_double(&o, "ms", 0.0004, 3);
	json_end(&o);
	out = cap_close(&c);
	assert_string_equal(out,
			    "{\"max\":18446744073709551615,"
			    "\"no\":false,\"ms\":0.000}");
	free(out);
}

static void test_obj_escapes_keys_and_values(void **state)
{
	struct capture c;
	struct json_obj o;
	char *out;

	(void)state;
	cap_open(&c);
	json_begin(&o, c.f);
	json_str(&o, "k\"1", "v\n");
	json_end(&o);
	out = cap_close(&c);
	assert_string_equal(out, "{\"k\\\"1\":\"v\\n\"}");
	free(out);
}

static void test_obj_reuse(void **state)
{
	struct capture c;
	struct json_obj o;
	char *out;

	(void)state;
	/* A second object on the same struct must not start with a comma. */
	cap_open(&c);
	json_begin(&o, c.f);
	json_u64(&o, "n", 1);
	json_end(&o);
	json_begin(&o, c.f);
	json_u64(&o, "n", 2);
	json_end(&o);
	out = cap_close(&c);
	assert_string_equal(out, "{\"n\":1}{\"n\":2}");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_str_plain),
		cmocka_unit_test(test_str_quote_and_backslash),
		cmocka_unit_test(test_str_named_escapes),
		cmocka_unit_test(test_str_other_controls),
		cmocka_unit_test(test_str_del),
		cmocka_unit_test(test_str_utf8_passthrough),
		cmocka_unit_test(test_str_slash_not_escaped),
		cmocka_unit_test(test_obj_empty),
		cmocka_unit_test(test_obj_all_kinds),
		cmocka_unit_test(test_obj_extremes),
		cmocka_unit_test(test_obj_escapes_keys_and_values),
		cmocka_unit_test(test_obj_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
