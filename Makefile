# SPDX-License-Identifier: GPL-2.0-or-later
# pvscsi top-level Makefile.
#
# Sources are found by wildcard so that a new file in a component directory
# needs no Makefile edit.  Three builds share the sources: build/rel (what is
# installed and benchmarked), build/asan (ASan+UBSan, used by check-unit) and
# build/fuzz (clang, libFuzzer coverage + ASan+UBSan, for tests/fuzz).

CC       ?= cc
AR       ?= ar
CSTD     := -std=c11 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-missing-field-initializers
# Each component sees only the headers it may use, so that the build enforces
# the layering: the LUN core includes no transport, the transports only the
# core's public headers (libpvscsi/include) and the layers below them, and
# no program another program's internals.  common/ (the log, the control
# socket and the core's counters as its commands show them, so the core's
# public headers) is for every program.  The tests see everything.  A source file gets the paths of the
# top-level directory it is in.
INC_libpvscsi  := -Ilibpvscsi/include -Ilibpvscsi
INC_protocol   := -Ilibpvscsi/include -Iprotocol
INC_common     := -Ilibpvscsi/include -Icommon
INC_xen        := -Ixen
INC_backend    := -Ilibpvscsi/include -Iprotocol -Icommon -Ixen -Ibackend
# libvirt's XML for xl scsi-attach --xml / scsi-list --xml (xl-plugin/xml.c).
XML_CFLAGS := $(shell pkg-config --cflags libxml-2.0)
XML_LIBS   := $(shell pkg-config --libs libxml-2.0)
INC_xl-plugin  := -Ilibpvscsi/include -Icommon -Ixen -Ixl-plugin $(XML_CFLAGS)
INC_vhost-user := -Ilibpvscsi/include -Iprotocol -Icommon -Ivhost-user
INC_tools      := -Ilibpvscsi/include -Icommon
INC_tests      := -Ilibpvscsi/include -Ilibpvscsi -Iprotocol -Icommon -Ixen -Ibackend -Ixl-plugin \
                  -Ivhost-user -Itests/fakes $(XML_CFLAGS)
# $(call incs,source)
incs = $(INC_$(firstword $(subst /, ,$(1))))
OPT_rel  := -O2 -g
OPT_asan := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
            -fno-sanitize-recover=undefined
# ThreadSanitizer, for the suites that run pvscsid's event-loop threads (check-tsan).
OPT_tsan := -O1 -g -fno-omit-frame-pointer -fsanitize=thread -Wno-tsan
# libFuzzer needs clang (Debian 12: clang-14 and libclang-rt-14-dev), whatever CC is.
FUZZ_CC  ?= clang-14
OPT_fuzz := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
            -fno-sanitize-recover=undefined
CC_rel    = $(CC)
CC_asan   = $(CC)
CC_tsan   = $(CC)
CC_fuzz   = $(FUZZ_CC)
# librbd and librados: rbd: LUNs (libpvscsi/store_rbd.c); libiscsi: iscsi:// LUNs.
LDLIBS   := -luring -lpthread -liscsi -lrbd -lrados
XENLIBS  := -lxenstore -lxengnttab -lxenevtchn -lxentoollog
# The log (common/) writes to the journal and the daemons tell systemd when they serve:
# whatever links libcommon.a links this too.
# sense and status in words (libsgutils2) and JSON (yajl) are common/'s too.
SDLIBS   := -lsystemd -lsgutils2 -lyajl
CUNIT    := -lcunit
# The archives of one link depend on each other both ways (common/ uses the
# core's public functions; the core calls back into nothing but libc, yet
# the transports use both): one group, resolved whatever their order.
LINKGROUP = -Wl,--start-group $^ -Wl,--end-group

# The one version of every program and of libpvscsi: the file VERSION.
VERSION  := $(shell cat VERSION)
SOVER    := 0
CSTD     += -DPVSCSI_VERSION='"$(VERSION)"'

