import Foundation
import TestSupport
import Testing
@testable import Datasets
import Torch



/// Builds an IDX file in memory: magic (type, rank), big-endian sizes, data.
func idx(type: UInt8, shape: [Int], data: [UInt8]) -> Data {
    var out = Data([0, 0, type, UInt8(shape.count)])
    for n in shape { out.append(contentsOf: [24, 16, 8, 0].map { UInt8((n >> $0) & 0xFF) }) }
    return out + Data(data)
}

@Suite("MNIST and IDX")
struct MNISTTests {
    @Test("the bundled split has 400 training and 100 test digits per class")
    func bundledSplitIsStratified() throws {
        let (train, test) = try MNIST.bundled()
        #expect(train.images.shape == [4000, 1, 28, 28])
        #expect(test.images.shape == [1000, 1, 28, 28])
        let trainCounts = try Tensor.zeros([10], dtype: .int64).scatter(dim: 0, index: train.labels, source: train.labels.onesLike(), accumulate: true)
        let testCounts = try Tensor.zeros([10], dtype: .int64).scatter(dim: 0, index: test.labels, source: test.labels.onesLike(), accumulate: true)
        #expect(try trainCounts.scalars(as: Int64.self) == Array(repeating: 400, count: 10))
        #expect(try testCounts.scalars(as: Int64.self) == Array(repeating: 100, count: 10))
        #expect(try train.images.min().item() == 0 && train.images.max().item() == 1)
        // The files are shuffled, not sorted by label.
        #expect(try train.labels.slice(dim: 0, start: 0, end: 20).scalars(as: Int64.self) != Array(repeating: 0, count: 20))
    }

    @Test("IDX decoding reads big-endian multi-byte values")
    func decodesBigEndian() throws {
        let data = idx(type: 0x0C, shape: [2], data: [0, 0, 1, 2, 0xFF, 0xFF, 0xFF, 0xFE])
        let t = try data.withUnsafeBytes { try IDX.decode($0) }
        #expect(try t.scalars(as: Int32.self) == [258, -2])
    }

    @Test("malformed IDX files give clear errors")
    func malformedIDX() throws {
        func decode(_ d: Data) -> String? { errorMessage { _ = try d.withUnsafeBytes { try IDX.decode($0) } } }
        #expect(decode(Data([1, 2, 8, 1])) == "bad magic number")
        #expect(decode(Data([0, 0, 0x42, 1, 0, 0, 0, 1, 0])) == "unknown element type 0x42")
        #expect(decode(idx(type: 0x08, shape: [2, 2], data: [1, 2, 3]))?.contains("needs 4 data bytes, the file has 3") == true)
        #expect(decode(Data([0, 0, 8, 3, 0])) == "header is truncated")
    }

    @Test("a folder of full-MNIST-style files loads, and problems name the file")
    func loadsFolder() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let pixels = (0..<(3 * 784)).map { UInt8($0 % 256) }
        for prefix in ["train", "t10k"] {
            try idx(type: 0x08, shape: [3, 28, 28], data: pixels).write(to: folder.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try idx(type: 0x08, shape: [3], data: [7, 0, 9]).write(to: folder.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }
        let (train, test) = try MNIST.load(directory: folder.path)
        #expect(train.count == 3 && test.count == 3)
        #expect(try train.labels.scalars(as: Int64.self) == [7, 0, 9])
        #expect(try abs(train.images[0].flattened()[1].item() - 1.0 / 255) < 1e-7)
        try idx(type: 0x08, shape: [3], data: [7, 0, 12]).write(to: folder.appendingPathComponent("t10k-labels-idx1-ubyte"))
        #expect(errorMessage { _ = try MNIST.load(directory: folder.path) }?.contains("fall outside 0...9") == true)
        try FileManager.default.removeItem(at: folder.appendingPathComponent("t10k-labels-idx1-ubyte"))
        #expect(errorMessage { _ = try MNIST.load(directory: folder.path) }?.contains("no t10k-labels-idx1-ubyte") == true)
    }

    @Test("a corrupt gzip file is reported, not crashed on")
    func corruptGzip() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("x.gz").path
        try Data([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5]).write(to: URL(fileURLWithPath: path))
        #expect(errorMessage { _ = try IDX.read(path) } != nil)
    }

