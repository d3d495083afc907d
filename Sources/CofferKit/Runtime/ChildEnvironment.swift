import Age

/// The environment a program run by `coffer exec` receives, built once in
/// one wiped buffer of `NAME=VALUE\0` entries, so secret values go from
/// their `SecureBytes` straight into what `execve` is handed.
///
/// Precedence, highest first: `overrides` (`--env`), then `secrets`, then
/// `inherited` (nil: nothing is inherited, `--pristine`). Inherited entries
/// are kept byte for byte and in their order; those whose name is set
/// again are dropped.
public final class ChildEnvironment {
    public enum Value {
        case secret(SecureBytes)
        case text(String)
    }

    private let block: SecureBytes
    /// Where each entry starts in `block`.
    private let starts: [Int]

    public init(inherited: [[UInt8]]?, secrets: [(EnvironmentName, Value)], overrides: [(EnvironmentName, String)]) {
        var overriding: [EnvironmentName: String] = [:]
        var overrideOrder: [EnvironmentName] = []
        for (name, value) in overrides {
            if overriding.updateValue(value, forKey: name) == nil { overrideOrder.append(name) }
        }
        let kept = secrets.filter { overriding[$0.0] == nil }
        let setHere = Set(overrideOrder.map { Array($0.value.utf8) } + kept.map { Array($0.0.value.utf8) })
        let carried = (inherited ?? []).filter { entry in
            !setHere.contains(Array(entry.prefix { $0 != UInt8(ascii: "=") }))
        }

        // Sized first, then filled, so no secret is ever copied into a growing array.
        func size(_ value: Value) -> Int {
            switch value {
            case .secret(let bytes): return bytes.count
            case .text(let text): return text.utf8.count
            }
        }
        var total = carried.reduce(0) { $0 + $1.count + 1 }
        total += kept.reduce(0) { $0 + $1.0.value.utf8.count + 1 + size($1.1) + 1 }
        total += overrideOrder.reduce(0) { $0 + $1.value.utf8.count + 1 + overriding[$1]!.utf8.count + 1 }
        block = SecureBytes(count: total)
        var starts: [Int] = []
        block.withUnsafeMutableBytes { out in
            var at = 0
            func put<C: Collection>(_ bytes: C) where C.Element == UInt8 {
                UnsafeMutableRawBufferPointer(rebasing: out[at..<at + bytes.count]).copyBytes(from: bytes)
                at += bytes.count
            }
            func entry(_ name: EnvironmentName, _ value: Value) {
                starts.append(at)
                put(name.value.utf8)
                put(CollectionOfOne(UInt8(ascii: "=")))
                switch value {
                case .secret(let bytes): bytes.withUnsafeBytes { put($0) }
                case .text(let text): put(text.utf8)
                }
                put(CollectionOfOne(0))
            }
            for raw in carried {
                starts.append(at)
                put(raw)
                put(CollectionOfOne(0))
            }
            for (name, value) in kept { entry(name, value) }
            for name in overrideOrder { entry(name, .text(overriding[name]!)) }
        }
        self.starts = starts
    }

    /// The value `name` will have, if set: for finding the program along
    /// the child's `PATH`.
    public func value(of name: String) -> [UInt8]? {
        let key = Array(name.utf8) + [UInt8(ascii: "=")]
        return block.withUnsafeBytes { bytes in
            for start in starts where bytes[start...].starts(with: key) {
                let end = bytes[start...].firstIndex(of: 0)!
                return Array(bytes[(start + key.count)..<end])
            }
            return nil
        }
    }

    /// The NULL-terminated `envp` for `execve`, valid only inside `body`.
    public func withEnvironmentPointers<R>(_ body: ([UnsafeMutablePointer<CChar>?]) throws -> R) rethrows -> R {
        try block.withUnsafeMutableBytes { bytes in
            let base = bytes.baseAddress.map { $0.assumingMemoryBound(to: CChar.self) }
            let pointers: [UnsafeMutablePointer<CChar>?] = starts.map { base! + $0 } + [nil]
            return try body(pointers)
        }
    }
}
