# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
# conntrace: build, test and benchmark. See README.md.

# SANITIZE=1 builds with AddressSanitizer and UndefinedBehaviorSanitizer,
# into a directory of its own so that both builds can stay side by side;
# its binary is $(OUTPUT)/conntrace.
ifeq ($(SANITIZE),1)
OUTPUT    ?= .output-san
BIN       := $(OUTPUT)/conntrace
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	     -fno-omit-frame-pointer
else
OUTPUT    ?= .output
BIN       := conntrace
SAN_FLAGS :=
endif
CLANG     ?= clang
BPFTOOL   ?= bpftool
CC        ?= cc
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VMLINUX   := vmlinux/$(ARCH)/vmlinux.h

# CFLAGS and LDFLAGS are the user's (make CFLAGS=...): they come after the
# project's own flags, which a command line must not replace.
CFLAGS    ?= -O2 -g
CT_CFLAGS := -Wall -Wextra -Werror -std=gnu11 -Iinclude -Isrc -I$(OUTPUT) \
	     $(SAN_FLAGS)
LDLIBS    := -lbpf -lelf -lz -lmnl -lncurses -pthread -lmicrohttpd
# -mcpu=v3 for atomic compare-and-swap (Linux 5.12+): one of the kernel
# differences listed in src/engine/kernel.h.
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -Iinclude -Ibpf -Ivmlinux/$(ARCH)

# V=1 shows every command.
ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
# maps.bpf.o goes first: bpftool 7.1's linker mis-relocates extern maps
# when an object that only declares them comes before their definition.
BPF_OBJS  := $(OUTPUT)/maps.bpf.o $(filter-out $(OUTPUT)/maps.bpf.o,\
	     $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.bpf.o,$(BPF_SRCS)))
SKEL      := $(OUTPUT)/conntrace.skel.h
# The layers, top to bottom; a file includes only from its own layer or
# below (tools/check-layers.py, run by make test).
LAYERS    := cli modes engine output lib
APP_SRCS  := $(filter-out src/cli/main.c,$(foreach l,$(LAYERS),$(wildcard src/$(l)/*.c)))
APP_OBJS  := $(patsubst src/%.c,$(OUTPUT)/%.o,$(APP_SRCS))
APP_HDRS  := $(foreach l,$(LAYERS),$(wildcard src/$(l)/*.h))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))

.PHONY: all deps run test unit build-tests integration fuzz bench clean install
.PHONY: docs deb
.PHONY: kmatrix-deps kmatrix test-kernels
# A failed bpftool run must not leave an empty skeleton that looks built.
.DELETE_ON_ERROR:
all: $(BIN)
ifneq ($(SANITIZE),1)
all: docs
endif

deps:
	@tools/install-deps.sh

run: deps all
	./conntrace $(ARGS)

$(OUTPUT) $(OUTPUT)/tests:
	@mkdir -p $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c bpf/*.h include/conntrace.h $(VMLINUX) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/conntrace.bpf.o: $(BPF_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(SKEL): $(OUTPUT)/conntrace.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name conntrace_bpf > $@

$(OUTPUT)/%.o: src/%.c $(APP_HDRS) include/conntrace.h $(SKEL) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CT_CFLAGS) $(CFLAGS) -c $< -o $@

$(OUTPUT)/libconntrace.a: $(APP_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(BIN): $(OUTPUT)/cli/main.o $(OUTPUT)/libconntrace.a
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CT_CFLAGS) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The BPF object is linked above only to build the skeleton; keep it.
.SECONDARY: $(BPF_OBJS) $(OUTPUT)/conntrace.bpf.o

$(OUTPUT)/tests/test_%: tests/unit/test_%.c tests/unit/*.h $(OUTPUT)/libconntrace.a | $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CT_CFLAGS) $(CFLAGS) $(LDFLAGS) $< $(OUTPUT)/libconntrace.a \
		$(LDLIBS) -lcmocka -o $@

build-tests: all $(UNIT_BINS)

unit: $(UNIT_BINS)
	@tests/run-unit.sh $(UNIT_BINS)

integration: conntrace
	@tests/integration/run.sh

# Each libFuzzer target for FUZZ_SECONDS (make test: 5 s each).
FUZZ_SECONDS ?= 20
fuzz:
	@OUTPUT=$(OUTPUT) CLANG=$(CLANG) tests/fuzz/run.sh $(FUZZ_SECONDS)

# Both builds first, so that a build error stops before any test runs.
test: deps kmatrix-deps
	@$(MAKE) --no-print-directory build-tests
	@$(MAKE) --no-print-directory SANITIZE=1 build-tests
	@tests/run-all.sh

# Empty programs on conntrace's byte hooks: the floor make bench compares with.
FLOOR := $(OUTPUT)/bench_floor $(OUTPUT)/bench_floor.bpf.o

$(OUTPUT)/bench_floor.bpf.o: tools/bench_floor.bpf.c $(VMLINUX) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/bench_floor: tools/bench_floor.c | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CT_CFLAGS) $(CFLAGS) $(LDFLAGS) $< -lbpf -o $@

bench: deps all $(FLOOR)
	@OUTPUT=$(OUTPUT) tools/bench.sh

# The man page and the bash completion, made from what the binary's --help
# says, which the option tables make: neither can drift from them.
DOCS := conntrace.8 conntrace.bash-completion
docs: $(DOCS)

conntrace.8: conntrace tools/gen-docs.py doc/conntrace.8.in
	$(call msg,GEN,$@)
	$(Q)tools/gen-docs.py ./conntrace man doc/conntrace.8.in > $@.tmp && mv $@.tmp $@

conntrace.bash-completion: conntrace tools/gen-docs.py
	$(call msg,GEN,$@)
	$(Q)tools/gen-docs.py ./conntrace bash > $@.tmp && mv $@.tmp $@

PREFIX ?= /usr/local
install: all
	install -D -m 0755 conntrace $(DESTDIR)$(PREFIX)/sbin/conntrace
	install -D -m 0644 conntrace.8 $(DESTDIR)$(PREFIX)/share/man/man8/conntrace.8
	install -D -m 0644 conntrace.bash-completion \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/conntrace
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|/usr/local/sbin/|$(PREFIX)/sbin/|' dist/conntrace-export.service \
		> $(DESTDIR)$(PREFIX)/lib/systemd/system/conntrace-export.service

# A Debian package of what make install installs, under /usr.
deb: all
	@OUTPUT=$(OUTPUT) tools/mkdeb.sh

clean:
	rm -rf $(OUTPUT) .output .output-san conntrace $(DOCS)

# The kernel matrix (tests/kmatrix): Debian kernel packages booted under
# QEMU (KVM when there is one), conntrace's tests inside. make test runs
# the short set on Debian 12's 6.1; test-kernels the whole suite on every
# kernel of the matrix.
KMATRIX_PKGS := qemu-system-x86 busybox-static cpio xz-utils

# After deps: two apt-get runs at once would fight over dpkg's lock.
kmatrix-deps: deps
	@tools/install-deps.sh $(KMATRIX_PKGS)

kmatrix: kmatrix-deps all
	@tests/kmatrix/run.sh quick

test-kernels: kmatrix-deps all
	@KMATRIX_KERNELS="$${KMATRIX_KERNELS:-all}" tests/kmatrix/run.sh full

# The soak (tools/soak.py): each long-running mode for a minute at full
# loopback churn with 20,000 idle connections held; not part of make test.
.PHONY: soak
soak: all
	@OUTPUT=$(OUTPUT) python3 tools/soak.py
