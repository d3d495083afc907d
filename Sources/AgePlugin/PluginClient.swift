#if canImport(Glibc)
import Glibc
#endif
import Age
import Posix

/// The client side of the age plugin protocol (C2SP age-plugin.md), built
/// for batches: one `wrap` or `unwrap` runs ONE plugin process per plugin
/// name for all its files, so a hardware key asks for its PIN or touch once
/// per operation, not once per file. File keys cross the pipes only from
/// and into wiped buffers, and never appear in an error.
public final class PluginClient {
    /// Where plugin requests (`msg`, `confirm`, `request-…`) reach the user.
    public let prompter: PluginPrompter
    /// How long one plugin message may take to arrive (or be taken), in seconds.
    public var timeout: Double
    /// The directories searched for `age-plugin-NAME` (`:`-separated); only
    /// absolute ones count, so the working directory is never searched.
    public var searchPath: String
    /// Variables set for the plugin on top of this process's environment.
    public var environment: [String: String]
    /// Whether phase 1 carries a grease stanza, as age-plugin.md allows, so
    /// plugins that choke on unknown commands show up early.
    public var sendsGrease = true
    /// Plugin processes started so far by this client.
    public private(set) var sessionsStarted = 0

    public init(prompter: PluginPrompter = NoPrompter(), searchPath: String? = nil, timeout: Double = 60,
                environment: [String: String] = [:]) {
        self.prompter = prompter
        self.searchPath = searchPath ?? getenv("PATH").map { String(cString: $0) } ?? ""
        self.timeout = timeout
        self.environment = environment
    }

    /// What a wrap produced: stanzas per file index, and the label set every
    /// plugin gave them (empty when none sent `labels`).
    public struct Wrapped {
        public let stanzas: [[Stanza]]
        public let labels: Set<String>
    }

    /// recipient-v1: wraps every file key to every recipient (and to plugin
    /// identities used as recipients), one session per plugin name. Returns
    /// the stanzas per file index. Plugins that label their stanzas
    /// differently cannot share the files (`labelsDiffer`).
    public func wrap(fileKeys: [SecureBytes], for recipients: [PluginRecipient],
                     identities: [PluginIdentity] = []) throws -> [[Stanza]] {
        try wrapLabeled(fileKeys: fileKeys, for: recipients, identities: identities).stanzas
    }

