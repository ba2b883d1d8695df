#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a fuzz target does in the ordinary build, where libFuzzer is not linked: replay inputs, or write seeds.
enum FuzzReplay {
    static let usage = """
        usage: TARGET FILE|DIR...          run every file (a directory: every file in it) through the check
               TARGET --write-seeds DIR    write the seed inputs into DIR
        Fuzzing itself needs the build of scripts/fuzz.
        """

    /// Runs the command and returns the exit status.
    static func run(
        arguments: [String],
        check: (UnsafeRawBufferPointer) -> Void,
        seeds: [FuzzSeed]
    ) -> Int32 {
        guard !arguments.isEmpty else {
            print(usage)
            return 2
        }
        do {
            if arguments[0] == "--write-seeds" {
                guard arguments.count == 2 else {
                    print(usage)
                    return 2
                }
                try write(seeds, into: arguments[1])
                print("wrote \(seeds.count) seeds into \(arguments[1])")
                return 0
            }
            var replayed = 0
            for path in inputFiles(arguments) {
                let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
                bytes.withUnsafeBytes(check)
                replayed += 1
            }
            // A broken invariant traps inside `check`, so reaching this line means every input passed.
            print("replayed \(replayed) inputs: no invariant broken")
            return 0
        } catch {
            print("error: \(error)")
            return 1
        }
    }

    /// The files named, with every file of the directories named, in a stable order.
    private static func inputFiles(_ paths: [String]) -> [String] {
        paths.flatMap { path in
            // Not a directory: a file, or a path whose reading will say what is wrong with it.
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return [path] }
            return names.sorted().map { "\(path)/\($0)" }
        }
    }

    private static func write(_ seeds: [FuzzSeed], into directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for seed in seeds {
            try Data(seed.bytes).write(to: URL(fileURLWithPath: "\(directory)/\(seed.name)"))
        }
    }
}
