#if FUZZING
    import CLibFuzzer
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// A fuzz target: a check that runs one input through the code under test and traps (`fatalError`) when an
/// invariant breaks, and the seed inputs its corpus starts from.
///
/// Built by `scripts/fuzz` with `-sanitize=fuzzer,address -DFUZZING`, `main` hands the check to libFuzzer. In the
/// ordinary build it replays inputs from files instead (a crash reproduces without the sanitizers) and writes the
/// seeds:
///
/// ```sh
/// swift run FuzzLink Fuzz/crashes/FuzzLink-crash-1234   # replay files or directories
/// swift run FuzzLink --write-seeds Fuzz/corpus/FuzzLink
/// ```
public protocol FuzzTarget {
    /// Runs one input; traps when an invariant breaks.
    static func check(_ input: UnsafeRawBufferPointer)

    /// Valid inputs to start from, each with a file name that says what it holds.
    static var seeds: [FuzzSeed] { get }
}

/// One seed input of a corpus.
public struct FuzzSeed: Sendable {
    /// The file name in the corpus directory.
    public var name: String
    public var bytes: [UInt8]

    public init(name: String, bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes
    }
}

extension FuzzTarget {
    public static func main() {
        #if FUZZING
            // SwiftPM links every executable with `main` bound to the module's own entry point, so libFuzzer's
            // main never runs: this one hands over to its driver.
            activeCheck = Self.check
            var argc = CommandLine.argc
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
            exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzerTestOneInput))
        #else
            exit(
                FuzzReplay.run(
                    arguments: Array(CommandLine.arguments.dropFirst()), check: Self.check, seeds: Self.seeds))
        #endif
    }
}

#if FUZZING
    /// The check of the running target. Set once in `main` before libFuzzer starts; libFuzzer calls it from one
    /// thread.
    nonisolated(unsafe) private var activeCheck: (UnsafeRawBufferPointer) -> Void = { _ in }

    /// The callback libFuzzer runs on every input. libFuzzer's own main, which the link pulls in but never runs,
    /// refers to it by this name.
    @_cdecl("LLVMFuzzerTestOneInput")
    func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        activeCheck(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
#endif
