import Foundation
import Testing
import TestSupport
@testable import NN
import Torch

@Suite("Choosing the convolution path by measurement")
struct ConvolutionCalibrationTests {
    func temporaryFile() -> String {
        NSTemporaryDirectory() + "glassbox-calibration-\(UUID().uuidString)/paths.json"
    }

    @Test("a measurement is taken once, kept in the file for the next process, and a corrupt file is measured afresh")
    func measuredOnceAndKept() throws {
        let file = temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: (file as NSString).deletingLastPathComponent) }
        var taken = 0
        let calibration = ConvolutionCalibration(file: file)
        for _ in 0..<3 {
            let result = try calibration.measurement(for: "a shape") {
                taken += 1
                return .init(plan: 2, libtorch: 1)
            }
            #expect(result == .init(plan: 2, libtorch: 1))
            #expect(!result.planWins)
        }
        #expect(taken == 1)
        let reloaded = try ConvolutionCalibration(file: file).measurement(for: "a shape") {
            taken += 1
            return .init(plan: 1, libtorch: 1)
        }
        #expect(taken == 1 && reloaded == .init(plan: 2, libtorch: 1))
        #expect(try ConvolutionCalibration(file: file).measurement(for: "another shape") { .init(plan: 1.04, libtorch: 1) }.planWins)
        try Data("not json".utf8).write(to: URL(fileURLWithPath: file))
        _ = try ConvolutionCalibration(file: file).measurement(for: "a shape") {
            taken += 1
            return .init(plan: 1, libtorch: 1)
        }
        #expect(taken == 2)
    }

    @Test("comparing runs each body once untimed, then times both the given number of times and keeps the best")
    func comparison() throws {
        var calls = (plan: 0, libtorch: 0)
        let result = try ConvolutionCalibration.compare(runs: 3, plan: { calls.plan += 1; Thread.sleep(forTimeInterval: 0.02) },
                                                        libtorch: { calls.libtorch += 1 })
        #expect(calls.plan == 4 && calls.libtorch == 4)
        #expect(result.plan >= 0.02 && result.libtorch < 0.02)
        #expect(!result.planWins)
    }

    @Test("a measurement's key groups batch sizes between powers of two")
    func batchRanges() {
        #expect(ConvolutionCalibration.shapeText([1, 3, 8, 8]) == "1×3×8×8")
        #expect(ConvolutionCalibration.shapeText([2, 64]) == "2×64")
        #expect(ConvolutionCalibration.shapeText([3, 64]) == "3–4×64")
        #expect(ConvolutionCalibration.shapeText([186, 3, 224, 224]) == "129–256×3×224×224")
        #expect(ConvolutionCalibration.shapeText([256, 3]) == "129–256×3")
        #expect(ConvolutionCalibration.shapeText([257, 3]) == "257–512×3")
    }

    @Test("a ResNet-18 measured here gives libtorch's logits whichever path the measurement picked")
    func automaticPathAgrees() throws {
        guard ConvolutionPath.chosen == .automatic else { return }
        let model = try ResNetPlanTests().resNet(seed: 80)
        let x = try Tensor.randn([2, 3, 40, 48], generator: Generator(seed: 81))
        let expected = try model(x).detached()
        let chosen = try noGrad { try model(x) }
        if ConvolutionPlan.isAvailable {
            let measured = ConvolutionCalibration.shared.measurements.keys
            #expect(measured.contains { $0.hasSuffix("ResNet-18 from image on 2×3×40×48, inference") })
        }
        #expect(try maxDifference(chosen, expected) < 1e-4 * expected.abs().max().item())
    }
}
