// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#define _GNU_SOURCE	/* strptime */
#include "modes/replay_opts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/tcpev.h"
#include "lib/numparse.h"
#include "output/format.h"
#include "modes/top_view.h"

enum {
	OPT_FROM = CT_OPT_MODE_FIRST,
	OPT_TO,
	OPT_AT,
	OPT_VIEW,
	OPT_EVENTS,
};

static const struct ct_opt opts[] = {
	CT_FLAG("info", 'i',
		"what the recording holds: host, time range, counts by kind, "
		"losses, where it ends"),
	CT_FLAG("json", 'j', "watch and top: JSON, one object per line"),
	CT_FLAG("lifetime", 'L', "watch: one line per closed connection"),
	CT_SECS("interval", 'd', "SECS",
		"top and states: one table per SECS of recorded time "
		"(finer than the recording's interval shows no more)",
		0.001, 31536000, "1"),
	CT_TEXT("from", OPT_FROM, "TIME",
		"start at TIME: +SECS after the start, HH:MM[:SS], "
		"'YYYY-MM-DD HH:MM[:SS]' or @EPOCH", NULL),
	CT_TEXT("to", OPT_TO, "TIME", "end at TIME (as --from)", NULL),
	CT_TEXT("at", OPT_AT, "TIME", "ls and states: the sockets as of TIME",
		NULL),
	CT_TEXT("view", OPT_VIEW, "VIEW", "top: processes, connections or hosts (a prefix will do)", "processes"),
	CT_FILTER_OPTS,
	CT_FLAG("help", 'h', "show this help"),
	CT_UTC_OPT,
	CT_TEXT("events", OPT_EVENTS, "LIST",
		"watch: what to print, as watch --events: state, retrans, reset, "
		"fail, drop, latency or all (default: all but latency; with "
		"--lifetime: none)", NULL),
	CT_OPT_END,
};

const struct ct_cmd ct_replay_cmd = {
	.name = "replay",
	.synopsis = "replay FILE [watch|top|ls|states] [OPTIONS] [FILTER]",
	.about = "Show a recording made by 'conntrace record' as a live mode would, as\n"
		 "any user: FILE's older ring files (FILE.1, ...) are read first.\n"
		 "'conntrace replay --info FILE' describes the recording.",
	.opts = opts,
	.notes = "Times, shown and given, are this machine's local time (shown with\n"
		 "its UTC offset, as date prints them), or UTC with --utc.",
	.permute = true,
};

static const char *const view_names[] = {
	[CT_REPLAY_WATCH] = "watch", [CT_REPLAY_TOP] = "top",
	[CT_REPLAY_LS] = "ls", [CT_REPLAY_STATES] = "states",
};

static int parse_hms(const char *s, struct tm *tm)
{
	const char *end = strptime(s, "%H:%M:%S", tm);

	if (!end || *end) {
		end = strptime(s, "%H:%M", tm);
		tm->tm_sec = 0;
	}
	return end && !*end ? 0 : -EINVAL;
}

int ct_when_parse(const char *s, struct ct_when *w)
{
	struct tm tm = { 0 };
	const char *sep;
	char *end;
	double v;

	memset(w, 0, sizeof(*w));
	w->set = true;
	if (s[0] == '+') {
		w->relative = true;
		return ct_parse_seconds(s + 1, &w->rel_s);
	}
	if (s[0] == '@') {
		/* Epoch seconds exceed ct_parse_seconds' bound: checked here. */
		if (!s[1] || s[1 + strspn(s + 1, "0123456789.")] != '\0')
			return -EINVAL;
		v = strtod(s + 1, &end);
		/* In ns it must fit 64 bits: up to the year 2554. */
		if (*end || v >= (double)UINT64_MAX / 1e9)
			return -EINVAL;
		w->wall_ns = (uint64_t)(v * 1e9);
		return 0;
	}
	sep = strpbrk(s, " T");
	if (!sep) {
		/* A time of day: placed on the recording's first day later. */
		if (parse_hms(s, &tm))
			return -EINVAL;
		w->time_of_day = true;
		w->tod_s = (uint32_t)(tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
		return 0;
	}
	sep = strptime(s, "%Y-%m-%d", &tm);
	if (!sep || (*sep != ' ' && *sep != 'T') || parse_hms(sep + 1, &tm))
		return -EINVAL;
	w->date_time = true;
	w->tm = tm;
	return 0;
}

/* The instant of a calendar time, in the zone times are shown in. */
static uint64_t placed(struct tm *tm)
{
	time_t t;

	tm->tm_isdst = -1;
	t = ct_time_utc() ? timegm(tm) : mktime(tm);
	return t < 0 ? 0 : (uint64_t)t * 1000000000ULL;
}

uint64_t ct_when_wall(const struct ct_when *w, uint64_t start_wall_ns)
{
	time_t t = (time_t)(start_wall_ns / 1000000000ULL);
	struct tm tm;

	if (w->relative)
		return start_wall_ns + (uint64_t)(w->rel_s * 1e9);
	if (w->date_time) {
		tm = w->tm;
		return placed(&tm);
	}
	if (!w->time_of_day ||
	    !(ct_time_utc() ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)))
		return w->wall_ns;
	tm.tm_hour = (int)(w->tod_s / 3600);
	tm.tm_min = (int)(w->tod_s / 60 % 60);
	tm.tm_sec = (int)(w->tod_s % 60);
	return placed(&tm);
}

