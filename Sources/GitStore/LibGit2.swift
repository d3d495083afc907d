#if canImport(Glibc)
import Glibc
#endif
import CGit2
import Posix

/// libgit2, loaded with dlopen on first use and initialised exactly once.
///
/// Linking libgit2 would make every coffer process pay for loading it and its
/// dependencies (TLS, SSH, Kerberos…) before main, about 3 ms here; commands
/// that never touch history (`coffer age`, get, list, exec) must not. The
/// soname comes from the headers we compiled against, so the ABI matches.
///
/// Each member is a libgit2 function under its C name minus `git_`, typed by
/// hand after the 1.5 headers: opaque handles are `OpaquePointer`, C enums
/// their underlying integer type (same size and ABI).
///
/// Immutable once loaded (function pointers and the dlopen handle), hence
/// shared across threads. Its process-wide options are set here, once, and
/// never changed after: nothing one vault does can switch them under another.
final class LibGit2: @unchecked Sendable {
    static let soname = "libgit2.so.\(LIBGIT2_SOVERSION)"

    /// The loaded library, or why it could not be loaded.
    static let shared: Result<LibGit2, Error> = Result { try LibGit2() }

    static func load() throws -> LibGit2 { try shared.get() }

    typealias Out = UnsafeMutablePointer<OpaquePointer?>
    typealias Handle = OpaquePointer
    typealias OID = UnsafePointer<git_oid>
    typealias MutableOID = UnsafeMutablePointer<git_oid>
    typealias CString = UnsafePointer<CChar>

