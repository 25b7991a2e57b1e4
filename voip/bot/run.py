"""`voip-bot`'s run: connect, trust, join, play and record, with exit codes.

`voip-bot` is a headless client for scripts and tests: a front end above the
client backend, like the GUI (its command line is `voip.bot.cli`). It runs
the real backend (`BackendHandle`, the same actors, capture, Opus, jitter
buffers and mixing as the GUI) with files in place of the sound card:
`--play` an audio file (WAV, FLAC, Ogg, MP3) as its voice and/or `--record`
what it hears to a WAV file. See docs/BOT.md for the options, exit codes
and examples.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voip.audio.audiofile import read_audio
from voip.audio.codec import SAMPLE_RATE
from voip.bot.files import BotFiles
from voip.client import commands as c
from voip.client.audio_io import ArrayIO
from voip.client.backend import BackendHandle
from voip.client.moderation import RedeemAdminToken
from voip.client.reconnect import Reconnector
from voip.client.state import (
    AwaitingTrust,
    Connected,
    ConnectionLost,
    Disconnected,
    State,
    TransmissionMode,
)
from voip.client.voice_path import SeededLoss
from voip.errors import AudioError
from voip.identity import default_config_dir
from voip.protocol.permissions import ADMIN_ROLE

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1  # unexpected
EXIT_USAGE = 2  # bad arguments (argparse)
EXIT_CONNECTION = 3  # refused, unreachable, wrong password, lost
EXIT_CERTIFICATE = 4  # certificate not trusted or changed
EXIT_ROOM = 5  # room not found / not creatable / join refused
EXIT_AUDIO = 6  # audio file unreadable or not writable
EXIT_ADMIN_TOKEN = 7  # --redeem-admin-token refused

#: After the file has been played, stay this long so the last frames reach the server.
PLAY_TAIL_SECONDS = 0.5
#: Deadline for each step of connecting and joining.
STEP_TIMEOUT = 20.0


class BotError(Exception):
    """A failure with an exit code and a sentence for the user."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class BotOptions:
    server: str
    name: str
    password: str = ""
    room: str | None = None
    play: Path | None = None
    record: Path | None = None
    seconds: float | None = None
    trust_fingerprint: str | None = None
    accept_new_certificate: bool = False
    config_dir: Path | None = None
    ca_file: str | None = None
    simulate_loss: float = 0.0
    loss_seed: int = 1
    report: Path | None = None
    redeem_admin_token: str | None = None
    reconnect: bool = False
    share: tuple[Path, ...] = ()
    fetch: tuple[str, ...] = ()
    downloads: Path | None = None
    server_only: bool = False


def _fingerprint_key(text: str) -> str:
    """Compare fingerprints ignoring case, the SHA256: prefix and separators."""
    text = text.strip().upper()
    if text.startswith("SHA256:"):
        text = text[len("SHA256:") :]
    return re.sub(r"[^0-9A-F]", "", text)


