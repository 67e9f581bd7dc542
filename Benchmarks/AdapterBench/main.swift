// Placeholder: the benchmark driver is being written.
print("adaptermerge-bench")
