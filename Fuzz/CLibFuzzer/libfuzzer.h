// libFuzzer's entry for programs that keep their own main: it parses libFuzzer's options from argv and runs
// `callback` on every input. Only the fuzzing build (-sanitize=fuzzer) links libFuzzer and calls it.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
