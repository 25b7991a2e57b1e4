// One connection to a voip server over WebTransport: the same protocol as the
// native client (docs/PROTOCOL.md) on one bidirectional WebTransport stream,
// voice as WebTransport datagrams carrying VoiceDatagram bytes.
//
// Events go to the `on` callbacks: state(state, selfId), chat(msg),
// notice(text, kind), closed(text), voice(VoiceDatagram).

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  ClientHelloSchema, EnvelopeSchema, ErrorCode, VoiceDatagramSchema,
} from "./gen/voip_pb.js";
import { FrameDecoder, encodeFrame } from "./framing.js";
import {
  Divergence, applyChange, fromServerState, mergePermissions, sameBytes, stateHash,
} from "./state.js";

export const PROTOCOL_VERSION = 1;
export const SESSION_PATH = "/voip";
const AUTH_CONTEXT = new TextEncoder().encode("voip/1 client-auth\0");
const WEB_ORIGIN_CONTEXT = new TextEncoder().encode("voip/1 web-origin\0");
const KEEPALIVE_MS = 5000;

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

export function base64urlDecode(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

// What the hello signature is bound to (docs/WEB.md): with pinned certificate
// hashes, the browser knows the certificate's SHA-256 but not which of the
// pinned ones the server presented, so the caller tries each; without, the
// host name the browser verified the CA-issued certificate for.
export async function bindingsFor(host, certHashes) {
  if (certHashes.length) return certHashes;
  return [await sha256(concat(WEB_ORIGIN_CONTEXT, new TextEncoder().encode(host.toLowerCase())))];
}

export function errorName(code) {
  return ErrorCode[code] ?? `error ${code}`;
}

export class Session {
  constructor({ server, certHashes = [], identity, name, password, on }) {
    this.server = server; // "host:port"
    this.certHashes = certHashes;
    this.identity = identity;
    this.name = name;
    this.password = password;
    this.on = on;
    this.state = null;
    this.permissions = new Map(); // room id -> allowed bits
    this.selfId = 0;
    this.welcome = null;
    this.nextRequest = 1;
    this.pending = new Map(); // request id -> {resolve, reject, what}
    this.decoder = new FrameDecoder();
    this.closed = false;
    this.binding = 0; // index into the bindings tried
  }

  host() {
    const s = this.server;
    if (s.startsWith("[")) return s.slice(1, s.indexOf("]"));
    return s.includes(":") ? s.slice(0, s.lastIndexOf(":")) : s;
  }

  async connect() {
    if (typeof WebTransport === "undefined") {
      throw new Error("this browser has no WebTransport; use a current Chromium-based browser or Firefox");
    }
    const options = {};
    if (this.certHashes.length) {
      options.serverCertificateHashes = this.certHashes.map((value) => ({ algorithm: "sha-256", value }));
    }
    this.wt = new WebTransport(`https://${this.server}${SESSION_PATH}`, options);
    try {
      await this.wt.ready;
    } catch (e) {
      throw new Error(`could not reach the server at ${this.server} (${e.message || e}); ` +
        "check the address, that the server is running, and that the link is recent");
    }
    this.wt.closed.then(
      (info) => this._ended(info && info.reason ? info.reason : "the server closed the connection"),
      (e) => this._ended(`the connection was lost (${e.message || e})`),
    );
    const stream = await this.wt.createBidirectionalStream();
    this.writer = stream.writable.getWriter();
    this.datagramWriter = this.wt.datagrams.writable.getWriter();
    await this.writer.write(new Uint8Array([0])); // opens the stream
    this.bindings = await bindingsFor(this.host(), this.certHashes);
    this.welcomed = new Promise((resolve, reject) => { this._welcomed = { resolve, reject }; });
    this._readControl(stream.readable.getReader());
    this._readDatagrams(this.wt.datagrams.readable.getReader());
    this.keepalive = setInterval(() => this._write(new Uint8Array([0])), KEEPALIVE_MS);
    return this.welcomed;
  }

  close() {
    if (this.closed) return;
    try { this.writer.close(); } catch (e) { /* already closed */ }
    try { this.wt.close({ closeCode: 0, reason: "user left" }); } catch (e) { /* ignore */ }
    this._ended("you left");
  }

  _ended(text) {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepalive);
    for (const p of this.pending.values()) p.reject(new Error(text));
    this.pending.clear();
    if (this._welcomed) this._welcomed.reject(new Error(text));
    this.on.closed(text);
  }

  _write(bytes) {
    if (this.closed) return;
    this.writer.write(bytes).catch(() => {});
  }

  _send(fields) {
    this._write(encodeFrame(toBinary(EnvelopeSchema, create(EnvelopeSchema, fields))));
  }

  request(payload, what) {
    const requestId = this.nextRequest++;
    return new Promise((resolve, reject) => {
      this.pending.set(requestId, { resolve, reject, what });
      this._send({ requestId, payload });
    });
  }

  joinRoom(roomId) { return this.request({ case: "joinRoom", value: { roomId } }, "join the room"); }
  sendChat(text) { return this.request({ case: "sendChat", value: { text } }, "send the message"); }
  setSelfMute(selfMute, selfDeaf) {
    return this.request({ case: "setSelfMute", value: { selfMute, selfDeaf } }, "mute or deafen you");
  }
  createRoom(parentId, name) {
    return this.request({ case: "createRoom", value: { parentId, name } }, "create the room");
  }

  sendVoice(fields) {
    if (this.closed || !this.welcome) return;
    const bytes = toBinary(VoiceDatagramSchema, create(VoiceDatagramSchema, fields));
    this.datagramWriter.write(bytes).catch(() => {});
  }

  async _readControl(reader) {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const body of this.decoder.feed(value)) {
          await this._envelope(fromBinary(EnvelopeSchema, body));
        }
      }
    } catch (e) {
      if (!this.closed) this._ended(`the control stream failed: ${e.message || e}`);
    }
  }

  async _readDatagrams(reader) {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        let msg;
        try { msg = fromBinary(VoiceDatagramSchema, value); } catch (e) { continue; }
        this.on.voice(msg);
      }
    } catch (e) { /* the session ended */ }
  }

  async _envelope(env) {
    const p = env.payload;
    switch (p.case) {
      case undefined:
        return; // keep-alive
      case "challenge":
        await this._hello(p.value);
        return;
      case "welcome":
        this.welcome = p.value;
        this.selfId = p.value.userId;
        return;
      case "serverState": {
        const state = fromServerState(p.value);
        if (!sameBytes(stateHash(state), env.stateHash)) {
          this.on.notice("the server's state did not match its hash; asking again", "warn");
          this.request({ case: "resyncRequest", value: {} }, "resync").catch(() => {});
          return;
        }
        this.state = state;
        this.on.state(this.state, this.selfId);
        if (this._welcomed) { this._welcomed.resolve(this.welcome); this._welcomed = null; }
        return;
      }
      case "stateUpdate": {
        if (!this.state) return;
        try {
          const next = applyChange(this.state, p.value);
          if (!sameBytes(stateHash(next), env.stateHash)) throw new Divergence("hash mismatch");
          this.state = next;
          this.on.state(this.state, this.selfId);
        } catch (e) {
          if (!(e instanceof Divergence)) throw e;
          this.request({ case: "resyncRequest", value: {} }, "resync").catch(() => {});
        }
        return;
      }
      case "chatMessage":
        this.on.chat(p.value);
        return;
      case "roomHistory":
        this.on.history(p.value);
        return;
      case "fileShared":
        return; // files are shared between desktop clients (BitTorrent); not in the page
      case "permissions":
        this.permissions = mergePermissions(this.permissions, p.value);
        if (this.state) {
          for (const id of [...this.permissions.keys()]) if (!this.state.rooms.has(id)) this.permissions.delete(id);
          this.on.state(this.state, this.selfId);
        }
        return;
      case "ack": {
        const r = this.pending.get(env.requestId);
        if (r) { this.pending.delete(env.requestId); r.resolve(); }
        return;
      }
      case "error": {
        const r = this.pending.get(env.requestId);
        const err = new Error(p.value.message || errorName(p.value.code));
        err.code = p.value.code;
        if (r) { this.pending.delete(env.requestId); r.reject(err); return; }
        if (this._welcomed) { this._welcomed.reject(err); this._welcomed = null; }
        this.on.notice(err.message, "error");
        return;
      }
      case "goodbye":
        this.on.notice(p.value.message || errorName(p.value.code), "error");
        this._ended(p.value.message || errorName(p.value.code));
        return;
      default:
        this.on.notice(`the server sent an unexpected ${p.case}`, "warn");
    }
  }

  async _hello(challenge) {
    if (challenge.protocolVersion !== PROTOCOL_VERSION) {
      throw new Error(`the server speaks protocol version ${challenge.protocolVersion}, this page ${PROTOCOL_VERSION}`);
    }
    // With two pinned hashes (current and next certificate) the page does not
    // know which one the server presented: it signs the first and, if the
    // server refuses the signature, reconnects with the other (see app.js).
    const binding = this.bindings[Math.min(this.binding, this.bindings.length - 1)];
    const signature = await this.identity.sign(concat(AUTH_CONTEXT, challenge.nonce, binding));
    this.serverName = challenge.serverName;
    this._send({
      payload: {
        case: "clientHello",
        value: create(ClientHelloSchema, {
          protocolVersion: PROTOCOL_VERSION,
          displayName: this.name,
          publicKey: this.identity.publicKey,
          password: this.password,
          signature,
        }),
      },
    });
  }
}
