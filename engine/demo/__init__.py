"""``radcurate demo`` and the synthetic phantom cohort it runs on (test data, not core)."""
