import XCTest
import AdapterFormat
@testable import Evaluation
import TestSupport
import Transformer
#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The check on the tiny fixture Llama: retrieval against brute force, groups
/// from metadata, gates, and a report that parses as XML with one SVG per plot.
final class CheckReportTests: XCTestCase {
    static let model = Result { try TransformerModel(directory: Fixtures.path("runtime/llama")) }
    static let tokenizer = Result { try Tokenizer(directory: Fixtures.path("runtime/llama")) }

    func check(slots: Bool = false) throws -> HeldOutCheck {
        var rows = try JSONLines.read(Fixtures.path("runtime/score.jsonl"))
        if slots {
            // The same rows as slot filling: references in the convention, values from the prompt.
            rows = rows.map { row in
                var fields = row.fields.objectValue ?? []
                fields =
                    fields.filter { $0.key != "text" } + [
                        ("text", .string("word: \(row.optionalString("prefix")?.split(separator: " ").first ?? "x")"))
                    ]
                return DataRow(file: row.file, line: row.line, fields: .object(fields))
            }
        }
        return HeldOutCheck(
            model: try Self.model.get(), tokenizer: try Self.tokenizer.get(), rows: rows,
            pairs: try JSONLines.read(Fixtures.path("runtime/pairs.jsonl")), layer: 2)
    }

    func adapters(_ names: [String]) throws -> AdapterStack {
        try AdapterStack(
            adapters: names.map { (try AdapterReader.open(Fixtures.path("runtime/llama-adapters/\($0)")), 1.0) },
            config: try Self.model.get().config)
    }

    func testRetrievalAccuracyEqualsABruteForceSearch() throws {
        let c = try check()
        let stack = try adapters(["a"])
        let analysis = try RetrievalAnalysis(
            rows: c.pairs, model: c.model, tokenizer: c.tokenizer, adapters: stack, batchSize: 5)
        // Brute force: one sequence at a time, every layer's mean-pooled state, Double cosines, argmax per language.
        func pooled(_ text: String) throws -> [[Double]] {
            let ids = try c.tokenizer.encode(text)
            let out = try c.model.forward(TokenBatch([ids]), adapters: stack, hiddenStates: true)
            let h = c.model.config.hiddenSize
            return out.hiddenStates.map { state in
                (0..<h).map { k in (0..<ids.count).reduce(0.0) { $0 + Double(state[$1 * h + k]) } / Double(ids.count) }
            }
        }
        let anchors = try c.pairs.map { try pooled($0.string("text_parallel_0")) }
        let candidates = try c.pairs.map { try pooled($0.string("text_parallel_1")) }
        func cosine(_ x: [Double], _ y: [Double]) -> Double {
            zip(x, y).reduce(0) { $0 + $1.0 * $1.1 }
                / (x.reduce(0) { $0 + $1 * $1 }.squareRoot() * y.reduce(0) { $0 + $1 * $1 }.squareRoot())
        }
        for lang in analysis.languages {
            let members = c.pairs.indices.filter { c.pairs[$0].optionalString("lang") == lang }
            for layer in analysis.layers {
                let hits = members.filter { i in
                    members.max {
                        cosine(anchors[i][layer], candidates[$0][layer])
                            < cosine(anchors[i][layer], candidates[$1][layer])
                    } == i
                }.count
                XCTAssertEqual(
                    analysis.perLanguage[lang]![layer], Double(hits) / Double(members.count), accuracy: 1e-12,
                    "\(lang) layer \(layer)")
            }
        }
    }

    func testTheBestLayerIsTheDeeperOneOnTies() {
        XCTAssertEqual(RetrievalAnalysis.bestLayer(of: [0.5, 0.9, 0.9, 0.2]), 2)
        XCTAssertEqual(RetrievalAnalysis.bestLayer(of: [0.1, 0.3, 0.2]), 1)
        XCTAssertEqual(RetrievalAnalysis.bestLayer(of: []), 0)
    }

