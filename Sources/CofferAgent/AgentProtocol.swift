import Age
import SSHSig

/// The agent's wire protocol, version 2: a client sends one request frame
/// and reads one answer frame, as often as it likes on one connection.
/// Keys are named by their `.recipients` text, of any kind the agent holds
/// (version 1 named X25519 keys only, by their raw bytes).
/// Requests carry only public bytes (stanzas, a message to sign); answers
/// carry public keys, signatures, and file keys for stanzas the agent could
/// open — never a private key, since no message has a field for one.
public enum AgentProtocol {
    public static let version: UInt8 = 2
    /// A frame's largest body: a bundle manifest of 10,000 secrets, to be
    /// signed, is about 1.5 MB; a batch of 4,096 headers about 1 MB.
    static let maxFrame = 16 << 20
    static let maxHeaders = 4096
    /// age's own headers name one stanza per reader; a scope with more than
    /// this many readers is not one an agent needs to serve.
    static let maxStanzas = 256
    static let maxArguments = 16
    static let maxArgument = 512
    static let maxBody = 4096
    static let maxText = 4096
    static let maxKeys = 256
    /// An age file key is 16 bytes, whichever key opened it; room to spare.
    static let maxFileKey = 64

    enum Kind: UInt8 {
        case hello = 1, publicKeys = 2, unwrap = 3, sign = 4, stop = 5
        case status = 0x81, keys = 0x82, unwrapped = 0x83, signature = 0x84, stopping = 0x85, refused = 0xFF
    }
}

/// What a client asks.
public enum AgentRequest {
    /// Who the agent is: its pid, the identity file it unlocked, its TTL.
    case hello
    /// The public halves of the keys it holds.
    case publicKeys
    /// The file key of each header (the stanzas of one age file) that the
    /// key `key` opens (nil: any key the agent holds). One header, or many
    /// in one round trip.
    case unwrap(key: AgentKey?, headers: [[Stanza]])
    /// An SSHSIG signature over `message` for `namespace`; the agent signs
    /// only for the namespaces it was started with.
    case sign(namespace: String, message: [UInt8])
    /// Wipe the keys, remove the socket, exit.
    case stop

    /// Whether it uses a key: only those keep an idle agent alive.
    var usesKey: Bool {
        switch self {
        case .unwrap, .sign: return true
        case .hello, .publicKeys, .stop: return false
        }
    }

    func frame() -> SecureBytes {
        let out: FrameWriter
        switch self {
        case .hello: out = FrameWriter(kind: AgentProtocol.Kind.hello.rawValue)
        case .publicKeys: out = FrameWriter(kind: AgentProtocol.Kind.publicKeys.rawValue)
        case .stop: out = FrameWriter(kind: AgentProtocol.Kind.stop.rawValue)
        case .unwrap(let key, let headers):
            out = FrameWriter(kind: AgentProtocol.Kind.unwrap.rawValue)
            out.string(key?.encoded ?? "")
            out.u32(UInt32(headers.count))
            for stanzas in headers {
                out.u32(UInt32(stanzas.count))
                for stanza in stanzas {
                    out.string(stanza.type)
                    out.u32(UInt32(stanza.arguments.count))
                    for argument in stanza.arguments { out.string(argument) }
                    out.bytes(stanza.body)
                }
            }
        case .sign(let namespace, let message):
            out = FrameWriter(kind: AgentProtocol.Kind.sign.rawValue)
            out.string(namespace)
            out.bytes(message)
        }
        return out.finish()
    }

    static func decode(kind: UInt8, _ fields: inout FrameReader) throws -> AgentRequest {
        let request: AgentRequest
        switch AgentProtocol.Kind(rawValue: kind) {
        case .hello?: request = .hello
        case .publicKeys?: request = .publicKeys
        case .stop?: request = .stop
        case .unwrap?:
            let named = try fields.string("key", limit: AgentProtocol.maxText)
            let key = named.isEmpty ? nil : try AgentKey(parsing: named)
            var headers: [[Stanza]] = []
            for _ in 0..<(try fields.count("headers", limit: AgentProtocol.maxHeaders)) {
                var stanzas: [Stanza] = []
                for _ in 0..<(try fields.count("stanzas", limit: AgentProtocol.maxStanzas, itemSize: 12)) {
                    let type = try fields.string("stanza type", limit: AgentProtocol.maxArgument)
                    var arguments: [String] = []
                    for _ in 0..<(try fields.count("arguments", limit: AgentProtocol.maxArguments)) {
                        arguments.append(try fields.string("argument", limit: AgentProtocol.maxArgument))
                    }
                    stanzas.append(Stanza(type: type, arguments: arguments, body: Array(try fields.bytes("body", limit: AgentProtocol.maxBody))))
                }
                headers.append(stanzas)
            }
            request = .unwrap(key: key, headers: headers)
        case .sign?:
            let namespace = try fields.string("namespace", limit: AgentProtocol.maxText)
            request = .sign(namespace: namespace, message: Array(try fields.bytes("message", limit: AgentProtocol.maxFrame)))
        default:
            throw AgentError.protocolViolation("unknown request kind \(kind)")
        }
        try fields.end()
        return request
    }
}