LIB_SRCS     := $(sort $(wildcard libpvscsi/*.c))
PROTO_SRCS   := $(sort $(wildcard protocol/*.c))
COMMON_SRCS  := $(sort $(wildcard common/*.c))
XEN_SRCS     := $(sort $(wildcard xen/*.c))
BACKEND_MAIN := backend/main.c
BACKEND_SRCS := $(sort $(filter-out $(BACKEND_MAIN),$(wildcard backend/*.c)))
XL_MAIN      := xl-plugin/main.c
XL_SRCS      := $(sort $(filter-out $(XL_MAIN),$(wildcard xl-plugin/*.c)))
VHOST_MAIN   := vhost-user/main.c
VHOST_SRCS   := $(sort $(filter-out $(VHOST_MAIN),$(wildcard vhost-user/*.c)))
# Each tools/NAME.c is a program of its own, build/$(variant)/NAME.
TOOL_SRCS    := $(sort $(wildcard tools/*.c))
TOOLS        := $(patsubst tools/%.c,%,$(TOOL_SRCS))
FAKE_SRCS    := $(sort $(wildcard tests/fakes/*.c))
UT_SRCS      := $(sort $(wildcard tests/unit/*_ut.c))
BENCH_SRCS   := $(sort $(wildcard tests/bench/*.c))
# Before check-unit's rule, which needs them (bench_ut.sh).
BENCH_BINS   := $(patsubst tests/bench/%.c,build/rel/bench/%,$(BENCH_SRCS))
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/*_fuzz.c))
# Built by tests/e2e/lib/initramfs.sh for the guest; here only for format-check.
E2E_TOOL_SRCS := $(sort $(wildcard tests/e2e/tools/*.c))

ALL_C := $(LIB_SRCS) $(PROTO_SRCS) $(COMMON_SRCS) $(XEN_SRCS) $(BACKEND_SRCS) $(wildcard $(BACKEND_MAIN)) \
         $(XL_SRCS) $(wildcard $(XL_MAIN)) $(VHOST_SRCS) $(wildcard $(VHOST_MAIN)) \
         $(TOOL_SRCS) $(FAKE_SRCS) $(UT_SRCS) $(BENCH_SRCS) $(E2E_TOOL_SRCS) $(FUZZ_SRCS)
ALL_H := $(shell find libpvscsi protocol common xen backend xl-plugin vhost-user tools tests -name '*.h' 2>/dev/null)

# $(call objs,variant,sources)
objs = $(patsubst %.c,build/$(1)/obj/%.o,$(2))

.PHONY: all lib deps-unit check check-build check-unit check-layers check-e2e check-vhost check-fuzz fuzz demo bench soak \
        format format-check install uninstall deb clean deps
.DELETE_ON_ERROR:

all: lib $(addprefix build/rel/,$(TOOLS)) $(if $(wildcard $(BACKEND_MAIN)),build/rel/pvscsid) \
     $(if $(wildcard $(XL_MAIN)),build/rel/xl-pvscsi) \
     $(if $(wildcard $(VHOST_MAIN)),build/rel/pvscsi-vhost-user)

lib: build/rel/libpvscsi.a build/rel/libpvscsi.so.$(VERSION)

define variant
build/$(1)/obj/%.o: %.c $(ALL_H) Makefile
	@mkdir -p $$(dir $$@)
	$$(CC_$(1)) $$(CSTD) $$(WARN) $$(OPT_$(1)) $$(if $$(filter libpvscsi/%,$$<),-fPIC) $$(call incs,$$<) -c $$< -o $$@

build/$(1)/libpvscsi.a: $(call objs,$(1),$(LIB_SRCS))
	@rm -f $$@
	$$(AR) rcs $$@ $$^

build/$(1)/libproto.a: $(call objs,$(1),$(PROTO_SRCS))
	@rm -f $$@
	$$(AR) rcs $$@ $$^

# What every program may use (the log).
build/$(1)/libcommon.a: $(call objs,$(1),$(COMMON_SRCS))
	@rm -f $$@
	$$(AR) rcs $$@ $$^

# The Xen plumbing pvscsid and the xl front share (xenstore, grant tables, event channels).
build/$(1)/libxen-layer.a: $(call objs,$(1),$(XEN_SRCS))
	@rm -f $$@
	$$(AR) rcs $$@ $$^

build/$(1)/libbackend.a: $(call objs,$(1),$(BACKEND_SRCS))
	@rm -f $$@
	$$(AR) rcs $$@ $$^

build/$(1)/libxlplugin.a: $(call objs,$(1),$(XL_SRCS))
	@rm -f $$@
	$$(AR) rcs $$@ $$^

build/$(1)/libvhost.a: $(call objs,$(1),$(VHOST_SRCS))
	@rm -f $$@
	$$(AR) rcs $$@ $$^

build/$(1)/libfakes.a: $(call objs,$(1),$(FAKE_SRCS))
	@rm -f $$@
	$$(AR) rcs $$@ $$^

$(addprefix build/$(1)/,$(TOOLS)): build/$(1)/%: build/$(1)/obj/tools/%.o build/$(1)/libpvscsi.a \
		build/$(1)/libcommon.a
	$$(CC_$(1)) $$(OPT_$(1)) -o $$@ $$(LINKGROUP) $$(LDLIBS) $$(SDLIBS)

build/$(1)/pvscsid: $(call objs,$(1),$(BACKEND_MAIN)) build/$(1)/libbackend.a build/$(1)/libxen-layer.a \
		build/$(1)/libproto.a build/$(1)/libpvscsi.a build/$(1)/libcommon.a
	$$(CC_$(1)) $$(OPT_$(1)) -o $$@ $$(LINKGROUP) $$(LDLIBS) $$(XENLIBS) $$(SDLIBS)

build/$(1)/xl-pvscsi: $(call objs,$(1),$(XL_MAIN)) build/$(1)/libxlplugin.a build/$(1)/libxen-layer.a \
		build/$(1)/libpvscsi.a build/$(1)/libcommon.a
	$$(CC_$(1)) $$(OPT_$(1)) -o $$@ $$(LINKGROUP) $$(LDLIBS) $$(XENLIBS) -lxlutil -lxenlight $$(XML_LIBS) $$(SDLIBS)

build/$(1)/pvscsi-vhost-user: $(call objs,$(1),$(VHOST_MAIN)) build/$(1)/libvhost.a build/$(1)/libproto.a \
		build/$(1)/libpvscsi.a build/$(1)/libcommon.a
	$$(CC_$(1)) $$(OPT_$(1)) -o $$@ $$(LINKGROUP) $$(LDLIBS) $$(SDLIBS)

# Every unit-test binary links everything; the archives keep unused objects out.
build/$(1)/tests/%_ut: build/$(1)/obj/tests/unit/%_ut.o build/$(1)/libfakes.a build/$(1)/libxlplugin.a \
		build/$(1)/libbackend.a build/$(1)/libxen-layer.a build/$(1)/libvhost.a build/$(1)/libproto.a \
		build/$(1)/libpvscsi.a build/$(1)/libcommon.a
	@mkdir -p $$(dir $$@)
	$$(CC_$(1)) $$(OPT_$(1)) -o $$@ $$(LINKGROUP) $$(LDLIBS) $$(XENLIBS) -lxlutil -lxenlight $$(XML_LIBS) $$(CUNIT) $$(SDLIBS)
endef
$(eval $(call variant,rel))
$(eval $(call variant,asan))
$(eval $(call variant,fuzz))
$(eval $(call variant,tsan))

# The shared library exports pvs_* only: the version script hides pvsi_* internals.
build/rel/libpvscsi.so.$(VERSION): $(call objs,rel,$(LIB_SRCS)) libpvscsi/libpvscsi.map
	$(CC) -shared -Wl,-soname,libpvscsi.so.$(SOVER) -Wl,--version-script=libpvscsi/libpvscsi.map \
		-Wl,--no-undefined -o $@ $(call objs,rel,$(LIB_SRCS)) $(LDLIBS)
	ln -sf libpvscsi.so.$(VERSION) build/rel/libpvscsi.so.$(SOVER)
	ln -sf libpvscsi.so.$(SOVER) build/rel/libpvscsi.so

UT_BINS := $(patsubst tests/unit/%_ut.c,build/asan/tests/%_ut,$(UT_SRCS))
# The suites that run threads, again under ThreadSanitizer (tests/tool/tsan_ut.sh).
TSAN_BINS := build/tsan/tests/daemon_ut build/tsan/tests/worker_ut

deps:
	scripts/install-deps build

# check-unit also starts a real iSCSI target (tgt).
deps-unit:
	scripts/install-deps unit

# Fast developer loop: unit suites under ASan+UBSan, no hypervisor.
TOOL_TESTS := $(sort $(wildcard tests/tool/*_ut.sh tests/tool/pvscsi-cdb.sh))
check-unit: deps-unit check-layers $(UT_BINS) lib $(addprefix build/asan/,$(TOOLS)) \
            $(if $(wildcard $(VHOST_MAIN)),build/asan/pvscsi-vhost-user) \
            $(if $(wildcard $(BACKEND_MAIN)),build/asan/pvscsid) \
            $(if $(wildcard $(XL_MAIN)),build/asan/xl-pvscsi) \
            all $(BENCH_BINS) $(TSAN_BINS)
	tests/run-unit.sh $(UT_BINS) $(TOOL_TESTS)

# No component names another's directory in an #include (the -I paths above
# keep each to its own headers; a path in the #include would go around them).
check-layers:
	@scripts/check-layers
	@scripts/spdx

# The real thing: Xen under QEMU with the Linux frontend (tests/e2e).
check-e2e: all build/rel/bench/pcount
	scripts/install-deps e2e
	tests/e2e/run.sh

# The soak case alone, for as long as asked (SOAK_SECS, default an hour);
# check-e2e runs it with its default of one minute (one event of each kind
# first, whatever the length).
SOAK_SECS ?= 3600
soak: all
	scripts/install-deps e2e
	SOAK_SECS=$(SOAK_SECS) tests/e2e/run.sh soak

# virtio-scsi through pvscsi-vhost-user, and QEMU's own virtio-scsi as the reference.
check-vhost: all
	scripts/install-deps e2e
	scripts/install-deps ceph
	tests/vhost/run.sh

# Every suite runs even when an earlier one fails (tests/check-all.sh).
check: deps
	scripts/install-deps check
	$(MAKE) -j$$(nproc) check-build
	MAKE="$(MAKE)" tests/check-all.sh format-check+check-unit+check-fuzz check-e2e check-vhost

# libFuzzer targets (tests/fuzz, docs/testing.md "Fuzzing"), one per parser of
# outside input, each linked like the unit tests.  check-fuzz: a short smoke
# run of every target from the seeds in tests/fuzz/corpus (FUZZ_SECS each,
# default 10); fuzz: longer runs (FUZZ_SECS each, default 600) that keep
# their corpus in build/fuzz/corpus, each ending early at FUZZ_RUNS inputs
# if set.  FUZZ_TARGETS="ring cdb" picks some.
# A crash fails the run; its reproducer is under build/fuzz/artifacts.
FUZZ_BINS := $(patsubst tests/fuzz/%_fuzz.c,build/fuzz/%_fuzz,$(FUZZ_SRCS))
FUZZ_RUN = $(if $(FUZZ_TARGETS),$(patsubst %,build/fuzz/%_fuzz,$(FUZZ_TARGETS)),$(FUZZ_BINS))
build/fuzz/%_fuzz: build/fuzz/obj/tests/fuzz/%_fuzz.o build/fuzz/libfakes.a build/fuzz/libxlplugin.a \
		build/fuzz/libbackend.a build/fuzz/libxen-layer.a build/fuzz/libvhost.a build/fuzz/libproto.a \
		build/fuzz/libpvscsi.a build/fuzz/libcommon.a
	$(FUZZ_CC) $(OPT_fuzz) -fsanitize=fuzzer -o $@ $(LINKGROUP) $(LDLIBS) $(XENLIBS) -lxlutil -lxenlight $(XML_LIBS) $(SDLIBS)
.SECONDARY: $(call objs,fuzz,$(FUZZ_SRCS))

check-fuzz: deps $(FUZZ_RUN)
	tests/fuzz/run.sh -t $(or $(FUZZ_SECS),10) $(FUZZ_RUN)

# Every binary the suites need, built at once on every CPU first: the suites'
# own makes then find them up to date.  format-check, check-unit and
# check-fuzz run side by side: the unit suites in two lanes (the CUnit
# binaries, the shell suites; tests/run-unit.sh), the fuzzers one at a time,
# and the machine has two CPUs at least.  The QEMU suites run one after the
# other: beside check-vhost, an e2e case took twice its time (conformance
# 356 s against 181 s), which cost more than it saved.
check-build: lib all $(UT_BINS) $(TSAN_BINS) $(addprefix build/asan/,$(TOOLS)) $(FUZZ_RUN) $(BENCH_BINS) \
             $(if $(wildcard $(VHOST_MAIN)),build/asan/pvscsi-vhost-user) \
             $(if $(wildcard $(BACKEND_MAIN)),build/asan/pvscsid) \
             $(if $(wildcard $(XL_MAIN)),build/asan/xl-pvscsi)

fuzz: deps $(FUZZ_RUN)
	tests/fuzz/run.sh -k -t $(or $(FUZZ_SECS),600) $(if $(FUZZ_RUNS),-r $(FUZZ_RUNS)) $(FUZZ_RUN)

demo:
	scripts/install-deps demo
	$(MAKE) all
	tests/e2e/demo.sh

# Benchmarks (tests/bench): release flags, linked like the unit tests (fakes
# included) since the in-process ones drive the real ring through the fakes.
build/rel/bench/%: build/rel/obj/tests/bench/%.o build/rel/libfakes.a build/rel/libbackend.a \
		build/rel/libxen-layer.a build/rel/libproto.a build/rel/libpvscsi.a build/rel/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(OPT_rel) -o $@ $(LINKGROUP) $(LDLIBS) $(XENLIBS) $(SDLIBS)
.SECONDARY: $(call objs,rel,$(BENCH_SRCS))

bench:
	scripts/install-deps bench
	$(MAKE) all $(BENCH_BINS)
	tests/bench/run.sh

FORMAT_FILES = $(filter-out %.map,$(ALL_C) $(ALL_H))
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@out=$$(for f in $(FORMAT_FILES); do clang-format --dry-run -Werror $$f 2>&1 >/dev/null || echo $$f; done); \
	if [ -n "$$out" ]; then echo "format-check: not clang-formatted:"; echo "$$out"; exit 1; fi; \
	echo "format-check: $(words $(FORMAT_FILES)) files clean"

clean:
	rm -rf build/rel build/asan build/fuzz build/tsan

# ---- installation -----------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=]: the programs, libpvscsi (shared
# and static library, headers, pvscsi.pc), man pages, systemd units and bash
# completion.  The xl front is installed as SBINDIR/xl-pvscsi; SBINDIR/xl
# points at it only where nothing else is (PREFIX=/usr/local puts it ahead
# of Xen's /usr/sbin/xl in root's PATH; the Debian package diverts
# /usr/sbin/xl instead, never overwriting it).  make uninstall removes
# exactly what make install put there.
PREFIX         ?= /usr/local
SBINDIR        ?= $(PREFIX)/sbin
BINDIR         ?= $(PREFIX)/bin
LIBDIR         ?= $(PREFIX)/lib
INCLUDEDIR     ?= $(PREFIX)/include
MANDIR         ?= $(PREFIX)/share/man
PKGCONFIGDIR   ?= $(LIBDIR)/pkgconfig
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR    ?= $(PREFIX)/share/bash-completion/completions
# kmod reads /lib, /usr/lib, /etc and /run, never PREFIX/lib: the blacklist
# of xen-scsiback goes where it is read whatever the prefix.
MODPROBEDIR    ?= /lib/modprobe.d
# libvirtd reads its hooks from /etc/libvirt/hooks only (whatever the prefix);
# libxl.d/ runs ours beside an administrator's own hooks/libxl.
LIBVIRTHOOKDIR ?= /etc/libvirt/hooks/libxl.d
INSTALL        ?= install

PUB_HEADERS := $(sort $(wildcard libpvscsi/include/pvscsi/*.h))
MAN_PAGES   := $(sort $(wildcard docs/*.1 docs/*.5 docs/*.8))
UNITS       := $(sort $(wildcard backend/*.service vhost-user/*.service))
BASHCOMP    := $(sort $(wildcard xl-plugin/*.bash-completion))

build/rel/pvscsi.pc: Makefile VERSION
	@mkdir -p $(dir $@)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
		'Name: pvscsi' 'Description: the pvscsi LUN core (SCSI targets for PVSCSI and virtio-scsi)' \
		'Version: $(VERSION)' 'Libs: -L$${libdir} -lpvscsi' 'Libs.private: -luring -lpthread -liscsi -lrbd -lrados' \
		'Cflags: -I$${includedir}' >$@

install: all build/rel/pvscsi.pc
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(INCLUDEDIR)/pvscsi $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(SYSTEMDUNITDIR)
	$(INSTALL) -m 0755 build/rel/pvscsid build/rel/pvscsi-vhost-user build/rel/xl-pvscsi \
		build/rel/pvscsictl $(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 0755 build/rel/pvscsi-cdb $(DESTDIR)$(BINDIR)/
	@if [ -e $(DESTDIR)$(SBINDIR)/xl ] && [ "$$(readlink $(DESTDIR)$(SBINDIR)/xl)" != xl-pvscsi ]; then \
		echo "install: $(DESTDIR)$(SBINDIR)/xl exists and is not the pvscsi front; left alone" \
		     "(run xl-pvscsi, or divert it: see docs/install.md)" >&2; \
	else ln -sfn xl-pvscsi $(DESTDIR)$(SBINDIR)/xl; fi
	$(INSTALL) -m 0644 build/rel/libpvscsi.so.$(VERSION) build/rel/libpvscsi.a $(DESTDIR)$(LIBDIR)/
	ln -sfn libpvscsi.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libpvscsi.so.$(SOVER)
	ln -sfn libpvscsi.so.$(SOVER) $(DESTDIR)$(LIBDIR)/libpvscsi.so
	$(INSTALL) -m 0644 $(PUB_HEADERS) $(DESTDIR)$(INCLUDEDIR)/pvscsi/
	$(INSTALL) -m 0644 build/rel/pvscsi.pc $(DESTDIR)$(PKGCONFIGDIR)/
	for m in $(MAN_PAGES); do \
		s=$${m##*.}; $(INSTALL) -d $(DESTDIR)$(MANDIR)/man$$s && \
		$(INSTALL) -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done
	for u in $(UNITS); do \
		sed 's|/usr/sbin/|$(SBINDIR)/|g' $$u >$(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} && \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} || exit 1; done
	$(INSTALL) -d $(DESTDIR)$(MODPROBEDIR)
	$(INSTALL) -m 0644 backend/pvscsi-modprobe.conf $(DESTDIR)$(MODPROBEDIR)/pvscsi.conf
	$(INSTALL) -d $(DESTDIR)$(LIBVIRTHOOKDIR)
	sed 's|/usr/sbin/|$(SBINDIR)/|g' xl-plugin/libvirt-hook >$(DESTDIR)$(LIBVIRTHOOKDIR)/50-pvscsi
	chmod 0755 $(DESTDIR)$(LIBVIRTHOOKDIR)/50-pvscsi
	$(if $(BASHCOMP),$(INSTALL) -d $(DESTDIR)$(BASHCOMPDIR) && \
		for b in $(BASHCOMP); do n=$${b##*/}; t=$(DESTDIR)$(BASHCOMPDIR)/$${n%.bash-completion}; \
		if [ -e $$t ] && ! grep -q xl-pvscsi $$t; then \
			echo "install: $$t is not pvscsi's (Xen's own?); left alone" >&2; continue; fi; \
		$(INSTALL) -m 0644 $$b $$t || exit 1; done)

