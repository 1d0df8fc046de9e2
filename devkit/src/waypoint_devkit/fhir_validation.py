"""Validate FHIR R4 resources against HL7's own R4 definitions (dev-only, for tests).

`fhir_validator/FhirCheck.java` (next to this module) is a small Java program on HL7's R4 object
model and FHIRPath engine (`org.hl7.fhir.r4`, via `hapi-fhir-structures-r4`) and the R4 definitions
HAPI ships (`hapi-fhir-validation-resources-r4`: StructureDefinitions, ValueSets, CodeSystems).
`prepare()` copies those jars from Maven Central (`fhir_validator/pom.xml`) into an ignored cache
folder (`.cache/fhir-validator/<digest>`) and compiles the program there, once (`make setup`).

    issues = validate([patient, bundle], definitions=[code_system, questionnaire])
    assert not errors(issues), summary(issues)

One call is one JVM: it loads the definitions once and checks the whole batch. Each issue is
`{severity, path, message, rule, resource}`: `rule` is an invariant key (`obs-6`, `dom-6`) or one
of `unknown-element`, `type`, `cardinality`, `format`, `binding-required|extensible|preferred`,
`code-unknown`, `code-display`, `system-unknown`, `questionnaire-*`; `resource` is the index of
the resource in `resources`. What it checks and does not: docs/fhir-validation.md.

    python -m waypoint_devkit.fhir_validation prepare
    python -m waypoint_devkit.fhir_validation check resource.json ... [--definitions d.json ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypedDict

from waypoint_devkit.local_kafka import java_command, mvn_command

FILES = Path(__file__).resolve().parent / "fhir_validator"  # pom.xml and FhirCheck.java
SOURCES = (FILES / "pom.xml", FILES / "FhirCheck.java")
MARKER = "prepared"  # written once jars and classes are complete
# Quick start matters more than peak speed for one batch: C1 only, one GC thread.
JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss4m")


class Issue(TypedDict):
    severity: str  # "error" | "warning" | "information"
    path: str  # FHIRPath-like, from the resource's type: "Bundle.entry[0].resource.status"
    message: str
    rule: str
    resource: int  # index of the resource in the batch


class ValidatorError(RuntimeError):
    """Java, javac or Maven is missing, or the validator itself failed; the message says why."""


def default_cache_dir() -> Path:
    """`.cache/fhir-validator/<digest of pom and program>` under the working directory."""
    base = Path(os.environ.get("WAYPOINT_CACHE_DIR", Path.cwd() / ".cache"))
    return base / "fhir-validator" / _sources_digest()[:16]


def _sources_digest() -> str:
    digest = hashlib.sha256()
    for source in SOURCES:
        digest.update(source.read_bytes())
    return digest.hexdigest()


def prepare(cache_dir: Path | None = None) -> Path:
    """Copy the jars and compile the program into cache_dir once; later calls just return it."""
    cache_dir = Path(cache_dir or default_cache_dir())
    if (cache_dir / MARKER).exists():
        return cache_dir
    # Build in a side folder first so an interrupted build never looks complete.
    partial = cache_dir.with_name(cache_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    _run(
        [
            _mvn(),
            "-q",
            "-B",
            "-f",
            str(FILES / "pom.xml"),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={partial / 'jars'}",
        ],
        "fetching the FHIR validator's jars",
    )
    _run(
        [
            _javac(),
            "-nowarn",
            "-d",
            str(partial / "classes"),
            "-cp",
            str(partial / "jars" / "*"),
            str(FILES / "FhirCheck.java"),
        ],
        "compiling the FHIR validator",
    )
    (partial / MARKER).write_text(_sources_digest())
    for stale in cache_dir.parent.iterdir():  # builds of older sources
        if stale != partial:
            shutil.rmtree(stale, ignore_errors=True)
    partial.rename(cache_dir)
    return cache_dir


def validate(
    resources: Sequence[dict[str, Any]], definitions: Iterable[dict[str, Any]] = ()
) -> list[Issue]:
    """Check resources (a batch, in one JVM) against the R4 definitions and `definitions`, the
    suite's own CodeSystems and Questionnaires; the issues come back in resource order."""
    if not resources:
        return []
    home = prepare()
    with tempfile.TemporaryDirectory(prefix="fhir-validation-") as scratch:
        own, batch = Path(scratch) / "definitions", Path(scratch) / "resources"
        _write_numbered(own, list(definitions))
        _write_numbered(batch, list(resources))
        command = [
            _java(),
            *JVM_OPTIONS,
            "-cp",
            f"{home / 'classes'}{os.pathsep}{home / 'jars' / '*'}",
            "FhirCheck",
            str(own),
            str(batch),
        ]
        done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ValidatorError(f"the FHIR validator failed:\n{done.stderr[-4000:]}")
    return parse_issues(done.stdout)


