// The page's audio: microphone -> Opus -> datagrams, and datagrams -> per-talker
// Opus decoders -> the playout worklet -> speakers. The same rules as the
// native client (docs/AUDIO.md, docs/PROTOCOL.md "Voice"):
// - 48 kHz mono, 20 ms frames, Opus VOIP, VBR 48 kbit/s, in-band FEC and DTX on;
// - sequence numbers advance every 20 ms frame, sent or not;
// - DTX packets (<= 2 bytes) are not sent;
// - each datagram carries the previous frame's packet when it was sent;
// - the end of a talk spurt (release, gate closing, DTX onset, stop) sends an
//   end_of_transmission marker carrying the last sequence sent.
// WebCodecs has no FEC or PLC decode, so a lost frame is restored from the
// next datagram's redundant copy, else concealed by the worklet.

export const SAMPLE_RATE = 48000;
export const FRAME = 960;
const FRAME_US = 20000;
const DTX_MAX_BYTES = 2;
const VAD_THRESHOLD_DBFS = -45;
const VAD_HANGOVER_FRAMES = 15; // 300 ms

export const MODES = ["push_to_talk", "continuous", "voice_activated"];

export const ENCODER_CONFIG = {
  codec: "opus",
  sampleRate: SAMPLE_RATE,
  numberOfChannels: 1,
  bitrate: 48000,
  bitrateMode: "variable",
  opus: {
    format: "opus",
    frameDuration: FRAME_US,
    application: "voip",
    signal: "voice",
    complexity: 9,
    packetlossperc: 0,
    useinbandfec: true,
    usedtx: true,
  },
};

function wallMs() { return performance.timeOrigin + performance.now(); }

// Chunks of {at, pcm} -> {pcm: one Float32Array, ends: [[end sample index, at]]}.
function joinChunks(chunks) {
  chunks = chunks || [];
  const pcm = new Float32Array(chunks.reduce((n, c) => n + c.pcm.length, 0));
  const ends = [];
  let at = 0;
  for (const c of chunks) { pcm.set(c.pcm, at); at += c.pcm.length; ends.push([at, c.at]); }
  return { pcm, ends };
}

export function levelDbfs(frame) {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) sum += frame[i] * frame[i];
  const rms = Math.sqrt(sum / frame.length);
  return rms > 0 ? 20 * Math.log10(rms) : -120;
}

async function supportedEncoderConfig() {
  if (typeof AudioEncoder === "undefined") {
    throw new Error("this browser has no WebCodecs AudioEncoder; use a current Chromium-based browser or Firefox");
  }
  const tries = [ENCODER_CONFIG, { ...ENCODER_CONFIG, opus: { ...ENCODER_CONFIG.opus, application: undefined, signal: undefined } }];
  for (const config of tries) {
    const result = await AudioEncoder.isConfigSupported(config);
    if (result.supported) return result.config;
  }
  throw new Error("this browser cannot encode Opus at 48 kHz with FEC and DTX");
}

export class Audio {
  // onLevel(dbfs, transmitting), onTalking(talkerId, talking), send(fields)
  constructor({ send, onLevel, onTalking }) {
    this.send = send;
    this.onLevel = onLevel;
    this.onTalking = onTalking;
    this.mode = "voice_activated";
    this.pttHeld = false;
    this.muted = false;
    this.deaf = false;
    this.sequence = 0;
    this.lastSent = null; // {seq, packet} of the last frame sent, while in a spurt
    this.inSpurt = false;
    this.vadHang = 0;
    this.decoders = new Map();
    this.tapChunks = null;
    this.captureChunks = null;
    this.stats = {};
  }

