// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Runs fn on a writer over a captured stream; returns what it wrote. */
static char *written(void (*fn)(struct json_writer *w))
{
	struct json_writer w;
	struct capture c;

	cap_open(&c);
	json_init(&w, c.f);
	fn(&w);
	return cap_close(&c);
}

static void assert_written(void (*fn)(struct json_writer *w), const char *want)
{
	char *out = written(fn);

	assert_string_equal(out, want);
	free(out);
}

static void empty_obj(struct json_writer *w)
{
	json_obj_begin(w, NULL);
	json_obj_end(w);
}

static void test_obj_empty(void **state)
{
	(void)state;
	/* A top-level value ends its line. */
	assert_written(empty_obj, "{}\n");
}

static void all_kinds(struct json_writer *w)
{
	json_obj_begin(w, NULL);
	json_str(w, "a", "x");
	json_u64(w, "b", 1);
	json_i64(w, "c", -2);
	json_double(w, "d", 1.5, 3);
	json_bool(w, "e", true);
	json_null(w, "f");
	json_obj_end(w);
}

static void test_obj_all_kinds(void **state)
{
	(void)state;
	assert_written(all_kinds, "{\"a\":\"x\",\"b\":1,\"c\":-2,\"d\":1.500,"
				  "\"e\":true,\"f\":null}\n");
}

static void extremes(struct json_writer *w)
{
	json_obj_begin(w, NULL);
	json_u64(w, "max", UINT64_MAX);
	json_i64(w, "min", INT64_MIN);
	json_bool(w, "no", false);
	json_double(w, "ms", 0.0004, 3);
	json_double(w, "rate", 2.25, 1);
	json_double(w, "big", 1e15, 0);
	json_obj_end(w);
}

static void test_obj_extremes(void **state)
{
	(void)state;
	assert_written(extremes, "{\"max\":18446744073709551615,"
				"\"min\":-9223372036854775808,"
				"\"no\":false,\"ms\":0.000,\"rate\":2.2,"
				"\"big\":1000000000000000}\n");
}

static void not_finite(struct json_writer *w)
{
	json_obj_begin(w, NULL);
	json_double(w, "nan", NAN, 1);
	json_double(w, "inf", INFINITY, 1);
	json_obj_end(w);
}

static void test_double_not_finite_is_null(void **state)
{
	(void)state;
	/* JSON has no NaN or infinity: a parser would reject "nan". */
	assert_written(not_finite, "{\"nan\":null,\"inf\":null}\n");
}

static void escaped(struct json_writer *w)
{
	json_obj_begin(w, NULL);
	json_str(w, "k\"1", "v\n");
	json_obj_end(w);
}

static void test_obj_escapes_keys_and_values(void **state)
{
	(void)state;
	assert_written(escaped, "{\"k\\\"1\":\"v\\n\"}\n");
}

static void two_objects(struct json_writer *w)
{
	json_obj_begin(w, NULL);
	json_u64(w, "n", 1);
	json_obj_end(w);
	json_obj_begin(w, NULL);
	json_u64(w, "n", 2);
	json_obj_end(w);
}

static void test_obj_reuse(void **state)
{
	(void)state;
	/* A second object on the same writer must not start with a comma. */
	assert_written(two_objects, "{\"n\":1}\n{\"n\":2}\n");
}

static void nested(struct json_writer *w)
{
	json_obj_begin(w, NULL);
	json_str(w, "time", "t");
	json_obj_begin(w, "states");
	json_u64(w, "LISTEN", 2);
	json_u64(w, "CLOSE_WAIT", 1);
	json_obj_end(w);
	json_arr_begin(w, "rows");
	for (int i = 0; i < 2; i++) {
		json_obj_begin(w, NULL);
		json_u64(w, "i", (uint64_t)i);
		json_arr_begin(w, "empty");
		json_arr_end(w);
		json_obj_end(w);
	}
	json_arr_end(w);
	json_arr_begin(w, "nums");
	json_u64(w, NULL, 1);
	json_str(w, NULL, "two");
	json_null(w, NULL);
	json_arr_end(w);
	json_u64(w, "after", 3);
	json_obj_end(w);
}

static void test_nesting_and_separators(void **state)
{
	(void)state;
	assert_written(nested,
		       "{\"time\":\"t\",\"states\":{\"LISTEN\":2,\"CLOSE_WAIT\":1},"
		       "\"rows\":[{\"i\":0,\"empty\":[]},{\"i\":1,\"empty\":[]}],"
		       "\"nums\":[1,\"two\",null],\"after\":3}\n");
}

static void empty_containers(struct json_writer *w)
{
	json_obj_begin(w, NULL);
	json_arr_begin(w, "a");
	json_arr_end(w);
	json_obj_begin(w, "o");
	json_obj_end(w);
	json_null(w, "n");
	json_obj_end(w);
}

static void test_empty_containers_then_member(void **state)
{
	(void)state;
	/* An empty container still counts as a member of its parent. */
	assert_written(empty_containers, "{\"a\":[],\"o\":{},\"n\":null}\n");
}

static void deep(struct json_writer *w)
{
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		json_arr_begin(w, NULL);
	json_u64(w, NULL, 1);
	json_u64(w, NULL, 2);
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		json_arr_end(w);
	json_u64(w, NULL, 3);
}

static void test_deepest_nesting_and_top_level_scalar(void **state)
{
	(void)state;
	assert_written(deep, "[[[[[[[[1,2]]]]]]]]\n3\n");
}