    /// `wrap`, with the label set the plugins gave their stanzas, for a
    /// caller that mixes them with stanzas of its own (those of X25519 and
    /// passphrases have none, or one of their own).
    public func wrapLabeled(fileKeys: [SecureBytes], for recipients: [PluginRecipient],
                            identities: [PluginIdentity] = []) throws -> Wrapped {
        var stanzas = [[Stanza]](repeating: [], count: fileKeys.count)
        var labelSets: [(plugin: String, labels: Set<String>)] = []
        guard !fileKeys.isEmpty else { return Wrapped(stanzas: stanzas, labels: []) }
        for name in PluginClient.names(recipients.map(\.name) + identities.map(\.name)) {
            let mine = recipients.enumerated().filter { $0.element.name == name }
            let myIdentities = identities.enumerated().filter { $0.element.name == name }
            let session = try open(name, stateMachine: "recipient-v1")
            for (_, recipient) in mine { try session.send(Stanza(type: "add-recipient", arguments: [recipient.encoded])) }
            for (_, identity) in myIdentities {
                try session.send(encoded: SecretMessage.encode(type: "add-identity", secretArgument: identity.encoding))
            }
            try sendGrease(session)
            for key in fileKeys { try session.send(encoded: SecretMessage.encode(type: "wrap-file-key", body: key)) }
            try session.send(Stanza(type: "extension-labels"))
            try session.send(Stanza(type: "done"))

            var got = [[Stanza]](repeating: [], count: fileKeys.count)
            var labels: Set<String>?
            phase2: while true {
                let message = try session.receive()
                let args = message.arguments
                switch message.type {
                case "recipient-stanza":
                    guard args.count >= 2, let file = PluginClient.index(args[0], below: fileKeys.count) else {
                        throw session.fail(.malformed("recipient-stanza without a valid file index and stanza type"))
                    }
                    got[file].append(Stanza(type: args[1], arguments: Array(args[2...]), body: message.body))
                    try session.send(Stanza(type: "ok"))
                case "labels":
                    guard labels == nil, Set(args).count == args.count else {
                        throw session.fail(.malformed("labels sent twice or with a label repeated"))
                    }
                    labels = Set(args)
                    try session.send(Stanza(type: "ok"))
                case "error":
                    throw PluginClient.reported(message, on: session) { args in
                        switch (args.first, args.count) {
                        case ("recipient", 2): return PluginClient.index(args[1], below: mine.count).map { .recipient(mine[$0].offset) }
                        case ("identity", 2): return PluginClient.index(args[1], below: myIdentities.count).map { .identity(myIdentities[$0].offset) }
                        default: return nil
                        }
                    }
                case "done":
                    break phase2
                default:
                    try answer(message, on: session)
                }
            }
            session.finish()
            if let file = got.firstIndex(where: \.isEmpty) {
                throw PluginError.failed(plugin: name, why: .noStanza(file: file), stderr: "")
            }
            for i in got.indices { stanzas[i] += got[i] }
            labelSets.append((name, labels ?? []))
        }
        if let first = labelSets.first, labelSets.contains(where: { $0.labels != first.labels }) {
            throw PluginError.labelsDiffer(plugins: labelSets.map(\.plugin))
        }
        return Wrapped(stanzas: stanzas, labels: labelSets.first?.labels ?? [])
    }

    /// identity-v1: offers every file's stanzas to the identities, one
    /// session per plugin name; a file one plugin opened is not offered to
    /// the next. Returns the file keys by file index; files no identity
    /// could open are absent.
    public func unwrap(files: [[Stanza]], with identities: [PluginIdentity]) throws -> [Int: SecureBytes] {
        var keys: [Int: SecureBytes] = [:]
        for name in PluginClient.names(identities.map(\.name)) {
            // Session-local file indices run 0, 1, 2… over the files still closed.
            let pending = files.indices.filter { keys[$0] == nil && !files[$0].isEmpty }
            guard !pending.isEmpty else { break }
            let mine = identities.enumerated().filter { $0.element.name == name }
            let session = try open(name, stateMachine: "identity-v1")
            for (_, identity) in mine {
                try session.send(encoded: SecretMessage.encode(type: "add-identity", secretArgument: identity.encoding))
            }
            try sendGrease(session)
            for (local, file) in pending.enumerated() {
                for stanza in files[file] {
                    try session.send(Stanza(type: "recipient-stanza", arguments: [String(local), stanza.type] + stanza.arguments,
                                            body: stanza.body))
                }
            }
            try session.send(Stanza(type: "done"))

            phase2: while true {
                var message = try session.receive()
                let args = message.arguments
                switch message.type {
                case "file-key":
                    defer { SecretMessage.wipe(&message.body) }
                    guard args.count == 1, let local = PluginClient.index(args[0], below: pending.count) else {
                        throw session.fail(.malformed("file-key without a valid file index"))
                    }
                    guard message.body.count == 16 else { throw session.fail(.malformed("a file key that is not 16 bytes")) }
                    guard keys[pending[local]] == nil else { throw session.fail(.malformed("two file keys for file \(pending[local])")) }
                    keys[pending[local]] = SecureBytes(copying: message.body)
                    try session.send(Stanza(type: "ok"))
                case "error":
                    throw PluginClient.reported(message, on: session) { args in
                        switch (args.first, args.count) {
                        case ("identity", 2): return PluginClient.index(args[1], below: mine.count).map { .identity(mine[$0].offset) }
                        case ("stanza", 3):
                            guard let local = PluginClient.index(args[1], below: pending.count),
                                  let stanza = PluginClient.index(args[2], below: files[pending[local]].count) else { return nil }
                            return .stanza(file: pending[local], stanza: stanza)
                        default: return nil
                        }
                    }
                case "done":
                    break phase2
                default:
                    try answer(message, on: session)
                }
            }
            session.finish()
        }
        return keys
    }

