/// The GPIO line numbers `mqttbridged` and `esp-sim` agree on when none are given, so that
/// `mqttbridged --device PATH --gpio-root DIR` works against `esp-sim --link PATH --gpio-root DIR`.
///
/// They are BCM numbers of a Raspberry Pi header: GPIO17 (pin 11) drives the ESP's RST pin and
/// GPIO27 (pin 13) reads the firmware's READY output.
public enum GPIODefaults {
    /// Host output wired to the ESP8266 RST pin (active low).
    public static let resetLine = 17
    /// Host input wired to the firmware's READY output (high while the firmware runs).
    public static let readyLine = 27
    /// Where the kernel's sysfs GPIO interface lives.
    public static let sysfsRoot = "/sys/class/gpio"
}
