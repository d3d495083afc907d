import Age
import CSodium

/// Messages that carry a secret — `wrap-file-key` and `file-key` bodies, an
/// identity in `add-identity`, the answer to `request-secret` — encoded as
/// age stanzas straight into a wiped buffer, so the secret never sits in an
/// `Array` or a `String` on its way to the pipe.
enum SecretMessage {
    /// `-> TYPE ARGS… [SECRET_ARGUMENT]` then the base64 of `body` at 64 columns,
    /// ended by a shorter line (empty when there is no body): `Stanza.encoded`'s layout.
    static func encode(type: String, arguments: [String] = [], secretArgument: SecureBytes? = nil,
                       body: SecureBytes? = nil) -> SecureBytes {
        var line = Array("-> \(([type] + arguments).joined(separator: " "))".utf8)
        defer { wipe(&line) }
        let argumentCount = secretArgument.map { $0.count + 1 } ?? 0
        let text = base64(body)
        let columns = 64
        let bodyLines = text.count / columns + 1
        let message = SecureBytes(count: line.count + argumentCount + 1 + text.count + bodyLines)
        message.withUnsafeMutableBytes { out in
            var at = 0
            func put(_ bytes: UnsafeRawBufferPointer) {
                if bytes.count > 0 { (out.baseAddress! + at).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
                at += bytes.count
            }
            func put(byte: UInt8) { out[at] = byte; at += 1 }
            line.withUnsafeBytes { put($0) }
            if let secretArgument {
                put(byte: 0x20)
                secretArgument.withUnsafeBytes { put($0) }
            }
            put(byte: 0x0A)
            text.withUnsafeBytes { t in
                var offset = 0
                while true {
                    let n = min(columns, t.count - offset)
                    put(UnsafeRawBufferPointer(rebasing: t[offset..<offset + n]))
                    put(byte: 0x0A)
                    offset += n
                    if n < columns { break }
                }
            }
            precondition(at == out.count)
        }
        return message
    }

    /// Unpadded standard base64, as age writes stanza bodies.
    private static func base64(_ bytes: SecureBytes?) -> SecureBytes {
        guard let bytes, bytes.count > 0 else { return SecureBytes(count: 0) }
        let variant = sodium_base64_VARIANT_ORIGINAL_NO_PADDING
        let capacity = sodium_base64_encoded_len(bytes.count, variant)
        let text = SecureBytes(count: capacity)
        bytes.withUnsafeBytes { b in
            text.withUnsafeMutableBytes { t in
                _ = sodium_bin2base64(t.baseAddress!.assumingMemoryBound(to: CChar.self), capacity,
                                      b.baseAddress!.assumingMemoryBound(to: UInt8.self), b.count, variant)
            }
        }
        text.truncate(to: capacity - 1)  // without the terminating NUL
        return text
    }

    static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { sodium_memzero(base, $0.count) } }
    }
}
