"""Long work as jobs: records in the store, progress, cancel, liveness, and launching detached workers."""
