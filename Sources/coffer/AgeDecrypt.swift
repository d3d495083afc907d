#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Age
import Posix

struct AgeDecrypt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decrypt",
        abstract: "Decrypt an age file with identity files or, if it is passphrase-encrypted, a passphrase.",
        discussion: """
            Armored input is detected. With -o, the plaintext is written to a new 0600 file that \
            replaces FILE only once the whole payload has authenticated; on failure FILE is left as it was.
            """
    )

    @Option(name: .shortAndLong, help: ArgumentHelp("Use the identities in FILE (age-keygen format, may be passphrase-protected); repeatable.", valueName: "FILE"))
    var identity: [String] = []

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the plaintext to FILE, mode 0600, replaced only on success (default: standard output).", valueName: "FILE"))
    var output: String?

    @OptionGroup var passphraseOptions: PassphraseOptions

    @Argument(help: ArgumentHelp("File to decrypt (default: standard input).", valueName: "INPUT"))
    var input: String?

    var job: DecryptJob {
        DecryptJob(identities: identity, output: output, input: input, passphraseFile: passphraseOptions.file)
    }

    func run() throws { try job.run() }
}

/// What `coffer age decrypt` does once its arguments are known, whichever
/// parser (ArgumentParser or the start-up fast path) produced them.
struct DecryptJob: Equatable {
    var identities: [String] = []
    var output: String?
    var input: String?
    var passphraseFile: String?

    func run() throws {
        try Console.run {
            let passphrases = PassphraseSource(file: passphraseFile)
            var keys: [Identity] = []
            for path in identities {
                keys += try AgeIdentityFiles.loadAny(path: path) {
                    try passphrases.read(prompt: "Enter passphrase for identity file \(path): ")
                }
            }
            if identities.isEmpty {
                keys.append(PromptingScryptIdentity(source: passphrases))
            }
            let source = try input.map { try FileDescriptorSource(path: $0) }
                ?? FileDescriptorSource(fd: STDIN_FILENO, name: "standard input")
            let reader = try AgeReader(from: source, identities: keys)
            if let output {
                let file = try AtomicFileSink(path: output)
                try reader.write(to: file)
                try file.commit()
            } else {
                try reader.write(to: FileDescriptorSink(fd: STDOUT_FILENO, name: "standard output"))
            }
        }
    }
}

/// Asks for a passphrase only when the file turns out to be passphrase-encrypted.
struct PromptingScryptIdentity: Identity {
    let source: PassphraseSource

    func unwrap(_ stanzas: [Stanza]) throws -> UnwrapResult {
        guard stanzas.contains(where: { $0.type == "scrypt" }) else { return .notMine }
        let passphrase = try source.read(prompt: "Enter passphrase: ")
        return try ScryptIdentity(passphrase: passphrase).unwrap(stanzas)
    }
}
