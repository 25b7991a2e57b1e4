"""The page's protocol modules under Node, against the Python implementation.

The browser computes the same BLAKE3 state hash and the same framing as the
server; a difference would make every browser resync forever or misread the
control stream. Node runs the very modules the page is built from
(voip/web/src, with the npm packages of voip/web/node_modules).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from voip.proto import voip_pb2
from voip.protocol.framing import encode_envelope
from voip.protocol.state import Room, StateModel, UserInfo, state_hash

SRC = Path(__file__).resolve().parents[2] / "voip" / "web" / "src"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not (SRC.parent / "node_modules").is_dir(),
    reason="needs node and the browser client's npm packages (tools/setup.sh)",
)


def run_module(script: str) -> str:
    assert NODE is not None
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=SRC,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_page_hashes_the_state_as_the_server_does() -> None:
    state = StateModel.build(
        [Room(1, "Lobby", 0), Room(7, "Café ☕", 1), Room(3, "Deep", 7)],
        [
            UserInfo(5, "Zoë", 7, server_mute=True),
            UserInfo(2, "al", 1, roles=("admin", "dj")),
            UserInfo(9, "deaf one", 3, server_mute=True, server_deaf=True),
        ],
    )
    # The page receives roles in any order and sorts them, as the server does.
    users = [
        {"id": 5, "name": "Zoë", "roomId": 7, "serverMute": True, "serverDeaf": False, "roles": []},
        {"id": 2, "name": "al", "roomId": 1, "serverMute": False, "serverDeaf": False,
         "roles": ["dj", "admin"]},
        {"id": 9, "name": "deaf one", "roomId": 3, "serverMute": True, "serverDeaf": True,
         "roles": []},
    ]
    rooms = [{"id": 7, "name": "Café ☕", "parentId": 1}, {"id": 1, "name": "Lobby", "parentId": 0},
             {"id": 3, "name": "Deep", "parentId": 7}]
    out = run_module(
        "import { stateHash } from './state.js';"
        f"const rooms = new Map({json.dumps([[r['id'], r] for r in rooms])});"
        f"const users = new Map({json.dumps([[u['id'], u] for u in users])});"
        "console.log(Buffer.from(stateHash({ rooms, users })).toString('hex'));"
    )
    assert out == state_hash(state).hex()


def test_the_page_reads_frames_in_any_chunking_and_refuses_oversized_ones() -> None:
    frames = b"".join(
        encode_envelope(voip_pb2.Envelope(chat_message=voip_pb2.ChatMessage(text=t)))
        for t in ("a", "é" * 200, "")
    ) + b"\x00"
    script = f"""
        import {{ FrameDecoder, encodeFrame }} from './framing.js';
        const data = Uint8Array.from({json.dumps(list(frames))});
        const d = new FrameDecoder();
        const sizes = [];
        for (let i = 0; i < data.length; i += 3) {{
          for (const b of d.feed(data.subarray(i, i + 3))) sizes.push(b.length);
        }}
        let refused = '';
        try {{
          new FrameDecoder(100).feed(encodeFrame(new Uint8Array(101)));
        }} catch (e) {{
          refused = e.message;
        }}
        const again = Array.from(encodeFrame(new Uint8Array(300)).subarray(0, 2));
        console.log(JSON.stringify({{ sizes, refused, again }}));
    """
    out = run_module(script)
    result = json.loads(out)
    expected = []
    for t in ("a", "é" * 200, ""):
        expected.append(len(voip_pb2.Envelope(chat_message=voip_pb2.ChatMessage(text=t)).SerializeToString()))
    assert result["sizes"] == [*expected, 0]
    assert "exceeds" in result["refused"]
    assert result["again"] == [0xAC, 0x02]  # 300 as a varint