/// Who the agent is, as `hello` answers: public facts only.
public struct AgentStatus: Sendable, Equatable {
    public let pid: Int32
    /// The identity file it unlocked (absolute), so a client uses it only for that identity.
    public let identityPath: String
    public let ttlSeconds: UInt32
    /// Idle seconds left before it wipes its keys and exits.
    public let secondsLeft: UInt32

    public init(pid: Int32, identityPath: String, ttlSeconds: UInt32, secondsLeft: UInt32) {
        self.pid = pid
        self.identityPath = identityPath
        self.ttlSeconds = ttlSeconds
        self.secondsLeft = secondsLeft
    }
}

/// The public halves of what the agent holds.
public struct AgentPublicKeys: Sendable, Equatable {
    /// The identity's keys as readers, the one in use first: its X25519
    /// keys, or its SSH key.
    public let readers: [AgentKey]
    /// The identity's SSH signing key (an SSH identity's own key); nil when it holds none.
    public let signingKey: SSHEd25519PublicKey?

    public init(readers: [AgentKey], signingKey: SSHEd25519PublicKey?) {
        self.readers = readers
        self.signingKey = signingKey
    }
}

/// The agent's answer for one header.
public enum AgentUnwrap {
    case fileKey(SecureBytes)
    case notMine
    /// A stanza of a key's own type (`type`) was malformed (age's rule: an error, not "not mine").
    case malformed(type: String, reason: String)
}

/// What the agent answers.
enum AgentResponse {
    case status(AgentStatus)
    case keys(AgentPublicKeys)
    case unwrapped([AgentUnwrap])
    case signature(String)
    case stopping
    /// Not done, and why (public text: a namespace, a limit).
    case refused(String)

    func frame() -> SecureBytes {
        let out: FrameWriter
        switch self {
        case .status(let status):
            out = FrameWriter(kind: AgentProtocol.Kind.status.rawValue)
            out.u32(UInt32(bitPattern: status.pid))
            out.string(status.identityPath)
            out.u32(status.ttlSeconds)
            out.u32(status.secondsLeft)
        case .keys(let keys):
            out = FrameWriter(kind: AgentProtocol.Kind.keys.rawValue)
            out.u32(UInt32(keys.readers.count))
            for key in keys.readers { out.string(key.encoded) }
            out.string(keys.signingKey?.authorizedKey ?? "")
        case .unwrapped(let results):
            out = FrameWriter(kind: AgentProtocol.Kind.unwrapped.rawValue)
            out.u32(UInt32(results.count))
            for result in results {
                switch result {
                case .notMine: out.u8(0)
                case .fileKey(let key):
                    out.u8(1)
                    key.withUnsafeBytes { out.bytes($0) }
                case .malformed(let type, let reason):
                    out.u8(2)
                    out.string(type)
                    out.string(reason)
                }
            }
        case .signature(let armored):
            out = FrameWriter(kind: AgentProtocol.Kind.signature.rawValue)
            out.string(armored)
        case .stopping: out = FrameWriter(kind: AgentProtocol.Kind.stopping.rawValue)
        case .refused(let reason):
            out = FrameWriter(kind: AgentProtocol.Kind.refused.rawValue)
            out.string(reason)
        }
        return out.finish()
    }

    static func decode(kind: UInt8, _ fields: inout FrameReader) throws -> AgentResponse {
        let response: AgentResponse
        switch AgentProtocol.Kind(rawValue: kind) {
        case .status?:
            let pid = Int32(bitPattern: try fields.u32("pid"))
            let path = try fields.string("identity path", limit: AgentProtocol.maxText)
            response = .status(AgentStatus(pid: pid, identityPath: path, ttlSeconds: try fields.u32("ttl"), secondsLeft: try fields.u32("time left")))
        case .keys?:
            var readers: [AgentKey] = []
            for _ in 0..<(try fields.count("keys", limit: AgentProtocol.maxKeys)) {
                readers.append(try AgentKey(parsing: try fields.string("key", limit: AgentProtocol.maxText)))
            }
            let signing = try fields.string("signing key", limit: AgentProtocol.maxText)
            response = .keys(AgentPublicKeys(readers: readers,
                                             signingKey: signing.isEmpty ? nil : try SSHEd25519PublicKey(parsingAuthorizedKey: signing)))
        case .unwrapped?:
            var results: [AgentUnwrap] = []
            for _ in 0..<(try fields.count("results", limit: AgentProtocol.maxHeaders, itemSize: 1)) {
                switch try fields.u8("result") {
                case 0: results.append(.notMine)
                case 1: results.append(.fileKey(SecureBytes(copying: try fields.bytes("file key", limit: AgentProtocol.maxFileKey))))
                case 2:
                    let type = try fields.string("stanza type", limit: AgentProtocol.maxArgument)
                    results.append(.malformed(type: type, reason: try fields.string("reason", limit: AgentProtocol.maxText)))
                case let other: throw AgentError.protocolViolation("unknown unwrap result \(other)")
                }
            }
            response = .unwrapped(results)
        case .signature?: response = .signature(try fields.string("signature", limit: AgentProtocol.maxText))
        case .stopping?: response = .stopping
        case .refused?: response = .refused(try fields.string("reason", limit: AgentProtocol.maxText))
        default: throw AgentError.protocolViolation("unknown answer kind \(kind)")
        }
        try fields.end()
        return response
    }
}
