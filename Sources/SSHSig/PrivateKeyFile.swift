import Age
import CSodium

/// OpenSSH's private key file (PROTOCOL.key), unencrypted — cipher and kdf
/// `none`, as `ssh-keygen -N ''` writes it — so the same key signs with
/// `ssh-keygen -Y sign -f FILE`. The text holds the secret: it is built and
/// read in `SecureBytes` only, and whoever stores it must protect it.
extension SSHSigningKey {
    static let pemBegin = "-----BEGIN OPENSSH PRIVATE KEY-----"
    static let pemEnd = "-----END OPENSSH PRIVATE KEY-----"
    /// "openssh-key-v1" and its terminating NUL, as OpenSSH writes it.
    static let authMagic = Array("openssh-key-v1".utf8) + [0]
    /// The block size of cipher `none`: the private section is padded to it.
    static let blockSize = 8

    /// The key as an OpenSSH private key file's text, `comment` inside it.
    public func openSSHPrivateKey(comment: String = "") -> SecureBytes {
        let publicBlob = publicKey.wireBlob
        let commentBytes = Array(comment.utf8)
        let sectionLength = 8 + (4 + 11) + (4 + 32) + (4 + 64) + (4 + commentBytes.count)
        let padded = (sectionLength + Self.blockSize - 1) / Self.blockSize * Self.blockSize
        let length = Self.authMagic.count + (4 + 4) * 2 + 4 + 4 + (4 + publicBlob.count) + (4 + padded)
        let blob = SecureBytes(count: length)
        blob.withUnsafeMutableBytes { buffer in
            var out = WireWriter(buffer)
            out.put(Self.authMagic)
            out.string("none")
            out.string("none")
            out.string([])
            out.u32(1)
            out.string(publicBlob)
            out.u32(UInt32(padded))
            // Equal check numbers stand for "decrypted right"; random, as OpenSSH picks them.
            let check = randombytes_random()
            out.u32(check)
            out.u32(check)
            out.string(SSHEd25519PublicKey.type)
            out.string(publicKey.bytes)
            secretKey.withUnsafeBytes { out.string($0) }
            out.string(commentBytes)
            for n in 0..<(padded - sectionLength) { out.put([UInt8(n + 1)]) }
        }
        return SecretPEM.encode(blob, begin: Self.pemBegin, end: Self.pemEnd)
    }

    /// Reads an OpenSSH private key file holding one unencrypted ssh-ed25519
    /// key. Text after the END line is ignored, as OpenSSH ignores it.
    public init(openSSHPrivateKey text: SecureBytes) throws {
        let fail = { SSHSigError.invalidPrivateKey($0) }
        let blob = try SecretPEM.decode(text, begin: Self.pemBegin, end: Self.pemEnd)
        let secret: SecureBytes = try blob.withUnsafeBytes { raw in
            var reader = WireReader(raw, fail: fail)
            guard try reader.bytes(Self.authMagic.count, "magic").elementsEqual(Self.authMagic) else { throw fail("it is not openssh-key-v1") }
            let cipher = try reader.string("cipher name", limit: 64)
            let kdf = try reader.string("kdf name", limit: 64)
            guard cipher.elementsEqual("none".utf8) else { throw SSHSigError.encryptedPrivateKey }
            guard kdf.elementsEqual("none".utf8) else { throw fail("a kdf without a cipher") }
            guard try reader.string("kdf options", limit: 1024).isEmpty else { throw fail("kdf options without a kdf") }
            guard try reader.u32("key count") == 1 else { throw fail("it does not hold exactly one key") }
            let listed = try SSHEd25519PublicKey(wireBlob: Array(try reader.string("public key", limit: 1024))) { fail("public key: " + $0) }
            var section = WireReader(try reader.string("private section", limit: 4096), fail: fail)
            guard reader.isAtEnd else { throw fail("trailing bytes after the private section") }
            guard section.remaining % Self.blockSize == 0 else { throw fail("the private section is not padded to its block size") }
            guard try section.u32("check number") == section.u32("check number") else { throw fail("the check numbers differ") }
            let type = String(decoding: try section.string("key type", limit: 64), as: UTF8.self)
            guard type == SSHEd25519PublicKey.type else {
                throw looksLikeKeyType(Substring(type)) ? SSHSigError.unsupportedKeyType(type) : fail("the key type is not ssh-ed25519")
            }
            guard try section.string("public key", limit: 32).elementsEqual(listed.bytes) else {
                throw fail("the private section holds another key than the file lists")
            }
            let secretBytes = try section.string("private key", limit: 64)
            guard secretBytes.count == 64 else { throw fail("an ed25519 private key is 64 bytes") }
            let secret = SecureBytes(copying: secretBytes)
            _ = try section.string("comment", limit: 1024)
            var expected: UInt8 = 1
            while !section.isAtEnd {
                guard try section.bytes(1, "padding")[0] == expected else { throw fail("the padding is not 1, 2, 3…") }
                expected += 1
            }
            return secret
        }
        try self.init(secretKey: secret)
    }
}

