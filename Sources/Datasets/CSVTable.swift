import Foundation
import Torch

/// Users' own tables: a CSV file with a header row, numeric feature columns and one label column
/// (any text; classes are the distinct labels in sorted order, or the integers themselves when
/// every label is a non-negative integer).
public enum CSVTable {
    public static func read(_ path: String, labelColumn: String) throws -> LabelledTable {
        guard let data = FileManager.default.contents(atPath: path) else { throw TorchError("cannot read \(path)") }
        guard let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) else {
            throw TorchError("\(path) is not UTF-8 or Latin-1 text")
        }
        return try parse(text, labelColumn: labelColumn, source: path)
    }

    public static func parse(_ text: String, labelColumn: String, source: String = "the CSV") throws -> LabelledTable {
        var rows = try records(text, source: source)
        guard !rows.isEmpty else { throw TorchError("\(source) is empty; it needs a header row and data rows") }
        let header = rows.removeFirst().map { $0.trimmingCharacters(in: .whitespaces) }
        guard let labelIndex = header.firstIndex(of: labelColumn) else {
            throw TorchError("\(source) has no column '\(labelColumn)' (columns: \(header.joined(separator: ", "))); pass the label column's name")
        }
        guard header.count >= 2 else { throw TorchError("\(source) needs at least one feature column besides '\(labelColumn)'") }
        guard !rows.isEmpty else { throw TorchError("\(source) has a header but no data rows") }
        var values: [Float] = [], labelTexts: [String] = []
        values.reserveCapacity(rows.count * (header.count - 1))
        for (number, row) in rows.enumerated() {
            let line = number + 2
            guard row.count == header.count else {
                throw TorchError("\(source) line \(line) has \(row.count) fields, the header has \(header.count)")
            }
            for (column, field) in row.enumerated() {
                let trimmed = field.trimmingCharacters(in: .whitespaces)
                if column == labelIndex {
                    guard !trimmed.isEmpty else { throw TorchError("\(source) line \(line) has no label in column '\(labelColumn)'") }
                    labelTexts.append(trimmed)
                    continue
                }
                guard !trimmed.isEmpty else {
                    throw TorchError("\(source) line \(line), column '\(header[column])' is empty; fill or drop missing values first")
                }
                guard let value = Float(trimmed), value.isFinite else {
                    throw TorchError("\(source) line \(line), column '\(header[column])' is not a finite number: '\(trimmed)'")
                }
                values.append(value)
            }
        }
        let classNames: [String], labels: [Int64]
        let integers = labelTexts.compactMap { Int64($0) }
        if integers.count == labelTexts.count, let low = integers.min(), low >= 0, let high = integers.max(), high < 1000 {
            classNames = (0...high).map(String.init)
            labels = integers
        } else {
            classNames = Array(Set(labelTexts)).sorted()
            let index = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($1, Int64($0)) })
            labels = labelTexts.map { index[$0]! }
        }
        guard Set(labels).count >= 2 else { throw TorchError("\(source) has a single class in '\(labelColumn)'; a classifier needs at least two") }
        var names = header
        names.remove(at: labelIndex)
        return LabelledTable(features: try Tensor(values, shape: [rows.count, names.count]), labels: try Tensor(labels),
                             featureNames: names, classNames: classNames)
    }

    /// Fields of each non-empty line; double-quoted fields may hold commas, newlines and "" for a quote.
    static func records(_ text: String, source: String) throws -> [[String]] {
        var records: [[String]] = [], record: [String] = [], field = ""
        var quoted = false, fieldWasQuoted = false
        var iterator = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func finishRecord() {
            record.append(field)
            if !(record.count == 1 && record[0].isEmpty && !fieldWasQuoted) { records.append(record) }
            record = []; field = ""; fieldWasQuoted = false
        }
        while let scalar = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if scalar == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" { field.unicodeScalars.append("\"") } else { quoted = false; pending = next }
                    } else { quoted = false }
                } else { field.unicodeScalars.append(scalar) }
                continue
            }
            switch scalar {
            case "\"" where field.isEmpty: quoted = true; fieldWasQuoted = true
            case ",": record.append(field); field = ""; fieldWasQuoted = false
            case "\r": continue
            case "\n": finishRecord()
            default: field.unicodeScalars.append(scalar)
            }
        }
        guard !quoted else { throw TorchError("\(source) ends inside a quoted field") }
        if !field.isEmpty || !record.isEmpty || fieldWasQuoted { finishRecord() }
        return records
    }
}

extension LabelledTable {
    /// A stratified split: in every class, a `testFraction` share (at least one when the class has
    /// two or more samples) goes to the test part, chosen by a seeded permutation.
    public func split(testFraction: Double, seed: UInt64) throws -> (train: LabelledTable, test: LabelledTable) {
        guard testFraction > 0, testFraction < 1 else { throw TorchError("the test fraction must be between 0 and 1, got \(testFraction)") }
        let generator = Generator(seed: seed)
        let labelValues = try labels.scalars(as: Int64.self)
        var train: [Int64] = [], test: [Int64] = []
        for c in Set(labelValues).sorted() {
            let members = labelValues.indices.filter { labelValues[$0] == c }
            let order = try Tensor.randperm(members.count, generator: generator).scalars(as: Int64.self)
            let testCount = members.count < 2 ? 0 : Swift.max(1, Int((Double(members.count) * testFraction).rounded()))
            for (rank, position) in order.enumerated() {
                (rank < testCount ? { test.append(Int64(members[Int(position)])) } : { train.append(Int64(members[Int(position)])) })()
            }
        }
        func part(_ rows: [Int64]) throws -> LabelledTable {
            let index = try Tensor(rows.sorted())
            return LabelledTable(features: try features.indexSelect(dim: 0, index: index), labels: try labels.indexSelect(dim: 0, index: index),
                                 featureNames: featureNames, classNames: classNames)
        }
        guard !test.isEmpty, !train.isEmpty else { throw TorchError("too few rows to split into training and test parts") }
        return (try part(train), try part(test))
    }
}