def bot_config_dir(name: str) -> Path:
    """Each bot name gets its own config dir (and so its own key and identity)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "bot"
    return default_config_dir() / "bots" / safe


class Bot:
    """One run of the bot; `run()` returns the exit code."""

    def __init__(self, options: BotOptions, out: Any = None) -> None:
        self.options = options
        self.out = out if out is not None else sys.stdout
        self.stop_requested = threading.Event()
        self.io: ArrayIO | None = None
        self.backend: BackendHandle | None = None
        self.loss: SeededLoss | None = None
        self._ready_at: float | None = None
        self._room_name = ""
        self._output_gone = False
        self.files = BotFiles(share=options.share, fetch=options.fetch, say=self.say)

    def say(self, text: str) -> None:
        if self._output_gone:
            return
        try:
            print(f"voip-bot: {text}", file=self.out, flush=True)
        except BrokenPipeError:
            # The reader left (`voip-bot ... | head`): stop as on Ctrl-C, without a traceback.
            self._output_gone = True
            self.stop_requested.set()
            _silence(self.out)

    # --- the run -----------------------------------------------------------------------

    def run(self) -> int:
        try:
            self._run()
        except BotError as exc:
            print(f"voip-bot: error: {exc}", file=sys.stderr, flush=True)
            return exc.code
        finally:
            self._finish()
        return EXIT_OK

    def _run(self) -> None:
        o = self.options
        samples = None
        if o.play is not None:
            try:
                samples = read_audio(o.play)
            except AudioError as exc:
                raise BotError(EXIT_AUDIO, str(exc)) from exc
            self.say(f"loaded {o.play} ({samples.size / SAMPLE_RATE:.2f} s at 48 kHz)")
        self.io = ArrayIO(samples, record=o.record is not None)
        config_dir = o.config_dir if o.config_dir is not None else bot_config_dir(o.name)
        self.backend = backend = BackendHandle(
            config_dir=config_dir,
            audio_io=self.io,
            connect_timeout=10.0,
            downloads_dir=o.downloads,
            share_via_server_only=o.server_only or None,
        )
        # Silent until in the right room (also undoes a mode a previous run saved).
        backend.send(c.SetTransmissionMode(TransmissionMode.MUTED))
        if o.simulate_loss > 0:
            self.loss = SeededLoss(o.simulate_loss / 100.0, o.loss_seed)
            backend.voice_inbox.drop = self.loss
        state = self._connect(backend)
        if o.redeem_admin_token is not None:
            state = self._redeem(backend, state, o.redeem_admin_token)
        state = self._join_room(backend, state)
        self._ready_at = time.monotonic()
        server_name = (
            state.connection.server_name if isinstance(state.connection, Connected) else ""
        )
        self.say(
            f"ready: connected to {server_name!r} as {o.name!r} "
            f"(user {state.my_user_id}) in room {self._room_name!r}"
        )
        self.files.start(backend)
        self._talk_and_listen(backend)

    def _connect(self, backend: BackendHandle) -> State:
        o = self.options
        backend.send(c.Connect(o.server, o.name, password=o.password, ca_file=o.ca_file))

        def connect_error(s: State) -> str | None:
            return next((e.message for e in s.errors if e.command == "Connect"), None)

        state = backend.wait_for(
            lambda s: (
                isinstance(s.connection, AwaitingTrust | Connected | ConnectionLost)
                or connect_error(s) is not None
            ),
            STEP_TIMEOUT,
        )
        if isinstance(state.connection, AwaitingTrust):
            self._decide_trust(backend, state.connection)
            state = backend.wait_for(
                lambda s: isinstance(s.connection, Connected | ConnectionLost | Disconnected),
                STEP_TIMEOUT,
            )
        if isinstance(state.connection, Connected):
            return backend.wait_for(
                lambda s: (
                    (s.is_connected and bool(s.rooms) and s.me is not None) or not s.is_connected
                ),
                STEP_TIMEOUT,
            )
        if isinstance(state.connection, ConnectionLost):
            error = state.connection.error
            code = EXIT_CERTIFICATE if "certificate" in error.lower() else EXIT_CONNECTION
            raise BotError(code, f"cannot connect to {o.server}: {error}")
        problem = connect_error(state)
        if problem is not None:
            raise BotError(EXIT_CONNECTION, f"cannot connect to {o.server}: {problem}")
        raise BotError(EXIT_CONNECTION, f"cannot connect to {o.server}")

    def _decide_trust(self, backend: BackendHandle, prompt: AwaitingTrust) -> None:
        o = self.options
        if o.trust_fingerprint is not None:
            if _fingerprint_key(o.trust_fingerprint) == _fingerprint_key(prompt.fingerprint_text):
                backend.send(c.AcceptCertificate())
                return
            backend.send(c.RejectCertificate())
            raise BotError(
                EXIT_CERTIFICATE,
                f"the server's certificate is {prompt.fingerprint_text}, not the "
                f"{o.trust_fingerprint} given with --trust-fingerprint; refusing to connect",
            )
        if o.accept_new_certificate:
            self.say(f"trusting the new certificate {prompt.fingerprint_text} (pinned)")
            backend.send(c.AcceptCertificate())
            return
        backend.send(c.RejectCertificate())
        why = prompt.reason or "no authority this client trusts vouches for it"
        raise BotError(
            EXIT_CERTIFICATE,
            f"the server {prompt.server_addr} presents a certificate that cannot be verified "
            f"({why}), fingerprint {prompt.fingerprint_text}; compare it with the one the "
            "server logs and pass --trust-fingerprint, or --accept-new-certificate to trust "
            "it on first use",
        )

    def _redeem(self, backend: BackendHandle, state: State, token: str) -> State:
        """Redeem the server's first-admin token: this bot's key becomes admin."""
        errors_before = state.errors[-1].id if state.errors else 0
        me = state.my_user_id

        def refused(s: State) -> str | None:
            return next(
                (
                    e.message
                    for e in s.errors
                    if e.id > errors_before and e.command == "RedeemAdminToken"
                ),
                None,
            )

        def admin(s: State) -> bool:
            user = s.user(me) if me is not None else None
            return user is not None and ADMIN_ROLE in user.roles

        backend.send(RedeemAdminToken(token))
        state = backend.wait_for(
            lambda s: admin(s) or refused(s) is not None or not s.is_connected, STEP_TIMEOUT
        )
        problem = refused(state)
        if problem is not None:
            raise BotError(EXIT_ADMIN_TOKEN, f"the admin token was refused: {problem}")
        if not state.is_connected:
            raise BotError(EXIT_CONNECTION, f"lost the connection to {self.options.server}")
        self.say(f"redeemed the admin token: user {me} is now an admin")
        return state

    def _join_room(self, backend: BackendHandle, state: State) -> State:
        if not state.is_connected:
            raise BotError(EXIT_CONNECTION, f"lost the connection to {self.options.server}")
        wanted = self.options.room
        if wanted is None:
            room = state.room(state.my_room_id or 0)
            self._room_name = room.name if room is not None else ""
            return state
        errors_before = state.errors[-1].id if state.errors else 0

        def new_error(s: State, command: str) -> str | None:
            for e in s.errors:
                if e.id > errors_before and e.command == command:
                    return e.message
            return None

        room = state.room(int(wanted)) if wanted.isdigit() else state.find_room(wanted)
        if room is None and wanted.isdigit():
            raise BotError(EXIT_ROOM, f"there is no room with id {wanted} on this server")
        if room is None:
            root = state.root_room
            assert root is not None
            self.say(f"room {wanted!r} does not exist; creating it under {root.name!r}")
            backend.send(c.CreateRoom(root.id, wanted))
            state = backend.wait_for(
                lambda s: (
                    s.find_room(wanted) is not None
                    or new_error(s, "CreateRoom") is not None
                    or not s.is_connected
                ),
                STEP_TIMEOUT,
            )
            problem = new_error(state, "CreateRoom")
            if problem is not None:
                raise BotError(EXIT_ROOM, f"cannot create room {wanted!r}: {problem}")
            room = state.find_room(wanted)
            if room is None:
                raise BotError(EXIT_CONNECTION, f"lost the connection to {self.options.server}")
        self._room_name = room.name
        if state.my_room_id == room.id:
            return state
        backend.send(c.JoinRoom(room.id))
        target = room.id
        state = backend.wait_for(
            lambda s: (
                s.my_room_id == target or new_error(s, "JoinRoom") is not None or not s.is_connected
            ),
            STEP_TIMEOUT,
        )
        problem = new_error(state, "JoinRoom")
        if problem is not None:
            raise BotError(EXIT_ROOM, f"cannot join room {room.name!r}: {problem}")
        if not state.is_connected:
            raise BotError(EXIT_CONNECTION, f"lost the connection to {self.options.server}")
        return state

    def _talk_and_listen(self, backend: BackendHandle) -> None:
        o = self.options
        io = self.io
        assert io is not None
        done = self.stop_requested
        lost: list[str] = []
        playing = o.play is not None

        reconnector = Reconnector() if o.reconnect else None
        if reconnector is not None:
            reconnector.connected_with(
                c.Connect(o.server, o.name, password=o.password, ca_file=o.ca_file)
            )
            reconnector.observe(backend.state(), time.monotonic())

        def watch(s: State) -> None:
            if isinstance(s.connection, ConnectionLost) and reconnector is None:
                lost.append(s.connection.error)
                done.set()
            elif playing and o.seconds is None and io.finished and not s.audio.is_transmitting:
                done.set()
            if self.files.active:
                self.files.watch(backend, s)
                if o.seconds is None and not playing and self.files.fetched_all():
                    done.set()

        unsubscribe = backend.subscribe(watch)
        watch(backend.state())  # what arrived before (the room's files, in its history)
        try:
            if playing:
                backend.send(c.SetTransmissionMode(TransmissionMode.CONTINUOUS))
                self.say(f"playing {o.play}")
            elif o.seconds is None:
                self.say("listening until interrupted (Ctrl-C)")
            if reconnector is None:
                done.wait(o.seconds)
            else:
                self._stay_connected(backend, reconnector, lost)
        finally:
            unsubscribe()
        if lost:
            raise BotError(EXIT_CONNECTION, f"connection lost: {lost[0]}")
        if playing:
            backend.send(c.SetTransmissionMode(TransmissionMode.MUTED))
            if io.finished and o.seconds is None:
                self.say("finished playing")
                time.sleep(PLAY_TAIL_SECONDS)  # let the last datagrams leave before closing

    def _stay_connected(
        self, backend: BackendHandle, reconnector: Reconnector, lost: list[str]
    ) -> None:
        """--reconnect: try again after a loss (back-off 1, 2, 4 ... 30 s) and rejoin the room."""
        o = self.options
        end = None if o.seconds is None else time.monotonic() + o.seconds
        was_active = False
        while not self.stop_requested.wait(0.2):
            now = time.monotonic()
            if end is not None and now >= end:
                return
            for command in reconnector.observe(backend.state(), now) + reconnector.tick(now):
                if isinstance(command, c.Connect):
                    self.say(f"reconnecting to {o.server} (attempt {reconnector.attempt})")
                backend.send(command)
            if reconnector.active and not was_active:
                self.say(f"connection lost: {reconnector.reason}; trying again")
            elif was_active and not reconnector.active:
                if backend.state().is_connected:
                    self.say("reconnected")
                else:
                    lost.append(reconnector.reason or "the connection was lost")
                    return
            was_active = reconnector.active

    def _finish(self) -> None:
        o = self.options
        backend, io = self.backend, self.io
        if backend is not None:
            # shutdown() closes the connection itself and waits for it to end.
            backend.shutdown()
        if io is None:
            return
        if o.record is not None:
            recording = io.recording()
            try:
                io.save_recording(str(o.record))
            except AudioError as exc:
                print(f"voip-bot: error: {exc}", file=sys.stderr, flush=True)
            else:
                self.say(f"recorded {recording.size / SAMPLE_RATE:.2f} s to {o.record}")
        if o.report is not None:
            self._write_report()

    def _write_report(self) -> None:
        o = self.options
        io = self.io
        backend = self.backend
        assert io is not None and o.report is not None
        inbox = backend.voice_inbox if backend is not None else None
        report = {
            "name": o.name,
            "ready_at": self._ready_at,
            # time.monotonic() of the first frame captured / played: the same
            # clock in every process of a machine, so two bots line up.
            "source_started_at": io.source_started_at,
            "sink_started_at": io.sink_started_at,
            # [sample index, monotonic time it was played]: the start, and each
            # point where real-time pacing slipped (see ArrayIO.sink_timeline).
            "sink_timeline": io.sink_timeline,
            "recorded_seconds": io.recording().size / SAMPLE_RATE,
            "frames_received": inbox.received if inbox is not None else 0,
            "frames_dropped": inbox.dropped if inbox is not None else 0,
            "simulated_loss": {"seen": self.loss.seen, "lost": self.loss.lost}
            if self.loss is not None
            else None,
        }
        try:
            o.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"voip-bot: error: cannot write the report {o.report}: {exc}", file=sys.stderr)


def _silence(stream: Any) -> None:
    """Point a closed pipe's descriptor at /dev/null so the final flush at exit is quiet."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)
