// What the benchmark probes (probe-syscall-cost, probe-notify-floor) share: the clock, the
// warm-up length, the command line (`-n ITER`, `--json`) and the output, one line per
// measurement (`NAME ITER NS_PER_CALL RESULT`) or one JSON object on one line.
#ifndef PROBES_BENCHMARK_H
#define PROBES_BENCHMARK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/// Nanoseconds on CLOCK_MONOTONIC.
static inline double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/// Untimed calls before the timed `iterations`: a tenth of them, at least 10.
static inline int warm_up_count(int iterations)
{
    return iterations / 10 < 10 ? 10 : iterations / 10;
}

/// Parses `[-n ITER] [--json]` into `*iterations` (left as it is without -n) and `*json`.
/// Returns 0, or 2 after printing the usage error as `probe: …` on stderr.
static inline int parse_benchmark_arguments(int argc, char **argv, const char *probe,
                                            int *iterations, int *json)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            *json = 1;
        } else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*argv[i] == '\0' || *end != '\0' || n < 1 || n > 100000000) {
                fprintf(stderr, "%s: bad iteration count '%s'\n", probe, argv[i]);
                return 2;
            }
            *iterations = (int)n;
        } else {
            fprintf(stderr, "usage: %s [-n ITER] [--json]\n", probe);
            return 2;
        }
    }
    return 0;
}

/// Prints measurement `index` of `count`: a line `NAME ITER NS_PER_CALL RESULT`, or with
/// `json` its member of the one-line object `{"NAME": {"iterations": …, "ns_per_call": …,
/// "result": "…"}, …}` (the first opens it, the last closes it).
static inline void print_benchmark_row(int json, size_t index, size_t count, const char *name,
                                       int iterations, double ns_per_call, const char *result)
{
    if (!json) {
        printf("%s %d %.1f %s\n", name, iterations, ns_per_call, result);
        return;
    }
    printf("%s\"%s\": {\"iterations\": %d, \"ns_per_call\": %.1f, \"result\": \"%s\"}%s",
           index == 0 ? "{" : ", ", name, iterations, ns_per_call, result,
           index + 1 == count ? "}\n" : "");
}

#endif
