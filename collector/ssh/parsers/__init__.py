"""Pure parsers: one command's text in, samples (and facts for meta) out.

No I/O and no paramiko here, so every parser is tested on saved command output
(``tests/collector/fixtures/ssh/``). A parser returns an empty :class:`Reading` for
output it does not recognise: "cannot tell" is no sample, never a 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from weibao.observation import Sample


@dataclass(frozen=True)
class Reading:
    samples: list[Sample] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)  # e.g. the model, for meta
    # Log commands: the newest entry read, so the next read counts only newer ones.
    cursor: str | None = None


def sample(name: str, value: float, **labels: str) -> Sample:
    return Sample(name=name, value=value, labels=labels)
