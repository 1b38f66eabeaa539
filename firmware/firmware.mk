# firmware/: every .c below firmware/ is part of the relay (portable C).
FW_SRCS := $(sort $(wildcard firmware/*.c firmware/*/*.c))
