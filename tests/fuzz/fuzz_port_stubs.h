/* fuzz_port_stubs — the fake clock and seed of fuzz_port_stubs.c (the
 * port.h stand-ins for fuzz targets that reference the board without
 * using it). Exports fuzz_port_now_ms, fuzz_port_wall, fuzz_port_seed(). */
#ifndef FUZZ_PORT_STUBS_H
#define FUZZ_PORT_STUBS_H
#include <stdint.h>

extern uint64_t fuzz_port_now_ms; /* what port_now_ms() answers */
extern int64_t fuzz_port_wall;	  /* what port_wall_time() answers */
/* Restarts port_random()'s sequence (call per input: reproducible). */
void fuzz_port_seed(uint64_t seed);
#endif
