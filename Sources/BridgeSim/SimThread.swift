#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A plain OS thread that can be joined.
///
/// The simulator's loops (relay lanes, the board supervisor, firmware output readers) block in
/// `poll`/`read`/`nanosleep`; running them on Swift concurrency's cooperative pool would starve
/// it, so each gets a thread of its own. Threads also inherit the signal mask esp-sim sets up
/// before starting the board, which keeps SIGINT/SIGTERM on the main thread's `sigwait`.
final class SimThread: Sendable {
    private final class Body {
        let run: @Sendable () -> Void
        init(run: @escaping @Sendable () -> Void) { self.run = run }
    }

    #if canImport(Darwin)
        nonisolated(unsafe) private let handle: pthread_t
    #else
        private let handle: pthread_t
    #endif

    /// Starts `body` on a new thread; `name` says which, in errors.
    init(name: String, _ body: @escaping @Sendable () -> Void) throws(SimulatorError) {
        let context = Unmanaged.passRetained(Body(run: body)).toOpaque()
        #if canImport(Darwin)
            var thread: pthread_t?
        #else
            var thread = pthread_t()
        #endif
        let result = pthread_create(
            &thread, nil,
            { raw in
                #if canImport(Darwin)
                    let body = Unmanaged<Body>.fromOpaque(raw).takeRetainedValue()
                #else
                    let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
                #endif
                body.run()
                return nil
            }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw .system(
                operation: "cannot start thread \(name)", errno: result, hint: "the system is out of threads or memory")
        }
        #if canImport(Darwin)
            self.handle = thread!
        #else
            self.handle = thread
        #endif
    }

    /// Waits for the thread to finish. Call at most once, and not after `detach()`.
    func join() {
        pthread_join(handle, nil)
    }

    /// Lets the thread's resources go when it ends, for a thread nobody will join.
    func detach() {
        pthread_detach(handle)
    }
}
