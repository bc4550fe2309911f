/* probe-sockets: socket conformance scenarios (being written; see Guest/probes/README.md). */
#include <stdio.h>
int main(void) { fputs("probe-sockets: no scenario yet\n", stderr); return 2; }
