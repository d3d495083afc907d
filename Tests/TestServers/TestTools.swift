import Foundation

/// A program a test server needs is not installed. Test targets turn it
/// into a skip locally and a failure when `CI=true` (see `isCI`).
public struct MissingTool: Error, CustomStringConvertible {
    public let name: String
    public let package: String
    public var description: String { "`\(name)` is not installed (Debian: apt-get install \(package))" }
}

/// A test server's setup step failed (a daemon exited, a port never opened).
public struct ServerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Finding and running the stock tools test servers are made of.
public enum TestTools {
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    static let packages = [
        "sshd": "openssh-server", "ssh-agent": "openssh-client", "ssh-add": "openssh-client",
        "ssh-keygen": "openssh-client", "lighttpd": "lighttpd", "git": "git",
    ]

    /// The absolute path of `name`: on PATH, or in /usr/sbin and /sbin
    /// (where sshd and lighttpd live, often off a normal user's PATH).
    public static func require(_ name: String) throws -> String {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw MissingTool(name: name, package: packages[name] ?? name)
    }

    /// Runs `argv` to its end; throws with its stderr unless it exits 0. Returns stdout.
    @discardableResult
    public static func run(_ argv: [String], environment: [String: String] = [:], input: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe(), inPipe = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input == nil ? FileHandle.nullDevice : inPipe
        try process.run()
        if let input {
            inPipe.fileHandleForWriting.write(Data(input.utf8))
            try inPipe.fileHandleForWriting.close()
        }
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ServerError("\(argv.joined(separator: " ")) exited \(process.terminationStatus): "
                              + String(decoding: errors, as: UTF8.self))
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// A tree object written as given into the repository at `repository`
    /// (`git hash-object -t tree --literally`, which skips git's checks):
    /// `entries` as (mode, name, object id in hex), in the order given, for
    /// trees only a hand or a hostile push makes. `scratch`: a directory for
    /// the object's bytes. Returns the tree's id.
    public static func handMadeTree(_ entries: [(String, String, String)], in repository: String, scratch: String) throws -> String {
        var bytes: [UInt8] = []
        for (mode, name, hex) in entries {
            bytes += Array("\(mode) \(name)".utf8) + [0]
            let digits = Array(hex.utf8)
            for at in stride(from: 0, to: digits.count, by: 2) { bytes.append(UInt8(String(decoding: digits[at..<at + 2], as: UTF8.self), radix: 16)!) }
        }
        let file = scratch + "/tree-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return try run([require("git"), "-C", repository, "hash-object", "-t", "tree", "-w", "--literally", file])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A fresh temporary directory, symlinks resolved.
    public static func temporaryDirectory(_ prefix: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.resolvingSymlinksInPath().path
    }

    /// The name of the user this process runs as.
    public static var userName: String {
        getpwuid(getuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? "root"
    }
}
