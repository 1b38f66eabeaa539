# board/host — the relay as a Linux process: POSIX sockets + poll, flash
# simulated on files (flashsim), console on stdin/stdout, log on stderr.
# Native for development and sanitizers, armhf for Linux-based routers.
BOARD_DEFAULT_TARGET := native
TARGET ?= native
BOARD_MAIN := board/host/main.c
BOARD_SRCS := $(sort $(filter-out $(BOARD_MAIN),$(wildcard board/host/*.c)))
BOARD_ASMS :=
BOARD_CPPFLAGS := -DINBOUND_MAX_SESSIONS=32 -DQUEUE_INDEX_BUF=131072
BOARD_CFLAGS :=
BOARD_HOST_LIBS :=
BOARD_DEPS := mbedtls ldns
IMAGE := danegate
