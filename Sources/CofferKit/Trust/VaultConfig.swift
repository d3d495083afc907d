/// The vault's committed settings: `.coffer-config` at its root, lines of
/// `key = value` (`#` comments). Today one key: `signing = on|off`. A
/// change to it is a trust change like `.signers`: it counts only when a
/// trusted signer signed it (see `TrustChain`).
public struct VaultConfig: Equatable, Sendable {
    public static let fileName = ".coffer-config"
    static let maxSize = 64 * 1024

    /// Whether coffer signs the vault's commits (default on).
    public var signing = true

    public init(signing: Bool = true) { self.signing = signing }

    init(parsing text: String, path: String) throws {
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimming(" \t\r")
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimming(" \t") }
            guard parts.count == 2, parts[0] == "signing", parts[1] == "on" || parts[1] == "off" else {
                throw VaultError.invalidConfig(path: path, line: n + 1)
            }
            signing = parts[1] == "on"
        }
    }

    var text: String {
        """
        # The vault's settings (coffer config). Changing one is a trusted change:
        # it counts only when signed by a signer in .signers.
        signing = \(signing ? "on" : "off")

        """
    }
}
