import Foundation
import Torch

/// How the optimised parameters become images in [0, 1] (Olah et al. 2017, "Preconditioning and
/// parameterization"). Pixels: sigmoid of free values. Fourier: the parameters are a spectrum,
/// scaled by 1/frequency so that every frequency starts with equal energy in the image (plain
/// pixels let high frequencies dominate the gradient), turned into an image by the inverse real
/// DFT (done as matrix products with cosine and sine bases) and, for 3 channels, through a fixed
/// colour-decorrelation matrix (the square root of natural images' colour covariance, as Lucid
/// uses), then a sigmoid.
public enum ImageParametrization: String, Sendable, CaseIterable {
    case pixels, fourier

    /// The parameters for `count` images of shape (C, H, W), small random values.
    package func initialParameters(count: Int, shape: [Int], generator: Generator) throws -> Tensor {
        let (c, h, w) = (shape[0], shape[1], shape[2])
        switch self {
        case .pixels: return try Tensor.randn([count, c, h, w], generator: generator) * 0.01
        case .fourier: return try Tensor.randn([count, c, h, w / 2 + 1, 2], generator: generator) * 0.01
        }
    }

    /// Images (N, C, H, W) in [0, 1] from the parameters.
    func images(_ parameters: Tensor, bases: FourierBases?) throws -> Tensor {
        switch self {
        case .pixels: return try parameters.sigmoid()
        case .fourier:
            guard let bases else { throw TorchError("the Fourier parametrisation needs its bases") }
            var x = try bases.image(from: parameters)
            if x.shape[1] == 3 { x = try bases.decorrelated(x) }
            return try x.sigmoid()
        }
    }
}

/// The inverse real DFT of an (N, C, H, W/2+1) spectrum (real and imaginary parts in a last
/// dimension of 2) as four pairs of matrix products, with the 1/frequency scaling folded in.
package struct FourierBases {
    package let cosH: Tensor, sinH: Tensor, cosW: Tensor, sinW: Tensor
    package let scale: Tensor
    package let colour: Tensor

    package init(height h: Int, width w: Int) throws {
        let l = w / 2 + 1
        func basis(_ n: Int, _ k: Int, _ f: (Double) -> Double, weighted: Bool) throws -> Tensor {
            var values = [Float](repeating: 0, count: n * k)
            for i in 0..<n {
                for j in 0..<k {
                    // irfft counts each interior frequency of the half spectrum twice.
                    let weight = weighted && j != 0 && !(n % 2 == 0 && j == n / 2) ? 2.0 : 1.0
                    values[i * k + j] = Float(weight * f(2 * Double.pi * Double(i * j) / Double(n)))
                }
            }
            return try Tensor(values, shape: [n, k])
        }
        cosH = try basis(h, h, Foundation.cos, weighted: false)
        sinH = try basis(h, h, Foundation.sin, weighted: false)
        cosW = try basis(w, l, Foundation.cos, weighted: true)
        sinW = try basis(w, l, Foundation.sin, weighted: true)
        // Frequencies in cycles per image, floored at 1/max(h, w) so the constant term stays finite.
        var scales = [Float](repeating: 0, count: h * l)
        for i in 0..<h {
            let fy = Double(i <= h / 2 ? i : i - h) / Double(h)
            for j in 0..<l {
                let fx = Double(j) / Double(w)
                scales[i * l + j] = Float(1 / max((fy * fy + fx * fx).squareRoot(), 1 / Double(max(h, w))))
            }
        }
        // Normalised so a unit-variance spectrum gives pixels of about unit variance.
        let total = scales.reduce(0) { $0 + Double($1 * $1) }
        let norm = Float((Double(h * w) / total).squareRoot())
        scale = try Tensor(scales.map { $0 * norm }, shape: [1, 1, h, l])
        // Colour decorrelation: the square root of ImageNet's colour covariance (Lucid's values),
        // columns scaled to unit length at most.
        let sqrtCovariance: [Float] = [0.26, 0.09, 0.02, 0.27, 0.00, -0.05, 0.27, -0.09, 0.03]
        let largest = (0..<3).map { c in (0..<3).map { Double(sqrtCovariance[$0 * 3 + c] * sqrtCovariance[$0 * 3 + c]) }.reduce(0, +).squareRoot() }.max()!
        colour = try Tensor(sqrtCovariance.map { $0 / Float(largest) }, shape: [3, 3])
    }

    func image(from spectrum: Tensor) throws -> Tensor {
        let real = try spectrum.slice(dim: 4, start: 0, end: 1).squeezed(dim: 4) * scale
        let imaginary = try spectrum.slice(dim: 4, start: 1, end: 2).squeezed(dim: 4) * scale
        // x = Re Σ S e^{iθ}: cos·A·cos − sin·A·sin − sin·B·cos − cos·B·sin, with θ = 2π(ky/H + lx/W).
        let cosWt = try cosW.transposed(0, 1), sinWt = try sinW.transposed(0, 1)
        let a = try cosH.matmul(real), b = try sinH.matmul(real), c = try sinH.matmul(imaginary), d = try cosH.matmul(imaginary)
        let x = try a.matmul(cosWt) - b.matmul(sinWt) - c.matmul(cosWt) - d.matmul(sinWt)
        let (h, w) = (cosH.shape[0], cosW.shape[0])
        return try x / Double(h * w).squareRoot()
    }

    /// Mixes the channels by the colour matrix: (N, 3, H, W) → (N, 3, H, W).
    func decorrelated(_ x: Tensor) throws -> Tensor {
        let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        return try colour.matmul(x.reshaped([n, 3, h * w])).reshaped([n, 3, h, w])
    }
}
