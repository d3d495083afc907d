import Age
import Posix

/// Which secrets a program run by `coffer exec` gets, and under which names.
public struct SecretEnvironmentRequest: Sendable {
    /// Every secret under each prefix, named by `EnvironmentName(deriving:)`.
    public var prefixes: [Prefix] = []
    /// Explicit names for ids, as variables (`--map NAME=ID`).
    public var variables: [(EnvironmentName, SecretID)] = []
    /// Explicit names for ids, delivered in a file whose path the name holds (`--file NAME=ID`).
    public var files: [(EnvironmentName, SecretID)] = []
    /// Only these names are kept, if given (`--only`).
    public var only: [EnvironmentName]?
    /// Names the caller sets itself (`--env`), which win over any secret: those secrets are not read.
    public var overridden: Set<EnvironmentName> = []
    /// Missing or unreadable secrets are skipped instead of failing the run.
    public var allowMissing = false

    public init() {}

    /// True when no secret is asked for at all (the vault need not be
    /// opened); `only` alone asks for names, which then name nothing.
    public var asksForNothing: Bool { prefixes.isEmpty && variables.isEmpty && files.isEmpty && only == nil }
}

/// One name a secret is given.
public struct SecretBinding: Hashable, Sendable {
    public enum Delivery: Hashable, Sendable {
        /// The value itself is the variable's value.
        case variable
        /// The value is in an in-memory file; the variable holds its path.
        case file
    }

    /// How the binding was asked for, for messages about it.
    public enum Origin: Hashable, Sendable, CustomStringConvertible {
        case prefix(Prefix)
        case map
        case file

        public var description: String {
            switch self {
            case .prefix(let prefix): return "under prefix \(prefix)"
            case .map: return "mapped"
            case .file: return "as a file"
            }
        }
    }

    public let name: EnvironmentName
    public let id: SecretID
    public let delivery: Delivery
    public let origin: Origin
}

/// The names decided, no value read yet: the first half of `coffer exec`.
public struct SecretEnvironmentPlan: Sendable {
    /// Sorted by name; each name once.
    public let bindings: [SecretBinding]
    /// What was asked for and cannot yield a value whatever the vault holds.
    public let unavailable: [UnavailableSecret]
    public let allowMissing: Bool
}

/// The values read: the second half of `coffer exec`.
public struct SecretEnvironment {
    public struct Secret {
        public let binding: SecretBinding
        public let value: SecureBytes
    }

    /// Sorted by name.
    public let secrets: [Secret]
    /// Left out under `allowMissing`; empty otherwise (their absence fails the read).
    public let skipped: [UnavailableSecret]

    /// No secret at all: what a run that asks for none gets, without a vault.
    public static var none: SecretEnvironment { SecretEnvironment(secrets: [], skipped: []) }
    /// The longest `NAME=value` entry (with its NUL) an environment can carry on Linux.
    public static let maxVariableBytes = 128 * 1024
}

