// AudioWorklet processors (the audio thread): no allocation on the hot path
// beyond what the messages bring, no imports.
//
// voip-capture: microphone blocks of 128 samples -> 960-sample (20 ms) frames
//   posted to the page.
// voip-playout: per-talker jitter buffers of decoded 20 ms frames, mixed into
//   the output. Frames arrive with their sequence numbers; a talker starts
//   when `target` frames are buffered, plays in sequence order, conceals a
//   missing frame (a fading repeat of the last one) only when a later frame
//   is already there, stops cleanly at an end-of-transmission marker, and
//   buffers up again when it runs dry (the target then grows by one frame;
//   it shrinks back after a long stretch without trouble).

const FRAME = 960;

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.frame = new Float32Array(FRAME);
    this.fill = 0;
  }

  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input) return true;
    let at = 0;
    while (at < input.length) {
      const n = Math.min(FRAME - this.fill, input.length - at);
      this.frame.set(input.subarray(at, at + n), this.fill);
      this.fill += n;
      at += n;
      if (this.fill === FRAME) {
        this.port.postMessage(this.frame, [this.frame.buffer]);
        this.frame = new Float32Array(FRAME);
        this.fill = 0;
      }
    }
    return true;
  }
}

const INITIAL_TARGET = 3;
const MAX_TARGET = 12;
const CALM_FRAMES = 250; // 5 s without an underrun: shrink the target by one
const HOLD = 9600; // samples a talker still shows as talking after its last frame (200 ms)

const before = (a, b) => ((b - a) >>> 0) !== 0 && ((b - a) >>> 0) < 0x80000000;

class Talker {
  constructor() {
    this.frames = new Map(); // sequence -> Float32Array
    this.playing = false;
    this.next = 0; // sequence to play
    this.offset = 0; // samples of `current` already played
    this.current = null;
    this.last = null;
    this.concealed = 0;
    this.fade = 1;
    this.endAt = null; // sequence of the last frame of the spurt
    this.target = INITIAL_TARGET;
    this.calm = 0;
    this.talking = false;
    this.quiet = 0;
    this.stats = { played: 0, concealed: 0, late: 0, underruns: 0 };
  }

  put(seq, pcm) {
    if (this.playing && before(seq, this.next)) { this.stats.late++; return; }
    this.frames.set(seq, pcm);
  }

  end(seq) { this.endAt = seq; }

  earliest() {
    let best = null;
    for (const s of this.frames.keys()) if (best === null || before(s, best)) best = s;
    return best;
  }

  // The next frame to play, or null (nothing to play now).
  advance() {
    if (!this.playing) {
      const ended = this.endAt !== null && this.frames.size > 0 && !before(this.endAt, this.earliest());
      const enough = this.frames.size >= this.target || ended;
      if (!enough) return null;
      this.playing = true;
      this.next = this.earliest();
      if (this.endAt !== null && before(this.endAt, this.next)) this.endAt = null; // an old spurt's
    }
    const seq = this.next;
    let pcm = this.frames.get(seq);
    if (pcm) {
      this.frames.delete(seq);
      this.fade = 1;
      this.stats.played++;
      if (++this.calm >= CALM_FRAMES && this.target > 1) {
        this.target--;
        this.calm = 0;
      }
    } else if (this.endAt !== null && (before(this.endAt, seq) || this.frames.size === 0)) {
      // The spurt is over (or its tail is lost): stop without concealing.
      this.endAt = null;
      this._stop();
      return null;
    } else if (this.frames.size > 0) {
      pcm = this._conceal();
    } else {
      this.stats.underruns++;
      this.target = Math.min(MAX_TARGET, this.target + 1);
      this.calm = 0;
      this._stop();
      return null;
    }
    this.next = (seq + 1) >>> 0;
    this.last = pcm;
    return pcm;
  }

  _conceal() {
    this.stats.concealed++;
    this.fade *= 0.5;
    const out = new Float32Array(FRAME);
    if (this.last) for (let i = 0; i < FRAME; i++) out[i] = this.last[i] * this.fade;
    return out;
  }

  _stop() {
    this.playing = false;
    this.last = null;
  }
}

class PlayoutProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.talkers = new Map();
    this.deaf = false;
    this.volume = 1;
    this.tap = false;
    this.tapBuffer = new Float32Array(4800); // 100 ms
    this.tapFill = 0;
    this.statsEvery = 0;
    this.port.onmessage = (e) => this.message(e.data);
  }

  talker(id) {
    let t = this.talkers.get(id);
    if (!t) { t = new Talker(); this.talkers.set(id, t); }
    return t;
  }

  message(m) {
    if (m.type === "frame") this.talker(m.talker).put(m.seq, m.pcm);
    else if (m.type === "end") this.talker(m.talker).end(m.seq);
    else if (m.type === "forget") this.talkers.delete(m.talker);
    else if (m.type === "deaf") this.deaf = m.value;
    else if (m.type === "volume") this.volume = m.value;
    else if (m.type === "tap") { this.tap = m.value; this.tapFill = 0; }
  }

  process(inputs, outputs) {
    const out = outputs[0][0];
    out.fill(0);
    for (const [id, t] of this.talkers) {
      let at = 0;
      while (at < out.length) {
        if (!t.current || t.offset >= FRAME) {
          t.current = t.advance();
          t.offset = 0;
          if (!t.current) break;
        }
        const n = Math.min(FRAME - t.offset, out.length - at);
        const cur = t.current;
        for (let i = 0; i < n; i++) out[at + i] += cur[t.offset + i];
        t.offset += n;
        at += n;
      }
      const talking = at > 0 || (t.quiet < HOLD && t.talking);
      t.quiet = at > 0 ? 0 : t.quiet + out.length;
      if (talking !== t.talking) {
        t.talking = talking;
        this.port.postMessage({ type: "talking", talker: id, talking });
      }
    }
    const gain = this.deaf ? 0 : this.volume;
    for (let i = 0; i < out.length; i++) {
      const v = out[i] * gain;
      out[i] = v > 1 ? 1 : v < -1 ? -1 : v;
    }
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    if (this.tap) {
      let at = 0;
      while (at < out.length) {
        const n = Math.min(this.tapBuffer.length - this.tapFill, out.length - at);
        this.tapBuffer.set(out.subarray(at, at + n), this.tapFill);
        this.tapFill += n;
        at += n;
        if (this.tapFill === this.tapBuffer.length) {
          this.port.postMessage({ type: "tap", pcm: this.tapBuffer }, [this.tapBuffer.buffer]);
          this.tapBuffer = new Float32Array(4800);
          this.tapFill = 0;
        }
      }
    }
    if (++this.statsEvery >= 375) { // ~1 s
      this.statsEvery = 0;
      const stats = {};
      for (const [id, t] of this.talkers) stats[id] = { ...t.stats, target: t.target };
      this.port.postMessage({ type: "stats", stats });
    }
    return true;
  }
}

registerProcessor("voip-capture", CaptureProcessor);
registerProcessor("voip-playout", PlayoutProcessor);
