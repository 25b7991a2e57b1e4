"""Loss reports: listeners tell the server what they lost; talkers hear about it.

A listener sends ``LossReport`` (one entry per talker it heard, about every
2 s); the server checks it and forwards each entry to that talker as a
``LossFeedback`` stamped with the reporter's id, so the talker can raise its
protection (more redundant copies, a lower bitrate) while someone loses
packets and lower it when nobody does. The server adds no judgement of its
own: only the listener sees the whole path, talker -> server -> listener.

Refused, with nothing forwarded: a malformed report (no or more than
``MAX_ENTRIES`` entries, a repeated or own talker id, ``frames`` outside
1..``MAX_FRAMES``, ``lost`` above ``frames``), and a report sooner than
``MIN_INTERVAL`` seconds after the last one accepted from the same session
(a hostile client cannot flood a talker). Entries about users who are not
(any more) in the reporter's room, and every report of a listener the server
does not send voice to (server-deafened), are acknowledged but not
forwarded: they are stale, not wrong.
"""

from __future__ import annotations

from typing import Any

from voip.proto import voip_pb2
from voip.server.actions import Send, error_envelope

MAX_ENTRIES = 32
MAX_FRAMES = 1000  # 20 s of frames: a report covers ~2 s
MIN_INTERVAL = 1.0

LOSS_REQUESTS = frozenset({"loss_report"})


def report_problem(report: voip_pb2.LossReport, reporter_id: int) -> str | None:
    """Why a report is malformed, or None."""
    entries = report.talkers
    if not 1 <= len(entries) <= MAX_ENTRIES:
        return f"it must have 1 to {MAX_ENTRIES} entries, it has {len(entries)}"
    seen: set[int] = set()
    for e in entries:
        if e.talker_id == reporter_id:
            return "it reports on the reporter itself"
        if e.talker_id in seen:
            return f"talker {e.talker_id} appears twice"
        seen.add(e.talker_id)
        if not 1 <= e.frames <= MAX_FRAMES:
            return f"frames for talker {e.talker_id} is {e.frames}, not 1..{MAX_FRAMES}"
        if e.lost > e.frames:
            return f"talker {e.talker_id}: lost ({e.lost}) exceeds frames ({e.frames})"
    return None


class LossFeedbackHandlers:
    """Mixed into ServerCore: ``loss_report`` requests."""

    _loss_report_at: dict[int, float]
    state: Any
    _session_of_user: dict[int, int]

    def _on_loss_report(self, s: Any, env: voip_pb2.Envelope, now: float) -> list[Any]:
        rid, report = env.request_id, env.loss_report
        problem = report_problem(report, s.user_id)
        if problem is not None:
            return [Send(s.id, error_envelope(voip_pb2.MALFORMED_MESSAGE,
                                              f"loss report refused: {problem}", rid))]
        last = self._loss_report_at.get(s.id)
        if last is not None and now - last < MIN_INTERVAL:
            return [Send(s.id, error_envelope(
                voip_pb2.RATE_LIMITED,
                f"loss reports may come at most once every {MIN_INTERVAL:g} s; "
                "send one every 2 s", rid))]
        self._loss_report_at[s.id] = now
        actions: list[Any] = []
        me = self.state.users.get(s.user_id)
        hears = s.route is not None and s.route[2]
        if me is not None and hears:
            for e in report.talkers:
                talker = self.state.users.get(e.talker_id)
                sid = self._session_of_user.get(e.talker_id)
                if talker is None or sid is None or talker.room_id != me.room_id:
                    continue
                feedback = voip_pb2.LossFeedback(reporter_id=s.user_id, frames=e.frames,
                                                 lost=e.lost)
                actions.append(Send(sid, voip_pb2.Envelope(loss_feedback=feedback)))
        actions.append(Send(s.id, voip_pb2.Envelope(request_id=rid, ack=voip_pb2.Ack())))
        return actions

    def _forget_loss_reports(self, session: int) -> None:
        self._loss_report_at.pop(session, None)