extension Vault {
    /// Names every secret `request` asks for. An id given a name explicitly
    /// (`variables`, `files`) gets only those names, not the one its prefix
    /// would derive; two secrets for one name are refused, all clashes at once.
    public func planSecretEnvironment(_ request: SecretEnvironmentRequest) throws -> SecretEnvironmentPlan {
        var bindings = request.variables.map { SecretBinding(name: $0.0, id: $0.1, delivery: .variable, origin: .map) }
            + request.files.map { SecretBinding(name: $0.0, id: $0.1, delivery: .file, origin: .file) }
        let named = Set(bindings.map(\.id))
        var unavailable: [UnavailableSecret] = []
        for prefix in request.prefixes {
            let ids = list(prefix)
            if ids.isEmpty { unavailable.append(.emptyPrefix(prefix)) }
            for id in ids where !named.contains(id) {
                bindings.append(SecretBinding(name: EnvironmentName(deriving: id), id: id, delivery: .variable, origin: .prefix(prefix)))
            }
        }
        if let only = request.only {
            let asked = Set(bindings.map(\.name)).union(request.overridden)
            unavailable += only.filter { !asked.contains($0) }.map(UnavailableSecret.unmatchedName)
            let kept = Set(only)
            bindings = bindings.filter { kept.contains($0.name) }
        }
        bindings = bindings.filter { !request.overridden.contains($0.name) }

        // The same id under the same name and delivery twice (overlapping prefixes) is one binding.
        var byName: [EnvironmentName: [SecretBinding]] = [:]
        for binding in bindings where !(byName[binding.name] ?? []).contains(where: { $0.id == binding.id && $0.delivery == binding.delivery }) {
            byName[binding.name, default: []].append(binding)
        }
        let clashes = byName.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }
            .map { NameClash(name: $0.key, bindings: $0.value.sorted { $0.id < $1.id }) }
        guard clashes.isEmpty else { throw SecretEnvironmentError.clashes(clashes) }
        return SecretEnvironmentPlan(bindings: byName.values.map { $0[0] }.sorted { $0.name < $1.name },
                                     unavailable: unavailable, allowMissing: request.allowMissing)
    }

    /// Reads every value `plan` names, each id once. Missing and unreadable
    /// secrets are collected and refused together (ids only), unless the
    /// plan allows them; any other failure (a damaged or moved file) is
    /// thrown as it is, allowed or not: it fails closed.
    public func readSecretEnvironment(_ plan: SecretEnvironmentPlan, identities: [Identity]) throws -> SecretEnvironment {
        let ids = Set(plan.bindings.map(\.id)).sorted()
        // Files are read here, in one thread; decryption, the bulk of the
        // time before the program starts, is spread over the cores.
        let files = ids.map { id in Result { () throws -> [UInt8] in
            guard contains(id) else { throw VaultError.notFound(id: id.value) }
            return try sealedFile(id)
        } }
        try PluginPreparation.prepareOpening(files.compactMap { try? $0.get() }, identities: identities)
        let opened = try Parallel.map(Array(zip(ids, files))) { id, file in
            Result { try Sealing.open(try file.get(), id: id, identities: identities) }
        }
        var values: [SecretID: SecureBytes] = [:]
        var unavailable = plan.unavailable
        for (id, outcome) in zip(ids, opened) {
            do {
                // A failure is told by `read` itself, which also waits out a writer caught mid-write.
                values[id] = try outcome.get()
            } catch {
                do {
                    values[id] = try read(id, identities: identities)
                } catch VaultError.notFound {
                    unavailable.append(.missing(id))
                } catch VaultError.notReadable {
                    unavailable.append(.unreadable(id))
                }
            }
        }
        guard unavailable.isEmpty || plan.allowMissing else { throw SecretEnvironmentError.unavailable(unavailable) }
        let secrets = plan.bindings.compactMap { binding in values[binding.id].map { SecretEnvironment.Secret(binding: binding, value: $0) } }
        let withNUL = Set(secrets.filter { $0.binding.delivery == .variable && $0.value.withUnsafeBytes { $0.contains(0) } }.map(\.binding.id))
        guard withNUL.isEmpty else { throw SecretEnvironmentError.holdsNUL(ids: withNUL.sorted()) }
        // Linux takes at most 128 KiB per environment string (MAX_ARG_STRLEN,
        // `NAME=value` and its NUL): refused here, before the run is
        // recorded, rather than by execve after it.
        let tooLong = Set(secrets.filter {
            $0.binding.delivery == .variable && $0.binding.name.value.utf8.count + $0.value.count + 2 > SecretEnvironment.maxVariableBytes
        }.map(\.binding.id))
        guard tooLong.isEmpty else { throw SecretEnvironmentError.tooLongForVariable(ids: tooLong.sorted()) }
        return SecretEnvironment(secrets: secrets, skipped: unavailable)
    }
}
