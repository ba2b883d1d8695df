# A tiny test helper for MicroPython and CPython: check() prints one line per
# test, "ok NAME" or "FAIL NAME: why", which tests/run.sh counts.

import sys

failed = 0


def check(name, cond, why=""):
    global failed
    if cond:
        print("ok", name)
    else:
        failed += 1
        print("FAIL", name + ":", why)
    return cond


def eq(name, got, want):
    return check(name, got == want, "got %r, want %r" % (got, want))


def done():
    sys.exit(1 if failed else 0)
