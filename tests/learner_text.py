"""What a learner must never read in an output: raw reprs, float noise, NaN. Shared by the notebook
test (outputs of an executed notebook) and the browser test (the page text after every prediction
was recorded, when held-back tables are shown too)."""

from __future__ import annotations

import re

PATTERNS = {
    "NaN shown as a value": re.compile(r"(?<![\w-])(nan|NaN|<NA>|None)(?![\w-])"),
    "float noise": re.compile(r"\d\.\d*(0{6,}[1-9]|9{6,}\d)\b"),
    "more than 6 decimals": re.compile(r"(?<![\w.])\d+\.\d{7,}\b"),
    "a dataclass or object repr": re.compile(r"\b[A-Z][A-Za-z]+\((\w+=)|object at 0x[0-9a-f]+|<eda_sim\."),
    "a dict or tuple repr": re.compile(r"^\s*[{(]'\w[^']*': ", re.M),
}


def problems(text: str, where: str) -> list[str]:
    found = []
    for name, pattern in PATTERNS.items():
        for m in pattern.finditer(text):
            start = max(0, m.start() - 40)
            found.append(f"{where}: {name}: ...{text[start:m.end() + 40]!r}...")
            break
    return found
