#if canImport(Glibc)
import Glibc
#endif
import Posix

/// What wires stock git's merges to coffer in one clone, none of it
/// versioned: the committed `.gitattributes` says `merge=binary` (a clone
/// without coffer's driver gets a whole side, never conflict markers), and
/// `.git/info/attributes`, which git reads after it and which wins, says
/// `merge=coffer` where this clone's `.git/config` names the driver.
enum MergeWiring {
    static let driverName = "coffer"

    /// A pattern without a slash matches at any depth (`.recipients` of every
    /// scope); `/.signers` is the root one only, the only one trust reads.
    static let attributeLines = [
        "*.age merge=\(driverName)",
        "\(RecipientsFile.fileName) merge=\(driverName)",
        "/\(SignersFile.fileName) merge=\(driverName)",
    ]
    static let marker = "# coffer: "
    static let attributesText = marker + "sealed files and trust files merge through coffer's driver (coffer setup)\n"
        + attributeLines.joined(separator: "\n") + "\n"

    /// `.git/info/attributes` with coffer's lines at the end and the user's
    /// other lines kept; the same text again when they are there already.
    static func attributes(from current: String) -> String {
        let kept = current.split(separator: "\n", omittingEmptySubsequences: false).filter { line in
            !line.hasPrefix(marker) && !attributeLines.contains(String(line))
        }
        var head = kept.joined(separator: "\n")
        while head.hasSuffix("\n") { head.removeLast() }
        return (head.isEmpty ? "" : head + "\n") + attributesText
    }

    /// The driver command git runs; `--` so a path starting with `-` stays a path.
    static func driverCommand(executable: String) -> String {
        "\(shellQuoted(executable)) merge-driver -- %O %A %B %P"
    }

    /// The post-merge hook: re-seals what a stock merge left sealed for old
    /// readers. It names its vault (a `COFFER_VAULT` set for another one must
    /// not be re-sealed) and never fails the merge, which is done already.
    static func hook(executable: String) -> String {
        """
        #!/bin/sh
        \(hookMarker)
        # After a merge git made, secrets whose scope's readers changed on the
        # other side are still sealed for the old readers: re-seal them.
        \(shellQuoted(executable)) reseal --vault "$(git rev-parse --show-toplevel)" || \\
            echo "coffer: hint: run \\`coffer reseal\\` once the problem above is settled" >&2
        exit 0

        """
    }

    static let hookMarker = "# coffer: post-merge hook (coffer setup)"

    /// `'text'`, with any `'` inside closed, escaped and reopened.
    static func shellQuoted(_ text: String) -> String {
        "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }
}

/// What `setup` did about the post-merge hook.
public enum HookInstall: Equatable, Sendable {
    /// Written (or rewritten: it was coffer's).
    case installed(path: String)
    /// A hook the user wrote is there: left as it is.
    case userHookKept(path: String)
}

extension Vault {
    /// Writes coffer's lines into `.git/info/attributes`, keeping the user's.
    func wireMergeAttributes() throws {
        let path = gitDirectory + "/info/attributes"
        let current = (try? Files.readRegularFile(path: path, limit: 1 << 20)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let wanted = MergeWiring.attributes(from: current)
        guard wanted != current else { return }
        try Files.makeDirectories(gitDirectory + "/info")
        let sink = try AtomicFileSink(path: path, mode: 0o644, writingThrough: false)
        try Array(wanted.utf8).withUnsafeBytes { try sink.write($0) }
        try sink.commit()
    }

    /// Installs the post-merge hook unless a hook that is not coffer's is there.
    func installPostMergeHook(executable: String) throws -> HookInstall {
        let path = gitDirectory + "/hooks/post-merge"
        var info = stat()
        if lstat(path, &info) == 0 {
            let current = (try? Files.readRegularFile(path: path, limit: 1 << 20)).map { String(decoding: $0, as: UTF8.self) }
            guard let current, current.contains(MergeWiring.hookMarker) else { return .userHookKept(path: path) }
        }
        try Files.makeDirectories(gitDirectory + "/hooks")
        let sink = try AtomicFileSink(path: path, mode: 0o755, writingThrough: false)
        try Array(MergeWiring.hook(executable: executable).utf8).withUnsafeBytes { try sink.write($0) }
        try sink.commit()
        return .installed(path: path)
    }
}
