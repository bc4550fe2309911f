// FIB benchmark (not a test): lookups per second and bytes per route on a synthetic full
// table, beside a naive reference in the same run. Placeholder until the FIB lands.
print("fib-benchmark: no FIB yet")
