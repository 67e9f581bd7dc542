// Placeholder: the runtime benchmark driver is being written.
print("adaptermerge-runtime-bench")
