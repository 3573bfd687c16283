{
  "targets": [
    {
      "target_name": "sd_notify",
      "sources": ["sd_notify.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