    // MARK: sessions

    private func open(_ name: String, stateMachine: String) throws -> PluginProcess {
        let path: [UInt8]
        do {
            path = try ProgramLaunch.locate(Array(PluginName.binary(name).utf8), searchPath: Array(searchPath.utf8), absoluteOnly: true)
        } catch {
            throw PluginError.notFound(plugin: name)
        }
        let process = try PluginProcess(path: String(decoding: path, as: UTF8.self), plugin: name, stateMachine: stateMachine,
                                        environment: ProcessEnvironment.entries(overriding: environment), timeout: timeout)
        sessionsStarted += 1
        return process
    }

    /// Answers the plugin's requests to the user, and `unsupported` to any
    /// command this client does not know (grease among them).
    private func answer(_ message: Stanza, on session: PluginProcess) throws {
        let text = String(decoding: message.body, as: UTF8.self)
        let fail = Stanza(type: "fail")
        switch message.type {
        case "msg":
            try session.send((try? prompter.message(text)) != nil ? Stanza(type: "ok") : fail)
        case "confirm":
            let choices = message.arguments.map { Base64.decode(Array($0.utf8)).map { String(decoding: $0, as: UTF8.self) } }
            guard (1...2).contains(choices.count), let yes = choices[0], choices.count == 1 || choices[1] != nil else {
                throw session.fail(.malformed("confirm without valid base64 choices"))
            }
            let no = choices.count == 2 ? choices[1] : nil
            switch try? prompter.confirm(text, yes: yes, no: no) {
            case true?: try session.send(Stanza(type: "ok", arguments: ["yes"]))
            case false? where no != nil: try session.send(Stanza(type: "ok", arguments: ["no"]))
            default: try session.send(fail)
            }
        case "request-public":
            if let value = try? prompter.requestPublic(text) {
                try session.send(Stanza(type: "ok", body: Array(value.utf8)))
            } else {
                try session.send(fail)
            }
        case "request-secret":
            if let value = try? prompter.requestSecret(text) {
                try session.send(encoded: SecretMessage.encode(type: "ok", body: value))
            } else {
                try session.send(fail)
            }
        default:
            try session.send(Stanza(type: "unsupported"))
        }
    }

    /// The plugin's `error`, acknowledged, as the error the session ends
    /// with; `subject` reads what it is about from its arguments (nil: the
    /// plugin's own trouble, or an index out of range).
    private static func reported(_ message: Stanza, on session: PluginProcess,
                                 subject: ([String]) -> PluginError.Subject?) -> PluginError {
        try? session.send(Stanza(type: "ok"))
        return session.reported(subject(message.arguments) ?? .internal, message: String(decoding: message.body, as: UTF8.self))
    }

    private func sendGrease(_ session: PluginProcess) throws {
        guard sendsGrease else { return }
        let arguments = (0..<RandomBytes.uniform(below: 3)).map { _ in RandomBytes.hex(count: 2) }
        try session.send(Stanza(type: "grease-" + RandomBytes.hex(count: 4), arguments: arguments,
                                body: RandomBytes.generate(count: Int(RandomBytes.uniform(below: 80)))))
    }

    /// Plugin names in the order they first appear.
    static func names(_ all: [String]) -> [String] {
        var seen = Set<String>()
        return all.filter { seen.insert($0).inserted }
    }

    /// A canonical decimal index below `count` ("0", "17"; not "017", "+1").
    static func index(_ text: String, below count: Int) -> Int? {
        guard !text.isEmpty, text.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              text == "0" || !text.hasPrefix("0"), let value = Int(text), value < count
        else { return nil }
        return value
    }
}
