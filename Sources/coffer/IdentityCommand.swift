import ArgumentParser
import Age
import AgeSSH
import CofferKit
import Posix
import SSHSig

struct IdentityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity",
        abstract: "Manage your private key (an age identity file kept outside the vault).",
        subcommands: [New.self, Show.self, Import.self, Passwd.self, Rotate.self]
    )

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "new", abstract: "Create an identity (refuses to replace one).")

        @Option(help: "A name recorded with the key (used in .recipients and commits).")
        var name: String?

        @Flag(help: "Protect the identity with a passphrase.")
        var protect = false

        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                let identity = X25519Identity.generate()
                let passphrase = protect ? try options.passphrase.source.read(prompt: "New passphrase: ", confirm: true) : nil
                try options.store.create(identity, name: name ?? VaultSettings.locator.userName, passphrase: passphrase, workFactor: EncryptJob.workFactor)
                Console.info("created identity \(options.store.path)")
                print(identity.recipient.encoded)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Print your public keys: age1… (which others add as a reader), then your signing key.",
            discussion: """
                The age keys come first, the one in use on the first line (retired ones after it); \
                the last line is your signing key as an OpenSSH public key line, \
                `ssh-ed25519 AAAA… coffer:NAME`, which others add with `coffer signers add`. \
                Never asks for a passphrase when the public keys are known: an unprotected identity \
                shows its own; a protected one has them in IDENTITY.pub beside it, written by coffer \
                and checked against the key each time it is unlocked.
                """
        )

        @OptionGroup var options: VaultOptions

        /// Thrown instead of asking: the file is passphrase-protected.
        private struct Protected: Error {}

        /// An SSH key (it reads and signs as itself: one line is both), or a
        /// file with a plugin's keys (their recipients are the plugin's to tell).
        private func showUnmanaged(_ store: IdentityStore) throws {
            let source = options.passphrase.source
            let identities = try store.unlock(plugins: CommandPlugins.batch) {
                try source.read(prompt: "Passphrase for identity \(store.path): ")
            }
            for case let ssh as SSHEd25519Identity in identities {
                print(IdentityCommand.signingLine(ssh.recipient.key, name: store.recordedName()))
            }
            let own = identities.compactMap { $0 as? X25519Identity }
            for identity in own { print(identity.recipient.encoded) }
            if !own.isEmpty { print(IdentityCommand.signingLine(try store.signingKey(identities: own).publicKey, name: store.recordedName())) }
            for case let plugin as PluginReaderIdentity in identities {
                Console.info("coffer: a key held by the plugin age-plugin-\(plugin.identity.name); its recipient is the plugin's to tell")
            }
        }

        func run() throws {
            try Console.run {
                let store = options.store
                let loaded: (identities: [X25519Identity], name: String?)
                do {
                    loaded = try store.loadWithName { throw Protected() }
                } catch VaultError.sshIdentityNotManaged, VaultError.pluginIdentityNotManaged {
                    try showUnmanaged(store)
                    return
                } catch is Protected {
                    if let keys = try store.sidecarPublicKeys(), let signing = try store.signingPublicKey() {
                        for key in keys { print(key.encoded) }
                        print(IdentityCommand.signingLine(signing, name: store.recordedName()))
                        return
                    }
                    let source = options.passphrase.source
                    loaded = try store.loadWithName { try source.read(prompt: "Passphrase for identity \(store.path): ") }
                }
                // A sidecar naming other keys is refused before any key is shown. A
                // missing one (or one without the signing key) is written, so that a
                // protected identity's next `show` needs no passphrase.
                try store.checkSidecar(loaded.identities)
                let signing = try store.signingKey(identities: loaded.identities, name: loaded.name)
                for identity in loaded.identities { print(identity.recipient.encoded) }
                print(IdentityCommand.signingLine(signing.publicKey, name: loaded.name))
            }
        }
    }

    /// `ssh-ed25519 AAAA… coffer:NAME`: the identity's name, else the user's.
    static func signingLine(_ key: SSHEd25519PublicKey, name: String?) -> String {
        let shown = (name ?? VaultSettings.locator.userName).map(TerminalText.escape)
        return key.authorizedKey + (shown.map { " coffer:" + $0 } ?? "")
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Use an existing age identity file (e.g. from age-keygen), or an SSH key, as your identity.",
            discussion: """
                --ssh KEY takes an OpenSSH ssh-ed25519 private key (an unencrypted one can also be used \
                directly with --identity). One protected by a passphrase is opened by `ssh-keygen -p` on \
                a private copy that is removed at once; the key is then stored as your identity, \
                protected by a coffer passphrase (--protect, or the one given with --passphrase-file). \
                It reads files sealed for its `ssh-ed25519` line and signs with its own key.
                """)

        @Argument(help: ArgumentHelp("The identity file to import.", valueName: "FILE"))
        var file: String

        @Option(help: "A name recorded with the key.")
        var name: String?

        @Flag(help: "FILE is an OpenSSH ssh-ed25519 private key (id_ed25519).")
        var ssh = false

        @Option(name: .customLong("key-passphrase-file"),
                help: ArgumentHelp("Read the SSH key's own passphrase from FILE instead of the terminal.", valueName: "FILE"))
        var keyPassphraseFile: String?

        @Flag(help: "Protect the new identity with a passphrase (asked, or --passphrase-file).")
        var protect = false

        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                if ssh { return try importSSH() }
                let source = options.passphrase.source
                let identities = try IdentityLoader.load(path: file) { try source.read(prompt: "Passphrase for \(file): ") }
                guard identities.count == 1 else { throw CommandFailure("\(file) holds \(identities.count) identities; import one") }
                try options.store.create(identities[0], name: name ?? VaultSettings.locator.userName, passphrase: nil, workFactor: EncryptJob.workFactor)
                Console.info("imported identity into \(options.store.path)")
                print(identities[0].recipient.encoded)
            }
        }

        private func importSSH() throws {
            let store = options.store
            if store.exists { throw VaultError.identityExists(path: store.path) }
            var key = try Files.readSecretRegularFile(path: file, limit: 64 << 10)
            guard SSHEd25519Identity.isOpenSSHPrivateKey(key) else {
                throw CommandFailure("\(TerminalText.escape(file)) is not an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY-----)")
            }
            // A key its owner protected stays protected: stored sealed, never in clear.
            var wasProtected = false
            do {
                _ = try SSHEd25519Identity(openSSHPrivateKey: key)
            } catch AgeSSHError.encryptedKey {
                let old = try PassphraseSource(file: keyPassphraseFile).read(prompt: "Passphrase of the SSH key \(file): ")
                key = try SSHKeyDecryption.decrypt(key, passphrase: old, besides: store.path)
                wasProtected = true
            }
            let identity = try SSHEd25519Identity(openSSHPrivateKey: key)
            let passphrase = protect || wasProtected || options.passphrase.file != nil
                ? try options.passphrase.source.read(prompt: "New coffer passphrase for this identity: ", confirm: true) : nil
            try store.createSSH(key, name: name ?? VaultSettings.locator.userName, passphrase: passphrase, workFactor: EncryptJob.workFactor)
            Console.info("imported the SSH key into \(store.path)" + (passphrase == nil ? " (unprotected; add a passphrase with --protect)" : ""))
            print(IdentityCommand.signingLine(identity.recipient.key, name: name))
        }
    }

    struct Passwd: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "passwd", abstract: "Set, change or remove the identity's passphrase.")

        @Flag(help: "Remove the passphrase (store the key unprotected, mode 0600).")
        var remove = false

        @Option(name: .customLong("new-passphrase-file"), help: ArgumentHelp("Read the new passphrase from FILE instead of the terminal.", valueName: "FILE"))
        var newPassphraseFile: String?

        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                let source = options.passphrase.source
                // Asked once, though an SSH identity's file is opened twice.
                var typed: SecureBytes?
                let current = {
                    if let typed { return typed }
                    let passphrase = try source.read(prompt: "Current passphrase: ")
                    typed = passphrase
                    return passphrase
                }
                let newPassphrase = { remove ? nil : try PassphraseSource(file: newPassphraseFile).read(prompt: "New passphrase: ", confirm: true) }
                do {
                    let (identities, name) = try options.store.loadWithName(passphrase: current)
                    try options.store.replace(with: identities, name: name, passphrase: try newPassphrase(), workFactor: EncryptJob.workFactor)
                } catch VaultError.sshIdentityNotManaged {
                    // An SSH key `identity import --ssh` stored; any other is refused there.
                    try options.store.repassSSH(passphrase: current, to: try newPassphrase(), workFactor: EncryptJob.workFactor)
                }
                Console.info(remove ? "passphrase removed" : "passphrase set")
            }
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate",
            abstract: "Replace your key with a new one in every scope of the vault where it reads, in one commit.",
            discussion: """
                The secrets you read get fresh data keys, sealed for the new key; your signing key is \
                replaced too, and in .signers the new one takes the old one's place. The identity \
                file is rewritten first with the new key in front and the old one kept behind it \
                (still needed for older versions, and until the commit lands); if the commit \
                fails, the file is put back. Run it in each vault you read.
                """
        )

        @OptionGroup var options: VaultOptions

        func run() throws {
            try Console.run {
                let vault = try options.vault()
                let store = options.store
                let source = options.passphrase.source
                var passphrase: SecureBytes?
                let (identities, name) = try store.loadWithName {
                    let entered = try source.read(prompt: "Passphrase for identity \(store.path): ")
                    passphrase = entered
                    return entered
                }
                let rotation = try ProgressLine.around("re-keying") { progress in
                    try vault.rotateIdentity(in: store, identities: identities, name: name, passphrase: passphrase,
                                             workFactor: EncryptJob.workFactor, progress: progress)
                }
                let outcome = rotation.outcome
                let scopes = rotation.scopes.map(\.description).joined(separator: ", ")
                Console.info("new key in \(scopes); re-keyed \(Plural.secrets(outcome.rekeyed.count)); the old key stays in \(store.path) for older versions")
                let signers = Set(rotation.replacedSigners.map(\.name)).sorted().map(TerminalText.escape)
                Console.info("new signing key \(rotation.newSigningKey.fingerprint)"
                             + (signers.isEmpty ? " (no key of yours was in .signers)" : " in .signers for \(signers.joined(separator: ", "))"))
                print(rotation.newKey.encoded)
                Console.reportPending(outcome)
            }
        }
    }
}
