import Foundation
import Testing

@testable import BridgeGPIO

/// A fake sysfs tree in a temporary directory, as esp-sim makes one.
private struct FakeSysfs {
    let root: URL

    init(exported lines: [Int]) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("gpio-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try "".write(to: root.appendingPathComponent("export"), atomically: false, encoding: .utf8)
        for line in lines { try export(line) }
    }

    func export(_ line: Int) throws {
        let directory = root.appendingPathComponent("gpio\(line)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, value) in [("direction", "in"), ("value", "0"), ("active_low", "0")] {
            try "\(value)\n".write(to: directory.appendingPathComponent(name), atomically: false, encoding: .utf8)
        }
    }

    func read(_ line: Int, _ name: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent("gpio\(line)/\(name)"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func remove() { try? FileManager.default.removeItem(at: root) }
}

@Suite struct SysfsGPIOLineTests {
    @Test func anOutputStartsAtItsInitialLevelWithoutAGlitch() throws {
        let sysfs = try FakeSysfs(exported: [17])
        defer { sysfs.remove() }
        let line = try SysfsGPIOLine(root: sysfs.root.path, number: 17, direction: .output, initialLevel: true)
        #expect(try sysfs.read(17, "direction") == "high")
        try line.write(false)
        #expect(try sysfs.read(17, "value") == "0")
        #expect(try line.read() == false)
    }

    @Test func resetLinesPulseRESETLowAndReadREADY() throws {
        let sysfs = try FakeSysfs(exported: [17, 27])
        defer { sysfs.remove() }
        let lines = try ESPResetLines(root: sysfs.root.path, resetLine: 17, readyLine: 27)
        try lines.holdInReset(true)
        #expect(try sysfs.read(17, "value") == "0")
        try lines.holdInReset(false)
        #expect(try sysfs.read(17, "value") == "1")
        #expect(try lines.isReady() == false)
        try "1\n".write(to: sysfs.root.appendingPathComponent("gpio27/value"), atomically: false, encoding: .utf8)
        #expect(try lines.isReady() == true)
    }

    @Test func aLineThatNeverAppearsAfterExportFailsWithAClearError() throws {
        let sysfs = try FakeSysfs(exported: [])
        defer { sysfs.remove() }
        #expect {
            _ = try SysfsGPIOLine(
                root: sysfs.root.path, number: 5, direction: .input, exportTimeout: .milliseconds(100))
        } throws: { error in
            (error as? GPIOError)?.description.contains("could not export GPIO 5") == true
        }
        let exported = try String(contentsOf: sysfs.root.appendingPathComponent("export"), encoding: .utf8)
        #expect(exported == "5\n", "the line number was written to export")
    }

    @Test func aMissingRootSaysWhatToDo() {
        #expect(throws: GPIOError.rootMissing(root: "/nonexistent/gpio")) {
            _ = try SysfsGPIOLine(root: "/nonexistent/gpio", number: 1, direction: .input)
        }
    }

    @Test func aValueThatIsNeitherZeroNorOneIsReported() throws {
        let sysfs = try FakeSysfs(exported: [4])
        defer { sysfs.remove() }
        let line = try SysfsGPIOLine(root: sysfs.root.path, number: 4, direction: .input)
        try "x\n".write(to: sysfs.root.appendingPathComponent("gpio4/value"), atomically: false, encoding: .utf8)
        #expect(throws: GPIOError.self) { _ = try line.read() }
    }
}
