"""The protocol loader: shipped files load; broken files are refused with FILE:LINE and the field."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from calmline.protocols.loader import ProtocolError, line_of, load_file, load_library, parse_yaml
from calmline.protocols.schema import DistressTrigger, EventCompletion, Protocol, ProtocolLibrary

SHIPPED = ("suicide_imminent", "suicide_risk", "medical_emergency", "abuse_disclosure")

VALID = textwrap.dedent(
    """\
    id: demo
    version: "1"
    title: Demo
    rationale: Why it exists.
    sources: [C-SSRS screener]
    severity: high
    triggers:
      - finding: suicide_risk
        min_tier: moderate
    steps:
      - id: ask
        prompt: Ask.
        script: ["Are you safe right now?"]
        completes_on: {intent: asked_if_safe_now}
    escalation:
      - {level: 1, notify: supervisor, ack_within_s: 60}
    """
)


def write(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


class TestShippedLibrary:
    def test_every_shipped_protocol_loads(self) -> None:
        library = load_library()
        assert {p.id for p in library.protocols} >= set(SHIPPED)
        for protocol in library.protocols:
            assert protocol.rationale.strip() and protocol.sources
            assert all(step.prompt for step in protocol.steps)

    def test_priority_order_is_severity_first(self) -> None:
        ranks = {"info": 0, "warning": 1, "high": 2, "critical": 3}
        severities = [ranks[p.severity] for p in load_library().protocols]
        assert severities == sorted(severities, reverse=True)

    def test_imminent_escalation_chain(self) -> None:
        imminent = load_library().get("suicide_imminent")
        assert imminent is not None
        chain = [(e.level, e.notify, e.ack_within_s) for e in imminent.escalation]
        assert chain[:2] == [(1, "supervisor", 60), (2, "clinician", 120)]
        assert chain[2][:2] == (3, "emergency_services")

    def test_loading_is_deterministic(self) -> None:
        assert load_library() == load_library()

    def test_json_schema_exports(self) -> None:
        schema = Protocol.model_json_schema()
        assert schema["additionalProperties"] is False
        assert {"id", "triggers", "steps"} <= set(schema["required"])
        json.dumps(schema)


class TestLoadFile:
    def test_valid_file(self, tmp_path: Path) -> None:
        protocol = load_file(write(tmp_path, VALID))
        assert protocol.id == "demo" and protocol.steps[0].completes_on.intent == "asked_if_safe_now"  # type: ignore[union-attr]

    def test_unknown_field_names_file_line_and_field(self, tmp_path: Path) -> None:
        text = VALID.replace("    prompt: Ask.\n", "    prompt: Ask.\n    colour: red\n")
        path = write(tmp_path, text)
        with pytest.raises(ProtocolError) as info:
            load_file(path)
        err = info.value
        assert err.file == str(path)
        assert err.line == 13  # the "colour:" line
        assert "steps.0.colour" in err.reason and "Extra inputs" in err.reason
        assert str(err).startswith(f"{path}:13: ")

    def test_bad_value_points_at_its_line(self, tmp_path: Path) -> None:
        path = write(tmp_path, VALID.replace("notify: supervisor", "notify: janitor"))
        with pytest.raises(ProtocolError) as info:
            load_file(path)
        assert info.value.line == 16
        assert info.value.reason.startswith("escalation.0.notify:")

    def test_bad_tier_inside_union_points_at_its_line(self, tmp_path: Path) -> None:
        path = write(tmp_path, VALID.replace("min_tier: moderate", "min_tier: severe"))
        with pytest.raises(ProtocolError) as info:
            load_file(path)
        assert info.value.line == 9
        assert info.value.reason.startswith("triggers.0.min_tier: Input should be")

    def test_missing_field_points_at_the_mapping(self, tmp_path: Path) -> None:
        path = write(tmp_path, VALID.replace("    completes_on: {intent: asked_if_safe_now}\n", ""))
        with pytest.raises(ProtocolError) as info:
            load_file(path)
        assert info.value.line == 11  # the step that lacks it
        assert "steps.0.completes_on" in info.value.reason and "Field required" in info.value.reason

    def test_model_level_rule_is_reported(self, tmp_path: Path) -> None:
        path = write(tmp_path, VALID.replace("{level: 1,", "{level: 2,"))
        with pytest.raises(ProtocolError, match="escalation levels must be 1, 2, 3"):
            load_file(path)

    def test_invalid_yaml_names_the_line(self, tmp_path: Path) -> None:
        path = write(tmp_path, VALID.replace("title: Demo", "title: [Demo"))
        with pytest.raises(ProtocolError) as info:
            load_file(path)
        assert info.value.reason.startswith("invalid YAML")
        assert info.value.line >= 3

    def test_duplicate_key_is_refused(self, tmp_path: Path) -> None:
        path = write(tmp_path, VALID + "severity: info\n")
        with pytest.raises(ProtocolError) as info:
            load_file(path)
        assert info.value.line == 17 and "duplicate key 'severity'" in info.value.reason

    @pytest.mark.parametrize("text", ["- just\n- a list\n", "", "plain string\n"])
    def test_top_level_must_be_a_mapping(self, tmp_path: Path, text: str) -> None:
        with pytest.raises(ProtocolError, match="must be a YAML mapping"):
            load_file(write(tmp_path, text))

    def test_step_ids_must_be_unique(self, tmp_path: Path) -> None:
        step = "  - id: ask\n    prompt: Again.\n    completes_on: {action: x}\n"
        text = VALID.replace("escalation:\n", step + "escalation:\n")
        with pytest.raises(ProtocolError, match="duplicate step ids: ask"):
            load_file(write(tmp_path, text))

    @pytest.mark.parametrize("value", ["{}", "just_a_string"])
    def test_completes_on_needs_one_known_key(self, tmp_path: Path, value: str) -> None:
        path = write(tmp_path, VALID.replace("{intent: asked_if_safe_now}", value))
        with pytest.raises(ProtocolError) as info:
            load_file(path)
        assert info.value.line == 14 and "steps.0.completes_on" in info.value.reason

    def test_line_of_stops_at_the_deepest_node_it_finds(self) -> None:
        _, node = parse_yaml(VALID, "demo.yaml")
        assert line_of(node, ("steps", 0, "prompt")) == 12
        assert line_of(node, ("steps", 7, "prompt")) == 10  # no such step: the "steps" key
        assert line_of(node, ("steps", "x")) == 10
        assert line_of(None, ("steps",)) == 1


class TestLoadLibraryFolder:
    def test_loads_yaml_only_in_name_order(self, tmp_path: Path) -> None:
        write(tmp_path, VALID)
        write(tmp_path, VALID.replace("id: demo", "id: another").replace("high", "critical"), "another.yaml")
        write(tmp_path, "not a protocol", "README.md")
        library = load_library(tmp_path)
        assert [p.id for p in library.protocols] == ["another", "demo"]
        assert library.priority("demo") == 1 and library.priority("missing") == 2

    def test_file_name_must_match_id(self, tmp_path: Path) -> None:
        write(tmp_path, VALID, "other.yaml")
        with pytest.raises(ProtocolError) as info:
            load_library(tmp_path)
        assert (info.value.file, info.value.line) == ("protocols/other.yaml", 1)
        assert "does not match the file name" in info.value.reason


class TestYamlFlavour:
    def test_on_off_yes_no_stay_strings(self) -> None:
        data, _ = parse_yaml("a: on\nb: off\nc: yes\nd: no\ne: true\nf: False\n", "x.yaml")
        assert data == {"a": "on", "b": "off", "c": "yes", "d": "no", "e": True, "f": False}

    def test_on_as_an_action_id_is_a_string(self, tmp_path: Path) -> None:
        text = VALID.replace("{intent: asked_if_safe_now}", "{action: on}")
        protocol = load_file(write(tmp_path, text))
        assert protocol.steps[0].completes_on.action == "on"  # type: ignore[union-attr]

    def test_no_python_tags(self) -> None:
        with pytest.raises(ProtocolError, match="invalid YAML"):
            parse_yaml("a: !!python/object/apply:os.system ['true']\n", "x.yaml")


class TestLibraryModel:
    def test_duplicate_ids_refused(self, tmp_path: Path) -> None:
        protocol = load_file(write(tmp_path, VALID))
        with pytest.raises(ValueError, match="duplicate protocol ids: demo"):
            ProtocolLibrary((protocol, protocol))

    def test_union_members_round_trip_from_models(self, tmp_path: Path) -> None:
        protocol = load_file(write(tmp_path, VALID))
        steps = (*protocol.steps, protocol.steps[0].model_copy(update={"id": "t"}))
        again = Protocol.model_validate(
            {
                **protocol.model_dump(),
                "triggers": (DistressTrigger(distress_at_least=0.8, for_turns=2),),
                "steps": [
                    {**s.model_dump(), "completes_on": EventCompletion(event="call.transferred")}
                    for s in steps
                ],
            }
        )
        assert isinstance(again.triggers[0], DistressTrigger)
        assert isinstance(again.steps[1].completes_on, EventCompletion)
        assert again.escalation_level(1) is not None and again.escalation_level(2) is None
