import Age
import Posix

/// Identity files for `coffer age decrypt` and `keygen -y`: plain, or sealed
/// with a passphrase as age accepts them. Needs only the age format and the
/// file system, not the vault.
enum AgeIdentityFiles {
    static func load(path: String, passphrase: () throws -> SecureBytes) throws -> [X25519Identity] {
        do {
            return try KeyFile.parseIdentities(KeyFile.unsealed(try Files.readSecret(path: path), passphrase: passphrase))
        } catch AgeError.noIdentityMatched {
            throw CommandFailure("wrong passphrase for identity file \(FileError.shown(path))")
        }
    }
}
