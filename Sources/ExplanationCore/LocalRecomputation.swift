import Foundation
import NN
import Torch

/// Whether perturbation methods recompute only what a local mask reaches (see `maskedOutputs`):
/// on unless `GLASSBOX_LOCAL_RECOMPUTATION=off`. Read once, at first use.
public enum LocalRecomputation {
    public static let isEnabled = ProcessInfo.processInfo.environment["GLASSBOX_LOCAL_RECOMPUTATION"] != "off"
}

/// Each mask's bounding rectangle over an image's rows and columns (all channels), when masks are
/// (P, C, H, W) and the rectangles cover at most a quarter of the image: above that, the early
/// layers' savings no longer pay for gathering windows.
struct MaskRectangles {
    let rows: LocalChange.Span, columns: LocalChange.Span

    init?(_ masks: Tensor, inputs: Tensor) throws {
        guard masks.rank == 4, inputs.rank == 4, inputs.dtype.isFloatingPoint else { return nil }
        let (height, width) = (masks.shape[2], masks.shape[3])
        let touched = try masks.ne(0)
        guard let rows = try Self.span(try touched.sum(dims: [1, 3]).gt(0), size: height),
              let columns = try Self.span(try touched.sum(dims: [1, 2]).gt(0), size: width),
              rows.length * columns.length * 4 <= height * width else { return nil }
        self.rows = rows
        self.columns = columns
    }

    /// The common span holding each row of `touched` (P, size)'s true entries.
    static func span(_ touched: Tensor, size: Int) throws -> LocalChange.Span? {
        let positions = try Tensor.arange(0, Double(size)).unsqueezed(dim: 0)
        func extreme(_ fill: Int, _ reduce: (Tensor) throws -> Tensor) throws -> [Int] {
            try reduce(Tensor.where(touched, positions, Tensor.full([1, 1], value: Double(fill), dtype: .int64)))
                .scalars(as: Int64.self).map { Int($0) }
        }
        let firsts = try extreme(size) { try $0.min(dims: [1]) }, lasts = try extreme(-1) { try $0.max(dims: [1]) }
        // An empty mask changes nothing: any rectangle will do.
        let ranges = zip(firsts, lasts).map { $0 <= $1 ? ($0, $1 - $0 + 1) : (0, 1) }
        guard let length = ranges.map(\.1).max() else { return nil }
        return LocalChange.Span(starts: ranges.map { min($0.0, size - length) }, length: length)
    }
}

/// `maskedOutputs` through local changes: per image, chunks of `copiesPerCall` perturbed copies,
/// each copy described by its rectangle's values. Nil when the model refuses local changes
/// (training mode, hooks).
func locallyMaskedOutputs(_ module: Module, inputs: Tensor, baseline: Tensor, masks: Tensor, rectangles: MaskRectangles,
                          targets: Tensor, copiesPerCall: Int) throws -> Tensor? {
    let (n, p) = (inputs.shape[0], masks.shape[0])
    let (height, width) = (inputs.shape[2], inputs.shape[3])
    var rows: [Tensor] = []
    return try noGrad { () throws -> Tensor? in
        for image in 0..<n {
            let x = try inputs.slice(dim: 0, start: image, end: image + 1)
            let b = try baseline.slice(dim: 0, start: image, end: image + 1)
            var columns: [Tensor] = []
            for start in stride(from: 0, to: p, by: copiesPerCall) {
                let end = min(p, start + copiesPerCall)
                let m = try masks.slice(dim: 0, start: start, end: end).to(inputs.dtype)
                let perturbed = try x + (b - x) * m
                let whole = LocalChange.Span(starts: Array(repeating: 0, count: end - start), length: height)
                let wide = LocalChange.Span(starts: Array(repeating: 0, count: end - start), length: width)
                let change = try LocalChange(base: x, values: perturbed, rows: whole, columns: wide)
                    .reframed(rows: .init(starts: Array(rectangles.rows.starts[start..<end]), length: rectangles.rows.length),
                              columns: .init(starts: Array(rectangles.columns.starts[start..<end]), length: rectangles.columns.length))
                guard let outputs = try module.outputs(locally: change) else { return nil }
                let target = try targets.slice(dim: 0, start: image, end: image + 1).expanded(to: [end - start])
                columns.append(try selectTargets(outputs, target))
                ProgressObserver.report("perturbations", done: image * p + end, of: n * p, unit: "rows")
            }
            rows.append(try Tensor.cat(columns, dim: 0))
        }
        return try Tensor.stack(rows, dim: 0)
    }
}
