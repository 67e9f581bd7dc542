import XCTest
import AdapterFormat
import Tensors
import TestSupport
import Training
import Transformer

/// One SGD step of each objective against PyTorch + PEFT (Tests/Fixtures/training,
/// made by scripts/fixtures/make_training_fixtures.py), in Float, from the same
/// adapter with dropout 0.
final class AgainstPyTorchTests: XCTestCase {
    func testOneSGDStepOfEachObjectiveMatchesPEFT() throws {
        let document = try Fixtures.json("training/cases.json")
        let cases = try XCTUnwrap(document["cases"]?.objectValue)
        XCTAssertEqual(cases.count, 6)
        for (name, spec) in cases {
            let model = try XCTUnwrap(spec["model"]?.stringValue)
            let dir = Fixtures.path("runtime/\(model)")
            let config = try ModelConfig(directory: dir)
            let graph = TrainingGraph(
                weights: FrozenWeights<Float>(try ModelWeights(directory: dir, config: config), config: config))
            let adapter = try AdapterReader.open(Fixtures.path("runtime/\(model)-adapters/a"))
            let lora = try LoRAParameters<Float>.loaded(from: adapter, config: config)
            let gradients = lora.zerosLike()
            var random = TrainingRandom(seed: 0, stream: "dropout")

            let examples = (spec["examples"]?.arrayValue ?? []).map {
                Scoring.Example(
                    ids: $0["ids"]?.arrayValue?.compactMap(\.intValue) ?? [],
                    promptLength: $0["prompt_length"]?.intValue ?? 0)
            }
            let side0 = (spec["side0"]?.arrayValue ?? []).map { $0.arrayValue?.compactMap(\.intValue) ?? [] }
            let side1 = (spec["side1"]?.arrayValue ?? []).map { $0.arrayValue?.compactMap(\.intValue) ?? [] }
            let layer = spec["layer"]?.intValue ?? 0
            let tau = spec["temperature"]?.doubleValue ?? 0.1
            var loss = 0.0
            switch spec["objective"]?.stringValue {
            case "task":
                loss = graph.taskLoss(examples, lora: lora, gradients: gradients, random: &random)
            case "align":
                loss = graph.alignmentLoss(
                    side0: side0, side1: side1, layer: layer, temperature: tau, lora: lora,
                    gradients: gradients, random: &random)
            default:
                let task = graph.taskLoss(examples, lora: lora, gradients: gradients, weight: 0.5, random: &random)
                let align = graph.alignmentLoss(
                    side0: side0, side1: side1, layer: layer, temperature: tau, lora: lora,
                    gradients: gradients, weight: 0.5, random: &random)
                XCTAssertEqual(task, try XCTUnwrap(spec["task_loss"]?.doubleValue), accuracy: 1e-5 * task, name)
                XCTAssertEqual(align, try XCTUnwrap(spec["align_loss"]?.doubleValue), accuracy: 1e-5 * align, name)
                loss = (task + align) / 2
            }
            XCTAssertEqual(loss, try XCTUnwrap(spec["loss"]?.doubleValue), accuracy: 1e-5 * loss, "\(name) loss")
            XCTAssertEqual(
                gradients.norm, try XCTUnwrap(spec["grad_norm"]?.doubleValue), accuracy: 1e-4 * gradients.norm, name)

            // Every factor's gradient, and so the adapter after p ← p − lr·g, within 1e-4 relative.
            let expected = try SafeTensorsFile(path: Fixtures.path("training/\(name).safetensors"))
            let lr = Float(try XCTUnwrap(spec["lr"]?.doubleValue))
            for (m, g) in zip(lora.modules, gradients.modules) {
                for (key, ours, parameter) in [(m.info.keyA, g.a, m.a), (m.info.keyB, g.b, m.b)] {
                    let theirs = try expected.tensor(key).floats()
                    XCTAssertLessThan(relativeError(ours.array, theirs), 1e-4, "\(name) gradient \(key)")
                    let stepped = zip(parameter.array, ours.array).map { $0 - lr * $1 }
                    let reference = zip(parameter.array, theirs).map { $0 - lr * $1 }
                    XCTAssertLessThan(relativeError(stepped, reference), 1e-4, "\(name) updated \(key)")
                }
            }
        }
    }

    func relativeError(_ x: [Float], _ y: [Float]) -> Double {
        var num = 0.0
        var den = 0.0
        for (a, b) in zip(x, y) {
            num += Double(a - b) * Double(a - b)
            den += Double(b) * Double(b)
        }
        return den == 0 ? num.squareRoot() : (num / den).squareRoot()
    }
}
