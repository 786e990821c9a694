#!/usr/bin/env python3
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
"""Makes the man page and the bash completion from what a built conntrace
says of itself: `conntrace help` for the modes, `conntrace MODE --help` for
each mode's options. --help is made from the option tables
(src/modes/options.c), so neither file can drift from them, and a mode or
option added to a table is in both at the next build.

    gen-docs.py BINARY man TEMPLATE   the man page, on stdout
    gen-docs.py BINARY bash           the bash completion, on stdout
"""
import re
import subprocess
import sys

HELP_COL = 24  # where option help starts (HELP_COL in src/modes/options.c)


def run(binary, *args):
    p = subprocess.run([binary, *args], capture_output=True, text=True,
                       timeout=30)
    if p.returncode != 0:
        sys.exit("gen-docs: '%s' failed: %s" % (" ".join(args), p.stderr))
    return p.stdout


OPT_RE = re.compile(r"^  (?:-(\S), |    )--([A-Za-z0-9][A-Za-z0-9-]*)(?: (\S+))?(?:\s+(.*))?$")


def parse_options(lines):
    """The options of one --help: dicts of short, name, arg, help."""
    opts = []
    for line in lines:
        m = OPT_RE.match(line)
        if m:
            opts.append({"short": m.group(1), "name": m.group(2),
                         "arg": m.group(3), "help": m.group(4) or ""})
        elif opts and line.startswith(" " * HELP_COL) and line.strip():
            opts[-1]["help"] = (opts[-1]["help"] + " " + line.strip()).strip()
    return opts


def parse_mode(binary, name):
    text = run(binary, name, "--help")
    lines = text.splitlines()
    if not lines or not lines[0].startswith("Usage: conntrace "):
        sys.exit("gen-docs: '%s --help' has no usage line" % name)
    synopsis = lines[0][len("Usage: conntrace "):]
    i = 1
    about = []
    while i < len(lines) and lines[i].strip():
        about.append(lines[i])
        i += 1
    rest = lines[i:]
    opts = parse_options(rest)
    # Notes: the paragraphs after the last option line.
    last = max((k for k, l in enumerate(rest)
                if OPT_RE.match(l) or (l.startswith(" " * HELP_COL) and l.strip())),
               default=-1)
    notes = "\n".join(rest[last + 1:]).strip()
    return {"name": name, "synopsis": synopsis, "about": " ".join(about),
            "opts": opts, "notes": notes}


def parse_tool(binary):
    text = run(binary, "help")
    modes, main_opts, in_modes = [], [], False
    for line in text.splitlines():
        if line.startswith("Modes:"):
            in_modes = True
            continue
        if in_modes and not line.strip():
            in_modes = False
            continue
        m = re.match(r"^  ([a-z][a-z0-9-]*)\s{2,}(.*)$", line)
        if in_modes and m:
            modes.append((m.group(1), m.group(2)))
    main_opts = parse_options(text.splitlines())
    version = run(binary, "--version").split()[-1]
    return modes, main_opts, version


# --- the man page -------------------------------------------------------------

def roff(text):
    """Text safe in roff: backslashes, hyphens of options, leading dots."""
    text = text.replace("\\", "\\e")
    text = re.sub(r"(?<![\w-])-", r"\\-", text)
    lines = []
    for line in text.split("\n"):
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def man_option(o):
    head = "\\fB\\-\\-%s\\fR" % o["name"]
    if o["short"]:
        head = "\\fB\\-%s\\fR, %s" % (o["short"], head)
    if o["arg"]:
        head += " \\fI%s\\fR" % roff(o["arg"])
    return ".TP\n%s\n%s\n" % (head, roff(o["help"]))


def man_mode(m, what):
    out = [".SS %s\n" % m["name"], ".B conntrace %s\n" % roff(m["synopsis"]),
           ".PP\n%s\n" % roff(m["about"] or what)]
    out += [man_option(o) for o in m["opts"]]
    if m["notes"]:
        out.append(".PP\n%s\n" % roff(m["notes"]).replace("\n\n", "\n.PP\n"))
    return "".join(out)


def man(binary, template):
    modes, main_opts, version = parse_tool(binary)
    table = "".join(".TP\n.B %s\n%s\n" % (n, roff(w)) for n, w in modes)
    sections = "".join(man_mode(parse_mode(binary, n), w) for n, w in modes)
    with open(template) as f:
        page = f.read()
    return (page.replace("@VERSION@", version)
                .replace("@MODE_LIST@", table.rstrip("\n"))
                .replace("@MAIN_OPTIONS@", "".join(man_option(o) for o in main_opts).rstrip("\n"))
                .replace("@MODES@", sections.rstrip("\n")))


