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
/// each copy described by its rectangle's values (built from the rectangles alone, so memory
/// grows with the rectangles, not the image). Nil when the model refuses local changes
/// (training mode, hooks).
func locallyMaskedOutputs(_ module: Module, inputs: Tensor, baseline: Tensor, masks: Tensor, rectangles: MaskRectangles,
                          targets: Tensor, copiesPerCall: Int) throws -> Tensor? {
    let (n, p) = (inputs.shape[0], masks.shape[0])
    var rows: [Tensor] = []
    return try noGrad { () throws -> Tensor? in
        for image in 0..<n {
            let x = try inputs.slice(dim: 0, start: image, end: image + 1)
            let b = try baseline.slice(dim: 0, start: image, end: image + 1)
            var columns: [Tensor] = []
            for start in stride(from: 0, to: p, by: copiesPerCall) {
                let end = min(p, start + copiesPerCall)
                let rowSpan = LocalChange.Span(starts: Array(rectangles.rows.starts[start..<end]), length: rectangles.rows.length)
                let columnSpan = LocalChange.Span(starts: Array(rectangles.columns.starts[start..<end]), length: rectangles.columns.length)
                func crops(_ maps: Tensor) throws -> Tensor { try windows(of: maps, rows: rowSpan, columns: columnSpan) }
                let (xs, m) = (try crops(x), try crops(masks.slice(dim: 0, start: start, end: end).to(inputs.dtype)))
                let change = try LocalChange(base: x, values: xs + (crops(b) - xs) * m, rows: rowSpan, columns: columnSpan)
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

/// Each copy's rectangle of `maps` ((1 or P, C, H, W)): (P, C, h, w), in one gather.
func windows(of maps: Tensor, rows: LocalChange.Span, columns: LocalChange.Span) throws -> Tensor {
    let (copies, channels, width) = (rows.starts.count, maps.shape[1], maps.shape[3])
    let (h, w) = (rows.length, columns.length)
    let rowIndex = try Tensor(rows.starts, shape: [copies, 1, 1]) + Tensor.arange(0, Double(h)).reshaped([1, h, 1])
    let columnIndex = try Tensor(columns.starts, shape: [copies, 1, 1]) + Tensor.arange(0, Double(w)).reshaped([1, 1, w])
    let index = try (rowIndex * Tensor(scalar: Double(width), dtype: .int64) + columnIndex)
        .reshaped([copies, 1, h * w]).expanded(to: [copies, channels, h * w])
    let source = try maps.reshaped([maps.shape[0], channels, -1]).expanded(to: [copies, channels, maps.shape[2] * width])
    return try source.gather(dim: 2, index: index).reshaped([copies, channels, h, w])
}
