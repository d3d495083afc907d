import Age
import AgePlugin

/// A key an age plugin holds (`AGE-PLUGIN-NAME-1…` in the identity file),
/// opening files through the operation's `PluginBatch`: prepared files are
/// answered from its one session, others start a session of their own.
public struct PluginReaderIdentity: Identity, Redacted {
    public let identity: PluginIdentity
    let batch: PluginBatch

    public init(_ identity: PluginIdentity, batch: PluginBatch) {
        self.identity = identity
        self.batch = batch
    }

    public func unwrap(_ stanzas: [Stanza]) throws -> UnwrapResult {
        try batch.identity(identity).unwrap(stanzas)
    }

    public var redactedDescription: String { "PluginReaderIdentity(<redacted>, plugin \(identity.name))" }
}

/// Readying plugins for a whole operation before its files are sealed or
/// opened one by one (often across the cores): every plugin reader wraps
/// all the file keys it needs in one session, every plugin identity is
/// offered all the files the user's other keys cannot open in one session —
/// one PIN or touch per operation, not per file.
enum PluginPreparation {
    /// Offers `files` (sealed age files) to the plugin identities among
    /// `identities`, skipping those another identity opens.
    static func prepareOpening(_ files: [[UInt8]], identities: [Identity]) throws {
        let plugins = identities.compactMap { $0 as? PluginReaderIdentity }
        guard let batch = plugins.first?.batch else { return }
        let others = identities.filter { !($0 is PluginReaderIdentity) }
        let headers = files.compactMap { try? Header.parse($0).header.stanzas }.filter { stanzas in
            !others.contains { identity in
                if case .fileKey = (try? identity.unwrap(stanzas)) ?? .notMine { return true }
                return false
            }
        }
        try batch.prepareUnwrap(files: headers, with: plugins.map(\.identity))
    }

    /// Wraps each file key for the plugin readers it is listed with, one
    /// session per plugin reader.
    static func prepareWrapping(_ jobs: [(fileKey: SecureBytes, readers: [ReaderKey])], plugins: PluginBatch) throws {
        var keys: [PluginRecipient: [SecureBytes]] = [:]
        for job in jobs {
            for reader in job.readers {
                if let plugin = reader.pluginRecipient { keys[plugin, default: []].append(job.fileKey) }
            }
        }
        for (plugin, fileKeys) in keys.sorted(by: { $0.key.encoded < $1.key.encoded }) {
            try plugins.prepareWrap(fileKeys: fileKeys, for: [plugin])
        }
    }

    /// True when any of `readers` is a plugin's.
    static func involves(_ readers: [NamedRecipient]) -> Bool {
        readers.contains { $0.recipient.pluginRecipient != nil }
    }
}

extension PluginBatch {
    /// A batch of its own, with no prompter: for sealing outside a vault's operation.
    static var standalone: PluginBatch { PluginBatch(client: PluginClient()) }
}
