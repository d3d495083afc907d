import Age

/// One value of a record: what the three formats know how to show.
indirect enum Value {
    case string(String)
    case int(Int)
    case bool(Bool)
    case null
    case list([Value])
    case record(Record)
    /// A secret's value: a string if it is UTF-8, else `{base64: …}`; quoted in tables.
    case secret(SecureBytes)

    /// `.string`, or `.null` for nil.
    static func optional(_ text: String?) -> Value { text.map(Value.string) ?? .null }

    /// A list of strings.
    static func strings<S: Sequence>(_ items: S) -> Value where S.Element == String { .list(items.map(Value.string)) }
}

extension Value: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int) { self = .int(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
}

/// Ordered fields: the order written is the order printed, in every format.
struct Record: ExpressibleByDictionaryLiteral {
    private(set) var fields: [(key: String, value: Value)]

    init(_ fields: [(key: String, value: Value)] = []) { self.fields = fields }

    init(dictionaryLiteral elements: (String, Value)...) {
        fields = elements.map { (key: $0.0, value: $0.1) }
    }

    mutating func append(_ key: String, _ value: Value) { fields.append((key, value)) }

    subscript(key: String) -> Value? { fields.first { $0.key == key }?.value }
}

/// A table: a header row of column names, then one row of cells per record.
struct Table {
    var columns: [String]
    var rows: [[Value]]

    init(_ columns: [String], rows: [[Value]] = []) {
        self.columns = columns
        self.rows = rows
    }
}

/// What a command prints: one document (a top-level object, the same for
/// JSON and YAML) and, if the command has one, its table form.
struct Output {
    var document: Record
    var table: Table?

    init(_ document: Record, table: Table?) {
        self.document = document
        self.table = table
    }
}
