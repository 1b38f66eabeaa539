# target-native.mk — the build machine's own gcc (x86-64 Linux, glibc).
# Exports CC AR OBJCOPY SIZE NM TARGET_CFLAGS TARGET_LDFLAGS RUNNER.
# CC given on the command line or in the environment wins (CC=clang for
# the fuzzers); make's built-in default `cc` does not.
ifeq ($(filter environment command line,$(origin CC)),)
CC := gcc
endif
ifeq ($(filter environment command line,$(origin AR)),)
AR := ar
endif
OBJCOPY := objcopy
SIZE := size
NM := nm
# _GNU_SOURCE: the host board is POSIX code built with -std=c11, which
# would otherwise hide everything beyond ISO C in glibc's headers.
TARGET_CFLAGS := -O2 -g -D_GNU_SOURCE
TARGET_LDFLAGS :=
RUNNER :=
TARGET_TRIPLE := x86_64-linux-gnu
