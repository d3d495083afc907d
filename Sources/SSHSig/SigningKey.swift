import Age
import CSodium

/// An Ed25519 private key for SSH signatures. The secret lives in a wiped
/// buffer (`SecureBytes`) and leaves it only sealed in a file the caller
/// protects (`openSSHPrivateKey()`); the key never prints or mirrors its
/// bytes, and errors about it never quote it.
public struct SSHSigningKey: Redacted {
    /// 64 bytes: the seed, then the public key — libsodium's layout, and OpenSSH's.
    let secretKey: SecureBytes
    /// The public half, which others list to trust this key.
    public let publicKey: SSHEd25519PublicKey

    /// A fresh key from libsodium's CSPRNG.
    public static func generate() -> SSHSigningKey {
        Sodium.ensureInitialized()
        let secret = SecureBytes(count: Int(crypto_sign_SECRETKEYBYTES))
        var pub = [UInt8](repeating: 0, count: Int(crypto_sign_PUBLICKEYBYTES))
        let rc = secret.withUnsafeMutableBytes { crypto_sign_keypair(&pub, $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
        precondition(rc == 0, "crypto_sign_keypair failed")
        return try! SSHSigningKey(secretKey: secret)
    }

    /// Adopts a 64-byte secret key, checking that its second half is the
    /// public key its seed derives (a mismatched pair would sign for a key
    /// it does not hold).
    init(secretKey: SecureBytes) throws {
        Sodium.ensureInitialized()
        guard secretKey.count == Int(crypto_sign_SECRETKEYBYTES) else { throw SSHSigError.invalidPrivateKey("an ed25519 key is 64 bytes") }
        var derived = [UInt8](repeating: 0, count: 32)
        let scratch = SecureBytes(count: Int(crypto_sign_SECRETKEYBYTES))
        let matches = secretKey.withUnsafeBytes { sk -> Bool in
            let seed = sk.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let rc = scratch.withUnsafeMutableBytes {
                crypto_sign_seed_keypair(&derived, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), seed)
            }
            return rc == 0 && sk[32...].elementsEqual(derived)
        }
        guard matches else { throw SSHSigError.invalidPrivateKey("the public half does not belong to the private half") }
        self.secretKey = secretKey
        publicKey = SSHEd25519PublicKey(derived: derived)
    }

    /// `message` signed for `namespace` in OpenSSH's armored SSHSIG form,
    /// byte for byte what `ssh-keygen -Y sign -n NAMESPACE` writes (sha512
    /// unless told otherwise).
    public func sign(_ message: [UInt8], namespace: String, hash: SSHSignature.HashAlgorithm = .sha512) throws -> String {
        try SSHSignature.checkNamespace(namespace)
        let signed = SSHSignature.signedData(namespace: namespace, hash: hash, digest: hash.digest(message))
        var signature = [UInt8](repeating: 0, count: Int(crypto_sign_BYTES))
        let rc = secretKey.withUnsafeBytes { sk in
            crypto_sign_detached(&signature, nil, signed, UInt64(signed.count), sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        precondition(rc == 0, "crypto_sign_detached failed")
        let blob = SSHSignature.magic + Wire.u32(SSHSignature.version) + Wire.string(publicKey.wireBlob)
            + Wire.string(namespace) + Wire.string([]) + Wire.string(hash.rawValue)
            + Wire.string(Wire.string(SSHEd25519PublicKey.type) + Wire.string(signature))
        return SSHSignature.armor(blob)
    }

    /// The X25519 scalar of this key (libsodium's
    /// `crypto_sign_ed25519_sk_to_curve25519`), for age's `ssh-ed25519`
    /// recipients, which decrypt with the key that signs. As secret as the
    /// key itself, and held the same way.
    public func curve25519SecretKey() -> SecureBytes {
        let scalar = SecureBytes(count: Int(crypto_scalarmult_curve25519_BYTES))
        let rc = scalar.withUnsafeMutableBytes { out in
            secretKey.withUnsafeBytes { sk in
                crypto_sign_ed25519_sk_to_curve25519(out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                                     sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        precondition(rc == 0, "crypto_sign_ed25519_sk_to_curve25519 failed")
        return scalar
    }

    public var redactedDescription: String { "SSHSigningKey(<redacted>, \(publicKey.authorizedKey))" }
}
