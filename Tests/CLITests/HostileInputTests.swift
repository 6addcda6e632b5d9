import Foundation
import Testing
import TestSupport
import NN
import Torch

/// The reproductions of issue 13, each of which crashed, hung or wrote garbage: every one now ends
/// with a non-zero exit and a message, never a signal.
@Suite("Command line: hostile inputs")
struct HostileInputTests {
    /// A safetensors file from raw header JSON and data bytes (the header padded to 8 bytes).
    func rawSafetensors(_ header: String, data: [UInt8], to path: String) throws {
        var json = Data(header.utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var file = Data()
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { file.append(contentsOf: $0) }
        try (file + json + Data(data)).write(to: URL(fileURLWithPath: path))
    }

    /// A .npy file with a given header dictionary and data bytes.
    func rawNumpy(_ dictionary: String, data: [UInt8], to path: String) throws {
        var header = dictionary
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var file = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        file.append(Data(header.utf8))
        try (file + Data(data)).write(to: URL(fileURLWithPath: path))
    }

    @Test("shapes whose sizes overflow, in model files and inputs, are refused")
    func overflowingShapes() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = folder.appendingPathComponent("huge.safetensors").path
        try rawSafetensors(#"{"__metadata__":{"glassbox.architecture":"mnist-cnn"},"0.bias":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]}}"#,
                           data: [0, 0, 0, 0], to: model)
        let digit = folder.appendingPathComponent("digit.npy").path
        try NumpyFile.write(Tensor.rand([1, 1, 28, 28]), to: digit)
        let predicted = try glassbox(["predict", "--model", model, digit])
        #expect(predicted.failedCleanly && predicted.error.contains("needs more than 16 GiB"), "\(predicted)")
        let good = try modelFile(in: folder)
        for shape in ["(4294967296, 4294967296)", "(9223372036854775807, 2)", "(,28,28)"] {
            let input = folder.appendingPathComponent("bad.npy").path
            try rawNumpy("{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }", data: [0, 0, 0, 0], to: input)
            let result = try glassbox(["predict", "--model", good, input])
            #expect(result.failedCleanly, "\(shape): \(result)")
        }
        let maybe = folder.appendingPathComponent("maybe.npy").path
        try rawNumpy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }", data: [0, 0, 0, 0], to: maybe)
        #expect(try glassbox(["predict", "--model", good, maybe]).error.contains("fortran_order must be True or False"))
        let empty = folder.appendingPathComponent("empty.npy").path
        try NumpyFile.write(Tensor.zeros([0, 1, 28, 28]), to: empty)
        #expect(try glassbox(["predict", "--model", good, empty]).error.contains("holds no examples"))
    }

    @Test("counts and sizes beyond what memory holds are refused with their limits", arguments: [
        (["--method", "integrated-gradients", "--steps", "9223372036854775807", "--rule", "riemann_left"], "--steps must be between 1 and 10000"),
        (["--method", "kernel-shap", "--samples", "100000000"], "--samples must be between 1 and 100000"),
        (["--method", "kernel-shap", "--samples", "10"], "needs more than 49 coalitions"),
        (["--method", "kernel-shap", "--samples", "-1"], "--samples must be between 1 and 100000, got -1"),
        (["--method", "feature-ablation", "--patch", "9223372036854775807"], "--patch must be between 1 and 65536"),
        (["--method", "feature-ablation", "--patch", "40"], "--patch 40 is larger than the image"),
        (["--method", "integrated-gradients", "--baseline", "blur:inf"], "--baseline must be"),
        (["--method", "integrated-gradients", "--baseline", "blur:1e300"], "blur sigma must be positive and at most"),
        (["--method", "integrated-gradients", "--baseline", "blur:1e9"], "blur sigma must be positive and at most"),
        (["--method", "smoothgrad", "--stdev", "inf"], "--stdev must be a finite number"),
        (["--method", "occlusion", "--window", "1,4,4,"], "--window takes comma-separated"),
        (["--method", "saliency", "--outlier-percent", "100"], "--outlier-percent must be at least 0 and below 100"),
        (["--method", "saliency", "--threads", "10000"], "--threads must be between 1 and"),
        (["--method", "saliency", "--seed", "18446744073709551616"], "seed"),
    ] as [([String], String)])
    func boundedOptions(arguments: [String], expected: String) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try modelFile(in: folder)
        let input = folder.appendingPathComponent("digit.npy").path
        try NumpyFile.write(Tensor.rand([1, 1, 28, 28]), to: input)
        let result = try glassbox(["attribute", "--model", model, "--input", input, "--out", folder.appendingPathComponent("out").path] + arguments)
        #expect(result.failedCleanly && result.error.contains(expected), "\(result)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out/attributions.safetensors").path))
    }

    @Test("folders, pipes, damaged weights and classifiers without classes are refused as models")
    func badModels() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("digit.npy").path
        try NumpyFile.write(Tensor.rand([1, 1, 28, 28]), to: input)
        for command in [["predict", "--model", folder.path, input], ["evaluate", "--model", folder.path],
                        ["attribute", "--model", folder.path, "--input", input, "--method", "saliency", "--out", folder.path]] {
            let result = try glassbox(command)
            #expect(result.failedCleanly && result.error.contains("is a folder"), "\(command[0]): \(result)")
        }
        let pipe = folder.appendingPathComponent("pipe").path
        #expect(mkfifo(pipe, 0o600) == 0)
        #expect(try glassbox(["predict", "--model", pipe, input]).error.contains("is a pipe"))
        // NaN weights.
        var state = try Architectures.mnistCNN(generator: Generator(seed: 1)).stateDict()
        state["8.weight"] = try state["8.weight"]! * Double.nan
        let nan = folder.appendingPathComponent("nan.safetensors").path
        try Safetensors.write(state, metadata: ["glassbox.architecture": "mnist-cnn"], to: nan)
        let damaged = try glassbox(["predict", "--model", nan, input])
        #expect(damaged.failedCleanly && damaged.error.contains("NaN or infinite values in '8.weight'"), "\(damaged)")
        // A ResNet-18 state dict with no classes.
        var resNet = try ResNet18(classes: 1).stateDict()
        resNet["fc.weight"] = try Tensor.zeros([0, 512])
        resNet["fc.bias"] = try Tensor.zeros([0])
        let empty = folder.appendingPathComponent("resnet.safetensors").path
        try Safetensors.write(resNet, to: empty)
        let noClasses = try glassbox(["predict", "--model", empty, input])
        #expect(noClasses.failedCleanly && noClasses.error.contains("at least one class"), "\(noClasses)")
        // An input that overflows the model: the outputs are checked, never printed as NaN.
        let large = folder.appendingPathComponent("large.npy").path
        try NumpyFile.write(Tensor.full([1, 1, 28, 28], value: 3e38), to: large)
        let overflow = try glassbox(["predict", "--model", try modelFile(in: folder), large])
        #expect(overflow.failedCleanly && overflow.error.contains("NaN or infinite outputs"), "\(overflow)")
    }

    @Test("PNGs declaring huge images are refused before decoding; IDX folders with overflowing headers, wrong ranks or pipes are refused")
    func decompressionBombsAndIDX() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try modelFile(in: folder)
        // A valid PNG header declaring 16384×16384 RGBA, with no pixel data at all.
        var header = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13])
        header.append(Data("IHDR".utf8))
        header.append(contentsOf: [0, 0, 0x40, 0, 0, 0, 0x40, 0, 8, 6, 0, 0, 0, 0, 0, 0, 0])
        let bomb = folder.appendingPathComponent("bomb.png").path
        try header.write(to: URL(fileURLWithPath: bomb))
        let started = Date()
        let result = try glassbox(["predict", "--model", model, bomb])
        #expect(result.failedCleanly && result.error.contains("is 16384×16384; the model expects 28×28"), "\(result)")
        #expect(Date().timeIntervalSince(started) < 10)

        func idxFolder(_ name: String, images: Data, labels: Data) throws -> String {
            let data = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            for prefix in ["train", "t10k"] {
                try images.write(to: data.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
                try labels.write(to: data.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
            }
            return data.path
        }
        let goodLabels = Data([0, 0, 8, 1, 0, 0, 0, 1, 3])
        let overflowing = try idxFolder("overflow", images: Data([0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 28]), labels: goodLabels)
        let train = try glassbox(["train", "--data", overflowing, "--epochs", "1", "--out", folder.appendingPathComponent("t").path])
        #expect(train.failedCleanly, "\(train)")
        let image = Data([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28]) + Data(count: 784)
        let rankFour = try idxFolder("rank4", images: image, labels: Data([0, 0, 8, 4, 0, 0, 0, 1]))
        let evaluate = try glassbox(["evaluate", "--model", model, "--data", rankFour])
        #expect(evaluate.failedCleanly, "\(evaluate)")
        let piped = try idxFolder("pipe", images: image, labels: goodLabels)
        try FileManager.default.removeItem(atPath: piped + "/t10k-images-idx3-ubyte")
        #expect(mkfifo(piped + "/t10k-images-idx3-ubyte", 0o600) == 0)
        let blocked = try glassbox(["evaluate", "--model", model, "--data", piped])
        #expect(blocked.failedCleanly && blocked.error.contains("is a pipe"), "\(blocked)")
    }

    @Test("training checks its output folder first, refuses to resume with other settings or fewer epochs, and keeps the whole history")
    func trainingRuns() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("mnist")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try tinyMNIST(in: data, count: 40)
        for out in ["/dev/null", try modelFile(in: folder)] {
            let started = Date()
            let result = try glassbox(["train", "--data", data.path, "--epochs", "1", "--out", out])
            #expect(result.failedCleanly && result.error.contains("is not a folder") && !result.output.contains("epoch  1"), "\(result)")
            #expect(Date().timeIntervalSince(started) < 10)
        }
        let huge = try glassbox(["train", "--data", data.path, "--batch-size", "9223372036854775807", "--out", folder.appendingPathComponent("b").path])
        #expect(huge.failedCleanly && huge.error.contains("--batch-size must be between 1 and"), "\(huge)")
        let out = folder.appendingPathComponent("run").path
        #expect(try glassbox(["train", "--data", data.path, "--epochs", "2", "--out", out, "--seed", "3"]).status == 0)
        let other = try glassbox(["train", "--data", data.path, "--epochs", "3", "--out", out, "--seed", "3", "--learning-rate", "0.1", "--resume"])
        #expect(other.failedCleanly && other.error.contains("written by a run with other settings"), "\(other)")
        let fewer = try glassbox(["train", "--data", data.path, "--epochs", "1", "--out", out, "--seed", "3", "--resume"])
        #expect(fewer.failedCleanly && fewer.error.contains("already holds 2 epochs"), "\(fewer)")
        #expect(try glassbox(["train", "--data", data.path, "--epochs", "3", "--out", out, "--seed", "3", "--resume"]).status == 0)
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))) as? [String: Any]
        let epochs = (metrics?["epochs"] as? [[String: Any]])?.compactMap { $0["epoch"] as? Int }
        #expect(epochs == [1, 2, 3])
    }

    @Test("a training killed with SIGKILL mid-run resumes to exactly the model of an uninterrupted run")
    func killedTrainingResumes() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("mnist")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try tinyMNIST(in: data, count: 400)
        let settings = ["--data", data.path, "--epochs", "4", "--batch-size", "8", "--seed", "9", "--threads", "1"]
        let straight = folder.appendingPathComponent("straight").path
        #expect(try glassbox(["train", "--out", straight] + settings).status == 0)

        let killed = folder.appendingPathComponent("killed").path
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let process = Process()
        process.executableURL = FileManager.default.fileExists(atPath: binary.appendingPathComponent("glassbox").path)
            ? binary.appendingPathComponent("glassbox") : binary.deletingLastPathComponent().appendingPathComponent("glassbox")
        process.arguments = ["train", "--out", killed] + settings
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Kill it once the first checkpoint exists, in the middle of a later epoch.
        let checkpoint = killed + "/checkpoint.safetensors"
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: checkpoint), process.isRunning, Date() < deadline { usleep(2_000) }
        usleep(50_000)
        let wasRunning = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(wasRunning && process.terminationReason == .uncaughtSignal, "the run ended before it could be killed; the test needs slower epochs")
        #expect(!FileManager.default.fileExists(atPath: killed + "/model.safetensors"))
        let resumed = try glassbox(["train", "--out", killed, "--resume"] + settings)
        #expect(resumed.status == 0 && resumed.output.contains("resuming from"), "\(resumed)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: killed + "/model.safetensors")) == Data(contentsOf: URL(fileURLWithPath: straight + "/model.safetensors")))
    }
}
