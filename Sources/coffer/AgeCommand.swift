import ArgumentParser

/// `coffer age …`: the age format as plumbing, usable without the `age` tool.
struct AgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "age",
        abstract: "Encrypt and decrypt age v1 files (interoperable with the age CLI).",
        subcommands: [AgeKeygen.self, AgeEncrypt.self, AgeDecrypt.self]
    )
}

/// Options shared by commands that may need a passphrase.
struct PassphraseOptions: ParsableArguments {
    @Option(name: .customLong("passphrase-file"),
            help: ArgumentHelp("Read the passphrase from the first line of FILE instead of the terminal (e.g. /dev/fd/3).",
                               valueName: "FILE"))
    var file: String?

    var source: PassphraseSource { PassphraseSource(file: file) }
}
