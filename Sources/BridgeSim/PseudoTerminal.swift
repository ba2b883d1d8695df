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
    /// The line settings the pair was opened with (raw, at the start speed).
    private let initialSettings: termios

    /// Opens a new pair and puts its line discipline in raw mode (no echo, no line editing, no
    /// CR/LF translation, 8 bits), so bytes cross it untouched like on a UART.
    /// - Parameter baud: the speed the replica starts at; one of `BaudRate.supported`.
    public init(baud: Int = 115_200) throws(SimulatorError) {
        guard let speed = BaudRate.constant(for: baud) else { throw .unsupportedBaudRate(baud) }
        var controller: Int32 = -1
        var replica: Int32 = -1
        // openpty writes the replica's name into this buffer; it has no length argument, so give
        // it far more room than a /dev/pts path needs.
        var name = [CChar](repeating: 0, count: 4096)
        var settings = termios()
        cfmakeraw(&settings)
        // A PTY ignores the speed, but daemons that read it back (tcgetattr) expect a UART's
        // start rate rather than 0 baud, and a paced wire reads it to know how fast to go.
        cfsetispeed(&settings, speed)
        cfsetospeed(&settings, speed)
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

    /// Puts the line settings back to how the pair was opened (raw), at `baud` (default: the
    /// speed it was opened at). The settings belong to the replica and survive its users, so
    /// without this a rebooted firmware would inherit the speed and VMIN/VTIME its previous run
    /// chose.
    public func restoreLineSettings(baud: Int? = nil) {
        var settings = initialSettings
        if let baud, let speed = BaudRate.constant(for: baud) {
            cfsetispeed(&settings, speed)
            cfsetospeed(&settings, speed)
        }
        tcsetattr(heldReplica, TCSANOW, &settings)
    }

    /// The replica's output speed in bits per second, as its user last set it (`cfgetospeed`);
    /// `nil` if it cannot be read or is not a standard rate. The speed belongs to the replica, so
    /// our held descriptor sees whatever the daemon or the firmware chose on theirs.
    public var baud: Int? {
        var settings = termios()
        guard tcgetattr(heldReplica, &settings) == 0 else { return nil }
        return BaudRate.rate(for: cfgetospeed(&settings))
    }

    /// Sets the replica's input and output speed to `baud`, leaving its other settings (the
    /// firmware's VMIN/VTIME, say) alone. Returns `false` for an unsupported rate or a failed call.
    @discardableResult
    public func setBaud(_ baud: Int) -> Bool {
        guard let speed = BaudRate.constant(for: baud) else { return false }
        var settings = termios()
        guard tcgetattr(heldReplica, &settings) == 0 else { return false }
        cfsetispeed(&settings, speed)
        cfsetospeed(&settings, speed)
        return tcsetattr(heldReplica, TCSANOW, &settings) == 0
    }

    /// Bytes the replica has received that its user has not read yet (`FIONREAD`).
    public var unreadInputCount: Int {
        var count: Int32 = 0
        guard ioctl(heldReplica, UInt(FIONREAD), &count) == 0 else { return 0 }
        return Int(count)
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
