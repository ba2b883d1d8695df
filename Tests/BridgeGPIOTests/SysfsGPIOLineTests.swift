import Foundation
import Testing

@testable import BridgeGPIO

/// A fake sysfs tree in a temporary directory, as esp-sim makes one.
struct FakeSysfs {
    let root: URL
    var path: String { root.path }

    init(exported lines: [Int] = []) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("gpio-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try "".write(to: root.appendingPathComponent("export"), atomically: false, encoding: .utf8)
        for line in lines { try export(line) }
    }

    /// What the kernel does on export: `gpioN/` with its attributes.
    func export(_ line: Int, activeLow: String? = "0", value: String = "0") throws {
        let directory = root.appendingPathComponent("gpio\(line)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var files = [("direction", "in"), ("value", value)]
        if let activeLow { files.append(("active_low", activeLow)) }
        for (name, value) in files {
            try "\(value)\n".write(to: directory.appendingPathComponent(name), atomically: false, encoding: .utf8)
        }
    }

    /// A `gpiochipN/` directory with `base`, `label` and `ngpio`.
    func addChip(_ name: String, label: String, base: Int, lines: Int) throws {
        let directory = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (file, value) in [("base", "\(base)"), ("label", label), ("ngpio", "\(lines)")] {
            try "\(value)\n".write(to: directory.appendingPathComponent(file), atomically: false, encoding: .utf8)
        }
    }

    func read(_ line: Int, _ name: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent("gpio\(line)/\(name)"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func write(_ line: Int, _ name: String, _ value: String) throws {
        try "\(value)\n".write(
            to: root.appendingPathComponent("gpio\(line)/\(name)"), atomically: false, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(at: root) }
}

@Suite struct SysfsGPIOLineTests {
    @Test func anOutputStartsAtItsInitialLevelWithoutAGlitch() throws {
        let sysfs = try FakeSysfs(exported: [17])
        defer { sysfs.remove() }
        let line = try SysfsGPIOLine(root: sysfs.path, number: 17, direction: .output, initiallyActive: true)
        #expect(try sysfs.read(17, "direction") == "high")
        #expect(try sysfs.read(17, "value") == "1", "the level is written to value too, for fake trees")
        try line.write(false)
        #expect(try sysfs.read(17, "value") == "0")
        #expect(try line.read() == false)
    }

    @Test func anActiveLowOutputIsInvertedInSoftware() throws {
        let sysfs = try FakeSysfs(exported: [5])
        defer { sysfs.remove() }
        let line = try SysfsGPIOLine(
            root: sysfs.path, number: 5, direction: .output, activeLow: true, initiallyActive: false)
        #expect(try sysfs.read(5, "direction") == "high", "inactive is the high level")
        #expect(try sysfs.read(5, "active_low") == "0")
        try line.write(true)
        #expect(try sysfs.read(5, "value") == "0")
        #expect(try line.read() == true)
        #expect(try line.readLevel() == false)
    }

    @Test func anActiveLowAttributeLeftAtOneIsPinnedToZero() throws {
        let sysfs = try FakeSysfs()
        defer { sysfs.remove() }
        try sysfs.export(6, activeLow: "1", value: "1")
        let line = try SysfsGPIOLine(root: sysfs.path, number: 6, direction: .input)
        #expect(try sysfs.read(6, "active_low") == "0")
        #expect(try line.read() == true, "value now holds the electrical level")
    }

    @Test func aFakeTreeWithoutActiveLowFilesIsAccepted() throws {
        let sysfs = try FakeSysfs()
        defer { sysfs.remove() }
        try sysfs.export(7, activeLow: nil)
        let line = try SysfsGPIOLine(root: sysfs.path, number: 7, direction: .input, activeLow: true)
        #expect(try line.read() == true)
        #expect(!FileManager.default.fileExists(atPath: sysfs.root.appendingPathComponent("gpio7/active_low").path))
    }

    @Test func resetLinesPulseRESETLowAndReadREADY() throws {
        let sysfs = try FakeSysfs(exported: [17, 27])
        defer { sysfs.remove() }
        let lines = try ESPResetLines(root: sysfs.path, resetLine: 17, readyLine: 27)
        #expect(try sysfs.read(17, "direction") == "high", "claiming RESET does not reset a running ESP")
        #expect(try sysfs.read(17, "value") == "1")
        try lines.holdInReset(true)
        #expect(try sysfs.read(17, "value") == "0")
        try lines.holdInReset(false)
        #expect(try sysfs.read(17, "value") == "1")
        #expect(try lines.isReady() == false)
        try sysfs.write(27, "value", "1")
        #expect(try lines.isReady() == true)
    }

    @Test func resetLinesBehindInvertersUseTheOtherLevels() throws {
        let sysfs = try FakeSysfs(exported: [17, 27])
        defer { sysfs.remove() }
        let lines = try ESPResetLines(
            root: sysfs.path, resetLine: 17, resetActiveLow: false, readyLine: 27, readyActiveLow: true)
        #expect(try sysfs.read(17, "direction") == "low")
        try lines.holdInReset(true)
        #expect(try sysfs.read(17, "value") == "1")
        try lines.holdInReset(false)
        #expect(try sysfs.read(17, "value") == "0")
        #expect(try lines.isReady() == true, "READY low means running")
        try sysfs.write(27, "value", "1")
        #expect(try lines.isReady() == false)
    }

    @Test func withoutAREADYLineReadinessIsUnknown() throws {
        let sysfs = try FakeSysfs(exported: [17])
        defer { sysfs.remove() }
        let lines = try ESPResetLines(root: sysfs.path, resetLine: 17, readyLine: nil)
        #expect(try lines.isReady() == nil)
    }

    @Test func resetAndReadyCannotShareALine() throws {
        let sysfs = try FakeSysfs(exported: [17])
        defer { sysfs.remove() }
        #expect(throws: GPIOError.resetAndReadyShareALine(line: 17)) {
            _ = try ESPResetLines(root: sysfs.path, resetLine: 17, readyLine: 17)
        }
        #expect(try sysfs.read(17, "direction") == "in", "nothing was claimed")
    }

    @Test func exportWaitsForTheLineToAppear() throws {
        let sysfs = try FakeSysfs()
        defer { sysfs.remove() }
        // The kernel creates gpio23/ and udev fixes it up some time after the write to export.
        let exported = DispatchSemaphore(value: 0)
        let thread = Thread { [sysfs] in
            Thread.sleep(forTimeInterval: 0.3)
            try? sysfs.export(23, value: "1")
            exported.signal()
        }
        thread.start()
        let started = Date()
        let line = try SysfsGPIOLine(root: sysfs.path, number: 23, direction: .input, exportTimeout: .seconds(5))
        #expect(Date().timeIntervalSince(started) >= 0.25, "the line did not exist before")
        #expect(exported.wait(timeout: .now() + 5) == .success)
        #expect(try sysfs.read(23, "direction") == "in")
        #expect(try line.read() == true)
        let written = try String(contentsOf: sysfs.root.appendingPathComponent("export"), encoding: .utf8)
        #expect(written == "23\n")
    }

    @Test func anExportedLineIsNotExportedAgain() throws {
        let sysfs = try FakeSysfs(exported: [4])
        defer { sysfs.remove() }
        _ = try SysfsGPIOLine(root: sysfs.path, number: 4, direction: .input)
        let written = try String(contentsOf: sysfs.root.appendingPathComponent("export"), encoding: .utf8)
        #expect(written.isEmpty)
    }

    @Test func aLineThatNeverAppearsAfterExportFailsWithAClearError() throws {
        let sysfs = try FakeSysfs()
        defer { sysfs.remove() }
        #expect {
            _ = try SysfsGPIOLine(
                root: sysfs.path, number: 5, direction: .input, exportTimeout: .milliseconds(100))
        } throws: { error in
            let text = (error as? GPIOError)?.description ?? ""
            return text.contains("could not export GPIO 5") && text.contains("pinctrl-bcm2711:17")
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
        let line = try SysfsGPIOLine(root: sysfs.path, number: 4, direction: .input)
        try sysfs.write(4, "value", "x")
        #expect(throws: GPIOError.unexpectedValue(path: "\(sysfs.path)/gpio4/value", value: "x")) {
            _ = try line.read()
        }
    }
}
