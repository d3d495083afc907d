#if canImport(Glibc)
import Glibc
#endif
import CYaml
import Yams

// `coffer render`'s writer of a YAML document. Yams's serializer writes
// every scalar with its tag implicit, so `!Ref Name` came back as the string
// `Name` and `!!binary` lost its meaning; this one hands libyaml (through
// Yams's CYaml) the events Yams would, but with each scalar's own tag:
// implicit where the template had none, written where it had one.

/// The document's YAML: block or flow and quoting as each node has them,
/// every tag and anchor kept, no line folded.
func emitted(_ document: Node) throws -> String {
    let sink = EmitSink()
    var emitter = yaml_emitter_t()
    guard yaml_emitter_initialize(&emitter) == 1 else { throw YamlError.memory }
    defer { yaml_emitter_delete(&emitter) }
    yaml_emitter_set_output(&emitter, { context, buffer, size in
        guard let context, let buffer else { return 0 }
        Unmanaged<EmitSink>.fromOpaque(context).takeUnretainedValue().bytes += UnsafeBufferPointer(start: buffer, count: size)
        return 1
    }, Unmanaged.passUnretained(sink).toOpaque())
    yaml_emitter_set_width(&emitter, -1)
    yaml_emitter_set_unicode(&emitter, 1)
    yaml_emitter_set_encoding(&emitter, YAML_UTF8_ENCODING)

    func emit(_ initialize: (UnsafeMutablePointer<yaml_event_t>) -> Int32) throws {
        var event = yaml_event_t()
        guard initialize(&event) == 1, yaml_emitter_emit(&emitter, &event) == 1 else {
            // libyaml's problem may quote the document, which now holds values.
            throw YamlError.emitter(problem: "")
        }
    }

    /// `tag` as libyaml takes it, nil (and `implicit`) when the node would
    /// read back as `untagged` without it.
    func withTag<T>(_ tag: Tag, untagged: String, _ body: (UnsafeMutablePointer<UInt8>?, Int32) throws -> T) rethrows -> T {
        guard !tag.rawValue.isEmpty, tag.rawValue != untagged else { return try body(nil, 1) }
        var text = Array(tag.rawValue.utf8) + [0]
        return try text.withUnsafeMutableBufferPointer { try body($0.baseAddress, 0) }
    }

    func withAnchor<T>(_ anchor: Anchor?, _ body: (UnsafeMutablePointer<UInt8>?) throws -> T) rethrows -> T {
        guard let anchor else { return try body(nil) }
        var text = Array(anchor.rawValue.utf8) + [0]
        return try text.withUnsafeMutableBufferPointer { try body($0.baseAddress) }
    }

    func write(_ node: Node) throws {
        switch node {
        case .scalar(let scalar):
            var value = Array(scalar.string.utf8) + [0]
            let length = Int32(value.count - 1)
            try withAnchor(scalar.anchor) { anchor in
                try withTag(scalar.tag, untagged: untagged(scalar)) { tag, implicit in
                    try value.withUnsafeMutableBufferPointer { value in
                        try emit {
                            yaml_scalar_event_initialize($0, anchor, tag, value.baseAddress, length, implicit, implicit,
                                                         yaml_scalar_style_t(rawValue: numericCast(scalar.style.rawValue)))
                        }
                    }
                }
            }
        case .mapping(let mapping):
            try withAnchor(mapping.anchor) { anchor in
                try withTag(mapping.tag, untagged: Tag.Name.map.rawValue) { tag, implicit in
                    try emit {
                        yaml_mapping_start_event_initialize($0, anchor, tag, implicit,
                                                            yaml_mapping_style_t(rawValue: numericCast(mapping.style.rawValue)))
                    }
                }
            }
            for (key, value) in mapping {
                try write(key)
                try write(value)
            }
            try emit { yaml_mapping_end_event_initialize($0) }
        case .sequence(let sequence):
            try withAnchor(sequence.anchor) { anchor in
                try withTag(sequence.tag, untagged: Tag.Name.seq.rawValue) { tag, implicit in
                    try emit {
                        yaml_sequence_start_event_initialize($0, anchor, tag, implicit,
                                                             yaml_sequence_style_t(rawValue: numericCast(sequence.style.rawValue)))
                    }
                }
            }
            for item in sequence { try write(item) }
            try emit { yaml_sequence_end_event_initialize($0) }
        case .alias(let alias):
            var name = Array(alias.anchor.rawValue.utf8) + [0]
            try name.withUnsafeMutableBufferPointer { name in try emit { yaml_alias_event_initialize($0, name.baseAddress) } }
        }
    }

    try emit { yaml_stream_start_event_initialize($0, YAML_UTF8_ENCODING) }
    try emit { yaml_document_start_event_initialize($0, nil, nil, nil, 1) }
    try write(document)
    try emit { yaml_document_end_event_initialize($0, 1) }
    try emit { yaml_stream_end_event_initialize($0) }
    return String(decoding: sink.bytes, as: UTF8.self)
}

/// What an untagged scalar written in its style reads back as. Yams gives
/// a quoted or block scalar !!str and resolves a plain one from its text,
/// filling in the tags of the keys it compares; a tag equal to this one is
/// left implicit, as the template most likely had it.
func untagged(_ scalar: Node.Scalar) -> String {
    guard scalar.style == .plain || scalar.style == .any else { return Tag.Name.str.rawValue }
    return Node.scalar(Node.Scalar(scalar.string, .implicit, .plain)).tag.rawValue
}

private final class EmitSink {
    var bytes: [UInt8] = []
}