/// PEM-style armor (BEGIN line, base64 in lines of 70, END line) for secret
/// blobs: encoded and decoded through libsodium into wiped buffers, never
/// through a `String`.
enum SecretPEM {
    static func encode(_ blob: SecureBytes, begin: String, end: String) -> SecureBytes {
        let variant = sodium_base64_VARIANT_ORIGINAL
        let capacity = sodium_base64_encoded_len(blob.count, variant)
        let base64 = SecureBytes(count: capacity)
        base64.withUnsafeMutableBytes { out in
            blob.withUnsafeBytes { input in
                _ = sodium_bin2base64(out.baseAddress!.assumingMemoryBound(to: CChar.self), capacity,
                                      input.baseAddress!.assumingMemoryBound(to: UInt8.self), input.count, variant)
            }
        }
        let length = capacity - 1  // without the NUL
        let lines = (length + Armor.width - 1) / Armor.width
        let text = SecureBytes(count: begin.utf8.count + 1 + length + lines + end.utf8.count + 1)
        text.withUnsafeMutableBytes { buffer in
            var out = WireWriter(buffer)
            out.put(Array((begin + "\n").utf8))
            base64.withUnsafeBytes { b in
                var at = 0
                while at < length {
                    let n = min(Armor.width, length - at)
                    out.put(UnsafeRawBufferPointer(rebasing: b[at..<(at + n)]))
                    out.put([0x0A])
                    at += n
                }
            }
            out.put(Array((end + "\n").utf8))
        }
        return text
    }

    /// The blob between the BEGIN line (first in the text) and the END line;
    /// CRLF line endings allowed, canonical base64 required.
    static func decode(_ text: SecureBytes, begin: String, end: String) throws -> SecureBytes {
        let fail = { SSHSigError.invalidPrivateKey($0) }
        let base64 = SecureBytes(count: text.count)
        var length = 0
        try text.withUnsafeBytes { raw in
            let head = Array((begin + "\n").utf8), headCRLF = Array((begin + "\r\n").utf8)
            var at: Int
            if raw.starts(with: head) { at = head.count } else if raw.starts(with: headCRLF) { at = headCRLF.count } else {
                throw fail("it does not start with \(begin)")
            }
            var ended = false
            try base64.withUnsafeMutableBytes { out in
                while at < raw.count {
                    let start = at
                    while at < raw.count, raw[at] != 0x0A { at += 1 }
                    var line = UnsafeRawBufferPointer(rebasing: raw[start..<at])
                    at += 1
                    if line.last == 0x0D { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
                    if line.elementsEqual(end.utf8) { ended = true; break }
                    for byte in line {
                        // Checked before libsodium, which reads input as signed char and would take some high bytes for `/`.
                        guard Base64.isAlphabet(byte) else { throw fail("the body is not base64") }
                        out[length] = byte
                        length += 1
                    }
                }
            }
            guard ended else { throw fail("it has no \(end) line") }
        }
        guard length > 0, length % 4 == 0 else { throw fail("the body is not canonical base64") }
        let blob = SecureBytes(count: length / 4 * 3)
        var written = 0
        // With a nil end pointer libsodium fails unless all input is consumed;
        // it also refuses non-zero trailing bits: both are what canonical means.
        let rc = base64.withUnsafeBytes { input in
            blob.withUnsafeMutableBytes { out in
                sodium_base642bin(out.baseAddress!.assumingMemoryBound(to: UInt8.self), out.count,
                                  input.baseAddress!.assumingMemoryBound(to: CChar.self), length,
                                  nil, &written, nil, sodium_base64_VARIANT_ORIGINAL)
            }
        }
        guard rc == 0 else { throw fail("the body is not canonical base64") }
        blob.truncate(to: written)
        return blob
    }
}
