#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Age
import Posix

struct AgeEncrypt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encrypt",
        abstract: "Encrypt INPUT (default: standard input) to age recipients or a passphrase."
    )

    @Option(name: .customShort("r"), help: ArgumentHelp("Encrypt to this recipient (age1…); repeatable.", valueName: "RECIPIENT"))
    var recipients: [String] = []

    @Option(name: .customShort("R"), help: ArgumentHelp("Encrypt to the recipients listed in FILE; repeatable.", valueName: "FILE"))
    var recipientFiles: [String] = []

    @Flag(name: .shortAndLong, help: "Encrypt with a passphrase (scrypt); cannot be combined with -r or -R.")
    var passphrase = false

    @Flag(name: [.customShort("a"), .long], help: "Write PEM-style ASCII armor instead of binary.")
    var armor = false

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the result to FILE (default: standard output).", valueName: "FILE"))
    var output: String?

    @OptionGroup var passphraseOptions: PassphraseOptions

    @Argument(help: ArgumentHelp("File to encrypt (default: standard input).", valueName: "INPUT"))
    var input: String?

    func validate() throws {
        if passphrase && !(recipients.isEmpty && recipientFiles.isEmpty) {
            throw ValidationError("-p cannot be combined with -r or -R")
        }
        if !passphrase && recipients.isEmpty && recipientFiles.isEmpty {
            throw ValidationError("missing recipients: give -r, -R or -p")
        }
    }

    var job: EncryptJob {
        EncryptJob(recipients: recipients, recipientFiles: recipientFiles, passphrase: passphrase, armor: armor,
                   output: output, input: input, passphraseFile: passphraseOptions.file)
    }

    func run() throws { try job.run() }
}

/// What `coffer age encrypt` does once its arguments are known, whichever
/// parser (ArgumentParser or the start-up fast path) produced them.
struct EncryptJob: Equatable {
    var recipients: [String] = []
    var recipientFiles: [String] = []
    var passphrase = false
    var armor = false
    var output: String?
    var input: String?
    var passphraseFile: String?

    func run() throws {
        try Console.run {
            var keys: [Recipient] = []
            if passphrase {
                let secret = try PassphraseSource(file: passphraseFile).read(prompt: "Enter passphrase: ", confirm: true)
                keys.append(try ScryptRecipient(passphrase: secret, workFactor: EncryptJob.workFactor))
            }
            for r in recipients { keys.append(try X25519Recipient(parsing: r)) }
            for file in recipientFiles {
                let text = String(decoding: try Files.read(path: file), as: UTF8.self)
                keys += try KeyFile.parseRecipients(text)
            }
            if output == nil && !armor && Files.isTerminal(STDOUT_FILENO) {
                throw CommandFailure("refusing to write binary ciphertext to a terminal", hint: "use -a for armor or -o FILE")
            }
            let source = try input.map { try FileDescriptorSource(path: $0) }
                ?? FileDescriptorSource(fd: STDIN_FILENO, name: "standard input")
            // -o is written atomically: a failure leaves no partial file, and
            // `-o X X` encrypts X in place instead of destroying it.
            let file = try output.map { try AtomicFileSink(path: $0, mode: 0o644) }
            let sink: ByteSink = file ?? FileDescriptorSink(fd: STDOUT_FILENO, name: "standard output")
            let writer = try AgeWriter(recipients: keys, armored: armor, to: sink)
            try writer.write(from: source)
            try writer.finish()
            try file?.commit()
        }
    }

    /// The scrypt cost for -p. Debug builds (the test suite) may lower it through
    /// COFFER_TEST_SCRYPT_WORK_FACTOR; release builds ignore the variable.
    static var workFactor: Int {
        #if DEBUG
        if let value = getenv("COFFER_TEST_SCRYPT_WORK_FACTOR"), let n = Int(String(cString: value)) { return n }
        #endif
        return ScryptRecipient.defaultWorkFactor
    }
}