def _write_numbered(folder: Path, resources: list[dict[str, Any]]) -> None:
    """One file per resource, named so that name order is list order."""
    folder.mkdir()
    for index, resource in enumerate(resources):
        (folder / f"{index:06d}.json").write_text(json.dumps(resource))


def parse_issues(output: str) -> list[Issue]:
    """The issues the program prints: one JSON array, on the last non-empty line of stdout."""
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        raise ValidatorError("the FHIR validator printed nothing")
    try:
        raw = json.loads(lines[-1])
    except json.JSONDecodeError as error:
        raise ValidatorError(f"the FHIR validator printed no issues: {lines[-1][:500]}") from error
    return [
        Issue(
            severity=item["severity"],
            path=item["path"],
            message=item["message"] or "",
            rule=item["rule"],
            resource=int(item["resource"]),
        )
        for item in raw
    ]


def errors(issues: Iterable[Issue]) -> list[Issue]:
    return [issue for issue in issues if issue["severity"] == "error"]


def summary(issues: Iterable[Issue]) -> str:
    """The issues grouped by severity and rule, most frequent first, one example each."""
    issues = list(issues)
    counts = Counter((issue["severity"], issue["rule"]) for issue in issues)
    lines = []
    for (severity, rule), count in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1])):
        example = next(i for i in issues if (i["severity"], i["rule"]) == (severity, rule))
        lines.append(
            f"{severity:7} {rule:24} x{count:<4} e.g. {example['path']}: {example['message']}"
        )
    return "\n".join(lines)


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ValidatorError(f"{what} failed ({' '.join(command)}):\n{done.stdout}{done.stderr}")


def _java() -> str:
    try:
        return java_command()
    except RuntimeError as error:
        raise ValidatorError(str(error)) from error


def _javac() -> str:
    javac = Path(_java()).resolve().with_name("javac")
    if not javac.exists():
        raise ValidatorError(
            f"javac not found next to {_java()}: install a JDK 17+ "
            "(Debian: apt-get install -y openjdk-17-jdk-headless)"
        )
    return str(javac)


def _mvn() -> str:
    try:
        return mvn_command()
    except RuntimeError as error:
        raise ValidatorError(str(error)) from error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("prepare", help="fetch the jars and compile the validator")
    check = commands.add_parser("check", help="validate resource files (JSON)")
    check.add_argument("files", nargs="+", type=Path)
    check.add_argument("--definitions", nargs="*", type=Path, default=[])
    args = parser.parse_args(argv)
    if args.command == "prepare":
        print(f"FHIR validator in {prepare()}")
        return 0
    resources = [json.loads(path.read_text()) for path in args.files]
    definitions = [json.loads(path.read_text()) for path in args.definitions]
    issues = validate(resources, definitions)
    for issue in issues:
        where = args.files[issue["resource"]]
        print(f"{where}: {issue['severity']} [{issue['rule']}] {issue['path']}: {issue['message']}")
    return 1 if errors(issues) else 0


if __name__ == "__main__":
    sys.exit(main())
