// modemshim: an LD_PRELOAD library that gives pseudo-terminal replicas the modem lines of a UART.
//
// libserialport refuses a pseudo-terminal twice: it needs /sys/class/tty/NAME/device (the test
// fakes that in a private mount namespace) and its sp_open() calls TIOCMGET, which a PTY answers
// with ENOTTY. This shim answers TIOCMGET, TIOCMSET, TIOCMBIS and TIOCMBIC on any PTY replica
// (majors 136-143) from a fake modem-line state, and appends every change request to the file
// named by $MODEMSHIM_LOG, one line each:
//
//     <monotonic ms> <op> dtr=<0|1> rts=<0|1> <device path>
//
// where op is GET, SET, BIS or BIC and dtr/rts are the state after the request. Every other ioctl,
// and these on any other descriptor, go to the real ioctl unchanged.
//
// Build: cc -shared -fPIC -O2 -o modemshim.so modemshim.c -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

typedef int (*ioctl_fn)(int, unsigned long, ...);

// A freshly opened UART has DTR and RTS asserted (the tty layer raises them on open), and a
// board on the other end holds DSR and CTS.
static int modem_bits = TIOCM_DTR | TIOCM_RTS | TIOCM_DSR | TIOCM_CTS;

static int is_pty_replica(int fd) {
    struct stat info;
    if (fstat(fd, &info) != 0 || !S_ISCHR(info.st_mode)) return 0;
    unsigned int major_number = major(info.st_rdev);
    return major_number >= 136 && major_number <= 143;
}

static void record(int fd, const char *op) {
    const char *log_path = getenv("MODEMSHIM_LOG");
    if (log_path == NULL || *log_path == 0) return;
    char link[64], device[256];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t length = readlink(link, device, sizeof device - 1);
    device[length > 0 ? length : 0] = 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    char line[512];
    int count = snprintf(line, sizeof line, "%lld %s dtr=%d rts=%d %s\n",
                         (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000, op,
                         (modem_bits & TIOCM_DTR) != 0, (modem_bits & TIOCM_RTS) != 0, device);
    int log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (log_fd < 0) return;
    ssize_t ignored = write(log_fd, line, (size_t)count);
    (void)ignored;
    close(log_fd);
}

int ioctl(int fd, unsigned long request, ...) {
    static ioctl_fn real_ioctl;
    if (real_ioctl == NULL) real_ioctl = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
    va_list arguments;
    va_start(arguments, request);
    void *argument = va_arg(arguments, void *);
    va_end(arguments);

    if ((request == TIOCMGET || request == TIOCMSET || request == TIOCMBIS || request == TIOCMBIC) &&
        is_pty_replica(fd)) {
        int *bits = argument;
        if (bits == NULL) {
            errno = EFAULT;
            return -1;
        }
        // Only the outputs can be changed; the inputs stay as the board drives them.
        const int outputs = TIOCM_DTR | TIOCM_RTS;
        switch (request) {
        case TIOCMGET:
            *bits = modem_bits;
            record(fd, "GET");
            return 0;
        case TIOCMSET:
            modem_bits = (modem_bits & ~outputs) | (*bits & outputs);
            record(fd, "SET");
            return 0;
        case TIOCMBIS:
            modem_bits |= *bits & outputs;
            record(fd, "BIS");
            return 0;
        case TIOCMBIC:
            modem_bits &= ~(*bits & outputs);
            record(fd, "BIC");
            return 0;
        }
    }
    return real_ioctl(fd, request, argument);
}
