/* hex — hexadecimal digits and byte strings, for the places that print
 * or read ids, tokens and digests. Exports hex_digit(), hex_encode(),
 * hex_decode(). */
#ifndef DANEGATE_HEX_H
#define DANEGATE_HEX_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
/* The value of one hex digit (either case), -1 if c is not one. */
int hex_digit(char c);
/* n bytes as 2n lowercase hex digits and a NUL into out (2n + 1 bytes). */
void hex_encode(const uint8_t *b, size_t n, char *out);
/* Exactly 2n lowercase hex digits (then the text ends) into n bytes;
 * false (out undefined) otherwise. */
bool hex_decode(const char *t, uint8_t *out, size_t n);
#endif