    /// The dlopen handle; `dlsym` on it also finds libgit2's dependencies' functions.
    let handle: UnsafeMutableRawPointer
    let version: @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?) -> Int32
    let lastError: @convention(c) () -> UnsafePointer<git_error>?
    /// `git_libgit2_opts` is variadic in C. Calling it through this fixed-arity
    /// type is ABI-safe on x86-64 and arm64 (SysV and AAPCS64 Linux) because
    /// every argument we pass is an `int`: variadic integer arguments travel in
    /// the same registers as fixed ones (x86-64 callers also set %al, which
    /// only matters for floating-point varargs). Only use integer options.
    let libgit2Opts: @convention(c) (Int32, Int32) -> Int32
    /// The same function for options taking two strings: pointers travel
    /// in the same registers as fixed arguments too (see above).
    let libgit2OptsStrings: @convention(c) (Int32, CString?, CString?) -> Int32

    // Repository
    let repositoryInitOptionsInit: @convention(c) (UnsafeMutablePointer<git_repository_init_options>?, UInt32) -> Int32
    let repositoryInitExt: @convention(c) (Out?, CString?, UnsafeMutablePointer<git_repository_init_options>?) -> Int32
    let repositoryOpenExt: @convention(c) (Out?, CString?, UInt32, CString?) -> Int32
    let repositoryFree: @convention(c) (Handle?) -> Void
    let repositoryWorkdir: @convention(c) (Handle?) -> CString?
    let repositoryPath: @convention(c) (Handle?) -> CString?
    let repositoryConfigSnapshot: @convention(c) (Out?, Handle?) -> Int32

    // References
    let referenceNameToID: @convention(c) (MutableOID?, Handle?, CString?) -> Int32
    let referenceLookup: @convention(c) (Out?, Handle?, CString?) -> Int32
    let referenceSymbolicTarget: @convention(c) (Handle?) -> CString?
    let referenceFree: @convention(c) (Handle?) -> Void

    // Blobs
    let blobCreateFromBuffer: @convention(c) (MutableOID?, Handle?, UnsafeRawPointer?, Int) -> Int32
    let blobLookup: @convention(c) (Out?, Handle?, OID?) -> Int32
    let blobRawContent: @convention(c) (Handle?) -> UnsafeRawPointer?
    let blobRawSize: @convention(c) (Handle?) -> UInt64
    let blobFree: @convention(c) (Handle?) -> Void

    // Commits
    let commitLookup: @convention(c) (Out?, Handle?, OID?) -> Int32
    let commitFree: @convention(c) (Handle?) -> Void
    let commitTreeID: @convention(c) (Handle?) -> OID?
    let commitParentCount: @convention(c) (Handle?) -> UInt32
    let commitParentID: @convention(c) (Handle?, UInt32) -> OID?
    let commitMessage: @convention(c) (Handle?) -> CString?
    let commitTime: @convention(c) (Handle?) -> Int64
    let commitAuthor: @convention(c) (Handle?) -> UnsafePointer<git_signature>?
    let commitCreate: @convention(c) (MutableOID?, Handle?, CString?, UnsafePointer<git_signature>?, UnsafePointer<git_signature>?,
                                      CString?, CString?, Handle?, Int, UnsafePointer<Handle?>?) -> Int32
    let commitCreateBuffer: @convention(c) (UnsafeMutablePointer<git_buf>?, Handle?, UnsafePointer<git_signature>?, UnsafePointer<git_signature>?,
                                            CString?, CString?, Handle?, Int, UnsafePointer<Handle?>?) -> Int32
    let commitCreateWithSignature: @convention(c) (MutableOID?, Handle?, CString?, CString?, CString?) -> Int32
    let bufDispose: @convention(c) (UnsafeMutablePointer<git_buf>?) -> Void
    let commitExtractSignature: @convention(c) (UnsafeMutablePointer<git_buf>?, UnsafeMutablePointer<git_buf>?, Handle?,
                                                MutableOID?, CString?) -> Int32

    // The commit graph
    let revwalkNew: @convention(c) (Out?, Handle?) -> Int32
    let revwalkFree: @convention(c) (Handle?) -> Void
    let revwalkPush: @convention(c) (Handle?, OID?) -> Int32
    let revwalkHide: @convention(c) (Handle?, OID?) -> Int32
    let revwalkSorting: @convention(c) (Handle?, UInt32) -> Int32
    let revwalkNext: @convention(c) (MutableOID?, Handle?) -> Int32
    let graphDescendantOf: @convention(c) (Handle?, OID?, OID?) -> Int32
    let mergeBase: @convention(c) (MutableOID?, Handle?, OID?, OID?) -> Int32
    let mergeBases: @convention(c) (UnsafeMutablePointer<git_oidarray>?, Handle?, OID?, OID?) -> Int32
    let oidarrayDispose: @convention(c) (UnsafeMutablePointer<git_oidarray>?) -> Void

    // Trees and tree builders
    let treeLookup: @convention(c) (Out?, Handle?, OID?) -> Int32
    let treeFree: @convention(c) (Handle?) -> Void
    let treeEntryCount: @convention(c) (Handle?) -> Int
    let treeEntryByIndex: @convention(c) (Handle?, Int) -> Handle?
    let treeEntryByPath: @convention(c) (Out?, Handle?, CString?) -> Int32
    let treeEntryFree: @convention(c) (Handle?) -> Void
    let treeEntryName: @convention(c) (Handle?) -> CString?
    let treeEntryID: @convention(c) (Handle?) -> OID?
    let treeEntryFilemode: @convention(c) (Handle?) -> UInt32
    let treebuilderNew: @convention(c) (Out?, Handle?, Handle?) -> Int32
    let treebuilderFree: @convention(c) (Handle?) -> Void
    let treebuilderEntryCount: @convention(c) (Handle?) -> Int
    let treebuilderGet: @convention(c) (Handle?, CString?) -> Handle?
    let treebuilderInsert: @convention(c) (Out?, Handle?, CString?, OID?, UInt32) -> Int32
    let treebuilderRemove: @convention(c) (Handle?, CString?) -> Int32
    let treebuilderWrite: @convention(c) (MutableOID?, Handle?) -> Int32

    // Signatures, index, config
    let signatureNow: @convention(c) (UnsafeMutablePointer<UnsafeMutablePointer<git_signature>?>?, CString?, CString?) -> Int32
    let signatureFree: @convention(c) (UnsafeMutablePointer<git_signature>?) -> Void
    let indexAdd: @convention(c) (Handle?, UnsafePointer<git_index_entry>?) -> Int32
    let indexRemove: @convention(c) (Handle?, CString?, Int32) -> Int32
    let indexWrite: @convention(c) (Handle?) -> Int32
    let indexFree: @convention(c) (Handle?) -> Void
    let indexHasConflicts: @convention(c) (Handle?) -> Int32
    let indexOpen: @convention(c) (Out?, CString?) -> Int32
    let indexSetCaps: @convention(c) (Handle?, Int32) -> Int32
    let configGetString: @convention(c) (UnsafeMutablePointer<CString?>?, Handle?, CString?) -> Int32
    let configGetBool: @convention(c) (UnsafeMutablePointer<Int32>?, Handle?, CString?) -> Int32
    let configFree: @convention(c) (Handle?) -> Void
    let repositoryConfig: @convention(c) (Out?, Handle?) -> Int32
    let configSetString: @convention(c) (Handle?, CString?, CString?) -> Int32
    // Raw object reads
    let repositoryODB: @convention(c) (Out?, Handle?) -> Int32
    let odbRead: @convention(c) (Out?, Handle?, OID?) -> Int32
    let odbReadHeader: @convention(c) (UnsafeMutablePointer<Int>?, UnsafeMutablePointer<git_object_t>?, Handle?, OID?) -> Int32
    let odbObjectData: @convention(c) (Handle?) -> UnsafeRawPointer?
    let odbObjectSize: @convention(c) (Handle?) -> Int
    let odbObjectFree: @convention(c) (Handle?) -> Void
    let odbFree: @convention(c) (Handle?) -> Void
    // Batches: an in-memory backend in front of the odb (stored by PackWriter)
    let odbWrite: @convention(c) (MutableOID?, Handle?, UnsafeRawPointer?, Int, Int32) -> Int32
    let odbObjectType: @convention(c) (Handle?) -> Int32
    let odbAddBackend: @convention(c) (Handle?, UnsafeMutablePointer<git_odb_backend>?, Int32) -> Int32
    let odbRefresh: @convention(c) (Handle?) -> Int32
    let odbBackendDataAlloc: @convention(c) (UnsafeMutablePointer<git_odb_backend>?, Int) -> UnsafeMutableRawPointer?
    let mempackNew: @convention(c) (UnsafeMutablePointer<UnsafeMutablePointer<git_odb_backend>?>?) -> Int32
    let mempackReset: @convention(c) (UnsafeMutablePointer<git_odb_backend>?) -> Int32
    // Revisions
    let revparseSingle: @convention(c) (Out?, Handle?, CString?) -> Int32
    let objectPeel: @convention(c) (Out?, Handle?, Int32) -> Int32
    let objectID: @convention(c) (Handle?) -> OID?
    let objectFree: @convention(c) (Handle?) -> Void

    private init() throws {
        guard let handle = dlopen(LibGit2.soname, RTLD_NOW | RTLD_LOCAL) else {
            throw GitError.libraryUnavailable(LibGit2.dlerrorText() + " (install libgit2)")
        }
        self.handle = handle
        func symbol<T>(_ name: String, as type: T.Type) throws -> T {
            guard let pointer = dlsym(handle, name) else {
                throw GitError.libraryUnavailable("\(LibGit2.soname) has no \(name)")
            }
            return unsafeBitCast(pointer, to: type)
        }
        let initialize = try symbol("git_libgit2_init", as: (@convention(c) () -> Int32).self)
        version = try symbol("git_libgit2_version", as: type(of: version))
        lastError = try symbol("git_error_last", as: type(of: lastError))
        libgit2Opts = try symbol("git_libgit2_opts", as: type(of: libgit2Opts))
        libgit2OptsStrings = try symbol("git_libgit2_opts", as: type(of: libgit2OptsStrings))

        repositoryInitOptionsInit = try symbol("git_repository_init_options_init", as: type(of: repositoryInitOptionsInit))
        repositoryInitExt = try symbol("git_repository_init_ext", as: type(of: repositoryInitExt))
        repositoryOpenExt = try symbol("git_repository_open_ext", as: type(of: repositoryOpenExt))
        repositoryFree = try symbol("git_repository_free", as: type(of: repositoryFree))
        repositoryWorkdir = try symbol("git_repository_workdir", as: type(of: repositoryWorkdir))
        repositoryPath = try symbol("git_repository_path", as: type(of: repositoryPath))
        repositoryConfigSnapshot = try symbol("git_repository_config_snapshot", as: type(of: repositoryConfigSnapshot))

        referenceNameToID = try symbol("git_reference_name_to_id", as: type(of: referenceNameToID))
        referenceLookup = try symbol("git_reference_lookup", as: type(of: referenceLookup))
        referenceSymbolicTarget = try symbol("git_reference_symbolic_target", as: type(of: referenceSymbolicTarget))
        referenceFree = try symbol("git_reference_free", as: type(of: referenceFree))

        blobCreateFromBuffer = try symbol("git_blob_create_from_buffer", as: type(of: blobCreateFromBuffer))
        blobLookup = try symbol("git_blob_lookup", as: type(of: blobLookup))
        blobRawContent = try symbol("git_blob_rawcontent", as: type(of: blobRawContent))
        blobRawSize = try symbol("git_blob_rawsize", as: type(of: blobRawSize))
        blobFree = try symbol("git_blob_free", as: type(of: blobFree))

        commitLookup = try symbol("git_commit_lookup", as: type(of: commitLookup))
        commitFree = try symbol("git_commit_free", as: type(of: commitFree))
        commitTreeID = try symbol("git_commit_tree_id", as: type(of: commitTreeID))
        commitParentCount = try symbol("git_commit_parentcount", as: type(of: commitParentCount))
        commitParentID = try symbol("git_commit_parent_id", as: type(of: commitParentID))
        commitMessage = try symbol("git_commit_message", as: type(of: commitMessage))
        commitTime = try symbol("git_commit_time", as: type(of: commitTime))
        commitAuthor = try symbol("git_commit_author", as: type(of: commitAuthor))
        commitCreate = try symbol("git_commit_create", as: type(of: commitCreate))
        commitCreateBuffer = try symbol("git_commit_create_buffer", as: type(of: commitCreateBuffer))
        commitCreateWithSignature = try symbol("git_commit_create_with_signature", as: type(of: commitCreateWithSignature))
        bufDispose = try symbol("git_buf_dispose", as: type(of: bufDispose))
        commitExtractSignature = try symbol("git_commit_extract_signature", as: type(of: commitExtractSignature))

        revwalkNew = try symbol("git_revwalk_new", as: type(of: revwalkNew))
        revwalkFree = try symbol("git_revwalk_free", as: type(of: revwalkFree))
        revwalkPush = try symbol("git_revwalk_push", as: type(of: revwalkPush))
        revwalkHide = try symbol("git_revwalk_hide", as: type(of: revwalkHide))
        revwalkSorting = try symbol("git_revwalk_sorting", as: type(of: revwalkSorting))
        revwalkNext = try symbol("git_revwalk_next", as: type(of: revwalkNext))
        graphDescendantOf = try symbol("git_graph_descendant_of", as: type(of: graphDescendantOf))
        mergeBase = try symbol("git_merge_base", as: type(of: mergeBase))
        mergeBases = try symbol("git_merge_bases", as: type(of: mergeBases))
        oidarrayDispose = try symbol("git_oidarray_dispose", as: type(of: oidarrayDispose))

        treeLookup = try symbol("git_tree_lookup", as: type(of: treeLookup))
        treeFree = try symbol("git_tree_free", as: type(of: treeFree))
        treeEntryCount = try symbol("git_tree_entrycount", as: type(of: treeEntryCount))
        treeEntryByIndex = try symbol("git_tree_entry_byindex", as: type(of: treeEntryByIndex))
        treeEntryByPath = try symbol("git_tree_entry_bypath", as: type(of: treeEntryByPath))
        treeEntryFree = try symbol("git_tree_entry_free", as: type(of: treeEntryFree))
        treeEntryName = try symbol("git_tree_entry_name", as: type(of: treeEntryName))
        treeEntryID = try symbol("git_tree_entry_id", as: type(of: treeEntryID))
        treeEntryFilemode = try symbol("git_tree_entry_filemode", as: type(of: treeEntryFilemode))
        treebuilderNew = try symbol("git_treebuilder_new", as: type(of: treebuilderNew))
        treebuilderFree = try symbol("git_treebuilder_free", as: type(of: treebuilderFree))
        treebuilderEntryCount = try symbol("git_treebuilder_entrycount", as: type(of: treebuilderEntryCount))
        treebuilderGet = try symbol("git_treebuilder_get", as: type(of: treebuilderGet))
        treebuilderInsert = try symbol("git_treebuilder_insert", as: type(of: treebuilderInsert))
        treebuilderRemove = try symbol("git_treebuilder_remove", as: type(of: treebuilderRemove))
        treebuilderWrite = try symbol("git_treebuilder_write", as: type(of: treebuilderWrite))

        signatureNow = try symbol("git_signature_now", as: type(of: signatureNow))
        signatureFree = try symbol("git_signature_free", as: type(of: signatureFree))
        indexAdd = try symbol("git_index_add", as: type(of: indexAdd))
        indexRemove = try symbol("git_index_remove", as: type(of: indexRemove))
        indexWrite = try symbol("git_index_write", as: type(of: indexWrite))
        indexFree = try symbol("git_index_free", as: type(of: indexFree))
        indexHasConflicts = try symbol("git_index_has_conflicts", as: type(of: indexHasConflicts))
        indexOpen = try symbol("git_index_open", as: type(of: indexOpen))
        indexSetCaps = try symbol("git_index_set_caps", as: type(of: indexSetCaps))
        configGetString = try symbol("git_config_get_string", as: type(of: configGetString))
        configGetBool = try symbol("git_config_get_bool", as: type(of: configGetBool))
        configFree = try symbol("git_config_free", as: type(of: configFree))
        repositoryConfig = try symbol("git_repository_config", as: type(of: repositoryConfig))
        configSetString = try symbol("git_config_set_string", as: type(of: configSetString))
        repositoryODB = try symbol("git_repository_odb", as: type(of: repositoryODB))
        odbRead = try symbol("git_odb_read", as: type(of: odbRead))
        odbReadHeader = try symbol("git_odb_read_header", as: type(of: odbReadHeader))
        odbObjectData = try symbol("git_odb_object_data", as: type(of: odbObjectData))
        odbObjectSize = try symbol("git_odb_object_size", as: type(of: odbObjectSize))
        odbObjectFree = try symbol("git_odb_object_free", as: type(of: odbObjectFree))
        odbFree = try symbol("git_odb_free", as: type(of: odbFree))
        odbWrite = try symbol("git_odb_write", as: type(of: odbWrite))
        odbObjectType = try symbol("git_odb_object_type", as: type(of: odbObjectType))
        odbAddBackend = try symbol("git_odb_add_backend", as: type(of: odbAddBackend))
        odbRefresh = try symbol("git_odb_refresh", as: type(of: odbRefresh))
        odbBackendDataAlloc = try symbol("git_odb_backend_data_alloc", as: type(of: odbBackendDataAlloc))
        mempackNew = try symbol("git_mempack_new", as: type(of: mempackNew))
        mempackReset = try symbol("git_mempack_reset", as: type(of: mempackReset))
        revparseSingle = try symbol("git_revparse_single", as: type(of: revparseSingle))
        objectPeel = try symbol("git_object_peel", as: type(of: objectPeel))
        objectID = try symbol("git_object_id", as: type(of: objectID))
        objectFree = try symbol("git_object_free", as: type(of: objectFree))

        // The CA bundle waits until a remote is used (see TLSCertificates).
        TLSCertificates.libraryHandle = handle
        TLSCertificates.deferring = true
        let rc = initialize()
        TLSCertificates.deferring = false
        guard rc >= 0 else { throw GitError.call(function: "git_libgit2_init", code: rc, message: "initialisation failed") }
        // libgit2 re-hashes every object it reads unless told not to; coffer
        // authenticates what it decrypts, and history walks read thousands.
        try check(libgit2Opts(Int32(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION.rawValue), 0), "git_libgit2_opts")
        // Trees up to 4 MiB stay cached once read (libgit2 keeps only those up
        // to 4 KiB): a write reads its scope's tree for the readers, the new
        // tree, and again to judge its own commit, and a scope of 500
        // secrets is a 24 KiB tree. The cache's total stays libgit2's (256 MiB).
        let cacheLimit = try symbol("git_libgit2_opts", as: (@convention(c) (Int32, Int32, Int) -> Int32).self)
        try check(cacheLimit(Int32(GIT_OPT_SET_CACHE_OBJECT_LIMIT.rawValue), Int32(GIT_OBJECT_TREE.rawValue), 4 << 20), "git_libgit2_opts")
    }

    /// A function looked up by its C name on first use, for features only
    /// some commands need (remotes, merging): each keeps its own typed table
    /// (see `RemoteFunctions`), so the start-up table above stays small.
    func function<T>(_ name: String, as type: T.Type) throws -> T {
        guard let pointer = dlsym(handle, name) else {
            throw GitError.libraryUnavailable("\(LibGit2.soname) has no \(name)")
        }
        return unsafeBitCast(pointer, to: type)
    }

    /// Converts a libgit2 return code into a thrown error with its message;
    /// an operating-system failure whose message quotes an errno coffer can
    /// explain (disk full, read-only) becomes `GitError.system`.
    func check(_ rc: Int32, _ function: String) throws {
        guard rc < 0 else { return }
        let last = lastError()
        let message = last.flatMap { $0.pointee.message.map { String(cString: $0) } } ?? "unknown error"
        if last?.pointee.klass == Int32(GIT_ERROR_OS.rawValue),
           let code = StorageProblem.errnos.first(where: { message.hasSuffix(String(cString: strerror($0))) }) {
            throw GitError.system(function: function, errno: code, message: message)
        }
        throw GitError.call(function: function, code: rc, message: message)
    }

    /// Runs a libgit2 constructor that fills an out-pointer and returns the
    /// new handle, which the caller must hand to an owning class at once.
    func make(_ function: String, _ body: (Out) -> Int32) throws -> Handle {
        var out: OpaquePointer?
        try check(body(&out), function)
        guard let out else { throw GitError.call(function: function, code: -1, message: "returned no object") }
        return out
    }

    private static func dlerrorText() -> String {
        dlerror().map { String(cString: $0) } ?? "dlopen(\(soname)) failed"
    }
}

/// Facts about the libgit2 this process uses.
public enum GitRuntime {
    /// libgit2's version, e.g. "1.5.1"; loads the library on first use.
    public static func version() throws -> String {
        let lib = try LibGit2.load()
        var major: Int32 = 0, minor: Int32 = 0, rev: Int32 = 0
        try lib.check(lib.version(&major, &minor, &rev), "git_libgit2_version")
        return "\(major).\(minor).\(rev)"
    }
}

/// A library libgit2 also depends on (zlib), for git's own formats, loaded
/// on its own: a write that never needs libgit2 then maps only this small
/// library (~0.1 ms), and one that does shares the mapping.
struct GitDependency {
    private let handle: UnsafeMutableRawPointer
    private let name: String

    /// `package` is named when the library is missing.
    init(_ name: String, soname: String, package: String) throws {
        guard let handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL) else {
            throw GitError.libraryUnavailable("\(soname) (install \(package))")
        }
        self.handle = handle
        self.name = name
    }

    func symbol<T>(_ function: String, as type: T.Type) throws -> T {
        guard let pointer = dlsym(handle, function) else { throw GitError.libraryUnavailable("\(name) has no \(function)") }
        return unsafeBitCast(pointer, to: type)
    }
}
