"""The flow-complete payload, field by field, in the original product's names."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flowhook.engine.state import ExecutionState, Phase, Status
from flowhook.webhooks.payload import default_payload, sample_state

T0 = datetime.fromisoformat("2022-11-29T23:49:00.080+05:30").timestamp()


def make_state(**overrides: Any) -> ExecutionState:
    fields: dict[str, Any] = {
        "uuid": "6629a6f5-uuid",
        "account_id": "acc-1",
        "flow_id": "FLOW0001",
        "version": "1",
        "request_id": "req-1",
        "flow_name": "Order confirmation",
        "status": Status.COMPLETED,
        "started_at": T0,
        "ended_at": T0 + 140.0,
    }
    fields.update(overrides)
    return ExecutionState(**fields)


def answered_leg(**overrides: Any) -> dict[str, Any]:
    leg: dict[str, Any] = {
        "cdr_id": "81e35a21##pbx-9",
        "start": T0,
        "connect": datetime.fromisoformat("2022-11-29T23:49:13.901+05:30").timestamp(),
        "end": datetime.fromisoformat("2022-11-29T23:51:19.131+05:30").timestamp(),
        "callee": "916262772728",
        "did": "912243692987",
        "hangup_cause": 16,
        "dtmf": [{"key": "6", "event_time": T0 + 20.5, "label": "yes"}],
        "incoming": False,
        "callee_type": "VISITOR",
        "remote_hangup": True,
    }
    leg.update(overrides)
    return leg


def only_leg(state: ExecutionState, timezone: str = "Asia/Kolkata") -> dict[str, Any]:
    details: list[dict[str, Any]] = default_payload(state, timezone=timezone)["callDetails"]
    assert len(details) == 1
    return details[0]


# top level ------------------------------------------------------------------------------


def test_payload_is_json_at_top_level_without_a_body_wrapper() -> None:
    payload = default_payload(make_state())
    assert "body" not in payload
    assert json.loads(json.dumps(payload)) == payload


def test_payload_identifies_the_execution_with_the_original_names() -> None:
    payload = default_payload(make_state())
    assert payload["phonon-uuid"] == "6629a6f5-uuid"
    assert payload["request-id"] == "req-1"
    assert payload["flow-id"] == "FLOW0001"
    assert payload["flow-name"] == "Order confirmation"


def test_completed_execution_has_status_completed_and_no_error_reason() -> None:
    payload = default_payload(make_state())
    assert payload["flowStatus"] == "COMPLETED"
    assert "errorReason" not in payload


def test_failed_execution_has_status_failed_and_its_error_reason() -> None:
    state = make_state(status=Status.FAILED, error_reason="TIMEOUT")
    payload = default_payload(state)
    assert payload["flowStatus"] == "FAILED"
    assert payload["errorReason"] == "TIMEOUT"


def test_error_reason_alone_marks_the_flow_failed() -> None:
    # the on-flow-complete phase may still be running when the payload is built
    payload = default_payload(make_state(status=Status.RUNNING, error_reason="CLIENT_ERROR"))
    assert payload["flowStatus"] == "FAILED"
    assert payload["errorReason"] == "CLIENT_ERROR"


def test_a_payload_sent_while_the_main_path_runs_says_running_and_has_no_end_time() -> None:
    payload = default_payload(make_state(status=Status.RUNNING, ended_at=None))
    assert payload["flowStatus"] == "RUNNING"
    assert "endTime" not in payload


def test_on_the_on_flow_complete_path_the_outcome_of_the_main_path_is_known() -> None:
    state = make_state(status=Status.RUNNING, phase=Phase.COMPLETE, ended_at=None)
    assert default_payload(state)["flowStatus"] == "COMPLETED"


def test_keys_leave_out_the_last_calls_shared_results_but_keep_each_widgets_own() -> None:
    variables = {
        "flow.key.name": "Asha",
        "flow.key.response_status": "SUCCESS",
        "flow.key.response_status_code": None,
        "flow.key.response_raw": "{}",
        "flow.key.error_reason": None,
        "flow.key.crm.response_status_code": 200,
        "flow.key.notify.response_status_code": None,
    }
    keys = default_payload(make_state(variables=variables))["keys"]
    assert keys == [
        {"name": "$flow.key.name", "value": "Asha"},
        {"name": "$flow.key.crm.response_status_code", "value": 200},
        {"name": "$flow.key.notify.response_status_code", "value": None},
    ]


def test_failed_without_a_reason_reports_internal_error() -> None:
    payload = default_payload(make_state(status=Status.FAILED))
    assert payload["errorReason"] == "INTERNAL_ERROR"


def test_start_and_end_time_are_iso_8601_with_the_accounts_offset() -> None:
    payload = default_payload(make_state(), timezone="Asia/Kolkata")
    assert payload["startTime"] == "2022-11-29T23:49:00.080+05:30"
    assert payload["endTime"] == "2022-11-29T23:51:20.080+05:30"


def test_times_default_to_utc_with_an_explicit_offset() -> None:
    payload = default_payload(make_state())
    assert payload["startTime"] == "2022-11-29T18:19:00.080+00:00"


def test_unknown_timezone_falls_back_to_utc() -> None:
    payload = default_payload(make_state(), timezone="Mars/Olympus_Mons")
    assert payload["startTime"].endswith("+00:00")


def test_times_without_data_are_omitted() -> None:
    payload = default_payload(make_state(started_at=None, ended_at=None))
    assert "startTime" not in payload
    assert "endTime" not in payload


def test_sections_without_data_are_omitted_but_keys_is_always_there() -> None:
    payload = default_payload(make_state())
    for section in ("callDetails", "smsDetails", "emailDetails", "recordingUrls"):
        assert section not in payload
    assert payload["keys"] == []


def test_test_flag_only_when_asked() -> None:
    assert "test" not in default_payload(make_state())
    assert default_payload(make_state(), test=True)["test"] is True


# keys -----------------------------------------------------------------------------------


def test_every_flow_variable_is_in_keys_in_insertion_order_with_its_value() -> None:
    variables = {
        "flow.key.b": "2",
        "user.key.lang": "en",
        "flow.key.a": 1,
        "flow.syskey.phonon_uuid": "x",
        "call.cli.number": "9122",
        "flow.key.nested": {"score": 42},
        "user.syskey.pause": "true",
        "flow.key.empty": "",
    }
    payload = default_payload(make_state(variables=variables))
    assert payload["keys"] == [
        {"name": "$flow.key.b", "value": "2"},
        {"name": "$flow.key.a", "value": 1},
        {"name": "$flow.key.nested", "value": {"score": 42}},
        {"name": "$flow.key.empty", "value": ""},
    ]


def test_user_and_syskey_variables_are_not_in_keys() -> None:
    variables = {"user.key.lang": "en", "flow.syskey.x": "1", "user.syskey.y": "2"}
    names = [k["name"] for k in default_payload(make_state(variables=variables))["keys"]]
    assert names == []


# callDetails ----------------------------------------------------------------------------


def test_call_leg_maps_every_field_to_the_products_name() -> None:
    leg = only_leg(make_state(call_legs=[answered_leg()]))
    assert leg == {
        "cdrId": "81e35a21##pbx-9",
        "startTime": "2022-11-29T23:49:00.080+05:30",
        "connectTime": "2022-11-29T23:49:13.901+05:30",
        "endTime": "2022-11-29T23:51:19.131+05:30",
        "calleeNumber": "916262772728",
        "didNumber": "912243692987",
        "hangupCause": "16",
        "duration": "125230",
        "dtmfPressesd": [
            {"key": "6", "eventTime": "2022-11-29T23:49:20.580+05:30", "label": "yes"}
        ],
        "incoming": False,
        "calleeType": "VISITOR",
        "remoteHangup": True,
    }


def test_duration_is_milliseconds_from_connect_to_end_as_a_string() -> None:
    leg = only_leg(make_state(call_legs=[answered_leg(connect=1000.0, end=1002.5)]))
    assert leg["duration"] == "2500"


def test_duration_ignores_time_before_connect() -> None:
    leg = only_leg(make_state(call_legs=[answered_leg(start=900.0, connect=1000.0, end=1001.0)]))
    assert leg["duration"] == "1000"


def test_never_connected_leg_has_duration_zero_and_no_connect_time() -> None:
    never = answered_leg(connect=None, dtmf=[], hangup_cause="5", callee_type="HARD_PHONE")
    leg = only_leg(make_state(call_legs=[never]))
    assert leg["duration"] == "0"
    assert "connectTime" not in leg
    assert leg["dtmfPressesd"] == []
    assert leg["hangupCause"] == "5"


def test_leg_without_end_has_duration_zero() -> None:
    leg = only_leg(make_state(call_legs=[answered_leg(end=None)]))
    assert leg["duration"] == "0"
    assert "endTime" not in leg


def test_dtmf_presses_use_the_original_misspelled_key() -> None:
    leg = only_leg(make_state(call_legs=[answered_leg()]))
    assert "dtmfPressesd" in leg
    assert "dtmfPressed" not in leg


def test_dtmf_press_without_label_gets_an_empty_label() -> None:
    legs = [answered_leg(dtmf=[{"key": "1", "event_time": T0}, {"key": "#"}])]
    leg = only_leg(make_state(call_legs=legs))
    assert leg["dtmfPressesd"] == [
        {"key": "1", "eventTime": "2022-11-29T23:49:00.080+05:30", "label": ""},
        {"key": "#", "label": ""},
    ]


def test_minimal_leg_has_only_the_always_present_fields() -> None:
    leg = only_leg(make_state(call_legs=[{}]))
    assert leg == {"duration": "0", "dtmfPressesd": [], "incoming": False}


def test_incoming_and_remote_hangup_are_json_booleans() -> None:
    leg = only_leg(make_state(call_legs=[answered_leg(incoming=True, remote_hangup=False)]))
    assert leg["incoming"] is True
    assert leg["remoteHangup"] is False


def test_leg_times_may_be_iso_strings() -> None:
    legs = [answered_leg(connect="2022-11-29T18:19:13.901+00:00", end="2022-11-29T18:19:14Z")]
    leg = only_leg(make_state(call_legs=legs))
    assert leg["connectTime"] == "2022-11-29T23:49:13.901+05:30"
    assert leg["duration"] == "99"


def test_one_call_detail_per_leg_in_order() -> None:
    legs = [answered_leg(cdr_id="a"), answered_leg(cdr_id="b", connect=None)]
    details = default_payload(make_state(call_legs=legs))["callDetails"]
    assert [d["cdrId"] for d in details] == ["a", "b"]
    assert [d["duration"] for d in details] == ["125230", "0"]


# sms, e-mail, recordings ------------------------------------------------------------------


def test_sms_details_map_to_the_products_names() -> None:
    sms = {
        "id": "7aab",
        "text": "Hello",
        "to": "918238217798",
        "from": "Phonon",
        "send_time": T0,
        "delivery_status": "SENT_TO_QUEUE",
    }
    payload = default_payload(make_state(sms=[sms]), timezone="Asia/Kolkata")
    assert payload["smsDetails"] == [
        {
            "id": "7aab",
            "text": "Hello",
            "to": "918238217798",
            "from": "Phonon",
            "sendTime": "2022-11-29T23:49:00.080+05:30",
            "deliveryStatus": "SENT_TO_QUEUE",
        }
    ]


def test_email_details_map_to_the_products_names() -> None:
    email = {
        "id": "95c5",
        "subject": "Your order",
        "content": "<span>Hi</span>",
        "from": "shop@example.com",
        "to": ["a@example.com", "b@example.com"],
    }
    payload = default_payload(make_state(emails=[email, {"id": "2", "to": "c@example.com"}]))
    assert payload["emailDetails"] == [
        {
            "id": "95c5",
            "subject": "Your order",
            "content": "<span>Hi</span>",
            "from": "shop@example.com",
            "to": ["a@example.com", "b@example.com"],
        },
        {"id": "2", "to": "c@example.com"},
    ]


def test_recording_urls_map_to_the_products_names() -> None:
    recording = {"file_name": "rec-1.wav", "url": "https://example.com/rec-1.wav"}
    payload = default_payload(make_state(recordings=[recording]))
    assert payload["recordingUrls"] == [
        {"recordedFileName": "rec-1.wav", "recordedFilePublicPath": "https://example.com/rec-1.wav"}
    ]


# sample ---------------------------------------------------------------------------------


def test_sample_state_gives_a_complete_plausible_test_payload() -> None:
    payload = default_payload(sample_state(now=T0), test=True)
    assert payload["test"] is True
    assert payload["flowStatus"] == "COMPLETED"
    assert payload["endTime"] == "2022-11-29T18:19:00.080+00:00"
    [leg] = payload["callDetails"]
    assert int(leg["duration"]) > 0
    assert leg["dtmfPressesd"]
    names = [k["name"] for k in payload["keys"]]
    assert names and all(name.startswith("$flow.key.") for name in names)
    assert "$user.key.lang" not in names


def test_sample_state_survives_a_checkpoint_round_trip() -> None:
    state = sample_state(now=T0)
    restored = ExecutionState.from_json(json.loads(json.dumps(state.to_json())))
    assert default_payload(restored) == default_payload(state)
