import Testing
import TestSupport
@testable import Torch

@Suite("Autograd")
struct AutogradTests {
    @Test("second derivative of x³ is 6x")
    func secondDerivativeOfCube() throws {
        let x = try Tensor([-2.0, -0.5, 0, 1.5, 3] as [Double]).requiringGrad()
        let y = try x.pow(3).sum()
        let dy = try Tensor.grad(of: y, wrt: x, createGraph: true)
        #expect(try dy.scalars(as: Double.self) == [12, 0.75, 0, 6.75, 27])
        let d2y = try Tensor.grad(of: dy.sum(), wrt: x)
        #expect(try d2y.scalars(as: Double.self) == [-12, -3, 0, 9, 18])
    }

    @Test("Hessian-vector product matches finite differences of the gradient")
    func hessianVectorProduct() throws {
        let generator = Generator(seed: 3)
        let a = try Tensor.randn([4, 4], dtype: .float64, generator: generator)
        let v = try Tensor.randn([4], dtype: .float64, generator: generator)
        let x0 = try Tensor.randn([4], dtype: .float64, generator: generator)
        // f(x) = sum(tanh(A x)) + 0.5 * |x|^4, non-quadratic so the Hessian depends on x.
        func gradient(at point: Tensor, createGraph: Bool) throws -> (Tensor, Tensor) {
            let x = try point.detached().clone().requiringGrad()
            let f = try a.matmul(x).tanh().sum() + x.square().sum().square() * 0.5
            return (try Tensor.grad(of: f, wrt: x, createGraph: createGraph), x)
        }
        let (g, x) = try gradient(at: x0, createGraph: true)
        let hv = try Tensor.grad(of: (g * v).sum(), wrt: x)
        let h = 1e-5
        let (gPlus, _) = try gradient(at: x0 + v * h, createGraph: false)
        let (gMinus, _) = try gradient(at: x0 - v * h, createGraph: false)
        let finite = try (gPlus - gMinus) / (2 * h)
        let error = try (hv - finite).abs().max().item()
        // Central differences in float64 are accurate to about h² · |f'''| ≈ 1e-9.
        #expect(error < 1e-6)
    }

    @Test("a gradient hook can read and replace the gradient")
    func gradientHookReplacesGradient() throws {
        let x = try Tensor([1.0, 2, 3] as [Float]).requiringGrad()
        let y = try x * 2.0
        var seen: [Float] = []
        try y.registerGradientHook { grad in
            seen = try grad.scalars()
            return try grad * 10.0
        }
        try y.sum().backward()
        #expect(seen == [1, 1, 1])
        #expect(try x.grad!.scalars(as: Float.self) == [20, 20, 20])
    }

    @Test("an error thrown in a hook surfaces from backward")
    func hookErrorSurfaces() throws {
        let x = try Tensor([1.0] as [Float]).requiringGrad()
        let y = try x * 3.0
        try y.registerGradientHook { _ in throw TorchError("hook refused") }
        #expect(throws: TorchError.self) { try y.sum().backward() }
    }

    @Test("guided and deconvolution ReLU rules change only the backward pass")
    func reluBackwardRules() throws {
        let values: [Float] = [-1, 2, 3, -4]
        let upstream = try Tensor([1, -1, 2, 5] as [Float])
        func gradient(_ rule: ReLUBackwardRule) throws -> ([Float], [Float]) {
            let x = try Tensor(values).requiringGrad()
            let y = try Functional.relu(x, backward: rule)
            return (try y.detached().scalars(), try Tensor.grad(of: y, wrt: x, gradOutput: upstream).scalars())
        }
        #expect(try gradient(.standard) == ([0, 2, 3, 0], [0, -1, 2, 0]))
        #expect(try gradient(.guided) == ([0, 2, 3, 0], [0, 0, 2, 0]))
        #expect(try gradient(.deconvolution) == ([0, 2, 3, 0], [1, 0, 2, 5]))
    }

    @Test("noGrad stops recording")
    func noGradStopsRecording() throws {
        let x = try Tensor([1.0] as [Float]).requiringGrad()
        let y = try noGrad { try x * 2.0 }
        #expect(!y.requiresGrad)
        #expect(try (x * 2.0).requiresGrad)
    }
}
