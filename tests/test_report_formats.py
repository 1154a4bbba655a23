"""The machine-readable reports (JSON, SARIF, JUnit), the Mermaid diagrams and the
lock-order graph: produced for every spec in specs/ and checked against their schemas or
their structure."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from conftest import REPO, SPECS, cli
from lockcheck.api import Options, verify
from lockcheck.errors import Sources
from lockcheck.report.json_report import SCHEMA, Run, run_json
from lockcheck.report.junit import render_junit
from lockcheck.report.mermaid import idle_threads, render_markdown, sequence_diagram
from lockcheck.report.sarif import sarif_log

SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
UNLOCK_EARLY = REPO / "specs" / "ext4_unlock_early.lk"


@pytest.fixture(scope="module")
def every_spec(shipped_specs) -> Run:
    """Every spec in specs/, checked once (relative paths, as CI passes them)."""
    run = Run(list(shipped_specs))
    run.exit_code = max(r.exit_code for r in run.results)
    return run


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> Run:
    """ext4_unlock_early with its expectations turned around: every violation is unexpected,
    and a property that holds is expected to be violated."""
    folder = tmp_path_factory.mktemp("broken")
    text = UNLOCK_EARLY.read_text().replace("expect violation", "expect holds")
    text += "\nexpect violation deadlock;\n"
    path = folder / "unlock_early_broken.lk"
    path.write_text(text)
    result = verify(str(path), Options(), Sources())
    return Run([result], [], result.exit_code)


@pytest.fixture(autouse=True)
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)


def violated(run: Run):
    return [(r, p) for r in run.results for p in r.properties if p.verdict == "violated" and p.trace]


# ---- JSON ---------------------------------------------------------------------------------

def test_json_schema_is_a_valid_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_json_of_every_spec_validates(every_spec):
    doc = run_json(every_spec)
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert [s["path"] for s in doc["specs"]] == [str(p.relative_to(REPO)) for p in SPECS]
    assert doc["format"] == "lockcheck-result" and doc["version"] == 1


def test_json_trace_and_itf_states(every_spec):
    doc = run_json(every_spec)
    traces = [p["trace"] for s in doc["specs"] for p in s["properties"] if p["trace"]]
    assert traces
    for trace in traces:
        itf = trace["itf"]
        assert len(itf["states"]) == trace["length"] + 1
        assert [s["#meta"]["index"] for s in itf["states"]] == list(range(len(itf["states"])))
        for state in itf["states"]:
            assert set(state) - {"#meta"} == set(itf["vars"])
        # replaying the changes gives the ITF states
        numbered = [i for i, s in enumerate(trace["steps"]) if s["number"] is not None]
        assert len(numbered) == trace["length"]
        assert sum(s["breaking"] for s in trace["steps"]) >= 1


def test_json_itf_follows_the_race():
    code, out, _ = cli("verify", "--format", "json", str(UNLOCK_EARLY))
    assert code == 0
    doc = json.loads(out)
    prop = next(p for p in doc["specs"][0]["properties"] if p["name"] == "no_remove_under_writeback")
    states = prop["trace"]["itf"]["states"]
    assert states[0]["pages[0].in_cache"] is True and states[0]["pages[0].writeback"] is False
    assert states[-1]["pages[0].in_cache"] is False and states[-1]["pages[0].writeback"] is True
    assert states[1]["pages[0].locked"] == "held by flusher"
    step = prop["trace"]["steps"][0]
    assert step["thread"] == "flusher" and step["location"]["file"].endswith("pagecache.lk")
    assert step["changes"] == [{"name": "pages[0].locked", "old": "free", "new": "held by flusher", "local": False}]


def test_json_has_each_counterexample_to_induction_as_data():
    code, out, _ = cli("verify", "--engine", "induction", "--depth", "1", "--format", "json",
                       str(REPO / "specs" / "ext4.lk"))
    doc = json.loads(out)
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    props = {p["name"]: p for p in doc["specs"][0]["properties"]}
    assert props["no_remove_under_writeback"]["counterexample_to_induction"] is None   # proved
    cti = props["deadlock"]["counterexample_to_induction"]
    assert cti["k"] == 1 and cti["ending"] == "and then no thread can move"
    assert [t["thread"] for t in cti["start"]] == ["truncate", "flusher", "bio_end[0]", "bio_end[1]"]
    assert {v["name"] for v in cti["values"]} >= {"writeback_done", "pages[0].writeback", "pages[1].in_cache"}
    assert sum(1 for s in cti["steps"] if s["number"] is not None) == 1
    # the same counterexample as the text in the detail
    assert props["deadlock"]["detail"].splitlines()[1].startswith("counterexample to induction: 1 step(s)")


def test_json_covers_several_specs_and_errors(tmp_path):
    bad = tmp_path / "bad.lk"
    bad.write_text("thread t { x = ; }\n")
    out_file = tmp_path / "out.json"
    code, out, err = cli("verify", "--format", "json", "--output", str(out_file),
                         str(REPO / "specs" / "ext4.lk"), str(UNLOCK_EARLY), str(bad))
    # the document went to a file: stdout has only the -q text (warnings here) and the summary line
    assert code == 2 and "error" in err and "{" not in out
    assert out.splitlines()[-1].startswith("lockcheck: 3 specs, ") and "1 spec with errors" in out
    doc = json.loads(out_file.read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert len(doc["specs"]) == 2 and doc["exit_code"] == 2
    assert doc["errors"][0]["path"] == str(bad) and doc["errors"][0]["location"]["line"] == 1


# ---- SARIF --------------------------------------------------------------------------------

def test_sarif_of_every_spec_validates(every_spec):
    log = sarif_log(every_spec)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    assert log["runs"][0]["results"] == []   # every expectation in specs/ is met
    assert len(log["runs"][0]["artifacts"]) == len(SPECS)


def test_sarif_alert_for_a_bundled_models_property_is_at_its_expect_line(tmp_path, monkeypatch):
    # outside the repository that holds models/, io_on_cached_page is an assert of a bundled
    # model, which fails there: the alert goes to the spec's expect line, as the parser located
    # it (split and spaced here, which no line-by-line search of the text would find)
    text = UNLOCK_EARLY.read_text().replace("expect violation io_on_cached_page;",
                                            "expect\n    holds io_on_cached_page ;")
    (tmp_path / "mine.lk").write_text(text)
    monkeypatch.chdir(tmp_path)
    result = verify("mine.lk", Options(), Sources())
    log = sarif_log(Run([result], [], result.exit_code))
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    (alert,) = [r for r in log["runs"][0]["results"] if r["ruleId"] == "io_on_cached_page"]
    primary = alert["locations"][0]["physicalLocation"]
    line = text[:text.index("expect\n    holds io_on")].count("\n") + 1
    assert primary["artifactLocation"] == {"uri": "mine.lk", "uriBaseId": "%SRCROOT%"}
    assert primary["region"] == {"startLine": line, "startColumn": 1, "endLine": line + 1, "endColumn": 30}
    doc = run_json(Run([result], [], result.exit_code))
    (prop,) = [p for p in doc["specs"][0]["properties"] if p["name"] == "io_on_cached_page"]
    assert prop["expect_location"] == {"file": "mine.lk", "line": line, "column": 1, "end_line": line + 1,
                                       "end_column": 30}


def test_sarif_results_for_unexpected_verdicts(broken):
    log = sarif_log(broken)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    run = log["runs"][0]
    results = run["results"]
    unexpected = [p for p in broken.results[0].properties if p.as_expected is False]
    assert len(results) == len(unexpected) == 5
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    by_rule = {r["ruleId"]: r for r in results}
    for r in results:   # what GitHub code scanning needs of each result
        assert rules[r["ruleIndex"]] == r["ruleId"] and r["level"] == "error" and r["message"]["text"]
        region = r["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1
        assert r["partialFingerprints"]
    inv = by_rule["no_remove_under_writeback"]
    # the spec (and its invariant) is outside the repository: the alert goes to the repository
    # line nearest the break (the step that broke it, in models/), the invariant is a related location
    primary = inv["locations"][0]["physicalLocation"]
    assert primary["artifactLocation"] == {"uri": "models/pagecache.lk", "uriBaseId": "%SRCROOT%"}
    assert primary["region"]["startLine"] == 69   # set_page_writeback's atomic block, step 9
    (related,) = inv["relatedLocations"]
    assert related["physicalLocation"]["region"]["startLine"] == 45  # the invariant line
    assert related["physicalLocation"]["artifactLocation"]["uri"].startswith("file://")  # outside the repo
    req = by_rule["set_page_writeback.requires"]
    loc = req["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "models/pagecache.lk", "uriBaseId": "%SRCROOT%"}
    # the counterexample: one thread flow per thread, the global order in executionOrder
    flow = inv["codeFlows"][0]
    threads = [tf["id"] for tf in flow["threadFlows"]]
    assert {"truncate", "flusher"} <= set(threads) and len(threads) == len(set(threads))
    orders = sorted(l["executionOrder"] for tf in flow["threadFlows"] for l in tf["locations"])
    assert orders == list(range(1, len(orders) + 1))
    flusher = next(tf for tf in flow["threadFlows"] if tf["id"] == "flusher")
    assert flusher["locations"][0]["location"]["message"]["text"].startswith("1. lock_page: acquire pages[0].locked")
    # expected a violation, but it holds: a result without a code flow
    dead = by_rule["deadlock"]
    assert "codeFlows" not in dead and "expects a violation" in dead["message"]["text"]


def test_sarif_cli_writes_a_file(tmp_path):
    out = tmp_path / "lockcheck.sarif"
    code, stdout, _ = cli("verify", "--format", "sarif", "--output", str(out), str(UNLOCK_EARLY))
    assert code == 0 and stdout.splitlines()[-1].startswith("lockcheck: 1 spec, ")
    assert "every expectation met (4 expected violations)" in stdout and "shortest counterexample" not in stdout
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(json.loads(out.read_text()))


def test_sarif_says_which_properties_a_symbolic_engine_left_unknown(tmp_path):
    out = tmp_path / "bmc.sarif"
    code, _, _ = cli("verify", "--engine", "bmc", "--depth", "3", "--format", "sarif", "--output", str(out),
                     str(REPO / "specs" / "ext4.lk"))
    log = json.loads(out.read_text())
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    invocation = log["runs"][0]["invocations"][0]
    assert code == 3 and invocation["exitCode"] == 3 and not invocation["executionSuccessful"]
    (note,) = invocation["toolExecutionNotifications"]
    assert "bmc left" in note["message"]["text"]
    assert "no_remove_under_writeback unknown (no violation up to depth 3)" in note["message"]["text"]


# ---- JUnit --------------------------------------------------------------------------------

def test_junit_of_every_spec_parses(every_spec):
    root = ET.fromstring(render_junit(every_spec))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [r.spec for r in every_spec.results]
    cases = root.findall("testsuite/testcase")
    assert len(cases) == sum(len(r.properties) for r in every_spec.results) == int(root.get("tests"))
    assert root.get("failures") == "0" and not root.findall(".//failure")
    # expected violations carry their trace for the reader
    outs = root.findall(".//testcase/system-out")
    assert len(outs) == len(violated(every_spec))


def test_junit_failure_text_is_the_trace(broken):
    root = ET.fromstring(render_junit(broken))
    failures = root.findall(".//failure")
    assert len(failures) == 5 == int(root.get("failures"))
    inv = next(c for c in root.iter("testcase") if c.get("name") == "no_remove_under_writeback")
    text = inv.find("failure").text
    assert "shortest counterexample, 9 steps" in text and "truncate  lock_page: acquire pages[0].locked" in text
    assert inv.get("classname").endswith("unlock_early_broken")


def test_junit_cli_with_a_spec_error(tmp_path):
    bad = tmp_path / "bad.lk"
    bad.write_text("thread t { x = ; }\n")
    code, out, _ = cli("verify", "--format", "junit", str(REPO / "specs" / "ext4.lk"), str(bad))
    assert code == 2
    root = ET.fromstring(out)
    assert root.get("errors") == "1" and root.find(".//error").get("type") == "spec-error"


# ---- Mermaid ------------------------------------------------------------------------------

PARTICIPANT = re.compile(r"^    participant ([TO]\d+) as (\S.*)$")
MESSAGE = re.compile(r"^    ([TO]\d+)->>([TO]\d+): (\S.*)$")
NOTE = re.compile(r"^    Note over ([TO]\d+)(?:,([TO]\d+))?: (\S.*)$")
RECT = re.compile(r"^    rect rgba\(\d+, \d+, \d+, [\d.]+\)$")
ENTITY = re.compile(r"#(\d+|[a-z]+);")


def check_sequence_diagram(text: str) -> dict:
    """Mermaid's sequenceDiagram grammar, the parts we use: participants first, then messages,
    notes and rect blocks; text with no raw ';' or '#' (they would end the line / start an
    entity) and no raw '<' '>' except <br/>."""
    lines = text.rstrip("\n").split("\n")
    assert lines[0] == "sequenceDiagram"
    declared: set[str] = set()
    messages = rects = depth = 0
    highlighted = 0
    body_started = False
    for line in lines[1:]:
        if line.startswith("    title "):
            assert not re.search(r"[#;]", line[10:])
            continue
        m = PARTICIPANT.match(line)
        if m:
            assert not body_started, "participants come first"
            declared.add(m.group(1))
            label = m.group(2)
        elif (m := MESSAGE.match(line)):
            body_started = True
            assert {m.group(1), m.group(2)} <= declared, line
            label = m.group(3)
            messages += 1
            highlighted += depth
        elif (m := NOTE.match(line)):
            body_started = True
            assert {g for g in m.groups()[:2] if g} <= declared, line
            label = m.group(3)
        elif RECT.match(line):
            assert depth == 0
            depth, rects, label = 1, rects + 1, ""
        elif line == "    end":
            assert depth == 1
            depth, label = 0, ""
        else:
            raise AssertionError(f"not a sequenceDiagram line: {line!r}")
        plain = ENTITY.sub("", label.replace("<br/>", ""))
        assert not re.search(r"[;#<>]", plain), line
    assert depth == 0
    return {"messages": messages, "rects": rects, "highlighted": highlighted, "participants": declared}


def test_mermaid_for_every_counterexample(every_spec):
    checked = 0
    for result, p in violated(every_spec):
        shape = check_sequence_diagram(sequence_diagram(p.trace, p.name))
        assert shape["rects"] == 1 and shape["highlighted"] >= 1, (result.spec, p.name)
        idle = idle_threads(p.trace, p.name)
        threads = {f"T{i}" for i in range(len(p.trace.final) - len(idle))}
        assert threads <= shape["participants"] and f"T{len(threads)}" not in shape["participants"]
        text = sequence_diagram(p.trace, p.name)
        for thread in idle:   # a thread that takes no step is not drawn
            assert f" as {thread}\n" not in text and not any(s.thread == thread for s in p.trace.steps)
        checked += 1
    assert checked >= 10


def test_mermaid_reads_as_the_race():
    from lockcheck.api import verify as run

    result = run(str(UNLOCK_EARLY.relative_to(REPO)), Options(), Sources())
    p = next(p for p in result.properties if p.name == "no_remove_under_writeback")
    text = sequence_diagram(p.trace, p.name)
    assert "participant T0 as truncate" in text and "as pages[0]" in text
    order = ["5. unlock_page: release pages[0].locked", "6. lock_page: acquire pages[0].locked",
             "pages[0].in_cache: true → false", "rect ", "9. set_page_writeback", "breaks it: invariant"]
    positions = [text.index(s) for s in order]
    assert positions == sorted(positions), text


def test_trace_mermaid_cli_is_markdown():
    code, out, _ = cli("verify", "--trace", "mermaid", str(UNLOCK_EARLY))
    assert code == 0
    blocks = re.findall(r"```mermaid\n(.*?)```", out, re.S)
    assert len(blocks) == 4
    for block in blocks:
        check_sequence_diagram(block)
    assert "| no_remove_under_writeback | invariant | violated | violation (ok) |" in out
    assert cli("verify", "--trace", "mermaid", "--format", "json", str(UNLOCK_EARLY))[0] == 2


# ---- the lock-order graph -----------------------------------------------------------------

def test_graph_locks(tmp_path):
    out = tmp_path / "locks.dot"
    code, stdout, _ = cli("graph", "--locks", str(REPO / "specs" / "truncate_lock_inverted.lk"), "-o", str(out))
    assert code == 0 and "lock-order edges" in stdout
    dot = out.read_text()
    assert dot.startswith("digraph lock_order {") and dot.rstrip().endswith("}")
    assert re.search(r'"invalidate_lock" -> "pages\[0\]\.locked" \[label="truncate \(pagecache\.lk:\d+\)", color=red', dot)
    assert re.search(r'"pages\[0\]\.locked" -> "invalidate_lock" \[label="flusher', dot)


# ---- the docs match the code --------------------------------------------------------------

def _fields(schema, out: set[str]) -> set[str]:
    if isinstance(schema, dict):
        for key, value in schema.get("properties", {}).items():
            out.add(key)
            _fields(value, out)
        for key in ("items", "additionalProperties"):
            _fields(schema.get(key), out)
        for sub in schema.get("anyOf", []):
            _fields(sub, out)
    return out


def test_output_doc_names_every_json_field():
    doc = (REPO / "docs" / "output.md").read_text()
    missing = sorted(f for f in _fields(SCHEMA, set()) if f"`{f}`" not in doc)
    assert missing == []


def test_documented_commands_parse():
    import shlex

    from lockcheck.cli import build_parser

    parser = build_parser()
    texts = [(REPO / "docs" / name).read_text() for name in ("output.md", "ci.md")]
    hooks = (REPO / ".pre-commit-hooks.yaml").read_text()
    texts += [f"{line.split('entry: ')[1]} specs/" for line in hooks.splitlines() if "entry: " in line]
    commands = [line.split("#")[0].strip() for text in texts for line in text.splitlines()
                if line.strip().startswith("lockcheck ") and "|" not in line and "[" not in line
                and "->" not in line]
    assert len(commands) >= 8
    for command in commands:
        argv = shlex.split(command.replace('"', ""))[1:]
        parser.parse_args(argv)   # raises on an unknown flag