  async start() {
    this.context = new AudioContext({ sampleRate: SAMPLE_RATE, latencyHint: "interactive" });
    await this.context.audioWorklet.addModule("worklet.js");
    this.playout = new AudioWorkletNode(this.context, "voip-playout", {
      numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1],
    });
    this.playout.connect(this.context.destination);
    this.playout.port.onmessage = (e) => this._fromPlayout(e.data);
    if (this.context.state === "suspended") await this.context.resume().catch(() => {});
    await this._startCapture();
  }

  async _startCapture() {
    const config = await supportedEncoderConfig();
    this.encoder = new AudioEncoder({
      output: (chunk) => this._encoded(chunk),
      error: (e) => console.error("Opus encoder failed", e),
    });
    this.encoder.configure(config);
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
      });
    } catch (e) {
      this.micError = `no microphone (${e.message || e.name}); you can still listen`;
      return;
    }
    const source = this.context.createMediaStreamSource(this.stream);
    this.capture = new AudioWorkletNode(this.context, "voip-capture", { numberOfOutputs: 0 });
    this.capture.port.onmessage = (e) => this._frame(e.data);
    source.connect(this.capture);
  }

  stop() {
    this._endSpurt();
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    if (this.encoder && this.encoder.state !== "closed") this.encoder.close();
    for (const d of this.decoders.values()) if (d.decoder.state !== "closed") d.decoder.close();
    if (this.context) this.context.close();
  }

  transmitting(level) {
    if (this.muted) return false;
    if (this.mode === "continuous") return true;
    if (this.mode === "push_to_talk") return this.pttHeld;
    if (level >= VAD_THRESHOLD_DBFS) this.vadHang = VAD_HANGOVER_FRAMES;
    else if (this.vadHang > 0) this.vadHang--;
    return this.vadHang > 0;
  }

  _frame(pcm) {
    if (this.captureChunks) this.captureChunks.push({ at: wallMs(), pcm: pcm.slice() });
    const seq = this.sequence;
    this.sequence = (this.sequence + 1) >>> 0;
    const level = levelDbfs(pcm);
    const on = this.transmitting(level);
    this.onLevel(level, on);
    if (!on) {
      this._endSpurt();
      return;
    }
    const captureUs = Math.round(wallMs() * 1000);
    this.captureTimes = this.captureTimes || new Map();
    this.captureTimes.set(seq, captureUs);
    this.encoder.encode(new AudioData({
      format: "f32-planar", sampleRate: SAMPLE_RATE, numberOfFrames: FRAME, numberOfChannels: 1,
      timestamp: seq * FRAME_US, data: pcm,
    }));
  }

  _encoded(chunk) {
    const seq = Math.round(chunk.timestamp / FRAME_US) >>> 0;
    const captureUs = this.captureTimes.get(seq) || 0;
    this.captureTimes.delete(seq);
    const packet = new Uint8Array(chunk.byteLength);
    chunk.copyTo(packet);
    if (packet.length <= DTX_MAX_BYTES) { // DTX: a pause; the spurt ends here
      this._endSpurt();
      return;
    }
    const previous = this.lastSent && this.lastSent.seq === ((seq - 1) >>> 0) ? this.lastSent.packet : new Uint8Array(0);
    this.send({ sequence: seq, opus: packet, redundantOpus: previous, captureTimeUs: BigInt(captureUs) });
    this.lastSent = { seq, packet };
    this.inSpurt = true;
  }

  _endSpurt() {
    if (!this.inSpurt || !this.lastSent) return;
    this.inSpurt = false;
    this.send({ sequence: this.lastSent.seq, endOfTransmission: true });
  }

  setMode(mode) { this.mode = mode; }
  setPtt(held) { this.pttHeld = held; }
  setMuted(muted) { this.muted = muted; }
  setDeaf(deaf) {
    this.deaf = deaf;
    this.playout.port.postMessage({ type: "deaf", value: deaf });
  }

  // --- receiving ---------------------------------------------------------------

  voice(msg) {
    if (!this.playout) return;
    const id = msg.senderId;
    let d = this.decoders.get(id);
    if (!d) {
      d = { decoder: null, last: null };
      d.decoder = new AudioDecoder({
        output: (data) => this._decoded(id, data),
        error: (e) => console.error(`Opus decoder of user ${id} failed`, e),
      });
      d.decoder.configure({ codec: "opus", sampleRate: SAMPLE_RATE, numberOfChannels: 1 });
      this.decoders.set(id, d);
    }
    const seq = msg.sequence >>> 0;
    if (msg.endOfTransmission) {
      this.playout.port.postMessage({ type: "end", talker: id, seq });
      return;
    }
    if (d.last !== null) {
      const ahead = (seq - d.last) >>> 0;
      if (ahead === 0 || ahead >= 0x80000000) return; // duplicate or late: its slot is past
      if (ahead === 2 && msg.redundantOpus.length) this._decode(d, (seq - 1) >>> 0, msg.redundantOpus);
    }
    this._decode(d, seq, msg.opus);
  }

  _decode(d, seq, opus) {
    d.last = seq;
    d.decoder.decode(new EncodedAudioChunk({ type: "key", timestamp: seq * FRAME_US, data: opus }));
  }

  _decoded(id, data) {
    const pcm = new Float32Array(data.numberOfFrames);
    data.copyTo(pcm, { planeIndex: 0, format: "f32-planar" });
    const seq = Math.round(data.timestamp / FRAME_US) >>> 0;
    data.close();
    this.playout.port.postMessage({ type: "frame", talker: id, seq, pcm }, [pcm.buffer]);
  }

  forget(id) {
    const d = this.decoders.get(id);
    if (d) {
      if (d.decoder.state !== "closed") d.decoder.close();
      this.decoders.delete(id);
      this.playout.port.postMessage({ type: "forget", talker: id });
    }
  }

  _fromPlayout(m) {
    if (m.type === "talking") this.onTalking(m.talker, m.talking);
    else if (m.type === "stats") this.stats = m.stats;
    else if (m.type === "tap" && this.tapChunks) this.tapChunks.push({ at: wallMs(), pcm: m.pcm });
  }

  // Taps for tests and benchmarks: the page's playback as the worklet
  // produced it, and the microphone as the page got it, each chunk with the
  // wall-clock time (Unix ms) it reached the page.
  startTap() { this.tapChunks = []; this.playout.port.postMessage({ type: "tap", value: true }); }
  takeTap() { const t = joinChunks(this.tapChunks); this.tapChunks = []; return t; }
  startCaptureTap() { this.captureChunks = []; }
  takeCaptureTap() { const t = joinChunks(this.captureChunks); this.captureChunks = []; return t; }
}
