// Counts heap allocations in the benchmark process: malloc, calloc, realloc, posix_memalign
// and aligned_alloc are interposed (defined in the executable, so every library's calls
// reach them) and forwarded to glibc's own entry points.
#ifndef MALLOC_COUNTER_H
#define MALLOC_COUNTER_H
#include <stdint.h>

/// Allocations made so far.
uint64_t malloc_counter_allocations(void);

/// Bytes in use on the heap: glibc's mallinfo2, arena bytes in use plus mmapped chunks.
uint64_t malloc_counter_heap_bytes(void);
#endif
