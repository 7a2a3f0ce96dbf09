"""Child process for the durability test: writes decisions in a loop, reporting each commit.

Usage: python decision_writer.py PROJECT READER — prints ``committed <id>`` (flushed) only after
``Project.decide`` has returned, i.e. after COMMIT; the parent kills it with SIGKILL at random.
"""

from __future__ import annotations

import itertools
import sys

from radcurate.engine.project import Project


def main() -> None:
    path, reader = sys.argv[1], sys.argv[2]
    with Project.open(path) as project:
        findings = list(project.vocabulary)
        studies = project.study_ids()
        states = ["present", "absent", "uncertain", "not_mentioned"]
        for i in itertools.count():
            decision = project.decide(
                studies[i % len(studies)],
                findings[i % len(findings)],
                states[i % len(states)],
                reader=reader,
                note=f"loop {i}",
            )
            sys.stdout.write(f"committed {decision.id}\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
