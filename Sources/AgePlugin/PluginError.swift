import Age

/// Every way an age plugin session fails. Cases name the plugin and, where
/// the plugin gave one, the index of the recipient, identity or file at
/// fault. A plugin's own words (its `error` message, the tail of its stderr)
/// are public text, quoted escaped; file keys, identities and answers to
/// `request-secret` never appear.
public enum PluginError: Error, Equatable, Sendable {
    /// Not an `age1NAME1…` string; the public input is quoted.
    case invalidRecipient(String)
    /// Not an `AGE-PLUGIN-NAME-1…` string; the input is secret, never quoted.
    case invalidIdentity(String)
    /// No executable `age-plugin-NAME` in an absolute directory on the search path.
    case notFound(plugin: String)
    /// The plugin binary was found but could not be started.
    case cannotStart(plugin: String, errno: Int32)
    /// The plugin reported an `error` command.
    case reported(plugin: String, about: Subject, message: String)
    /// The plugin broke off the session or the protocol.
    case failed(plugin: String, why: Failure, stderr: String)
    /// Plugins disagreed on the labels of the stanzas for the same files
    /// (age-plugin.md: every stanza of a file has the same label set).
    case labelsDiffer(plugins: [String])
    /// A plugin restricts its stanzas with labels, which a file wrapped
    /// one recipient at a time cannot check; prepare the batch first.
    case labelsNeedBatch(plugin: String)

    /// What a plugin's `error` command was about.
    public enum Subject: Equatable, Sendable {
        /// `error recipient N`: the Nth recipient sent to that plugin.
        case recipient(Int)
        /// `error identity N`: the Nth identity sent to that plugin.
        case identity(Int)
        /// `error stanza FILE STANZA`: a malformed stanza of that file.
        case stanza(file: Int, stanza: Int)
        /// `error internal`, or an error kind this client does not know.
        case `internal`
    }

    /// How a session went wrong on the plugin's side.
    public enum Failure: Equatable, Sendable {
        /// The plugin exited before the session's end (status; nil when a signal ended it).
        case exited(status: Int32?)
        /// The plugin closed its output before the session's end but went on running.
        case closedOutput
        /// No complete message within this many seconds.
        case timedOut(seconds: Double)
        /// The plugin sent something that is not an age stanza, or breaks the protocol.
        case malformed(String)
        /// The plugin produced no stanza for this file (recipient-v1).
        case noStanza(file: Int)
    }
}

extension PluginError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .invalidRecipient(let text):
            return "invalid plugin recipient \"\(UntrustedText.escaped(String(text.prefix(200))))\""
        case .invalidIdentity(let why): return "invalid plugin identity: \(why)"
        case .notFound(let plugin):
            return "\(PluginName.binary(plugin)) not found on PATH (absolute directories only)"
        case .cannotStart(let plugin, let code):
            return "cannot start \(PluginName.binary(plugin)): errno \(code)"
        case .reported(let plugin, let subject, let message):
            let what: String
            switch subject {
            case .recipient(let n): what = "recipient \(n)"
            case .identity(let n): what = "identity \(n)"
            case .stanza(let file, let stanza): what = "stanza \(stanza) of file \(file)"
            case .internal: what = "an internal error"
            }
            return "plugin \(plugin) reported \(what): \"\(PluginError.quoted(message))\""
        case .failed(let plugin, let why, let stderr):
            let reason: String
            switch why {
            case .exited(let status?): reason = "exited with status \(status) before the session ended"
            case .exited(nil): reason = "was ended by a signal before the session ended"
            case .closedOutput: reason = "closed its output before the session ended"
            case .timedOut(let seconds): reason = "did not answer within \(Int(seconds.rounded(.up))) s"
            case .malformed(let what): reason = "broke the protocol: \(what)"
            case .noStanza(let file): reason = "sent no stanza for file \(file)"
            }
            let tail = stderr.isEmpty ? "" : "; its stderr ended: \"\(PluginError.quoted(stderr))\""
            return "plugin \(plugin) \(reason)\(tail)"
        case .labelsDiffer(let plugins):
            return "plugins \(plugins.joined(separator: ", ")) label their stanzas differently; they cannot share a file"
        case .labelsNeedBatch(let plugin):
            return "plugin \(plugin) labels its stanzas; wrap through a prepared batch so the labels can be checked"
        }
    }

    /// A plugin's text as an error shows it: escaped, key-shaped runs
    /// replaced, at most 500 characters.
    static func quoted(_ text: String) -> String {
        let text = Redaction.redactingKeys(text)
        return UntrustedText.escaped(String(text.prefix(500))) + (text.count > 500 ? "…" : "")
    }
}
