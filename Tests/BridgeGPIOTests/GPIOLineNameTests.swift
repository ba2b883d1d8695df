import Foundation
import Testing

@testable import BridgeGPIO

@Suite struct GPIOLineNameParsingTests {
    @Test(arguments: [
        ("17", GPIOLineName.number(17)),
        ("529", .number(529)),
        ("0", .number(0)),
        ("pinctrl-bcm2711:17", .chip("pinctrl-bcm2711", offset: 17)),
        ("pinctrl-rp1:0", .chip("pinctrl-rp1", offset: 0)),
        ("gpiochip512:3", .chip("gpiochip512", offset: 3)),
        ("gpio-brcmstb@107d508500:4", .chip("gpio-brcmstb@107d508500", offset: 4)),
        ("odd:label:5", .chip("odd:label", offset: 5)),
    ])
    func acceptedForms(text: String, name: GPIOLineName) throws {
        #expect(try GPIOLineName(parsing: text) == name)
        #expect(name.description == text)
    }

    @Test(arguments: ["", "abc", ":5", "chip:", "chip:-1", "17a", "-3", "chip:x", "chip:1.5", "1234567890"])
    func refusedForms(text: String) {
        #expect(throws: GPIOError.invalidLineName(text)) { _ = try GPIOLineName(parsing: text) }
        #expect(GPIOError.invalidLineName(text).description.contains("pinctrl-bcm2711:17"))
    }
}

@Suite struct GPIOLineNameResolutionTests {
    /// A Raspberry Pi 4 on kernel 6.6+: the SoC's chip at base 512, the firmware expander after it.
    private func pi4Kernel66() throws -> FakeSysfs {
        let sysfs = try FakeSysfs()
        try sysfs.addChip("gpiochip512", label: "pinctrl-bcm2711", base: 512, lines: 58)
        try sysfs.addChip("gpiochip570", label: "raspberrypi-exp-gpio", base: 570, lines: 8)
        return sysfs
    }

    /// An older kernel: the SoC's chip at base 0.
    private func pi3Kernel61() throws -> FakeSysfs {
        let sysfs = try FakeSysfs()
        try sysfs.addChip("gpiochip0", label: "pinctrl-bcm2835", base: 0, lines: 54)
        try sysfs.addChip("gpiochip504", label: "raspberrypi-exp-gpio", base: 504, lines: 8)
        return sysfs
    }

    @Test func aLabelResolvesFromTheChipsBase() throws {
        let sysfs = try pi4Kernel66()
        defer { sysfs.remove() }
        #expect(try GPIOLineName.chip("pinctrl-bcm2711", offset: 17).resolve(root: sysfs.path) == 529)
        #expect(try GPIOLineName.chip("raspberrypi-exp-gpio", offset: 2).resolve(root: sysfs.path) == 572)
    }

    @Test func aChipDirectoryNameWorksToo() throws {
        let sysfs = try pi4Kernel66()
        defer { sysfs.remove() }
        #expect(try GPIOLineName.chip("gpiochip512", offset: 27).resolve(root: sysfs.path) == 539)
    }

    @Test func onABaseZeroChipTheOffsetIsTheNumber() throws {
        let sysfs = try pi3Kernel61()
        defer { sysfs.remove() }
        #expect(try GPIOLineName.chip("pinctrl-bcm2835", offset: 17).resolve(root: sysfs.path) == 17)
        #expect(try GPIOLineName.number(17).resolve(root: sysfs.path) == 17)
    }

