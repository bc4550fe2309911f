// Async-signal-safe text building for the probes' timeout handlers, which may only call
// write(2) and _exit(2): no stdio, no allocation.
#ifndef PROBES_SIGNAL_SAFE_H
#define PROBES_SIGNAL_SAFE_H

#include <stddef.h>

/// Appends the string `s` to `buf` at `*at`, within `size` (async-signal-safe).
static inline void append_text(char *buf, size_t size, size_t *at, const char *s)
{
    while (*s != '\0' && *at < size)
        buf[(*at)++] = *s++;
}

/// Appends the decimal digits of `value` (>= 0) to `buf` at `*at` (async-signal-safe).
static inline void append_number(char *buf, size_t size, size_t *at, int value)
{
    char digits[12];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0 && n < (int)sizeof digits);
    while (n > 0 && *at < size)
        buf[(*at)++] = digits[--n];
}

#endif