uninstall:
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,pvscsid pvscsi-vhost-user xl-pvscsi pvscsictl) \
		$(DESTDIR)$(BINDIR)/pvscsi-cdb \
		$(addprefix $(DESTDIR)$(LIBDIR)/,libpvscsi.so.$(VERSION) libpvscsi.so.$(SOVER) \
			libpvscsi.so libpvscsi.a) \
		$(addprefix $(DESTDIR)$(INCLUDEDIR)/pvscsi/,$(notdir $(PUB_HEADERS))) \
		$(DESTDIR)$(PKGCONFIGDIR)/pvscsi.pc \
		$(foreach m,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m))) \
		$(addprefix $(DESTDIR)$(SYSTEMDUNITDIR)/,$(notdir $(UNITS))) \
		$(DESTDIR)$(MODPROBEDIR)/pvscsi.conf $(DESTDIR)$(LIBVIRTHOOKDIR)/50-pvscsi
	@if [ "$$(readlink $(DESTDIR)$(SBINDIR)/xl 2>/dev/null)" = xl-pvscsi ]; then \
		rm -f $(DESTDIR)$(SBINDIR)/xl; fi
	@for b in $(BASHCOMP); do n=$${b##*/}; t=$(DESTDIR)$(BASHCOMPDIR)/$${n%.bash-completion}; \
		if [ -e $$t ] && grep -q xl-pvscsi $$t; then rm -f $$t; fi; done
	-rmdir $(DESTDIR)$(INCLUDEDIR)/pvscsi 2>/dev/null

# make deb: the Debian packages (pvscsi, libpvscsi0, libpvscsi-dev) into
# build/deb, built by dpkg-buildpackage from a copy of the tree (so that
# nothing is written beside it), then checked by lintian: any error fails.
deb:
	scripts/install-deps deb
	rm -rf build/deb && mkdir -p build/deb/pvscsi-$(VERSION)
	git ls-files -co --exclude-standard -z | grep -zv '^build/' | \
		xargs -0 cp --parents -t build/deb/pvscsi-$(VERSION)
	cd build/deb/pvscsi-$(VERSION) && dpkg-buildpackage -b -us -uc >../build.log 2>&1 || \
		{ tail -n 30 ../build.log; exit 1; }
	lintian --fail-on error --suppress-tags-from-file debian/lintian-ignore \
		build/deb/pvscsi_$(VERSION)_*.changes
	@ls build/deb/*.deb