    @Test func anUnknownLabelListsTheChipsFound() throws {
        let sysfs = try pi4Kernel66()
        defer { sysfs.remove() }
        let chips = GPIOChip.list(root: sysfs.path)
        #expect(throws: GPIOError.unknownChip(name: "pinctrl-rp1", root: sysfs.path, chips: chips)) {
            _ = try GPIOLineName.chip("pinctrl-rp1", offset: 17).resolve(root: sysfs.path)
        }
        let text = GPIOError.unknownChip(name: "pinctrl-rp1", root: sysfs.path, chips: chips).description
        #expect(text.contains("'pinctrl-rp1'"))
        #expect(text.contains("gpiochip512 \"pinctrl-bcm2711\" (lines 512-569)"))
        #expect(text.contains("gpiochip570 \"raspberrypi-exp-gpio\" (lines 570-577)"))
    }

    @Test func aRootWithoutChipsSaysSo() throws {
        let sysfs = try FakeSysfs()
        defer { sysfs.remove() }
        #expect {
            _ = try GPIOLineName.chip("pinctrl-bcm2711", offset: 17).resolve(root: sysfs.path)
        } throws: { error in
            (error as? GPIOError)?.description.contains("no gpiochip directories") == true
        }
    }

    @Test func anOffsetPastTheChipsLinesIsRefused() throws {
        let sysfs = try pi4Kernel66()
        defer { sysfs.remove() }
        #expect(try GPIOLineName.chip("pinctrl-bcm2711", offset: 57).resolve(root: sysfs.path) == 569)
        let chip = GPIOChip(name: "gpiochip512", label: "pinctrl-bcm2711", base: 512, lineCount: 58)
        #expect(throws: GPIOError.offsetOutOfRange(offset: 58, chip: chip)) {
            _ = try GPIOLineName.chip("pinctrl-bcm2711", offset: 58).resolve(root: sysfs.path)
        }
        #expect(GPIOError.offsetOutOfRange(offset: 58, chip: chip).description.contains("offsets 0-57"))
    }

    @Test func aLabelTwoChipsShareIsAmbiguous() throws {
        let sysfs = try FakeSysfs()
        defer { sysfs.remove() }
        try sysfs.addChip("gpiochip600", label: "pcf8574", base: 600, lines: 8)
        try sysfs.addChip("gpiochip608", label: "pcf8574", base: 608, lines: 8)
        #expect {
            _ = try GPIOLineName.chip("pcf8574", offset: 1).resolve(root: sysfs.path)
        } throws: { error in
            guard case .ambiguousChip(_, _, let chips) = error as? GPIOError else { return false }
            return chips.map(\.name) == ["gpiochip600", "gpiochip608"]
        }
        #expect(try GPIOLineName.chip("gpiochip608", offset: 1).resolve(root: sysfs.path) == 609)
    }

    @Test func aBCMNumberOnAKernel66TreeGetsAdvice() throws {
        let sysfs = try pi4Kernel66()
        defer { sysfs.remove() }
        #expect {
            _ = try GPIOLineName.number(17).resolve(root: sysfs.path)
        } throws: { error in
            let text = (error as? GPIOError)?.description ?? ""
            return text.contains("GPIO 17 belongs to no gpiochip") && text.contains("pinctrl-bcm2711:17")
        }
        #expect(try GPIOLineName.number(529).resolve(root: sysfs.path) == 529)
    }

    @Test func onAPi5TheAdviceNamesTheHeadersPinController() throws {
        let sysfs = try FakeSysfs()
        defer { sysfs.remove() }
        try sysfs.addChip("gpiochip512", label: "gpio-brcmstb@107d508500", base: 512, lines: 32)
        try sysfs.addChip("gpiochip544", label: "gpio-brcmstb@107d517c00", base: 544, lines: 15)
        try sysfs.addChip("gpiochip571", label: "pinctrl-rp1", base: 571, lines: 54)
        #expect {
            _ = try GPIOLineName.number(17).resolve(root: sysfs.path)
        } throws: { error in
            (error as? GPIOError)?.description.contains("e.g. pinctrl-rp1:17") == true
        }
        #expect(try GPIOLineName.chip("pinctrl-rp1", offset: 17).resolve(root: sysfs.path) == 588)
    }

    @Test func aNumberIsTakenAsIsWhenNoChipsAreListedOrItIsExported() throws {
        let bare = try FakeSysfs()
        defer { bare.remove() }
        #expect(try GPIOLineName.number(17).resolve(root: bare.path) == 17)
        let sysfs = try pi4Kernel66()
        defer { sysfs.remove() }
        try sysfs.export(17)
        #expect(try GPIOLineName.number(17).resolve(root: sysfs.path) == 17)
    }

    @Test func aChipNameUnderAMissingRootSaysWhatToDo() {
        #expect(throws: GPIOError.rootMissing(root: "/nonexistent/gpio")) {
            _ = try GPIOLineName.chip("pinctrl-bcm2711", offset: 17).resolve(root: "/nonexistent/gpio")
        }
    }

    @Test func chipsAreListedByBaseAndBrokenOnesAreLeftOut() throws {
        let sysfs = try pi4Kernel66()
        defer { sysfs.remove() }
        try sysfs.addChip("gpiochip0", label: "early", base: 0, lines: 4)
        try FileManager.default.createDirectory(
            at: sysfs.root.appendingPathComponent("gpiochip999"), withIntermediateDirectories: true)
        #expect(GPIOChip.list(root: sysfs.path).map(\.name) == ["gpiochip0", "gpiochip512", "gpiochip570"])
        #expect(GPIOChip.list(root: "/nonexistent/gpio").isEmpty)
    }

    @Test func resolvedLinesCanBeClaimed() throws {
        let sysfs = try pi4Kernel66()
        defer { sysfs.remove() }
        try sysfs.export(529)
        try sysfs.export(539)
        let reset = try GPIOLineName(parsing: "pinctrl-bcm2711:17").resolve(root: sysfs.path)
        let ready = try GPIOLineName(parsing: "pinctrl-bcm2711:27").resolve(root: sysfs.path)
        let lines = try ESPResetLines(root: sysfs.path, resetLine: reset, readyLine: ready)
        try lines.holdInReset(true)
        #expect(try sysfs.read(529, "value") == "0")
    }
}
