// swift-tools-version:6.0
import PackageDescription

// Layering (docs/DESIGN.md, "Architecture"): each module depends only on those below it,
// and every dependency listed is imported (no dead edge).
//
//   adaptermerge (executable)  parse → one library call → render
//   Evaluation     held-out checks, retrieval analysis, weight search, reports   → Transformer
//   Training       backward pass, optimizers, task / alignment / joint trainers  → Transformer
//   ExampleWorld   the generated multilingual world                              → AdapterFormat
//   Transformer    Llama-family runtime: tokenizer, config, weights, forward pass → AdapterFormat, CKernels
//   AdapterMath    merge methods, certificates, statistics                       → AdapterFormat
//   AdapterFormat  .lora, safetensors, PEFT, JSON, data rows, layer bands, files → Tensors, CZstd
//   Tensors        dtypes, storage, BLAS/LAPACK, seeded generators, parallel helpers
//   CBLAS, CZstd   system libraries (OpenBLAS with its LAPACK; libzstd)
//   CSystem        glibc calls the Glibc module leaves out
//   CKernels       element-wise kernels, one clone per instruction set
let package = Package(
    name: "adaptermerge",
    products: [
        .executable(name: "adaptermerge", targets: ["adaptermerge"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "ExampleWorld", targets: ["ExampleWorld"]),
        .library(name: "Transformer", targets: ["Transformer"]),
        .library(name: "AdapterMath", targets: ["AdapterMath"]),
        .library(name: "AdapterFormat", targets: ["AdapterFormat"]),
        .library(name: "Tensors", targets: ["Tensors"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CZstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        // glibc calls the Glibc module leaves out (mallopt, copy_file_range).
        .systemLibrary(name: "CSystem"),
        .target(name: "Tensors", dependencies: ["CBLAS", "CSystem"]),
        // Element-wise forward-pass kernels compiled for AVX-512, AVX2 and baseline, picked at load time.
        .target(name: "CKernels"),
        .target(name: "AdapterFormat", dependencies: ["Tensors", "CZstd", "CSystem"]),
        .target(name: "AdapterMath", dependencies: ["Tensors", "AdapterFormat"]),
        .target(name: "Transformer", dependencies: ["Tensors", "AdapterFormat", "CKernels"]),
        .target(name: "Training", dependencies: ["Transformer", "AdapterFormat", "Tensors", "CKernels"]),
        .target(name: "Evaluation", dependencies: ["Transformer", "AdapterFormat", "Tensors"]),
        // The example world generator (examples and the study).
        .target(name: "ExampleWorld", dependencies: ["Tensors", "AdapterFormat"]),
        .executableTarget(
            name: "adaptermerge",
            dependencies: [
                "ExampleWorld", "Evaluation", "Training", "Transformer", "AdapterMath", "AdapterFormat", "Tensors",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Release-mode benchmarks (Benchmarks/run.sh); never part of the test suite.
        .executableTarget(
            name: "adaptermerge-bench",
            dependencies: ["AdapterMath", "AdapterFormat", "Tensors"],
            path: "Benchmarks/AdapterBench"
        ),
        .executableTarget(
            name: "adaptermerge-runtime-bench",
            dependencies: ["Transformer", "AdapterFormat", "Tensors"],
            path: "Benchmarks/RuntimeBench"
        ),
        .executableTarget(
            name: "adaptermerge-training-bench",
            dependencies: ["Training", "Transformer", "AdapterFormat", "Tensors"],
            path: "Benchmarks/TrainingBench"
        ),
        // Fixture lookup and small helpers shared by the test targets.
        .target(name: "TestSupport", dependencies: ["AdapterFormat", "Tensors"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "TestSupport", "AdapterFormat"]),
        .testTarget(name: "AdapterFormatTests", dependencies: ["AdapterFormat", "Tensors", "TestSupport"]),
        .testTarget(name: "AdapterMathTests", dependencies: ["AdapterMath", "AdapterFormat", "Tensors", "TestSupport"]),
        .testTarget(name: "TransformerTests", dependencies: ["Transformer", "AdapterFormat", "AdapterMath", "Tensors", "TestSupport"]),
        .testTarget(name: "ExampleWorldTests", dependencies: ["ExampleWorld", "Evaluation", "Training", "AdapterFormat"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Transformer", "AdapterFormat", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Transformer", "AdapterFormat", "Tensors", "TestSupport"]),
        // End-to-end tests run the built binary; depending on it makes SwiftPM build it first.
        .testTarget(name: "adaptermergeTests", dependencies: ["adaptermerge", "AdapterFormat", "TestSupport"]),
    ]
)
