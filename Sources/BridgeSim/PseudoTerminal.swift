#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One pseudo-terminal pair standing in for one end of a UART.
///
/// The *replica* (`/dev/pts/N`) is what a program opens as its serial device; the *controller*
/// (master) is where the simulator reads what that program transmits and writes what it receives.
///
/// The simulator keeps its own descriptor on the replica open for the pair's whole life. Without
/// it, the controller reports a hang-up (`EIO` on read, `POLLHUP`) whenever the daemon or the
/// firmware closes its side, e.g. across a daemon restart or a firmware reset; with it, the wire
/// simply stays quiet, like a real UART whose far end went away.
public final class PseudoTerminal: Sendable {
    /// The controller (master) descriptor; non-blocking, close-on-exec. Owned by this object.
    public let controller: Int32
    /// The simulator's own descriptor on the replica, held so the controller never hangs up.
    public let heldReplica: Int32
    /// Path of the replica device, e.g. `/dev/pts/7`, as `openpty` reported it (Glibc does not
    /// expose `ptsname` to Swift).
    public let replicaPath: String
    /// The line settings the pair was opened with (raw, 115200).
    private let initialSettings: termios

    /// Opens a new pair and puts its line discipline in raw mode (no echo, no line editing, no
    /// CR/LF translation, 8 bits), so bytes cross it untouched like on a UART.
    public init() throws(SimulatorError) {
        var controller: Int32 = -1
        var replica: Int32 = -1
        // openpty writes the replica's name into this buffer; it has no length argument, so give
        // it far more room than a /dev/pts path needs.
        var name = [CChar](repeating: 0, count: 4096)
        var settings = termios()
        cfmakeraw(&settings)
        // A PTY ignores the speed, but daemons that read it back (tcgetattr) expect a UART's
        // start rate rather than 0 baud.
        cfsetispeed(&settings, speed_t(B115200))
        cfsetospeed(&settings, speed_t(B115200))
        // VMIN=1/VTIME=0 is a normal blocking read for our held descriptor; the firmware sets its
        // own VMIN/VTIME (design.md: it needs 0/0 for asyncio).
        withUnsafeMutableBytes(of: &settings.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        guard openpty(&controller, &replica, &name, &settings, nil) == 0 else {
            throw .posix("cannot open a pseudo-terminal", hint: "is /dev/pts mounted and /dev/ptmx accessible?")
        }
        POSIX.setCloseOnExec(controller)
        POSIX.setCloseOnExec(replica)
        POSIX.setNonBlocking(controller)
        self.controller = controller
        self.heldReplica = replica
        self.replicaPath = POSIX.string(fromCString: name)
        self.initialSettings = settings
    }

    /// Puts the line settings back to how the pair was opened (raw, 115200). The settings belong
    /// to the replica and survive its users, so without this a rebooted firmware would inherit
    /// the speed and VMIN/VTIME its previous run chose.
    public func restoreLineSettings() {
        var settings = initialSettings
        tcsetattr(heldReplica, TCSANOW, &settings)
    }

    /// Throws away whatever the replica has received but nobody has read yet. A board coming out
    /// of reset has an empty UART buffer; without this, bytes the host sent while the firmware was
    /// dead would greet the next firmware as stale input.
    public func discardUnreadInput() {
        tcflush(heldReplica, TCIFLUSH)
    }

    deinit {
        close(controller)
        close(heldReplica)
    }
}
