import Age
import AgeSSH
import Posix

/// Identity files for `coffer age decrypt` and `keygen -y`: plain, or sealed
/// with a passphrase as age accepts them. Needs only the age format and the
/// file system, not the vault.
enum AgeIdentityFiles {
    /// For decryption, as stock `age -i` takes them: also an unencrypted
    /// OpenSSH ssh-ed25519 private key.
    static func loadAny(path: String, passphrase: () throws -> SecureBytes) throws -> [Identity] {
        let contents = try Files.readSecret(path: path)
        guard SSHEd25519Identity.isOpenSSHPrivateKey(contents) else { return try load(path: path, passphrase: passphrase) }
        do {
            return [try SSHEd25519Identity(openSSHPrivateKey: contents)]
        } catch let error as AgeSSHError {
            throw CommandFailure("\(FileError.shown(path)): \(error)")
        }
    }

    static func load(path: String, passphrase: () throws -> SecureBytes) throws -> [X25519Identity] {
        do {
            return try KeyFile.parseIdentities(KeyFile.unsealed(try Files.readSecret(path: path), passphrase: passphrase))
        } catch AgeError.noIdentityMatched {
            throw CommandFailure("wrong passphrase for identity file \(FileError.shown(path))")
        }
    }
}