    func testGroupsComeFromTheAdaptersMetadata() {
        let task = AdapterMetadata(kind: .task, languages: ["en"])
        let align = AdapterMetadata(kind: .alignment, languages: ["de", "fr"])
        XCTAssertEqual(
            LanguageGroups(metadata: task).merged(with: LanguageGroups(metadata: align)),
            LanguageGroups(task: ["en"], alignment: ["de", "fr"]))
        let merged = AdapterMetadata(
            kind: .merged,
            lineage: [
                "inputs": [
                    ["kind": "task", "languages": ["en"]], ["kind": "alignment", "languages": ["de", "ru"]],
                ]
            ])
        let groups = LanguageGroups(metadata: merged)
        XCTAssertEqual(groups, LanguageGroups(task: ["en"], alignment: ["de", "ru"]))
        XCTAssertEqual(groups.heldOut(among: ["en", "de", "zh", "ja"]), ["zh", "ja"])
        XCTAssertEqual(
            LanguageGroups(metadata: AdapterMetadata(kind: .joint, languages: ["en", "de"])),
            LanguageGroups(task: ["en", "de"], alignment: ["en", "de"]), "a recipe that names none apart")
        let joint = AdapterMetadata(
            kind: .joint, languages: ["en", "de", "ru"],
            recipe: ["task_languages": ["en"], "alignment_languages": ["de", "ru"]])
        XCTAssertEqual(LanguageGroups(metadata: joint), LanguageGroups(task: ["en"], alignment: ["de", "ru"]))
    }

    func testReportGatesAndHTMLWithOneSVGPerPlot() throws {
        let c = try check(slots: true)
        let candidate = try c.run(try adapters(["a"]))
        let baseline = try c.run(.empty)
        XCTAssertEqual(candidate.outputs.count, c.rows.count)
        let de = try XCTUnwrap(candidate.metrics["de"])
        XCTAssertNotNil(de.slotF1)
        XCTAssertNotNil(de.retrieval)
        XCTAssertTrue(de.loss.isFinite)
        var report = CheckReport(
            languages: c.languages, candidate: candidate, baseline: baseline,
            groups: LanguageGroups(task: ["en"], alignment: ["de"]), layer: 2,
            candidateName: "a & <b>", baselineName: "base")
        report.applyGates(minimumGain: 2, maximumLossIncrease: 1e9)
        XCTAssertEqual(report.gates.map(\.name), ["min-gain", "max-loss-increase"])
        XCTAssertEqual(report.failedGates.map(\.name), ["min-gain"], "no F1 can gain 2")
        XCTAssertEqual(report.primaryMetric, .slotF1)

        let json = report.json
        XCTAssertNotNil(json["languages"]?["de"]?["candidate"]?["slot_f1"]?.doubleValue)
        XCTAssertNotNil(json["groups"]?["held-out"]?["candidate"])
        XCTAssertEqual(json["gates"]?.arrayValue?.count, 2)
        XCTAssertTrue(report.markdown.contains("| de | aligned |"), report.markdown)
        XCTAssertTrue(report.text.contains("mean held-out"), report.text)

        // The page is well-formed XML with one <svg> per metric plus the retrieval curve.
        let delegate = ElementCounter()
        let parser = XMLParser(data: Data(report.html.utf8))
        parser.delegate = delegate
        XCTAssertTrue(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        XCTAssertEqual(delegate.counts["svg"], report.metrics.count + 1)
        XCTAssertEqual(delegate.counts["table"], 1)
        XCTAssertFalse(report.html.contains("<script"), "self-contained: no scripts")
        XCTAssertTrue(report.html.contains("a &amp; &lt;b&gt;"), "names are escaped")
    }
}

extension CheckReportTests {
    /// chrF per language is sacreBLEU's corpus chrF of the outputs' first lines against the
    /// free-form references; slot references get slot F1 instead, and no chrF.
    func testChrFIsTheCorpusScoreOfEachLanguagesFreeFormRows() throws {
        let c = try check()
        let candidate = try c.run(try adapters(["a"]))
        for lang in c.languages {
            let rows = c.rows.indices.filter { (c.rows[$0].optionalString("lang") ?? "-") == lang }
            guard !rows.isEmpty else { continue }
            let expected = ChrF.corpusScore(
                hypotheses: rows.map { HeldOutCheck.firstLine(candidate.outputs[$0]) },
                references: try rows.map { try c.rows[$0].string("text") })
            XCTAssertEqual(candidate.metrics[lang]?.chrF, expected, lang)
            XCTAssertNil(candidate.metrics[lang]?.slotF1, lang)
        }
        let slots = try check(slots: true)
        let slotResult = try slots.run(try adapters(["a"]))
        XCTAssertTrue(slotResult.metrics.values.allSatisfy { $0.chrF == nil }, "slot references: no chrF")
        // A language with both kinds of rows: chrF from its free-form rows, slot F1 from the others.
        let plain = try check()
        let de = plain.rows.indices.filter { plain.rows[$0].optionalString("lang") == "de" }
        XCTAssertEqual(de.count, 2)
        var rows = plain.rows
        rows[de[1]] = DataRow(
            file: "mixed.jsonl", line: 2, fields: ["prefix": "Hund", "text": "animal: Hund", "lang": "de"])
        let mixed = HeldOutCheck(model: plain.model, tokenizer: plain.tokenizer, rows: rows, pairs: [], layer: 2)
        let mixedResult = try mixed.run(try adapters(["a"]))
        XCTAssertEqual(
            mixedResult.metrics["de"]?.chrF,
            ChrF.sentenceScore(
                hypothesis: HeldOutCheck.firstLine(mixedResult.outputs[de[0]]),
                reference: try rows[de[0]].string("text")))
        XCTAssertNotNil(mixedResult.metrics["de"]?.slotF1)
        var noDecoding = try check()
        noDecoding.decodes = false
        XCTAssertTrue(try noDecoding.run(.empty).metrics.values.allSatisfy { $0.chrF == nil }, "nothing decoded")
    }