# --- bash completion ------------------------------------------------------------

# What an option's argument may be, by the name --help gives it.
ARG_WORDS = {"PID": "__pids", "FILE": "__files", "NS": "__netns",
             "COMM": "__comms"}


def values_of(o):
    """Fixed words an argument takes, when its help lists them."""
    if o["arg"] in ARG_WORDS:
        return ARG_WORDS[o["arg"]]
    if o["arg"] in ("KEY", "VIEW", "HOOK", "FORMAT", "MODE", "WHAT"):
        head = o["help"].split(":", 1)[-1]
        head = re.split(r"\(|;", head)[0]
        words = re.findall(r"\b[a-z][a-z0-9_-]+\b", head)
        return " ".join(w for w in words
                        if w not in ("or", "and", "by", "per", "count",
                                     "sockets", "most", "frequent", "first",
                                     "the", "of", "a", "key", "sort"))
    return ""


def bash(binary):
    modes, main_opts, _ = parse_tool(binary)
    out = ["# bash completion for conntrace(8); made by tools/gen-docs.py",
           "# from the option tables. Do not edit.", "",
           "_conntrace_modes='%s'" % " ".join(n for n, _ in modes),
           "_conntrace_main_opts='%s'" % " ".join(
               "--" + o["name"] for o in main_opts), "",
           "_conntrace_opts() {", "\tcase $1 in"]
    argcases = []
    for name, _ in modes:
        m = parse_mode(binary, name)
        words = []
        for o in m["opts"]:
            words.append("--" + o["name"])
            if o["short"]:
                words.append("-" + o["short"])
            if o["arg"]:
                argcases.append((name, o))
        out.append("\t%s) echo '%s' ;;" % (name, " ".join(words)))
    out += ["\tesac", "}", "", "# Prints what the argument of option $2 of mode $1 may be.",
            "_conntrace_arg() {", "\tcase \"$1 $2\" in"]
    for name, o in argcases:
        pats = ["\"%s --%s\"" % (name, o["name"])]
        if o["short"]:
            pats.append("\"%s -%s\"" % (name, o["short"]))
        out.append("\t%s) echo '%s' ;;" % ("|".join(pats), values_of(o)))
    out += ["\t*) return 1 ;;", "\tesac", "}", ""]
    out.append(BASH_BODY)
    return "\n".join(out) + "\n"


BASH_BODY = r'''
# Words of the filter language: keywords and ss's state names.
_conntrace_filter_words='state exclude sport dport port src dst and or not
established syn-sent syn-recv fin-wait-1 fin-wait-2 time-wait closed
close-wait last-ack listening closing all connected synchronized bucket big'

_conntrace() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local mode=watch i w vals
	COMPREPLY=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case " $_conntrace_modes " in
		*" $w "*) mode=$w; break ;;
		esac
		[[ $w == -* ]] || break
	done
	if ((COMP_CWORD > 1)) && vals=$(_conntrace_arg "$mode" "$prev"); then
		case $vals in
		__pids) vals=$(cd /proc 2>/dev/null && compgen -G '[0-9]*') ;;
		__comms) vals=$(cat /proc/[0-9]*/comm 2>/dev/null | sort -u) ;;
		__netns) vals="all $(ls /run/netns 2>/dev/null)" ;;
		__files) COMPREPLY=($(compgen -f -- "$cur")); return ;;
		esac
		COMPREPLY=($(compgen -W "$vals" -- "$cur"))
		return
	fi
	if [[ $cur == -* ]]; then
		vals=$(_conntrace_opts "$mode")
		((COMP_CWORD == 1)) && vals="$vals $_conntrace_main_opts"
		COMPREPLY=($(compgen -W "$vals" -- "$cur"))
	elif ((COMP_CWORD == 1)); then
		COMPREPLY=($(compgen -W "$_conntrace_modes $_conntrace_filter_words" -- "$cur"))
	else
		COMPREPLY=($(compgen -W "$_conntrace_filter_words" -- "$cur"))
	fi
}
complete -F _conntrace conntrace
'''


def main():
    if len(sys.argv) == 4 and sys.argv[2] == "man":
        sys.stdout.write(man(sys.argv[1], sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[2] == "bash":
        sys.stdout.write(bash(sys.argv[1]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
