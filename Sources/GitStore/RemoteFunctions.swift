import CGit2

/// The libgit2 functions remotes, transfers and clones need, looked up by
/// name the first time one is used (see `LibGit2.function`), so commands
/// that never talk to a remote keep the start-up table small.
///
/// Typed by hand after the 1.5 headers, like `LibGit2`'s own table.
final class RemoteFunctions: @unchecked Sendable {
    static let shared: Result<RemoteFunctions, Error> = Result { try RemoteFunctions(LibGit2.load()) }

    static func load() throws -> RemoteFunctions { try shared.get() }

    typealias Out = LibGit2.Out
    typealias Handle = LibGit2.Handle
    typealias CString = LibGit2.CString
    typealias CredentialOut = UnsafeMutablePointer<UnsafeMutablePointer<git_credential>?>

    let lib: LibGit2

    // Remotes in the configuration
    let list: @convention(c) (UnsafeMutablePointer<git_strarray>?, Handle?) -> Int32
    let strarrayDispose: @convention(c) (UnsafeMutablePointer<git_strarray>?) -> Void
    let lookup: @convention(c) (Out?, Handle?, CString?) -> Int32
    let create: @convention(c) (Out?, Handle?, CString?, CString?) -> Int32
    let delete: @convention(c) (Handle?, CString?) -> Int32
    let free: @convention(c) (Handle?) -> Void
    let url: @convention(c) (Handle?) -> CString?
    let nameIsValid: @convention(c) (UnsafeMutablePointer<Int32>?, CString?) -> Int32

    // Transfers
    let fetchOptionsInit: @convention(c) (UnsafeMutablePointer<git_fetch_options>?, UInt32) -> Int32
    let pushOptionsInit: @convention(c) (UnsafeMutablePointer<git_push_options>?, UInt32) -> Int32
    let connect: @convention(c) (Handle?, git_direction, UnsafePointer<git_remote_callbacks>?, UnsafePointer<git_proxy_options>?,
                                 UnsafePointer<git_strarray>?) -> Int32
    let ls: @convention(c) (UnsafeMutablePointer<UnsafeMutablePointer<UnsafePointer<git_remote_head>?>?>?,
                            UnsafeMutablePointer<Int>?, Handle?) -> Int32
    let defaultBranch: @convention(c) (UnsafeMutablePointer<git_buf>?, Handle?) -> Int32
    let fetch: @convention(c) (Handle?, UnsafePointer<git_strarray>?, UnsafePointer<git_fetch_options>?, CString?) -> Int32
    let push: @convention(c) (Handle?, UnsafePointer<git_strarray>?, UnsafePointer<git_push_options>?) -> Int32
    let disconnect: @convention(c) (Handle?) -> Int32

    // Credentials handed back to libgit2 from the credential callback (it frees them)
    let credentialUsernameNew: @convention(c) (CredentialOut?, CString?) -> Int32
    let credentialSSHKeyNew: @convention(c) (CredentialOut?, CString?, CString?, CString?, CString?) -> Int32
    let credentialSSHKeyFromAgent: @convention(c) (CredentialOut?, CString?) -> Int32
    let credentialUserpassPlaintextNew: @convention(c) (CredentialOut?, CString?, CString?) -> Int32

    // Refs and checkout, for clones and remote-tracking branches
    let referenceCreate: @convention(c) (Out?, Handle?, CString?, LibGit2.OID?, Int32, CString?) -> Int32
    let referenceSymbolicCreate: @convention(c) (Out?, Handle?, CString?, CString?, Int32, CString?) -> Int32
    let checkoutOptionsInit: @convention(c) (UnsafeMutablePointer<git_checkout_options>?, UInt32) -> Int32
    let checkoutTree: @convention(c) (Handle?, Handle?, UnsafePointer<git_checkout_options>?) -> Int32
    let referenceNameIsValid: @convention(c) (UnsafeMutablePointer<Int32>?, CString?) -> Int32

    private init(_ lib: LibGit2) throws {
        self.lib = lib
        try TLSCertificates.loadDeferred(lib)
        list = try lib.function("git_remote_list", as: type(of: list))
        strarrayDispose = try lib.function("git_strarray_dispose", as: type(of: strarrayDispose))
        lookup = try lib.function("git_remote_lookup", as: type(of: lookup))
        create = try lib.function("git_remote_create", as: type(of: create))
        delete = try lib.function("git_remote_delete", as: type(of: delete))
        free = try lib.function("git_remote_free", as: type(of: free))
        url = try lib.function("git_remote_url", as: type(of: url))
        nameIsValid = try lib.function("git_remote_name_is_valid", as: type(of: nameIsValid))
        fetchOptionsInit = try lib.function("git_fetch_options_init", as: type(of: fetchOptionsInit))
        pushOptionsInit = try lib.function("git_push_options_init", as: type(of: pushOptionsInit))
        connect = try lib.function("git_remote_connect", as: type(of: connect))
        ls = try lib.function("git_remote_ls", as: type(of: ls))
        defaultBranch = try lib.function("git_remote_default_branch", as: type(of: defaultBranch))
        fetch = try lib.function("git_remote_fetch", as: type(of: fetch))
        push = try lib.function("git_remote_push", as: type(of: push))
        disconnect = try lib.function("git_remote_disconnect", as: type(of: disconnect))
        credentialUsernameNew = try lib.function("git_credential_username_new", as: type(of: credentialUsernameNew))
        credentialSSHKeyNew = try lib.function("git_credential_ssh_key_new", as: type(of: credentialSSHKeyNew))
        credentialSSHKeyFromAgent = try lib.function("git_credential_ssh_key_from_agent", as: type(of: credentialSSHKeyFromAgent))
        credentialUserpassPlaintextNew = try lib.function("git_credential_userpass_plaintext_new",
                                                          as: type(of: credentialUserpassPlaintextNew))
        referenceCreate = try lib.function("git_reference_create", as: type(of: referenceCreate))
        referenceSymbolicCreate = try lib.function("git_reference_symbolic_create", as: type(of: referenceSymbolicCreate))
        checkoutOptionsInit = try lib.function("git_checkout_options_init", as: type(of: checkoutOptionsInit))
        checkoutTree = try lib.function("git_checkout_tree", as: type(of: checkoutTree))
        referenceNameIsValid = try lib.function("git_reference_name_is_valid", as: type(of: referenceNameIsValid))
    }

    /// Looks up the remote `name`; the caller frees the handle with `free`.
    func lookupRemote(_ repo: Handle, _ name: String) throws -> Handle {
        var out: OpaquePointer?
        let rc = lookup(&out, repo, name)
        if rc == GIT_ENOTFOUND.rawValue || rc == GIT_EINVALIDSPEC.rawValue { throw GitError.remoteNotFound(name) }
        try lib.check(rc, "git_remote_lookup")
        guard let out else { throw GitError.call(function: "git_remote_lookup", code: -1, message: "returned no remote") }
        return out
    }

    /// Throws unless `refs/heads/<branch>` is a name git accepts.
    func validateBranchName(_ branch: String) throws {
        var valid: Int32 = 0
        try lib.check(referenceNameIsValid(&valid, "refs/heads/" + branch), "git_reference_name_is_valid")
        guard valid == 1, !branch.isEmpty else { throw GitError.invalidBranchName(branch) }
    }

    /// The strings of a `git_strarray` libgit2 filled, which is then disposed.
    func strings(_ array: inout git_strarray) -> [String] {
        defer { strarrayDispose(&array) }
        return (0..<array.count).compactMap { array.strings[$0].map { String(cString: $0) } }
    }
}
