// Length-prefixed framing of Envelopes on the control stream
// (docs/PROTOCOL.md, "The control stream"): varint(length) || body.

export const MAX_FRAME = 1 << 20;

export function encodeFrame(body) {
  const head = [];
  let n = body.length;
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    head.push(b);
  } while (n);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

// Incremental decoder: feed() takes any chunking, returns the complete bodies.
// Throws on a length above MAX_FRAME (before buffering the body) or a varint
// longer than 5 bytes; after that the stream is unusable.
export class FrameDecoder {
  constructor(maxFrame = MAX_FRAME) {
    this.maxFrame = maxFrame;
    this.buffer = new Uint8Array(0);
  }

  feed(chunk) {
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer, 0);
    joined.set(chunk, this.buffer.length);
    const bodies = [];
    let pos = 0;
    for (;;) {
      let length = 0;
      let shift = 1;
      let i = pos;
      let complete = false;
      while (i < joined.length && i - pos < 5) {
        const b = joined[i++];
        length += (b & 0x7f) * shift;
        shift *= 128;
        if (!(b & 0x80)) { complete = true; break; }
      }
      if (!complete) {
        if (i - pos >= 5) throw new Error("frame length varint is longer than 5 bytes");
        break;
      }
      if (length > this.maxFrame) {
        throw new Error(`frame of ${length} bytes exceeds the ${this.maxFrame}-byte limit`);
      }
      if (joined.length - i < length) break;
      bodies.push(joined.slice(i, i + length));
      pos = i + length;
    }
    this.buffer = joined.slice(pos);
    return bodies;
  }
}
