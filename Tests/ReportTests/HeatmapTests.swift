import Foundation
import Testing
import TestSupport
@testable import Report
import Torch

@Suite("Heat maps")
struct HeatmapTests {
    static let fixture = try! Safetensors.read(
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("heatmap.safetensors").path).tensors

    @Test("normalisation matches Captum's visualize_image_attr for every sign and outlier percentile",
          arguments: Heatmap.Sign.allCases, [0.0, 2, 10])
    func normalizationMatchesCaptum(sign: Heatmap.Sign, outlier: Double) throws {
        let attribution = Self.fixture["attribution"]!
        let ours = try Heatmap.normalize(attribution, sign: sign, outlierPercentile: outlier)
        let theirs = Self.fixture["\(sign.rawValue).\(Int(outlier))"]!
        #expect(try (ours.to(.float64) - theirs.squeezed()).abs().max().item() < 1e-5)
    }

    @Test("every style renders an image of the input's size; styles that need a sign or an image say so")
    func stylesRender() throws {
        let attribution = Self.fixture["attribution"]!
        let image = try Tensor.rand([1, 28, 28], generator: Generator(seed: 1))
        for style in Heatmap.Style.allCases {
            let rendered = try Heatmap.render(attribution, image: image, style: style, sign: .positive)
            #expect(rendered.width == 28 && rendered.height == 28)
            #expect(rendered.channels == (style == .alphaScaling ? 4 : 3))
        }
        #expect(throws: TorchError.self) { try Heatmap.render(attribution, image: image, style: .maskedImage, sign: .all) }
        #expect(throws: TorchError.self) { try Heatmap.render(attribution, style: .blendedHeatMap) }
        #expect(throws: TorchError.self) { try Heatmap.render(attribution, image: Tensor.zeros([1, 5, 5]), style: .blendedHeatMap) }
    }

    @Test("the diverging map is red for negative, white for zero and green for positive")
    func divergingColors() throws {
        let map = try Tensor([-1, 0, 1] as [Float], shape: [1, 3])
        let image = try Heatmap.render(map, style: .heatMap, sign: .all, outlierPercentile: 0)
        #expect(image.pixels == [255, 0, 0, 255, 255, 255, 0, 128, 0])
        let zeros = try Heatmap.normalize(Tensor.zeros([4, 4]), sign: .all)
        #expect(try zeros.abs().max().item() == 0)
    }
}

@Suite("Charts and mosaics")
struct ChartTests {
    @Test("a mosaic places each tile, scaled, between white gaps")
    func mosaicLayout() throws {
        // Two rows, three columns of 2×2 grey tiles with value (row·3 + column) / 10.
        let values = try (Tensor.arange(0, 6).to(.float32) / 10.0).reshaped([2, 3, 1, 1, 1]).expanded(to: [2, 3, 1, 2, 2]).contiguous()
        let image = try ImageMosaic.render(values, gap: 1, scale: 2)
        #expect(image.width == 3 * (4 + 1) + 1 && image.height == 2 * (4 + 1) + 1 && image.channels == 1)
        func pixel(_ x: Int, _ y: Int) -> UInt8 { image.pixels[y * image.width + x] }
        #expect(pixel(0, 0) == 255 && pixel(5, 3) == 255)
        #expect(pixel(1, 1) == 0 && pixel(4, 4) == 0)
        #expect(pixel(2 * 5 + 1, 1 * 5 + 1) == UInt8((0.5 * 255).rounded()))
        #expect(errorMessage { _ = try ImageMosaic.render(Tensor.zeros([2, 2, 2, 2])) }?.contains("(rows, columns, 1 or 3, H, W)") == true)
    }

    @Test("bar charts draw signed values with their labels, escaped")
    func barChart() throws {
        let svg = BarChart(title: "θ <class 3>", labels: ["a & b", "c"], values: [0.5, -0.25]).svg()
        #expect(svg.contains("θ &lt;class 3&gt;") && svg.contains("a &amp; b"))
        #expect(svg.contains("+0.500") && svg.contains("-0.250"))
        #expect(svg.contains("#1f77b4") && svg.contains("#d62728"))
    }
}