    /// The report carries chrF beside loss and exact match, in every format, and
    /// `--min-chrf-gain` gates on the held-out mean in chrF points.
    func testChrFInTheReportsAndItsGate() throws {
        let c = try check()
        let candidate = try c.run(try adapters(["a"]))
        let baseline = try c.run(.empty)
        var report = CheckReport(
            languages: c.languages, candidate: candidate, baseline: baseline,
            groups: LanguageGroups(task: ["en"], alignment: ["de"]), layer: 2,
            candidateName: "a", baselineName: "base")
        XCTAssertEqual(Array(report.metrics.prefix(3)), [.loss, .exactMatch, .chrF], "chrF next to loss and exact")
        XCTAssertEqual(report.primaryMetric, .exactMatch, "--min-gain is unchanged")
        let heldOut = report.groups.heldOut(among: report.languages)
        let c0 = try XCTUnwrap(report.mean(.chrF, of: candidate, over: heldOut))
        let b0 = try XCTUnwrap(report.mean(.chrF, of: baseline, over: heldOut))
        report.applyGates(minimumGain: nil, maximumLossIncrease: nil, minimumChrFGain: c0 - b0)
        report.applyGates(minimumGain: nil, maximumLossIncrease: nil, minimumChrFGain: c0 - b0 + 0.5)
        XCTAssertEqual(report.gates.map(\.name), ["min-chrf-gain", "min-chrf-gain"])
        XCTAssertEqual(report.gates.map(\.passed), [true, false])
        XCTAssertTrue(report.gates[1].detail.hasPrefix("held-out chrF gain "), report.gates[1].detail)

        let json = report.json
        XCTAssertEqual(json["languages"]?["de"]?["candidate"]?["chrf"]?.doubleValue, candidate.metrics["de"]?.chrF)
        XCTAssertEqual(json["languages"]?["de"]?["baseline"]?["chrf"]?.doubleValue, baseline.metrics["de"]?.chrF)
        XCTAssertEqual(json["groups"]?["held-out"]?["candidate"]?["chrf"]?.doubleValue, c0)
        let header = try XCTUnwrap(report.text.split(separator: "\n").dropFirst().first)
        XCTAssertTrue(header.contains("exact       Δ      chrF       Δ"), String(header))
        XCTAssertTrue(report.markdown.contains("| loss (Δ) | exact (Δ) | chrF (Δ) |"), report.markdown)
        XCTAssertTrue(report.html.contains("<th>chrF</th>"))
        XCTAssertTrue(report.html.contains("chrF (higher is better)"))
        XCTAssertEqual(CheckReport.Metric.chrF.maximum, 100, "bars on sacreBLEU's 0…100 scale")

        // Slot data: no chrF anywhere, and its gate fails saying so.
        let slots = try check(slots: true)
        var slotReport = CheckReport(
            languages: slots.languages, candidate: try slots.run(try adapters(["a"])), baseline: try slots.run(.empty),
            groups: LanguageGroups(task: ["en"], alignment: ["de"]), layer: 2, candidateName: "a",
            baselineName: "base")
        XCTAssertFalse(slotReport.metrics.contains(.chrF))
        XCTAssertEqual(slotReport.json["languages"]?["de"]?["candidate"]?["chrf"], .null)
        slotReport.applyGates(minimumGain: nil, maximumLossIncrease: nil, minimumChrFGain: 0)
        XCTAssertEqual(slotReport.failedGates.first?.detail.hasPrefix("no held-out chrF to compare"), true)
    }
}

final class ElementCounter: NSObject, XMLParserDelegate {
    var counts: [String: Int] = [:]
    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        counts[name, default: 0] += 1
    }
}
