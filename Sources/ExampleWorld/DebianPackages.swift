import AdapterFormat
import Foundation

/// Which Debian packages installed some files, and their versions, so that a
/// dataset built from them can be rebuilt (`dpkg-query -S`, `dpkg-query -W`).
public enum DebianPackages {
    /// `[{package, version, files}]` for `paths`, or an empty list where dpkg is not available.
    public static func owning(_ paths: [String]) -> [JSONValue] {
        guard !paths.isEmpty, let owners = run(["-S"] + paths) else { return [] }
        var files: [String: [String]] = [:]
        for line in owners.split(separator: "\n") {
            guard let colon = line.range(of: ": ") else { continue }
            for package in line[..<colon.lowerBound].split(separator: ",") {
                let name = package.trimmingCharacters(in: .whitespaces)
                files[name, default: []].append(String(line[colon.upperBound...]))
            }
        }
        let names = files.keys.sorted()
        let versions = run(["-W", "-f=${Package}\t${Version}\n"] + names) ?? ""
        var version: [String: String] = [:]
        for line in versions.split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1)
            if parts.count == 2 {
                version[String(parts[0]).split(separator: ":").first.map(String.init) ?? ""] = String(parts[1])
            }
        }
        return names.map { name in
            [
                "package": .string(name),
                "version": version[name.split(separator: ":").first.map(String.init) ?? name].map { .string($0) }
                    ?? .null,
                "files": .int(files[name]?.count ?? 0),
            ]
        }
    }

    /// dpkg-query's standard output, or nil when it cannot run.
    static func run(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/dpkg-query")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
