"""Files on disk: atomic writes (temp file + ``os.replace``) and reading users' text files with clear errors."""
