import Posix

extension Vault {
    /// Records that `ids` were revealed, before the caller shows them: when
    /// the log cannot be written this throws and nothing may be shown (fail
    /// closed). Does nothing when auditing is off (`Configuration.audit`).
    /// `revision` is the one read (`--at`), recorded as the commit it
    /// names; else the commit HEAD names (read without loading libgit2).
    public func recordReveal(_ reveal: AuditEvent.Reveal, ids: [SecretID], at revision: String? = nil) throws {
        guard configuration.audit != nil else { return }
        let commit = try revision.map { try repo().resolve($0)?.hex ?? $0 } ?? HeadFile.commit(gitDirectory: gitDirectory)
        try audit(action: AuditEvent.action(reveal), ids: ids.map(\.value), commit: commit)
    }

    func audit(action: String, ids: [String], commit: String?) throws {
        guard let log = configuration.audit else { return }
        try log.record(AuditEvent(action: action, ids: ids, commit: commit, vault: root,
                                  user: configuration.auditUser ?? configuration.authorName ?? "unknown", time: UTCTime.now()))
    }
}
