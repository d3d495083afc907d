import CSodium

/// HKDF-SHA-256 (RFC 5869) on libsodium's HMAC-SHA-256, because the libsodium
/// in Debian 12 (1.0.18) predates its own HKDF API. Public for recipient types
/// in other modules (AgeSSH), so age's key derivation exists once.
public enum HKDF {
    static let hashLength = 32

    /// Derives `length` bytes. An empty salt equals a zero-filled one, as RFC 5869
    /// requires, since HMAC pads short keys with zeros.
    static func deriveKey(
        ikm: UnsafeRawBufferPointer, salt: UnsafeRawBufferPointer, info: [UInt8], length: Int = 32
    ) -> SecureBytes {
        precondition(length > 0 && length <= 255 * hashLength)
        let prk = SecureBytes(count: hashLength)
        prk.withUnsafeMutableBytes { out in
            HMAC.authenticate(key: salt, message: [ikm], into: out)
        }
        let okm = SecureBytes(count: length)
        let block = SecureBytes(count: hashLength)
        var produced = 0
        var counter: UInt8 = 1
        var previous = 0
        while produced < length {
            prk.withUnsafeBytes { key in
                block.withUnsafeMutableBytes { t in
                    let prior = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(t)[0..<previous])
                    info.withUnsafeBytes { infoBytes in
                        withUnsafeBytes(of: counter) { c in
                            HMAC.authenticate(key: key, message: [prior, infoBytes, c], into: t)
                        }
                    }
                }
            }
            let take = min(hashLength, length - produced)
            okm.withUnsafeMutableBytes { out in
                block.withUnsafeBytes { t in
                    (out.baseAddress! + produced).copyMemory(from: t.baseAddress!, byteCount: take)
                }
            }
            produced += take
            previous = hashLength
            counter &+= 1
        }
        return okm
    }

    /// The output is as secret as `ikm`; `salt` and `info` are public.
    public static func deriveKey(ikm: SecureBytes, salt: [UInt8], info: String, length: Int = 32) -> SecureBytes {
        ikm.withUnsafeBytes { i in
            salt.withUnsafeBytes { s in deriveKey(ikm: i, salt: s, info: Array(info.utf8), length: length) }
        }
    }
}

/// HMAC-SHA-256 through libsodium's streaming interface (arbitrary key length).
enum HMAC {
    static func authenticate(
        key: UnsafeRawBufferPointer, message parts: [UnsafeRawBufferPointer], into out: UnsafeMutableRawBufferPointer
    ) {
        precondition(out.count >= 32)
        var state = crypto_auth_hmacsha256_state()
        // An empty key (HKDF's empty salt) still needs a valid pointer.
        var empty: UInt8 = 0
        let keyPointer = key.baseAddress.map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) }
        _ = withUnsafePointer(to: &empty) { crypto_auth_hmacsha256_init(&state, keyPointer ?? $0, key.count) }
        for part in parts where part.count > 0 {
            crypto_auth_hmacsha256_update(&state, part.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(part.count))
        }
        crypto_auth_hmacsha256_final(&state, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
        sodium_memzero(&state, MemoryLayout<crypto_auth_hmacsha256_state>.size)
    }
}
