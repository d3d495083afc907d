import CGit2

/// The libgit2 functions a merge needs, looked up when the first merge
/// runs (see `LibGit2.function`): commands that never merge never pay.
struct MergeFunctions: @unchecked Sendable {
    typealias Handle = OpaquePointer
    typealias Entry = UnsafePointer<git_index_entry>

    let optionsInit: @convention(c) (UnsafeMutablePointer<git_merge_options>?, UInt32) -> Int32
    let mergeCommits: @convention(c) (UnsafeMutablePointer<OpaquePointer?>?, Handle?, Handle?, Handle?,
                                      UnsafePointer<git_merge_options>?) -> Int32
    let driverRegister: @convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<git_merge_driver>?) -> Int32
    let sourceAncestor: @convention(c) (OpaquePointer?) -> Entry?
    let sourceOurs: @convention(c) (OpaquePointer?) -> Entry?
    let sourceTheirs: @convention(c) (OpaquePointer?) -> Entry?
    let conflictIteratorNew: @convention(c) (UnsafeMutablePointer<OpaquePointer?>?, Handle?) -> Int32
    let conflictNext: @convention(c) (UnsafeMutablePointer<Entry?>?, UnsafeMutablePointer<Entry?>?,
                                      UnsafeMutablePointer<Entry?>?, Handle?) -> Int32
    let conflictIteratorFree: @convention(c) (Handle?) -> Void
    let conflictRemove: @convention(c) (Handle?, UnsafePointer<CChar>?) -> Int32
    let conflictCleanup: @convention(c) (Handle?) -> Int32
    let writeTreeTo: @convention(c) (UnsafeMutablePointer<git_oid>?, Handle?, Handle?) -> Int32
    let entryByPath: @convention(c) (Handle?, UnsafePointer<CChar>?, Int32) -> Entry?

    private init(_ lib: LibGit2) throws {
        optionsInit = try lib.function("git_merge_options_init", as: type(of: optionsInit))
        mergeCommits = try lib.function("git_merge_commits", as: type(of: mergeCommits))
        driverRegister = try lib.function("git_merge_driver_register", as: type(of: driverRegister))
        sourceAncestor = try lib.function("git_merge_driver_source_ancestor", as: type(of: sourceAncestor))
        sourceOurs = try lib.function("git_merge_driver_source_ours", as: type(of: sourceOurs))
        sourceTheirs = try lib.function("git_merge_driver_source_theirs", as: type(of: sourceTheirs))
        conflictIteratorNew = try lib.function("git_index_conflict_iterator_new", as: type(of: conflictIteratorNew))
        conflictNext = try lib.function("git_index_conflict_next", as: type(of: conflictNext))
        conflictIteratorFree = try lib.function("git_index_conflict_iterator_free", as: type(of: conflictIteratorFree))
        conflictRemove = try lib.function("git_index_conflict_remove", as: type(of: conflictRemove))
        conflictCleanup = try lib.function("git_index_conflict_cleanup", as: type(of: conflictCleanup))
        writeTreeTo = try lib.function("git_index_write_tree_to", as: type(of: writeTreeTo))
        entryByPath = try lib.function("git_index_get_bypath", as: type(of: entryByPath))
    }

    private static let shared: Result<MergeFunctions, Error> = Result { try MergeFunctions(LibGit2.load()) }

    static func load() throws -> MergeFunctions { try shared.get() }
}
