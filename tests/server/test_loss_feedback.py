"""Loss reports through ServerCore: forwarded to the talker, refused when malformed."""

from __future__ import annotations

from voip_tests_core_harness import NOW, Harness

from voip.proto import voip_pb2


def _report(*entries: tuple[int, int, int]) -> voip_pb2.LossReport:
    return voip_pb2.LossReport(talkers=[
        voip_pb2.TalkerLoss(talker_id=t, frames=f, lost=lost) for t, f, lost in entries
    ])


def test_a_report_reaches_the_talker_stamped_with_the_reporter() -> None:
    h = Harness()
    talker, listener, other = h.open(1, name="talker"), h.open(2, name="ear"), h.open(3)
    for p in (talker, listener, other):
        p.take()
    answer = h.request(2, 7, loss_report=_report((talker.user_id, 100, 12)))
    assert answer.HasField("ack")
    (feedback,) = [e.loss_feedback for e in talker.take() if e.HasField("loss_feedback")]
    assert (feedback.reporter_id, feedback.frames, feedback.lost) == (listener.user_id, 100, 12)
    assert other.take() == []  # nobody else hears of it


def test_reports_about_users_elsewhere_are_acknowledged_not_forwarded() -> None:
    h = Harness()
    talker, _listener = h.open(1), h.open(2)
    h.request(1, 1, create_room=voip_pb2.CreateRoom(parent_id=1, name="Away"))
    h.request(1, 2, join_room=voip_pb2.JoinRoom(room_id=2))
    talker.take()
    assert h.request(2, 3, loss_report=_report((talker.user_id, 50, 5))).HasField("ack")
    assert [e for e in talker.take() if e.HasField("loss_feedback")] == []


def test_malformed_reports_are_refused_and_forward_nothing() -> None:
    h = Harness()
    talker, _listener = h.open(1), h.open(2)
    talker.take()
    t, me = talker.user_id, _listener.user_id
    bad = [
        _report(),
        _report((t, 10, 11)),
        _report((t, 0, 0)),
        _report((t, 1001, 0)),
        _report((t, 10, 1), (t, 10, 1)),
        _report((me, 10, 1)),
        _report(*[(100 + i, 10, 1) for i in range(33)]),
    ]
    for rid, report in enumerate(bad, start=10):
        h.now += 2
        answer = h.request(2, rid, loss_report=report)
        assert answer.error.code == voip_pb2.MALFORMED_MESSAGE, report
        assert answer.error.message.startswith("loss report refused:")
    assert [e for e in talker.take() if e.HasField("loss_feedback")] == []


def test_a_flood_of_reports_is_rate_limited() -> None:
    h = Harness()
    talker, _listener = h.open(1), h.open(2)
    talker.take()
    h.now = NOW + 10
    assert h.request(2, 1, loss_report=_report((talker.user_id, 100, 1))).HasField("ack")
    h.now += 0.2
    answer = h.request(2, 2, loss_report=_report((talker.user_id, 100, 90)))
    assert answer.error.code == voip_pb2.RATE_LIMITED
    h.now += 1.0
    assert h.request(2, 3, loss_report=_report((talker.user_id, 100, 2))).HasField("ack")
    lost = [e.loss_feedback.lost for e in talker.take() if e.HasField("loss_feedback")]
    assert lost == [1, 2]  # the flooded one never reached the talker


def test_a_server_deafened_listener_is_not_forwarded() -> None:
    h = Harness()
    talker, _listener = h.open(1), h.open(2)
    h.core._sessions[2].route = (1, False, False)  # what SetServerMute(deaf) leaves
    talker.take()
    assert h.request(2, 1, loss_report=_report((talker.user_id, 100, 50))).HasField("ack")
    assert [e for e in talker.take() if e.HasField("loss_feedback")] == []
