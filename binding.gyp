{
  "targets": [
    {
      "target_name": "lvskeeper_net",
      "sources": ["native/lvskeeper_net.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
