/// A hand-written parser for the common forms of `coffer age encrypt` and
/// `coffer age decrypt`, tried before ArgumentParser.
///
/// Why: ArgumentParser's reflection costs ~2 ms per process here, as much as
/// age's whole run on a small file. The fast path accepts only unambiguous
/// forms — separate option values that do not start with `-`, at most one
/// positional, no help, no `=`, no bundled flags, valid combinations only —
/// and returns nil for anything else, so ArgumentParser still owns help,
/// every error message and every unusual spelling. A test checks that both
/// parsers agree on every form the fast path accepts.
enum FastPath {
    enum Job: Equatable {
        case encrypt(EncryptJob)
        case decrypt(DecryptJob)
    }

    static func parse(_ arguments: [String]) -> Job? {
        guard arguments.count >= 2, arguments[0] == "age" else { return nil }
        var tokens = arguments.dropFirst(2).makeIterator()
        var positional: [String] = []
        var options: [(name: String, value: String?)] = []
        let flags: Set<String> = ["-a", "--armor", "-p", "--passphrase"]
        while let token = tokens.next() {
            if !token.hasPrefix("-") {
                positional.append(token)
            } else if flags.contains(token) {
                options.append((token, nil))
            } else {
                guard let value = tokens.next(), !value.hasPrefix("-") else { return nil }
                options.append((token, value))
            }
        }
        guard positional.count <= 1 else { return nil }
        switch arguments[1] {
        case "encrypt":
            var job = EncryptJob(input: positional.first)
            for (name, value) in options {
                switch (name, value) {
                case ("-r", let v?): job.recipients.append(v)
                case ("-R", let v?): job.recipientFiles.append(v)
                case ("-o", let v?), ("--output", let v?): if job.output != nil { return nil }; job.output = v
                case ("--passphrase-file", let v?): if job.passphraseFile != nil { return nil }; job.passphraseFile = v
                case ("-a", nil), ("--armor", nil): job.armor = true
                case ("-p", nil), ("--passphrase", nil): job.passphrase = true
                default: return nil
                }
            }
            let hasRecipients = !job.recipients.isEmpty || !job.recipientFiles.isEmpty
            guard job.passphrase != hasRecipients else { return nil }
            return .encrypt(job)
        case "decrypt":
            var job = DecryptJob(input: positional.first)
            for (name, value) in options {
                switch (name, value) {
                case ("-i", let v?), ("--identity", let v?): job.identities.append(v)
                case ("-o", let v?), ("--output", let v?): if job.output != nil { return nil }; job.output = v
                case ("--passphrase-file", let v?): if job.passphraseFile != nil { return nil }; job.passphraseFile = v
                default: return nil
                }
            }
            return .decrypt(job)
        default:
            return nil
        }
    }
}
