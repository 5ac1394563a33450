{
  "targets": [
    {
      "target_name": "chain_hash",
      "sources": ["chain-hash.c"],
      "cflags": ["-O3", "-Wall", "-Wextra", "-Wno-deprecated-declarations"]
    }
  ]
}