static int when_opt(const char *name, const char *arg, struct ct_when *w,
		    char *err, size_t len)
{
	if (!ct_when_parse(arg, w))
		return CT_PARSE_OK;
	snprintf(err, len,
		 "invalid --%s '%s' (+SECS, HH:MM[:SS], 'YYYY-MM-DD HH:MM[:SS]' or @EPOCH)",
		 name, arg);
	return CT_PARSE_ERROR;
}

static int apply(void *ctx, const struct ct_opt *opt,
		 const struct ct_optval *v, char *err, size_t len)
{
	struct ct_replay_opts *o = ctx;
	const struct ct_out_fields out = {
		.json = &o->json, .lifetime = &o->lifetime,
		.interval_s = &o->interval_s,
	};

	if (ct_out_opt(&out, opt->key, v))
		return CT_PARSE_OK;
	switch (opt->key) {
	case 'i':
		o->view = CT_REPLAY_INFO;
		break;
	case OPT_FROM:
		return when_opt("from", v->text, &o->from, err, len);
	case OPT_TO:
		return when_opt("to", v->text, &o->to, err, len);
	case OPT_AT:
		return when_opt("at", v->text, &o->at, err, len);
	case OPT_VIEW:
		o->top_view = ct_view_parse(v->text);
		if (o->top_view < 0) {
			snprintf(err, len, "unknown --view '%s' (processes, connections or hosts)",
				 v->text);
			return CT_PARSE_ERROR;
		}
		break;
	case OPT_EVENTS:
		o->events = v->text;
		break;
	}
	return CT_PARSE_OK;
}

/* FILE, then a view name, may come anywhere among the options. */
static int take_words(int *argc, char **argv, struct ct_replay_opts *o)
{
	int out = 1, words = 0;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];
		bool taken = false;

		if (a[0] != '-' && words == 0) {
			o->path = a;
			taken = true;
		} else if (a[0] != '-' && words == 1) {
			for (size_t k = 0; k < sizeof(view_names) / sizeof(*view_names); k++)
				if (!strcmp(a, view_names[k])) {
					o->view = (enum ct_replay_view)k;
					taken = true;
				}
		}
		if (a[0] != '-' && (words < 2))
			words++;
		/* An option's argument is not a word. */
		if (!taken && a[0] == '-' && i + 1 < *argc) {
			const struct ct_opt *opt = NULL;

			if (a[1] == '-' && a[2])
				for (const struct ct_opt *p = opts; p->name; p++)
					if (!strcmp(a + 2, p->name))
						opt = p;
			if (a[1] && a[1] != '-' && !a[2])
				opt = ct_opts_find(&ct_replay_cmd, a[1]);
			if (opt && opt->arg != CT_ARG_NONE) {
				argv[out++] = argv[i++];
				argv[out++] = argv[i];
				continue;
			}
		}
		if (!taken)
			argv[out++] = argv[i];
	}
	*argc = out;
	return 0;
}

enum ct_parse_result ct_replay_parse(int argc, char **argv,
				     struct ct_replay_opts *o, char *err,
				     size_t errlen)
{
	enum ct_parse_result rc;

	memset(o, 0, sizeof(*o));
	o->interval_s = 1;
	take_words(&argc, argv, o);
	rc = ct_opts_parse_filtered(&ct_replay_cmd, argc, argv, &o->filter,
				    apply, o, err, errlen);
	if (rc != CT_PARSE_OK)
		return rc;
	if (!o->path) {
		snprintf(err, errlen, "replay needs a FILE made by 'conntrace record'");
		return CT_PARSE_ERROR;
	}
	if (o->at.set && o->view != CT_REPLAY_LS && o->view != CT_REPLAY_STATES) {
		snprintf(err, errlen, "--at is for ls and states");
		return CT_PARSE_ERROR;
	}
	if (ct_tev_select(o->events, o->lifetime, &o->tev_mask, &o->states,
			  err, errlen))
		return CT_PARSE_ERROR;
	return CT_PARSE_OK;
}
