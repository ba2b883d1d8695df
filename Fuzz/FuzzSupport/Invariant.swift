/// Traps with `message` when `condition` is false: how a fuzz target reports a broken invariant to libFuzzer, which
/// then saves the input.
public func invariant(
    _ condition: @autoclosure () -> Bool,
    _ message: @autoclosure () -> String,
    file: StaticString = #fileID,
    line: UInt = #line
) {
    if !condition() {
        fatalError("invariant broken: \(message())", file: file, line: line)
    }
}

/// Reads the control bytes at the front of an input, each `0` when the input is shorter.
public struct FuzzInput {
    public private(set) var rest: UnsafeRawBufferPointer

    public init(_ input: UnsafeRawBufferPointer) {
        self.rest = input
    }

    /// The next byte, or `0` past the end.
    public mutating func control() -> UInt8 {
        guard let first = self.rest.first else { return 0 }
        self.rest = UnsafeRawBufferPointer(rebasing: self.rest.dropFirst())
        return first
    }
}