    @Test("random shift moves the batch without changing its shape")
    func randomShift() throws {
        let x = try Tensor.ones([2, 1, 5, 5])
        let shifted = try Augmentation.randomShift(x, maxPixels: 2, generator: Generator(seed: 3))
        #expect(shifted.shape == [2, 1, 5, 5])
        #expect(try shifted.sum().item() <= 50)
    }
}

@Suite("Breast-cancer data")
struct BreastCancerTests {
    @Test("the bundled split has 454/115 tumours in both classes' proportions, standardised on the training set")
    func bundledSplit() throws {
        let (train, test) = try BreastCancer.bundled()
        #expect(train.count == 454 && test.count == 115)
        #expect(train.features.shape == [454, 30] && train.featureNames.first == "mean radius" && train.featureNames.count == 30)
        // scikit-learn: 212 malignant (0), 357 benign (1); 80% of each class trains.
        #expect(try train.labels.sum().itemInt() == 285 && test.labels.sum().itemInt() == 72)
        #expect(try train.features.mean(dims: [0]).abs().max().item() < 1e-5)
        #expect(try ((train.features.pow(2).mean(dims: [0]) - 1.0).abs().max().item()) < 1e-4)
    }

    @Test("malformed CSV rows are reported with their line")
    func malformed() throws {
        #expect(errorMessage { _ = try BreastCancer.load(csv: "a,b,target,split\n1,2,0,train\n1,x,1,test\n") } == "line 3 of the breast-cancer CSV has a non-numeric feature")
        #expect(errorMessage { _ = try BreastCancer.load(csv: "a,b,target,split\n1,2,7,train\n") } == "line 2 of the breast-cancer CSV is malformed")
        #expect(errorMessage { _ = try BreastCancer.load(csv: "a,b\n") } == "the breast-cancer CSV header must end with target,split")
    }
}

@Suite("Fuzz regressions: IDX and gzip")
struct IDXFuzzRegressionTests {
    @Test("kept IDX and gzipped IDX inputs are refused, never crash")
    func idxReaderRefusesKeptInputs() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz/regressions")
        for reader in ["IDX", "Gzip"] {
            let files = try FileManager.default.contentsOfDirectory(at: root.appendingPathComponent(reader), includingPropertiesForKeys: nil)
            #expect(!files.isEmpty)
            for file in files {
                #expect(throws: TorchError.self, "\(reader): \(file.lastPathComponent)") { try IDX.read(file.path) }
            }
        }
    }
}

@Suite("CSV tables")
struct CSVTableTests {
    @Test("quoted fields, integer labels and a stratified split")
    func parsing() throws {
        let text = "\"x, first\",y,label\r\n1,\"2\",0\n\"3\",4,1\n5,6,1\n\n7,8,0\n9,10,1\n11,12,0\n"
        let table = try CSVTable.parse(text, labelColumn: "label")
        #expect(table.featureNames == ["x, first", "y"] && table.classNames == ["0", "1"])
        #expect(try table.features.shape == [6, 2] && table.labels.scalars(as: Int64.self) == [0, 1, 1, 0, 1, 0])
        let (train, test) = try table.split(testFraction: 0.34, seed: 1)
        #expect(train.count + test.count == 6 && test.count == 2)
        #expect(Set(try test.labels.scalars(as: Int64.self)) == [0, 1])
        let texts = try CSVTable.parse("a,kind\n1,\"say \"\"hi\"\"\"\n2,b\n", labelColumn: "kind")
        #expect(texts.classNames == ["b", "say \"hi\""])
        #expect(errorMessage { _ = try CSVTable.parse("a,kind\n1,\"open\n", labelColumn: "kind") }?.contains("quoted") == true)
    }
}