static void top_level_array(struct json_writer *w)
{
	json_arr_begin(w, NULL);
	json_obj_begin(w, NULL);
	json_obj_end(w);
	json_obj_begin(w, NULL);
	json_bool(w, "x", true);
	json_obj_end(w);
	json_arr_end(w);
}

static void test_array_of_objects(void **state)
{
	(void)state;
	assert_written(top_level_array, "[{},{\"x\":true}]\n");
}

/* What "%.*f" prints for v, which json_double must print too. */
static void assert_double_as_printf(double v, int prec)
{
	struct json_writer w;
	struct capture c;
	char want[400], *out;

	snprintf(want, sizeof(want), "%.*f\n", prec, v);
	cap_open(&c);
	json_init(&w, c.f);
	json_double(&w, NULL, v, prec);
	out = cap_close(&c);
	assert_string_equal(out, want);
	free(out);
}

static void test_double_as_printf(void **state)
{
	static const double edges[] = {
		0, -0.0, 0.5, 1.5, 2.5, 0.125, 0.0005, 0.0015, 2.675, 1.005,
		999999999.5, 999999.9995, 1e9, 1e9 - 0.5, 123456.789, -1.5,
		-0.0004, 4503599627370496.0, 1e300, 5e-324, 0.1, 0.7,
	};
	static const double scale[] = { 1e-4, 1e-2, 1, 1e2, 1e4, 1e6, 1e8 };
	double tenp = 1;

	(void)state;
	srand(7);
	for (int p = 0; p <= 7; p++, tenp *= 10) {
		for (size_t i = 0; i < sizeof(edges) / sizeof(*edges); i++)
			assert_double_as_printf(edges[i], p);
		for (int i = 0; i < 20000; i++) {
			double v = (double)rand() / RAND_MAX * scale[i % 7];

			assert_double_as_printf(v, p);
			/* A tie, or as near one as doubles get, at p decimals. */
			v = ((double)(uint64_t)(v * tenp) + 0.5) / tenp;
			assert_double_as_printf(v, p);
		}
	}
}

static void test_hex(void **state)
{
	struct json_writer w;
	struct capture c;
	char *out;

	(void)state;
	cap_open(&c);
	json_init(&w, c.f);
	json_obj_begin(&w, NULL);
	json_hex(&w, "a", 0);
	json_hex(&w, "b", 0xffff888100001000ULL);
	json_hex(&w, "c", UINT64_MAX);
	json_obj_end(&w);
	out = cap_close(&c);
	assert_string_equal(out, "{\"a\":\"0x0\",\"b\":\"0xffff888100001000\","
				 "\"c\":\"0xffffffffffffffff\"}\n");
	free(out);
}

/* A line at a time: the same text, and none of it before the line ends. */
static void test_lines_writer(void **state)
{
	static char big[10000];
	struct json_writer w;
	struct capture c;
	char *out, *want;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	cap_open(&c);
	json_init_lines(&w, c.f);
	json_obj_begin(&w, NULL);
	json_str(&w, "k", "v\n");
	json_arr_begin(&w, "a");
	json_u64(&w, NULL, 1);
	assert_int_equal(fflush(c.f), 0);
	assert_int_equal(c.len, 0);
	/* Longer than the line buffer: written as it comes, still in order. */
	json_str(&w, NULL, big);
	json_arr_end(&w);
	json_obj_end(&w);
	json_u64(&w, NULL, 7);
	out = cap_close(&c);
	want = malloc(sizeof(big) + 64);
	assert_non_null(want);
	snprintf(want, sizeof(big) + 64, "{\"k\":\"v\\n\",\"a\":[1,\"%s\"]}\n7\n",
		 big);
	assert_string_equal(out, want);
	free(want);
	free(out);
}

/* One object with a filler of n bytes, then s, through either writer. */
static char *object_text(bool lines, size_t n, const char *s)
{
	static char filler[5000];
	struct json_writer w;
	struct capture c;

	memset(filler, 'f', sizeof(filler) - 1);
	filler[n] = '\0';
	cap_open(&c);
	if (lines)
		json_init_lines(&w, c.f);
	else
		json_init(&w, c.f);
	json_obj_begin(&w, NULL);
	json_str(&w, "f", filler);
	json_str(&w, s, s);
	json_obj_end(&w);
	filler[n] = 'f';
	return cap_close(&c);
}

/*
 * A plain string goes into the line buffer in one pass, and one that
 * needs an escape or does not fit is taken again from its start: the same
 * text as the stream writer's wherever the line buffer ends.
 */
static void test_lines_writer_at_buffer_end(void **state)
{
	static const char *const strs[] = { "plain", "tab\there", "end\"", "" };
	struct json_writer w;

	(void)state;
	for (size_t n = sizeof(w.line) - 40; n < sizeof(w.line) + 2; n++) {
		for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
			char *a = object_text(true, n, strs[i]);
			char *b = object_text(false, n, strs[i]);

			assert_string_equal(a, b);
			free(a);
			free(b);
		}
	}
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
		cmocka_unit_test(test_double_not_finite_is_null),
		cmocka_unit_test(test_nesting_and_separators),
		cmocka_unit_test(test_empty_containers_then_member),
		cmocka_unit_test(test_deepest_nesting_and_top_level_scalar),
		cmocka_unit_test(test_array_of_objects),
		cmocka_unit_test(test_double_as_printf),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_lines_writer),
		cmocka_unit_test(test_lines_writer_at_buffer_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
