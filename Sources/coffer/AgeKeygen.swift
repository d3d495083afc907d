#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Age
import Posix

struct AgeKeygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Generate an X25519 identity (same file format as age-keygen).",
        discussion: "With -y, print the recipient (public key) of each identity in INPUT instead."
    )

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the identity to FILE (created 0600, never overwritten).", valueName: "FILE"))
    var output: String?

    @Flag(name: .customShort("y"), help: "Convert an identity file to its recipients.")
    var convert = false

    @Argument(help: ArgumentHelp("Identity file for -y (default: standard input).", valueName: "INPUT"))
    var input: String?

    func validate() throws {
        if input != nil && !convert { throw ValidationError("INPUT is only used with -y") }
    }

    func run() throws {
        try Console.run {
            if convert { return try printRecipients() }
            let identity = X25519Identity.generate()
            let publicKey = identity.recipient.encoded
            let sink: FileDescriptorSink
            if let output {
                sink = try FileDescriptorSink(path: output, mode: 0o600, exclusive: true)
            } else {
                sink = FileDescriptorSink(fd: STDOUT_FILENO, name: "standard output")
            }
            try sink.write("# created: \(UTCTime.iso8601(time(nil)))\n# public key: \(publicKey)\n")
            try identity.encodedSecretKey().withUnsafeBytes { try sink.write($0) }
            try sink.write("\n")
            if output != nil || !Files.isTerminal(STDOUT_FILENO) {
                Console.info("Public key: \(publicKey)")
            }
        }
    }

    private func printRecipients() throws {
        let path = input ?? "/dev/stdin"
        let identities = try AgeIdentityFiles.load(path: path) {
            throw CommandFailure("\(path) is passphrase-protected; -y needs a plain identity file")
        }
        let out = FileDescriptorSink(fd: STDOUT_FILENO, name: "standard output")
        for identity in identities { try out.write(identity.recipient.encoded + "\n") }
    }
}
